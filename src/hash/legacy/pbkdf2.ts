import { decodeBase64RawStrict, timingSafeEqual } from '../encoding.ts';
import type { HashEngine } from '../engine.ts';
import { malformed, overLimit } from '../errors.ts';
import type { Pbkdf2Digest } from '../kernels.ts';
import { HASH_LIMITS } from '../limits.ts';

export interface Pbkdf2Hash {
  format: 'pbkdf2';
  digest: Pbkdf2Digest;
  iterations: number;
  salt: Uint8Array;
  hash: Uint8Array;
}

const DIGESTS: readonly Pbkdf2Digest[] = ['sha1', 'sha224', 'sha256', 'sha384', 'sha512'];

/** `$pbkdf2-<digest>$i=<iterations>,l=<keylen>$<salt>$<hash>`, unpadded base64; the key length is the hash's. */
export function parsePbkdf2(encoded: string): Pbkdf2Hash {
  const parts = encoded.split('$');
  if (parts.length !== 5) throw malformed('pbkdf2', 'expected $pbkdf2-<digest>$i=<iterations>,l=<length>$<salt>$<hash>');
  const digest = parts[1].slice('pbkdf2-'.length) as Pbkdf2Digest;
  if (!DIGESTS.includes(digest)) throw malformed('pbkdf2', `unknown digest "${digest}"`);
  const match = /^i=(\d{1,10}),l=(\d{1,10})$/.exec(parts[2]);
  if (!match) throw malformed('pbkdf2', 'parameters must read i=<iterations>,l=<length>');
  const iterations = Number(match[1]);
  if (iterations < 1 || iterations > HASH_LIMITS.pbkdf2Iterations) throw overLimit(`pbkdf2 i=${iterations} not in [1, ${HASH_LIMITS.pbkdf2Iterations}]`);
  const salt = decodeBase64RawStrict(parts[3]);
  const hash = decodeBase64RawStrict(parts[4]);
  if (!salt || salt.length > HASH_LIMITS.saltLength) throw malformed('pbkdf2', 'salt is not unpadded base64');
  if (!hash || hash.length === 0) throw malformed('pbkdf2', 'hash is not unpadded base64');
  if (hash.length > HASH_LIMITS.keyLength) throw overLimit(`pbkdf2 key length ${hash.length} exceeds ${HASH_LIMITS.keyLength}`);
  return { format: 'pbkdf2', digest, iterations, salt, hash };
}

export async function verifyPbkdf2(h: Pbkdf2Hash, password: Uint8Array, engine: HashEngine): Promise<boolean> {
  const derived = await engine.pbkdf2(h.digest, password, h.salt, h.iterations, h.hash.length);
  return timingSafeEqual(derived, h.hash);
}
