import { readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { renderMachines } from '../../src/cli/machines.command.ts';
import { FLOW_MACHINES } from '../../src/flows/flow-machines.ts';
import { SUPPORTED_HASH_FORMATS } from '../../src/hash/index.ts';

export const README = fileURLToPath(new URL('../../README.md', import.meta.url));

/** The generated parts of the README, by marker name. */
export function generatedBlocks(): Record<string, string> {
  const machines = renderMachines(Object.keys(FLOW_MACHINES) as Array<keyof typeof FLOW_MACHINES>, 'mermaid');
  const hashes = ['| format | prefixes |', '|---|---|', ...SUPPORTED_HASH_FORMATS.map((f) => `| ${f.name} | ${f.prefixes.map((p) => `\`${p}\``).join(', ')} |`)].join('\n') + '\n';
  return { machines, 'hash-formats': hashes };
}

export function readBlock(text: string, name: string): string | undefined {
  const match = new RegExp(`<!-- ${name}:begin -->\\n([\\s\\S]*?)<!-- ${name}:end -->`).exec(text);
  return match?.[1];
}

/** `npx tsx test/support/readme-blocks.ts` rewrites the generated blocks in place. */
export function updateReadme(): void {
  let text = readFileSync(README, 'utf8');
  for (const [name, block] of Object.entries(generatedBlocks())) {
    text = text.replace(new RegExp(`(<!-- ${name}:begin -->\\n)[\\s\\S]*?(<!-- ${name}:end -->)`), (_m, a, b) => `${a}${block}${b}`);
  }
  writeFileSync(README, text);
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) updateReadme();
