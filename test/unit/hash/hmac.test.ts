import { createHmac, randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { hmacSha512 } from '../../../src/hash/hmac.ts';
import { deriveLogoutToken } from '../../../src/session/token-hash.ts';

describe('hmacSha512', () => {
  it('equals node:crypto HMAC-SHA-512 for keys of 0 to 128 bytes and messages of any length', async () => {
    for (const keyLength of [0, 1, 32, 64, 127, 128]) {
      for (const messageLength of [0, 1, 111, 112, 128, 1000]) {
        const key = randomBytes(keyLength);
        const message = randomBytes(messageLength);
        const expected = createHmac('sha512', key).update(message).digest('hex');
        expect(Buffer.from(await hmacSha512(key, message)).toString('hex'), `key ${keyLength}, message ${messageLength}`).toBe(expected);
      }
    }
  });

  it('matches RFC 4231 test case 2', async () => {
    const mac = await hmacSha512(new TextEncoder().encode('Jefe'), new TextEncoder().encode('what do ya want for nothing?'));
    expect(Buffer.from(mac).toString('hex')).toBe('164b7a7bfcf819e2e395fbe73b56e0a387bd64222e831fd610270cd7ea2505549758bf75c05a994a6d034f65f8f0e6fdcaeab1a34d4a6b4b636e070a38bce737');
  });

  it('refuses keys longer than the block (they would need pre-hashing)', async () => {
    await expect(hmacSha512(new Uint8Array(129), new Uint8Array(1))).rejects.toThrow(RangeError);
  });
});

describe('deriveLogoutToken', () => {
  /** The derivation as it was first written with WebCrypto: logout tokens of existing sessions must not change. */
  async function withWebCrypto(prefix: string, tokenHash: string, length: number): Promise<string> {
    const alphabet = 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789';
    const key = await crypto.subtle.importKey('raw', Buffer.from(tokenHash, 'hex'), { name: 'HMAC', hash: 'SHA-512' }, false, ['sign']);
    let out = '';
    for (let block = 0; out.length < length; block++) {
      const mac = new Uint8Array(await crypto.subtle.sign('HMAC', key, new TextEncoder().encode(`idflow/logout-token/v1/${block}`)));
      for (let i = 0; i < mac.length && out.length < length; i++) if (mac[i] < 248) out += alphabet[mac[i] % 62];
    }
    return prefix + out;
  }

  it('derives the same token as the WebCrypto derivation, also when it needs more than one block', async () => {
    for (let i = 0; i < 20; i++) {
      const tokenHash = randomBytes(32).toString('hex');
      for (const length of [48, 130]) {
        expect(await deriveLogoutToken('ory_lo_', tokenHash, length)).toBe(await withWebCrypto('ory_lo_', tokenHash, length));
      }
    }
  });
});
