import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { README, generatedBlocks, readBlock } from '../support/readme-blocks.ts';

describe('README', () => {
  const text = readFileSync(README, 'utf8');

  it.each(Object.entries(generatedBlocks()))('has an up-to-date %s block (regenerate: npx tsx test/support/readme-blocks.ts)', (name, block) => {
    expect(readBlock(text, name)).toBe(block);
  });

  it('shows how to install, start and test', () => {
    for (const command of ['npm ci', 'npm start', 'npm test']) expect(text).toContain(command);
  });
});
