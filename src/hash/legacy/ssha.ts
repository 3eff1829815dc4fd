import { decodeBase64, timingSafeEqual } from '../encoding.ts';
import { malformed } from '../errors.ts';
import { digest, type DigestName } from './digests.ts';

export interface SshaHash {
  format: 'ssha';
  digest: DigestName;
  salt: Uint8Array;
  hash: Uint8Array;
}

const VARIANTS: Record<string, [DigestName, number]> = { SSHA: ['sha1', 20], SSHA256: ['sha256', 32], SSHA512: ['sha512', 64] };

/** LDAP `{SSHA}`, `{SSHA256}`, `{SSHA512}`: base64(digest(password || salt) || salt). */
export function parseSsha(encoded: string): SshaHash {
  const match = /^\{(SSHA|SSHA256|SSHA512)\}(.*)$/s.exec(encoded);
  if (!match) throw malformed('ssha', 'expected {SSHA|SSHA256|SSHA512}<base64>');
  const [name, size] = VARIANTS[match[1]];
  const decoded = decodeBase64(match[2]);
  if (!decoded) throw malformed('ssha', 'payload is not padded base64');
  if (decoded.length <= size) throw malformed('ssha', 'payload holds no salt');
  return { format: 'ssha', digest: name, hash: decoded.slice(0, size), salt: decoded.slice(size) };
}

export async function verifySsha(h: SshaHash, password: Uint8Array): Promise<boolean> {
  const input = new Uint8Array(password.length + h.salt.length);
  input.set(password);
  input.set(h.salt, password.length);
  return timingSafeEqual(await digest(h.digest, input), h.hash);
}
