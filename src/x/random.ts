/**
 * CSPRNG helpers built on WebCrypto only (`crypto.getRandomValues`, `crypto.randomUUID`, `crypto.subtle`), so the
 * module runs unchanged on Node 20+ and Deno. Never use Math.random for anything security relevant.
 */

/** Kratos `randx.AlphaNum`: 62 symbols. */
export const ALPHANUMERIC = 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789';
export const DIGITS = '0123456789';

/** `crypto.getRandomValues` refuses more than 65,536 bytes per call. */
const MAX_RANDOM_CHUNK = 65_536;

function assertLength(n: number, what: string): void {
  if (!Number.isSafeInteger(n) || n < 0) throw new RangeError(`${what} must be a non-negative safe integer, got ${n}`);
}

/** `n` bytes from the platform CSPRNG. */
export function randomBytes(n: number): Uint8Array<ArrayBuffer> {
  assertLength(n, 'randomBytes length');
  const out = new Uint8Array(n);
  for (let off = 0; off < n; off += MAX_RANDOM_CHUNK) {
    crypto.getRandomValues(out.subarray(off, Math.min(n, off + MAX_RANDOM_CHUNK)));
  }
  return out;
}

/**
 * `n` symbols drawn uniformly from `alphabet` (2..256 distinct symbols) with rejection sampling: a byte is kept only
 * when it is below the largest multiple of the alphabet size that fits in a byte, so no symbol is favoured.
 */
export function randomString(n: number, alphabet: string): string {
  assertLength(n, 'randomString length');
  const symbols = Array.from(alphabet);
  const size = symbols.length;
  if (size < 2 || size > 256 || new Set(symbols).size !== size) {
    throw new RangeError('alphabet must hold 2..256 distinct symbols');
  }
  const limit = 256 - (256 % size); // accept bytes in [0, limit)
  let out = '';
  while (out.length < n) {
    // Over-draw a little so that one round usually suffices.
    const need = n - out.length;
    const buf = randomBytes(Math.ceil((need * 256) / limit) + 8);
    for (let i = 0; i < buf.length && out.length < n; i++) {
      const b = buf[i];
      if (b < limit) out += symbols[b % size];
    }
  }
  return out;
}

/** `n` characters of `[a-zA-Z0-9]`, ~5.95 bits each. */
export function randomAlphanumeric(n: number): string {
  return randomString(n, ALPHANUMERIC);
}

/** `n` unbiased decimal digits (OTP / verification codes); leading zeros kept. */
export function randomDigits(n: number): string {
  return randomString(n, DIGITS);
}

/**
 * Opaque bearer tokens: `prefix` + `length` alphanumerics. Kratos shapes: session token `ory_st_` + 32 (~190 bits),
 * logout token `ory_lo_` + 32.
 */
export function randomToken(prefix: string, length = 32): string {
  return prefix + randomAlphanumeric(length);
}

/** RFC 9562 version-4 UUID (lower-case). */
export function uuidv4(): string {
  return crypto.randomUUID();
}

const encoder = new TextEncoder();

export function toHex(bytes: Uint8Array): string {
  let out = '';
  for (let i = 0; i < bytes.length; i++) out += bytes[i].toString(16).padStart(2, '0');
  return out;
}

/** Lower-case hex SHA-256 of the UTF-8 encoding of `text` (or of raw bytes). */
export async function sha256Hex(text: string | Uint8Array<ArrayBuffer>): Promise<string> {
  const data = typeof text === 'string' ? encoder.encode(text) : text;
  return toHex(new Uint8Array(await crypto.subtle.digest('SHA-256', data)));
}

/**
 * Constant-time byte comparison. The running time depends only on the longer length, never on where the inputs
 * differ; different lengths compare unequal.
 */
export function timingSafeEqualBytes(a: Uint8Array, b: Uint8Array): boolean {
  const len = Math.max(a.length, b.length);
  let diff = a.length ^ b.length;
  for (let i = 0; i < len; i++) {
    // Out-of-range reads yield undefined -> 0; the length mismatch is already recorded in `diff`.
    diff |= (a[i] ?? 0) ^ (b[i] ?? 0);
  }
  return diff === 0;
}

/** Constant-time comparison of two strings (by their UTF-8 bytes). Non-strings compare unequal. */
export function timingSafeEqualString(a: string, b: string): boolean {
  if (typeof a !== 'string' || typeof b !== 'string') return false;
  return timingSafeEqualBytes(encoder.encode(a), encoder.encode(b));
}
