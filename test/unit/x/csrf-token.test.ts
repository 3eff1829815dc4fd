import { describe, expect, it } from 'vitest';
import { csrfCookieName, generateCsrfToken, maskCsrfToken, verifyCsrfToken } from '../../../src/x/csrf-token.ts';

const b64 = (bytes: Uint8Array) => btoa(String.fromCharCode(...bytes));
const unb64 = (s: string) => Uint8Array.from(atob(s), (c) => c.charCodeAt(0));

describe('csrf-token (nosurf compatible)', () => {
  it('generates 32 random bytes as standard base64', () => {
    const t = generateCsrfToken();
    expect(t).toMatch(/^[A-Za-z0-9+/]{43}=$/);
    expect(unb64(t)).toHaveLength(32);
    expect(generateCsrfToken()).not.toBe(t);
  });

  it('masks to base64(pad || token XOR pad), 88 chars, fresh each call', () => {
    const t = generateCsrfToken();
    const m1 = maskCsrfToken(t);
    const m2 = maskCsrfToken(t);
    expect(m1).toHaveLength(88);
    expect(m1).toMatch(/^[A-Za-z0-9+/]{86}==$/);
    expect(m1).not.toBe(m2);
    const raw = unb64(m1);
    const real = raw.slice(0, 32).map((p, i) => p ^ raw[32 + i]);
    expect(b64(real)).toBe(t);
  });

  it('verifies masked and raw tokens against the cookie token', () => {
    const t = generateCsrfToken();
    expect(verifyCsrfToken(t, maskCsrfToken(t))).toBe(true);
    expect(verifyCsrfToken(t, t)).toBe(true);
    // nosurf VerifyToken also unmasks the reference side (Kratos passes nosurf.Token(r), which is masked).
    expect(verifyCsrfToken(maskCsrfToken(t), maskCsrfToken(t))).toBe(true);
    expect(verifyCsrfToken(t, maskCsrfToken(generateCsrfToken()))).toBe(false);
    expect(verifyCsrfToken(generateCsrfToken(), t)).toBe(false);
  });

  it('interoperates with a nosurf-style masked value built by hand', () => {
    const real = new Uint8Array(32).map((_, i) => i);
    const pad = new Uint8Array(32).fill(0xa5);
    const masked = new Uint8Array(64);
    masked.set(pad, 0);
    masked.set(real.map((b, i) => b ^ pad[i]), 32);
    expect(verifyCsrfToken(b64(real), b64(masked))).toBe(true);
  });

  it('returns false on malformed input and never throws', () => {
    const t = generateCsrfToken();
    const m = maskCsrfToken(t);
    const bad: unknown[] = [
      undefined, null, '', 42, {}, [], t.slice(0, 43), t + '=', m.slice(0, 87), m + 'A',
      t.replace(/.$/, ''), t.slice(0, -1) + '!', ' ' + t, t + ' ', t.replace(/=$/, ''), m.replace(/==$/, ''),
      m.replace(/[A-Za-z]/, '-'), t.replace(/[A-Za-z]/, '_'), '%%%%', 'A'.repeat(100_000), b64(new Uint8Array(31)),
      b64(new Uint8Array(33)), b64(new Uint8Array(63)), b64(new Uint8Array(65)),
    ];
    for (const v of bad) {
      expect(verifyCsrfToken(t, v)).toBe(false);
      expect(verifyCsrfToken(v, t)).toBe(false);
    }
    expect(verifyCsrfToken(undefined, undefined)).toBe(false);
    expect(verifyCsrfToken('', '')).toBe(false);
  });

  it('maskCsrfToken refuses anything but a raw token', () => {
    expect(() => maskCsrfToken('nope')).toThrow(TypeError);
    expect(() => maskCsrfToken(maskCsrfToken(generateCsrfToken()))).toThrow(TypeError);
  });

  it('cookie name is csrf_token_ + hex sha256 of the base URL string', async () => {
    // sha256("http://127.0.0.1:4433/")
    const name = await csrfCookieName('http://127.0.0.1:4433/');
    expect(name).toMatch(/^csrf_token_[0-9a-f]{64}$/);
    const { createHash } = await import('node:crypto'); // test-only cross-check
    expect(name).toBe('csrf_token_' + createHash('sha256').update('http://127.0.0.1:4433/').digest('hex'));
    expect(await csrfCookieName('http://127.0.0.1:4433')).not.toBe(name);
  });
});
