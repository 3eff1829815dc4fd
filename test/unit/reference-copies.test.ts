import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { REFERENCE_FILES, referenceUrl, sharedReferenceUrl } from '../support/reference.ts';

describe('vendored reference contracts', () => {
  for (const name of REFERENCE_FILES) {
    const shared = fileURLToPath(sharedReferenceUrl(name));
    it.runIf(existsSync(shared))(`test/fixtures/reference/${name} equals ../shared/reference/${name}`, () => {
      expect(readFileSync(referenceUrl(name)).equals(readFileSync(shared))).toBe(true);
    });
    it(`test/fixtures/reference/${name} is there and parses`, () => {
      expect(() => JSON.parse(readFileSync(referenceUrl(name), 'utf8'))).not.toThrow();
    });
  }
});
