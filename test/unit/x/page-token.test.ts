import { describe, expect, it } from 'vitest';
import { PageTokenSealer } from '../../../src/x/page-token.ts';

describe('page tokens', () => {
  it('never begin with "-", which a command line reads as an option; every one opens to its payload', async () => {
    const tokens = new PageTokenSealer(['page-token-secret-0123456789']);
    // The first character comes from a random IV: 1 in 64 would begin with "-" without the guard.
    const sealed = await Promise.all(Array.from({ length: 1000 }, (_, i) => tokens.seal('identities', { after: `id-${i}` })));
    expect(sealed.filter((token) => token.startsWith('-'))).toEqual([]);
    expect(await tokens.open('identities', sealed[999])).toEqual({ after: 'id-999' });
    await expect(tokens.open('sessions', sealed[0])).rejects.toMatchObject({ status: 400 });
  });
});
