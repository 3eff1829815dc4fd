import { decodeBcryptBase64, randomBytes, timingSafeEqual } from './encoding.ts';
import type { HashEngine } from './engine.ts';
import { malformed, overLimit, PasswordTooLongError } from './errors.ts';
import { BCRYPT_MAX_PASSWORD_BYTES, HASH_LIMITS } from './limits.ts';

export interface BcryptHash {
  format: 'bcrypt';
  cost: number;
  salt: Uint8Array;
  /** The 31 checksum characters, decoded (23 bytes). */
  checksum: Uint8Array;
}

const PREFIX = /^\$2[aby]?\$(\d\d)\$/;
const BCRYPT = /^\$2[aby]?\$\d\d\$([./A-Za-z0-9]{22})([./A-Za-z0-9]{31})$/;

/** `$2a$`, `$2b$`, `$2y$` and `$2$` (Go's bcrypt treats them alike: the key always ends in NUL). */
export function parseBcrypt(encoded: string): BcryptHash {
  const prefix = PREFIX.exec(encoded);
  const cost = prefix ? Number(prefix[1]) : NaN;
  // The cost is judged first so an over-limit hash is reported as such, like Go's bcrypt.Cost().
  if (cost > HASH_LIMITS.bcryptCost) throw overLimit(`bcrypt cost=${cost} exceeds max ${HASH_LIMITS.bcryptCost}`);
  const match = BCRYPT.exec(encoded);
  if (!match) throw malformed('bcrypt', 'expected $2<a|b|y>$<cost>$<22-char salt><31-char hash>');
  if (cost < 4) throw malformed('bcrypt', `cost ${cost} is below 4`);
  return { format: 'bcrypt', cost, salt: decodeBcryptBase64(match[1])!, checksum: decodeBcryptBase64(match[2])! };
}

export function assertBcryptLength(password: Uint8Array): void {
  if (password.length > BCRYPT_MAX_PASSWORD_BYTES) throw new PasswordTooLongError(BCRYPT_MAX_PASSWORD_BYTES, password.length);
}

export async function hashBcrypt(password: Uint8Array, cost: number, engine: HashEngine): Promise<string> {
  assertBcryptLength(password);
  return engine.bcrypt(password, randomBytes(16), cost);
}

export async function verifyBcrypt(h: BcryptHash, password: Uint8Array, engine: HashEngine): Promise<boolean> {
  // Longer passwords are refused, never truncated into a match (Kratos CompareBcrypt).
  if (password.length > BCRYPT_MAX_PASSWORD_BYTES) return false;
  const encoded = await engine.bcrypt(password, h.salt, h.cost);
  return timingSafeEqual(decodeBcryptBase64(encoded.slice(-31))!, h.checksum);
}

export function bcryptCostFromConfig(cost: number): number {
  if (!Number.isInteger(cost) || cost < 4 || cost > 31) throw new Error('hashers.bcrypt.cost must be 4..31');
  return cost;
}
