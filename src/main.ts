#!/usr/bin/env node
import { main } from './cli/run.ts';

main(process.argv.slice(2), process.env).then((code) => {
  process.exitCode = code;
});
