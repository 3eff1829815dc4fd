import type { HashersConfig } from '../../config/types.ts';
import { parseByteSize } from '../x/bytesize.ts';
import { decodeBase64RawStrict, encodeBase64Raw, randomBytes, timingSafeEqual } from './encoding.ts';
import type { HashEngine } from './engine.ts';
import { malformed, overLimit } from './errors.ts';
import { HASH_LIMITS } from './limits.ts';

export type Argon2Type = 'argon2id' | 'argon2i';

export interface Argon2Params {
  memoryKiB: number;
  iterations: number;
  parallelism: number;
  saltLength: number;
  keyLength: number;
}

export interface Argon2Hash {
  format: Argon2Type;
  params: Argon2Params;
  salt: Uint8Array;
  hash: Uint8Array;
}

const PARAMS = /^m=(\d{1,10}),t=(\d{1,10}),p=(\d{1,3})$/;

/** `$argon2id$v=19$m=<KiB>,t=<n>,p=<n>$<salt>$<hash>`, unpadded base64 (Kratos decodeArgon2idHash). */
export function parseArgon2(encoded: string): Argon2Hash {
  const parts = encoded.split('$');
  const format = parts[1];
  if (format !== 'argon2id' && format !== 'argon2i') throw malformed('argon2', 'unknown variant');
  if (parts.length !== 6) throw malformed(format, 'expected $<variant>$v=19$m=..,t=..,p=..$<salt>$<hash>');
  if (parts[2] !== 'v=19') throw malformed(format, 'only version 19 is supported');
  const match = PARAMS.exec(parts[3]);
  if (!match) throw malformed(format, 'parameters must read m=<KiB>,t=<iterations>,p=<parallelism>');
  const [memoryKiB, iterations, parallelism] = [Number(match[1]), Number(match[2]), Number(match[3])];
  if (memoryKiB < 1 || memoryKiB > HASH_LIMITS.argon2MemoryKiB) throw overLimit(`argon2 m=${memoryKiB} KiB not in [1, ${HASH_LIMITS.argon2MemoryKiB}]`);
  if (iterations < 1 || iterations > HASH_LIMITS.argon2Iterations) throw overLimit(`argon2 t=${iterations} not in [1, ${HASH_LIMITS.argon2Iterations}]`);
  if (parallelism < 1 || parallelism > HASH_LIMITS.argon2Parallelism) throw overLimit(`argon2 p=${parallelism} not in [1, ${HASH_LIMITS.argon2Parallelism}]`);
  if (memoryKiB < 8 * parallelism) throw malformed(format, 'memory must be at least 8 KiB per lane');
  const salt = decodeBase64RawStrict(parts[4]);
  const hash = decodeBase64RawStrict(parts[5]);
  if (!salt || salt.length < 8 || salt.length > HASH_LIMITS.saltLength) throw malformed(format, 'salt must be 8 or more bytes of unpadded base64');
  if (!hash || hash.length < 4 || hash.length > HASH_LIMITS.keyLength) throw malformed(format, 'hash must be 4 or more bytes of unpadded base64');
  return { format, params: { memoryKiB, iterations, parallelism, saltLength: salt.length, keyLength: hash.length }, salt, hash };
}

export function encodeArgon2(h: Argon2Hash): string {
  const { memoryKiB, iterations, parallelism } = h.params;
  return `$${h.format}$v=19$m=${memoryKiB},t=${iterations},p=${parallelism}$${encodeBase64Raw(h.salt)}$${encodeBase64Raw(h.hash)}`;
}

export function argon2ParamsFromConfig(cfg: HashersConfig['argon2']): Argon2Params {
  const memoryKiB = Math.floor(parseByteSize(cfg.memory) / 1024);
  const params = { memoryKiB, iterations: cfg.iterations, parallelism: cfg.parallelism, saltLength: cfg.salt_length, keyLength: cfg.key_length };
  const bad = (what: string) => new Error(`hashers.argon2: ${what}`);
  if (!Number.isInteger(params.iterations) || params.iterations < 1) throw bad('iterations must be a positive integer');
  if (!Number.isInteger(params.parallelism) || params.parallelism < 1 || params.parallelism > 255) throw bad('parallelism must be 1..255');
  if (memoryKiB < 8 * params.parallelism) throw bad('memory must be at least 8 KiB per unit of parallelism');
  if (!Number.isInteger(params.saltLength) || params.saltLength < 8) throw bad('salt_length must be at least 8');
  if (!Number.isInteger(params.keyLength) || params.keyLength < 4) throw bad('key_length must be at least 4');
  return params;
}

export async function hashArgon2id(password: Uint8Array, params: Argon2Params, engine: HashEngine): Promise<string> {
  const salt = randomBytes(params.saltLength);
  const hash = await engine.argon2({ type: 'argon2id', password, salt, ...params });
  return encodeArgon2({ format: 'argon2id', params, salt, hash });
}

export async function verifyArgon2(h: Argon2Hash, password: Uint8Array, engine: HashEngine): Promise<boolean> {
  const derived = await engine.argon2({ type: h.format, password, salt: h.salt, ...h.params, keyLength: h.hash.length });
  return timingSafeEqual(derived, h.hash);
}

/** Weaker than configured in any dimension, or not argon2id. */
export function argon2NeedsRehash(h: Argon2Hash, want: Argon2Params): boolean {
  const p = h.params;
  return h.format !== 'argon2id'
    || p.memoryKiB < want.memoryKiB || p.iterations < want.iterations || p.parallelism < want.parallelism
    || p.saltLength < want.saltLength || p.keyLength < want.keyLength;
}
