import { describe, expect, it } from 'vitest';
import type { PasswordMethodConfig } from '../../../../config/types.ts';
import {
  createPasswordPolicy,
  levenshtein,
  longestCommonSubstring,
  MAX_PASSWORD_CODE_POINTS,
  passwordNewSameAsOld,
} from '../../../../src/methods/password/policy.ts';

const noNetwork: typeof fetch = () => {
  throw new Error('network must not be used in this test');
};

function config(over: Partial<PasswordMethodConfig> = {}): PasswordMethodConfig {
  return {
    haveibeenpwned_host: 'api.pwnedpasswords.com',
    haveibeenpwned_enabled: false,
    max_breaches: 0,
    ignore_network_errors: true,
    min_password_length: 8,
    identifier_similarity_check_enabled: false,
    ...over,
  };
}

const policy = (over: Partial<PasswordMethodConfig> = {}, maxLengthBytes?: number) =>
  createPasswordPolicy(config(over), { fetch: noNetwork, maxLengthBytes });

describe('levenshtein', () => {
  it('computes edit distances', () => {
    expect(levenshtein('kitten', 'sitting')).toBe(3);
    expect(levenshtein('flaw', 'lawn')).toBe(2);
    expect(levenshtein('', 'abc')).toBe(3);
    expect(levenshtein('abc', '')).toBe(3);
    expect(levenshtein('abc', 'abc')).toBe(0);
    expect(levenshtein('abcd', 'xaxbxcxd')).toBe(4);
  });
  it('counts code points, not UTF-16 units', () => {
    expect(levenshtein('😀a', 'a')).toBe(1);
    expect(levenshtein('😀', '😁')).toBe(1);
  });
});

describe('longestCommonSubstring', () => {
  it('returns the length of the longest common contiguous run', () => {
    expect(longestCommonSubstring('alice@example.com', 'alice123!')).toBe(5);
    expect(longestCommonSubstring('xabcdy', 'zabcdw')).toBe(4);
    expect(longestCommonSubstring('abc', 'xyz')).toBe(0);
    expect(longestCommonSubstring('', 'a')).toBe(0);
    expect(longestCommonSubstring('axbxcx', 'abc')).toBe(1);
  });
  it('counts code points, not UTF-16 units', () => {
    expect(longestCommonSubstring('😀😀x', '😀😀y')).toBe(2);
  });
});

describe('length', () => {
  it('rejects a short password with 4000032 and Kratos text', async () => {
    expect(await policy().check('abc', [])).toEqual({
      id: 4000032,
      text: 'The password must be at least 8 characters long, but got 3.',
      type: 'error',
      context: { min_length: 8, actual_length: 3 },
    });
    expect(await policy({ min_password_length: 12 }).check('elevenchars', [])).toMatchObject({
      id: 4000032,
      context: { min_length: 12, actual_length: 11 },
    });
    expect(await policy().check('', [])).toMatchObject({ id: 4000032, context: { actual_length: 0 } });
  });

  it('accepts exactly the minimum', async () => {
    expect(await policy().check('abcdefgh', [])).toBeNull();
  });

  it('counts an emoji as one character (code points, not UTF-16 units)', async () => {
    expect(await policy().check('😀'.repeat(7), [])).toMatchObject({
      id: 4000032,
      context: { min_length: 8, actual_length: 7 },
    });
    expect(await policy().check('😀'.repeat(8), [])).toBeNull();
  });

  it('counts after NFKC: a decomposed e + combining acute is one character', async () => {
    const decomposed = 'e\u0301'.repeat(7); // 14 code points as typed, 7 after NFKC
    expect(await policy().check(decomposed, [])).toMatchObject({ id: 4000032, context: { actual_length: 7 } });
    // full-width letters fold to ASCII, still one character each
    expect(await policy().check('ｐａｓｓｗｏｒｄ', [])).toBeNull();
  });

  it('rejects more than 1024 code points with 4000033', async () => {
    expect(await policy().check('a'.repeat(1025), [])).toEqual({
      id: 4000033,
      text: 'The password must be at most 1024 characters long, but got 1025.',
      type: 'error',
      context: { max_length: MAX_PASSWORD_CODE_POINTS, actual_length: 1025 },
    });
    expect(await policy().check('a'.repeat(1024), [])).toBeNull();
    // 1024 emoji are 2048 UTF-16 units but 1024 characters
    expect(await policy().check('😀'.repeat(1024), [])).toBeNull();
  });

  it('applies the maximum after NFKC expansion', async () => {
    // U+FB00 (ﬀ) is one code point as typed and "ff" after NFKC
    expect(await policy().check('\uFB00'.repeat(600), [])).toMatchObject({
      id: 4000033,
      context: { max_length: 1024, actual_length: 1200 },
    });
  });

  it('refuses absurdly long input quickly', async () => {
    const started = performance.now();
    expect(await policy().check('a'.repeat(1_000_000), [])).toMatchObject({
      id: 4000033,
      context: { max_length: 1024, actual_length: 1_000_000 },
    });
    expect(performance.now() - started).toBeLessThan(1000);
  });

  it('with maxLengthBytes (bcrypt 72) also limits UTF-8 bytes', async () => {
    expect(await policy({}, 72).check('a'.repeat(80), [])).toMatchObject({
      type: 'error',
      id: 4000033,
      text: 'The password must be at most 72 characters long, but got 80.',
      context: { max_length: 72, actual_length: 80 },
    });
    expect(await policy({}, 72).check('a'.repeat(72), [])).toBeNull();
    // 19 emoji: 19 characters but 76 bytes
    expect(await policy({}, 72).check('😀'.repeat(19), [])).toMatchObject({
      id: 4000033,
      context: { max_length: 72, actual_length: 76 },
    });
    expect(await policy().check('😀'.repeat(19), [])).toBeNull();
    // é (U+00E9) is 2 bytes
    expect(await policy({}, 72).check('\u00E9'.repeat(36), [])).toBeNull();
    expect(await policy({}, 72).check('\u00E9'.repeat(37), [])).toMatchObject({ context: { actual_length: 74 } });
  });

  it('byte limit covers the NFKC form too (U+FDFA: 3 bytes typed, 33 bytes after NFKC)', async () => {
    expect(await policy({}, 72).check('\uFDFA'.repeat(3), [])).toMatchObject({
      id: 4000033,
      context: { max_length: 72, actual_length: 99 },
    });
  });

  it('rejects an invalid maxLengthBytes', () => {
    expect(() => policy({}, 0)).toThrow(/maxLengthBytes/);
  });
});

describe('identifier similarity', () => {
  const on = { identifier_similarity_check_enabled: true };
  const similar = {
    id: 4000031,
    text: 'The password can not be used because it is too similar to the identifier.',
    type: 'error',
  };

  it('rejects alice123! for alice@example.com', async () => {
    expect(await policy(on).check('alice123!', ['alice@example.com'])).toEqual(similar);
  });

  it('is case-insensitive', async () => {
    expect(await policy(on).check('ALICE123!', ['alice@example.com'])).toEqual(similar);
    expect(await policy(on).check('alice123!', ['Alice@Example.com'])).toEqual(similar);
  });

  it('compares against the e-mail local part (distance rule)', async () => {
    // 4 edits from the local part "abcd", far from the whole address, and no long common substring
    expect(levenshtein('abcd@example.com', 'xaxbxcxd')).toBeGreaterThanOrEqual(5);
    expect(longestCommonSubstring('abcd@example.com', 'xaxbxcxd') / 8).toBeLessThanOrEqual(0.5);
    expect(await policy(on).check('xaxbxcxd', ['abcd@example.com'])).toEqual(similar);
  });

  it('rejects on the substring rule alone (LCS / password length > 0.5)', async () => {
    expect(levenshtein('johnathan', 'zzjohnathanzzzz')).toBeGreaterThanOrEqual(5);
    expect(await policy(on).check('zzjohnathanzzzz', ['johnathan'])).toEqual(similar);
    // 9 / 18 = 0.5 is not more than half
    expect(await policy(on).check('zzjohnathanzzzzzzz', ['johnathan'])).toBeNull();
  });

  it('checks every identifier', async () => {
    expect(await policy(on).check('alice123!', ['bob@example.org', 'alice'])).toEqual(similar);
  });

  it('accepts an unrelated long passphrase', async () => {
    expect(await policy(on).check('correct horse battery staple', ['alice@example.com'])).toBeNull();
    expect(await policy(on).check('correct horse battery staple', ['alice@example.com', 'alice'])).toBeNull();
  });

  it('does nothing when disabled', async () => {
    expect(await policy().check('alice123!', ['alice@example.com'])).toBeNull();
  });

  it('ignores empty identifiers', async () => {
    expect(await policy(on).check('abcdefgh', ['', '   '])).toBeNull();
  });

  it('is only computed when both strings are at most 256 characters', async () => {
    expect(await policy(on).check('a'.repeat(30), ['a'.repeat(256)])).toEqual(similar);
    expect(await policy(on).check('a'.repeat(30), ['a'.repeat(257)])).toBeNull();
    expect(await policy(on).check('a'.repeat(200) + 'b'.repeat(56), ['a'.repeat(200)])).toEqual(similar);
    expect(await policy(on).check('a'.repeat(201) + 'b'.repeat(56), ['a'.repeat(200)])).toBeNull();
  });

  it('stays fast at the bound', async () => {
    const started = performance.now();
    const ids = Array.from({ length: 10 }, (_, i) => `${'x'.repeat(240)}${i}@example.com`);
    await policy(on).check('y'.repeat(256), ids);
    expect(performance.now() - started).toBeLessThan(1000);
  });

  it('length is checked before similarity', async () => {
    expect(await policy(on).check('alice', ['alice'])).toMatchObject({ id: 4000032 });
  });
});

describe('messages', () => {
  it('exposes 4000039 for the settings flow', () => {
    expect(passwordNewSameAsOld()).toMatchObject({ id: 4000039 });
  });
});
