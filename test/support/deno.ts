/**
 * The `deno` binary for the Deno smoke test: $DENO_BIN, else `deno` on the PATH, else the `deno` npm package (which
 * ships the binary as a per-platform npm package) installed once into node_modules/.cache, where `npm ci` clears it.
 * Not a devDependency: it is ~40 MB to download for every install, and only this test needs it.
 */
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { repoRoot } from './cli.ts';

export const DENO_VERSION = '2.9.6';
const run = promisify(execFile);

/** The path of a working deno, or why there is none. */
export async function findDeno(): Promise<{ deno: string } | { missing: string }> {
  const candidates = [process.env.DENO_BIN, 'deno'].filter((c): c is string => Boolean(c));
  for (const candidate of candidates) {
    if (await works(candidate)) return { deno: candidate };
  }
  const prefix = join(repoRoot, 'node_modules', '.cache', `deno-${DENO_VERSION}`);
  const installed = join(prefix, 'node_modules', '.bin', 'deno');
  if (!existsSync(installed)) {
    try {
      await run('npm', ['install', '--prefix', prefix, '--no-save', '--no-audit', '--no-fund', '--no-package-lock', `deno@${DENO_VERSION}`], { timeout: 180_000 });
    } catch (err) {
      return { missing: `deno is not on the PATH and \`npm install deno@${DENO_VERSION}\` failed: ${String((err as Error).message).split('\n')[0]}` };
    }
  }
  return (await works(installed)) ? { deno: installed } : { missing: `${installed} does not run` };
}

async function works(binary: string): Promise<boolean> {
  try {
    const { stdout } = await run(binary, ['--version'], { timeout: 30_000 });
    return stdout.startsWith('deno ');
  } catch {
    return false;
  }
}
