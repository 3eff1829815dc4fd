/**
 * Anti-CSRF synchronizer tokens, wire-compatible with `ory/nosurf` as used by Kratos (`x/nosurfx`):
 *
 * - the real token is 32 random bytes; the cookie value is its standard base64 (44 chars);
 * - the value sent in forms / `X-CSRF-Token` is base64(pad || token XOR pad) with a fresh 32-byte one-time pad
 *   (64 bytes -> 88 chars), so the token rendered into a page differs on every response (BREACH mitigation);
 * - verification base64-decodes both sides, unmasks whichever is 64 bytes long, and compares the two 32-byte
 *   tokens in constant time (nosurf `VerifyToken`; Kratos even passes a *masked* token as the reference value).
 *
 * Cookie name: `csrf_token_` + hex(sha256(public base URL string)) (Kratos `CSRFCookieName`).
 */
import { randomBytes, sha256Hex, timingSafeEqualBytes } from './random.ts';

export const CSRF_TOKEN_LENGTH = 32;
export const CSRF_FORM_FIELD = 'csrf_token';
export const CSRF_HEADER = 'X-CSRF-Token';
/** nosurf.MaxAge: one year. */
export const CSRF_COOKIE_MAX_AGE_SECONDS = 365 * 24 * 60 * 60;

/** Padded standard base64 of exactly 32 bytes (44 chars) / 64 bytes (88 chars). */
const RAW_B64 = /^[A-Za-z0-9+/]{43}=$/;
const MASKED_B64 = /^[A-Za-z0-9+/]{86}==$/;

function b64encode(bytes: Uint8Array): string {
  let bin = '';
  for (let i = 0; i < bytes.length; i++) bin += String.fromCharCode(bytes[i]);
  return btoa(bin);
}

function b64decode(text: string): Uint8Array {
  const bin = atob(text);
  const out = new Uint8Array(bin.length);
  for (let i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
  return out;
}

/**
 * Decodes a raw (44-char) or masked (88-char) token to the 32 real bytes; `undefined` for anything else.
 * The shape is checked before decoding because `atob` is lenient (whitespace, missing padding).
 */
function decodeToken(value: unknown): Uint8Array | undefined {
  if (typeof value !== 'string') return undefined;
  if (value.length === 44 && RAW_B64.test(value)) {
    const raw = b64decode(value);
    return raw.length === CSRF_TOKEN_LENGTH ? raw : undefined;
  }
  if (value.length === 88 && MASKED_B64.test(value)) {
    const masked = b64decode(value);
    if (masked.length !== 2 * CSRF_TOKEN_LENGTH) return undefined;
    return unmask(masked);
  }
  return undefined;
}

function unmask(masked: Uint8Array): Uint8Array {
  const out = new Uint8Array(CSRF_TOKEN_LENGTH);
  for (let i = 0; i < CSRF_TOKEN_LENGTH; i++) out[i] = masked[i] ^ masked[CSRF_TOKEN_LENGTH + i];
  return out;
}

/** A new real token: base64 of 32 CSPRNG bytes (the cookie value). */
export function generateCsrfToken(): string {
  return b64encode(randomBytes(CSRF_TOKEN_LENGTH));
}

/**
 * Masks a real token (the 44-char cookie value) for rendering: base64(pad || token XOR pad), 88 chars, a fresh pad
 * on every call. Throws a TypeError when `token` is not a 44-char base64 token (a programming error, not user input).
 */
export function maskCsrfToken(token: string): string {
  if (typeof token !== 'string' || token.length !== 44 || !RAW_B64.test(token)) {
    throw new TypeError('maskCsrfToken expects the raw 44-character base64 CSRF token');
  }
  const real = b64decode(token);
  const pad = randomBytes(CSRF_TOKEN_LENGTH);
  const out = new Uint8Array(2 * CSRF_TOKEN_LENGTH);
  out.set(pad, 0);
  for (let i = 0; i < CSRF_TOKEN_LENGTH; i++) out[CSRF_TOKEN_LENGTH + i] = real[i] ^ pad[i];
  return b64encode(out);
}

/**
 * True when `submitted` carries the same real token as `cookieToken`. Each side may be raw (44 chars) or masked
 * (88 chars). Any malformed, missing or non-string input yields false; never throws.
 */
export function verifyCsrfToken(cookieToken: unknown, submitted: unknown): boolean {
  try {
    const real = decodeToken(cookieToken);
    const sent = decodeToken(submitted);
    if (!real || !sent) return false;
    return timingSafeEqualBytes(real, sent);
  } catch {
    return false;
  }
}

/**
 * `csrf_token_` + lower-case hex(sha256(publicBaseUrl)). Hash the exact string form Kratos would use (Go
 * `url.URL.String()` of the configured base URL, e.g. `http://127.0.0.1:4433/`); async because WebCrypto is —
 * compute it once at startup.
 */
export async function csrfCookieName(publicBaseUrl: string): Promise<string> {
  return 'csrf_token_' + (await sha256Hex(publicBaseUrl));
}
