/** SHA-256 hex of session and logout tokens (what is stored and looked up; never the tokens themselves). */
import { fastSha256Hex } from '../hash/sha256.ts';
import { hmacSha512 } from '../hash/hmac.ts';

export const hashToken = (token: string): Promise<string> => fastSha256Hex(token);

const ALPHANUMERIC = 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789';
const LOGOUT_CONTEXT = 'idflow/logout-token/v1';

function hexToBytes(hex: string): Uint8Array<ArrayBuffer> {
  if (!/^(?:[0-9a-f]{2})+$/i.test(hex)) throw new TypeError('expected a hex string');
  const out = new Uint8Array(hex.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = parseInt(hex.slice(i * 2, i * 2 + 2), 16);
  return out;
}

/**
 * The logout token of a session, derived from its session-token hash: `ory_lo_` + `length` alphanumerics taken from
 * HMAC-SHA-512(key = token hash, context) by rejection sampling (bytes >= 248 are skipped, so every symbol is equally
 * likely). Stable for the life of the session, so every `/self-service/logout/browser` call hands out the same URL
 * (Kratos stores its logout token in plaintext to the same effect); it cannot be computed without the token hash and
 * reveals nothing about the session token.
 */
export async function deriveLogoutToken(prefix: string, sessionTokenHash: string, length: number): Promise<string> {
  const key = hexToBytes(sessionTokenHash);
  const encoder = new TextEncoder();
  let out = '';
  // One 64-byte MAC yields ~62 symbols: the first block nearly always suffices; more follow only when needed.
  for (let block = 0; out.length < length; block++) {
    const mac = await hmacSha512(key, encoder.encode(`${LOGOUT_CONTEXT}/${block}`));
    for (let i = 0; i < mac.length && out.length < length; i++) {
      if (mac[i] < 248) out += ALPHANUMERIC[mac[i] % 62];
    }
  }
  return prefix + out;
}
