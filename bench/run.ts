/**
 * Runs every bench/*.bench.ts in turn (`npm run bench`, or `npm run bench -- hash` for the files
 * whose name contains "hash").
 *
 * Contract for a bench file: `export default async function run(): Promise<void>` that prints its
 * own figures to stdout and resolves when it has released everything it started (pools, servers,
 * timers). Files run one at a time, so each has the machine to itself; a throw marks that file
 * failed, the others still run, and the runner exits 1.
 */
import { readdir } from 'node:fs/promises';
import { pathToFileURL } from 'node:url';

const dir = new URL('./', import.meta.url);
const filters = process.argv.slice(2);
const files = (await readdir(dir))
  .filter((name) => name.endsWith('.bench.ts'))
  .filter((name) => filters.length === 0 || filters.some((f) => name.includes(f)))
  // goals.bench.ts last, so its table is the last thing printed.
  .sort((a, b) => Number(a === 'goals.bench.ts') - Number(b === 'goals.bench.ts') || a.localeCompare(b));

if (files.length === 0) {
  console.error(`no bench files${filters.length ? ` matching ${filters.join(', ')}` : ''}`);
  process.exit(1);
}

let failed = 0;
for (const name of files) {
  console.log(`\n# ${name}`);
  const started = performance.now();
  try {
    const mod = (await import(pathToFileURL(new URL(name, dir).pathname).href)) as { default?: () => Promise<void> };
    if (typeof mod.default !== 'function') throw new Error('no default export run()');
    await mod.default();
    console.log(`# ${name}: done in ${((performance.now() - started) / 1000).toFixed(1)} s`);
  } catch (err) {
    failed++;
    console.error(`# ${name}: FAILED`, err);
  }
}
process.exit(failed ? 1 : 0);
