const STD = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';
/** bcrypt's own alphabet (OpenBSD), not the crypt(3) one. */
const BCRYPT = './ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';
/** crypt(3) alphabet used by md5-crypt and sha-crypt. */
export const CRYPT_ALPHABET = './0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';

function lookup(alphabet: string): Int16Array {
  const table = new Int16Array(128).fill(-1);
  for (let i = 0; i < alphabet.length; i++) table[alphabet.charCodeAt(i)] = i;
  return table;
}
const STD_LOOKUP = lookup(STD);
const BCRYPT_LOOKUP = lookup(BCRYPT);

const encoder = new TextEncoder();
export const utf8 = (text: string): Uint8Array => encoder.encode(text);
const decoder = new TextDecoder('utf-8', { fatal: false });
export const fromUtf8 = (bytes: Uint8Array): string => decoder.decode(bytes);

function encodeWith(alphabet: string, bytes: Uint8Array, pad: boolean): string {
  let out = '';
  let i = 0;
  for (; i + 2 < bytes.length; i += 3) {
    const n = (bytes[i] << 16) | (bytes[i + 1] << 8) | bytes[i + 2];
    out += alphabet[(n >> 18) & 63] + alphabet[(n >> 12) & 63] + alphabet[(n >> 6) & 63] + alphabet[n & 63];
  }
  const rest = bytes.length - i;
  if (rest === 1) {
    const n = bytes[i] << 16;
    out += alphabet[(n >> 18) & 63] + alphabet[(n >> 12) & 63] + (pad ? '==' : '');
  } else if (rest === 2) {
    const n = (bytes[i] << 16) | (bytes[i + 1] << 8);
    out += alphabet[(n >> 18) & 63] + alphabet[(n >> 12) & 63] + alphabet[(n >> 6) & 63] + (pad ? '=' : '');
  }
  return out;
}

/**
 * Decodes base64 like Go's encoding/base64: `padded` selects StdEncoding (padding required) or
 * RawStdEncoding (no padding allowed); `strict` also rejects non-zero trailing bits (Go's Strict()).
 * Returns undefined for malformed input.
 */
function decodeWith(table: Int16Array, text: string, padded: boolean, strict: boolean): Uint8Array | undefined {
  let body = text;
  if (padded) {
    if (text.length % 4 !== 0) return undefined;
    if (text.endsWith('==')) body = text.slice(0, -2);
    else if (text.endsWith('=')) body = text.slice(0, -1);
  }
  if (body.length % 4 === 1) return undefined;
  const out = new Uint8Array(Math.floor((body.length * 3) / 4));
  let bits = 0;
  let acc = 0;
  let o = 0;
  for (let i = 0; i < body.length; i++) {
    const code = body.charCodeAt(i);
    const v = code < 128 ? table[code] : -1;
    if (v < 0) return undefined;
    acc = (acc << 6) | v;
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out[o++] = (acc >> bits) & 0xff;
      acc &= (1 << bits) - 1;
    }
  }
  if (strict && acc !== 0) return undefined;
  return out;
}

export const encodeBase64 = (bytes: Uint8Array): string => encodeWith(STD, bytes, true);
export const encodeBase64Raw = (bytes: Uint8Array): string => encodeWith(STD, bytes, false);
/** Go base64.StdEncoding.Strict() */
export const decodeBase64Strict = (text: string) => decodeWith(STD_LOOKUP, text, true, true);
/** Go base64.StdEncoding (lenient about trailing bits) */
export const decodeBase64 = (text: string) => decodeWith(STD_LOOKUP, text, true, false);
/** Go base64.RawStdEncoding.Strict() */
export const decodeBase64RawStrict = (text: string) => decodeWith(STD_LOOKUP, text, false, true);

export const encodeBcryptBase64 = (bytes: Uint8Array): string => encodeWith(BCRYPT, bytes, false);
/** bcrypt base64; trailing bits are ignored as OpenBSD and Go do. */
export const decodeBcryptBase64 = (text: string) => decodeWith(BCRYPT_LOOKUP, text, false, false);

export function toHex(bytes: Uint8Array): string {
  let out = '';
  for (const b of bytes) out += b.toString(16).padStart(2, '0');
  return out;
}

export function concatBytes(...parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

/** Compares without an early exit; only the lengths (public in every format here) leak. */
export function timingSafeEqual(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  let diff = 0;
  for (let i = 0; i < a.length; i++) diff |= a[i] ^ b[i];
  return diff === 0;
}

export function randomBytes(length: number): Uint8Array {
  const out = new Uint8Array(length);
  crypto.getRandomValues(out);
  return out;
}
