#!/usr/bin/env node
import { tracingOptions } from '../observability/tracing-options.ts';

const argv = process.argv.slice(2);
// OpenTelemetry must patch `http` and `express` before anything imports them, so it starts before the CLI loads.
const tracing = tracingOptions(argv, process.env);
const sdk = tracing ? await (await import('../observability/tracing.ts')).startTracing(tracing) : undefined;
const { main } = await import('./cli/run.ts');

main(argv, process.env).then(async (code) => {
  process.exitCode = code;
  await sdk?.shutdown().catch(() => undefined);
});
