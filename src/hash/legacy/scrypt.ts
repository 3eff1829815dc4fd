import { concatBytes, decodeBase64Strict, timingSafeEqual } from '../encoding.ts';
import type { HashEngine } from '../engine.ts';
import { malformed, overLimit } from '../errors.ts';
import { HASH_LIMITS } from '../limits.ts';

export interface ScryptHash {
  format: 'scrypt';
  n: number;
  r: number;
  p: number;
  salt: Uint8Array;
  hash: Uint8Array;
}

export interface FirescryptHash {
  format: 'firescrypt';
  logN: number;
  r: number;
  p: number;
  salt: Uint8Array;
  hash: Uint8Array;
  saltSeparator: Uint8Array;
  signerKey: Uint8Array;
}

const PARAMS = /^ln=(\d{1,10}),r=(\d{1,10}),p=(\d{1,10})$/;

function checkRP(format: string, r: number, p: number): void {
  if (r < 1 || r > HASH_LIMITS.scryptR) throw overLimit(`${format} r=${r} not in [1, ${HASH_LIMITS.scryptR}]`);
  if (p < 1 || p > HASH_LIMITS.scryptP) throw overLimit(`${format} p=${p} not in [1, ${HASH_LIMITS.scryptP}]`);
}

function b64(format: string, what: string, text: string): Uint8Array {
  const bytes = decodeBase64Strict(text);
  if (!bytes) throw malformed(format, `${what} is not padded base64`);
  if (bytes.length > HASH_LIMITS.keyLength) throw overLimit(`${format} ${what} longer than ${HASH_LIMITS.keyLength} bytes`);
  return bytes;
}

/** `$scrypt$ln=<N>,r=<r>,p=<p>$<salt>$<hash>`: as in Kratos, `ln` is N itself, not its log2. */
export function parseScrypt(encoded: string): ScryptHash {
  const parts = encoded.split('$');
  if (parts.length !== 5) throw malformed('scrypt', 'expected $scrypt$ln=<N>,r=<r>,p=<p>$<salt>$<hash>');
  const match = PARAMS.exec(parts[2]);
  if (!match) throw malformed('scrypt', 'parameters must read ln=<N>,r=<r>,p=<p>');
  const [n, r, p] = [Number(match[1]), Number(match[2]), Number(match[3])];
  if (n < 1 || n > HASH_LIMITS.scryptN) throw overLimit(`scrypt N=${n} not in [1, ${HASH_LIMITS.scryptN}]`);
  if (n < 2 || (n & (n - 1)) !== 0) throw malformed('scrypt', 'N must be a power of two greater than 1');
  checkRP('scrypt', r, p);
  const salt = b64('scrypt', 'salt', parts[3]);
  const hash = b64('scrypt', 'hash', parts[4]);
  if (hash.length === 0) throw malformed('scrypt', 'empty hash');
  return { format: 'scrypt', n, r, p, salt, hash };
}

/** `$firescrypt$ln=<log2 N>,r=..,p=..$<salt>$<hash>$<salt separator>$<signer key>` (Firebase's modified scrypt). */
export function parseFirescrypt(encoded: string): FirescryptHash {
  const parts = encoded.split('$');
  if (parts.length !== 7) throw malformed('firescrypt', 'expected $firescrypt$ln=..,r=..,p=..$<salt>$<hash>$<salt separator>$<signer key>');
  const match = PARAMS.exec(parts[2]);
  if (!match) throw malformed('firescrypt', 'parameters must read ln=<log2 N>,r=<r>,p=<p>');
  const [logN, r, p] = [Number(match[1]), Number(match[2]), Number(match[3])];
  if (logN > HASH_LIMITS.firescryptLogN) throw overLimit(`firescrypt ln=${logN} exceeds max ${HASH_LIMITS.firescryptLogN}`);
  if (logN < 1) throw malformed('firescrypt', 'ln must be at least 1');
  checkRP('firescrypt', r, p);
  return {
    format: 'firescrypt', logN, r, p,
    salt: b64('firescrypt', 'salt', parts[3]),
    hash: b64('firescrypt', 'hash', parts[4]),
    saltSeparator: b64('firescrypt', 'salt separator', parts[5]),
    signerKey: b64('firescrypt', 'signer key', parts[6]),
  };
}

export async function verifyScrypt(h: ScryptHash, password: Uint8Array, engine: HashEngine): Promise<boolean> {
  const derived = await engine.scrypt(password, h.salt, h.n, h.r, h.p, h.hash.length);
  return timingSafeEqual(derived, h.hash);
}

/** The stored hash is the signer key encrypted with AES-256-CTR (zero IV) under scrypt(password, salt || separator). */
export async function verifyFirescrypt(h: FirescryptHash, password: Uint8Array, engine: HashEngine): Promise<boolean> {
  const derived = await engine.scrypt(password, concatBytes(h.salt, h.saltSeparator), 2 ** h.logN, h.r, h.p, 32);
  const key = await crypto.subtle.importKey('raw', derived as BufferSource, 'AES-CTR', false, ['encrypt']);
  const cipher = await crypto.subtle.encrypt({ name: 'AES-CTR', counter: new Uint8Array(16), length: 128 }, key, h.signerKey as BufferSource);
  return timingSafeEqual(new Uint8Array(cipher), h.hash);
}
