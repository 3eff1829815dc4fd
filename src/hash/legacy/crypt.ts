import { utf8 } from '../encoding.ts';
import type { HashEngine } from '../engine.ts';
import { malformed, overLimit } from '../errors.ts';
import type { CryptVariant } from '../kernels.ts';
import { HASH_LIMITS } from '../limits.ts';

export interface CryptHash {
  format: 'crypt';
  variant: CryptVariant;
  salt: Uint8Array;
  rounds: number;
  checksum: string;
}

const VARIANTS: Record<string, CryptVariant> = {
  'md5-crypt': 'md5', '1': 'md5',
  'sha256-crypt': 'sha256', '5': 'sha256',
  'sha512-crypt': 'sha512', '6': 'sha512',
};
const CHECKSUM_LENGTH: Record<CryptVariant, number> = { md5: 22, sha256: 43, sha512: 86 };
const MAX_SALT: Record<CryptVariant, number> = { md5: 8, sha256: 16, sha512: 16 };
const CHECKSUM = /^[./0-9A-Za-z]+$/;

/**
 * Classic crypt(3) strings `$1$`, `$5$`, `$6$` and Kratos's spelling of them
 * (`$md5-crypt$`, `$sha256-crypt$`, `$sha512-crypt$`, the identifier swapped, the rest unchanged).
 */
export function parseCrypt(encoded: string): CryptHash {
  const parts = encoded.split('$');
  const variant = VARIANTS[parts[1]];
  if (!variant) throw malformed('crypt', 'unknown identifier');
  const name = `${variant}-crypt`;
  let rest = parts.slice(2);
  let rounds = variant === 'md5' ? 1000 : 5000;
  if (variant !== 'md5' && rest[0]?.startsWith('rounds=')) {
    const match = /^rounds=(\d{1,10})$/.exec(rest[0]);
    if (!match) throw malformed(name, 'rounds must be a number');
    // Out-of-range values are clamped, as the SHA-crypt specification says.
    rounds = Math.max(1000, Number(match[1]));
    if (rounds > HASH_LIMITS.shaCryptRounds) throw overLimit(`${name} rounds=${rounds} exceeds max ${HASH_LIMITS.shaCryptRounds}`);
    rest = rest.slice(1);
  }
  if (rest.length !== 2) throw malformed(name, 'expected <salt>$<checksum>');
  const [salt, checksum] = rest;
  if (salt.length > MAX_SALT[variant]) throw malformed(name, `salt longer than ${MAX_SALT[variant]} characters`);
  if (checksum.length !== CHECKSUM_LENGTH[variant] || !CHECKSUM.test(checksum)) throw malformed(name, 'checksum has the wrong length or alphabet');
  return { format: 'crypt', variant, salt: utf8(salt), rounds, checksum };
}

export async function verifyCrypt(h: CryptHash, password: Uint8Array, engine: HashEngine): Promise<boolean> {
  // Every round hashes the password again: unbounded passwords would be a CPU lever.
  if (password.length > HASH_LIMITS.cryptPasswordBytes) return false;
  const computed = await engine.crypt(h.variant, password, h.salt, h.rounds);
  return timingSafeStringEqual(computed, h.checksum);
}

function timingSafeStringEqual(a: string, b: string): boolean {
  if (a.length !== b.length) return false;
  let diff = 0;
  for (let i = 0; i < a.length; i++) diff |= a.charCodeAt(i) ^ b.charCodeAt(i);
  return diff === 0;
}
