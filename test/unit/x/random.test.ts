import { describe, expect, it } from 'vitest';
import {
  ALPHANUMERIC,
  randomAlphanumeric,
  randomBytes,
  randomDigits,
  randomString,
  randomToken,
  sha256Hex,
  timingSafeEqualBytes,
  timingSafeEqualString,
  toHex,
  uuidv4,
} from '../../../src/x/random.ts';

describe('random', () => {
  it('randomBytes returns n fresh bytes, also beyond the 64 KiB getRandomValues limit', () => {
    expect(randomBytes(0)).toHaveLength(0);
    expect(randomBytes(32)).toHaveLength(32);
    const big = randomBytes(70_000);
    expect(big).toHaveLength(70_000);
    expect(big.subarray(65_536).some((b) => b !== 0)).toBe(true);
    expect(toHex(randomBytes(16))).not.toBe(toHex(randomBytes(16)));
    expect(() => randomBytes(-1)).toThrow(RangeError);
    expect(() => randomBytes(1.5)).toThrow(RangeError);
  });

  it('randomAlphanumeric / randomDigits have the right length and alphabet', () => {
    expect(randomAlphanumeric(0)).toBe('');
    for (let i = 0; i < 50; i++) {
      expect(randomAlphanumeric(40)).toMatch(/^[A-Za-z0-9]{40}$/);
      expect(randomDigits(6)).toMatch(/^[0-9]{6}$/);
    }
  });

  it('randomToken has the Kratos session token shape', () => {
    const t = randomToken('ory_st_');
    expect(t).toMatch(/^ory_st_[A-Za-z0-9]{32}$/);
    expect(randomToken('ory_lo_', 10)).toMatch(/^ory_lo_[A-Za-z0-9]{10}$/);
    const seen = new Set(Array.from({ length: 1000 }, () => randomToken('x_')));
    expect(seen.size).toBe(1000);
  });

  it('is unbiased (chi-square over digits and alphanumerics)', () => {
    const chi = (text: string, alphabet: string) => {
      const counts = new Map<string, number>();
      for (const c of text) counts.set(c, (counts.get(c) ?? 0) + 1);
      const expected = text.length / alphabet.length;
      let x = 0;
      for (const c of alphabet) x += ((counts.get(c) ?? 0) - expected) ** 2 / expected;
      return x;
    };
    // Critical values at p=1e-6: df=9 -> 44.8, df=61 -> 128.5. A modulo-biased sampler scores ~70 / ~1300 here.
    expect(chi(randomDigits(200_000), '0123456789')).toBeLessThan(44.8);
    expect(chi(randomAlphanumeric(200_000), ALPHANUMERIC)).toBeLessThan(128.5);
  });

  it('randomString validates its alphabet', () => {
    expect(() => randomString(3, 'a')).toThrow(RangeError);
    expect(() => randomString(3, 'aab')).toThrow(RangeError);
    expect(randomString(5, 'ab')).toMatch(/^[ab]{5}$/);
  });

  it('uuidv4 is a version 4 UUID', () => {
    expect(uuidv4()).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
  });

  it('sha256Hex matches known vectors', async () => {
    expect(await sha256Hex('')).toBe('e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855');
    expect(await sha256Hex('abc')).toBe('ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad');
    expect(await sha256Hex(new TextEncoder().encode('abc'))).toBe(await sha256Hex('abc'));
  });

  it('timingSafeEqual compares content and length', () => {
    expect(timingSafeEqualString('abc', 'abc')).toBe(true);
    expect(timingSafeEqualString('abc', 'abd')).toBe(false);
    expect(timingSafeEqualString('abc', 'abcd')).toBe(false);
    expect(timingSafeEqualString('', '')).toBe(true);
    expect(timingSafeEqualString('é', 'e\u0301')).toBe(false);
    expect(timingSafeEqualString(undefined as unknown as string, 'x')).toBe(false);
    expect(timingSafeEqualBytes(new Uint8Array([1, 2]), new Uint8Array([1, 2, 0]))).toBe(false);
    expect(timingSafeEqualBytes(new Uint8Array([1, 2]), new Uint8Array([1, 2]))).toBe(true);
  });
});
