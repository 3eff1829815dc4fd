import { decodeBase64Strict, timingSafeEqual } from '../encoding.ts';
import { malformed } from '../errors.ts';
import { digest, expandPattern, type DigestName } from './digests.ts';

/** `$sha1|sha256|sha512$pf=..$salt$hash`, `$md5$<hash>` and `$md5$pf=..$salt$hash` (all padded base64). */
export interface SaltedDigestHash {
  format: 'salted-digest';
  digest: Extract<DigestName, 'md5' | 'sha1' | 'sha256' | 'sha512'>;
  /** Absent for the bare `$md5$<hash>` form: the digest of the password alone. */
  pattern?: Uint8Array;
  salt: Uint8Array;
  hash: Uint8Array;
}

const DIGESTS = ['md5', 'sha1', 'sha256', 'sha512'] as const;

function b64(name: string, what: string, text: string): Uint8Array {
  const bytes = decodeBase64Strict(text);
  if (!bytes) throw malformed(name, `${what} is not padded base64`);
  return bytes;
}

export function parseSaltedDigest(encoded: string): SaltedDigestHash {
  const parts = encoded.split('$');
  const name = parts[1] as SaltedDigestHash['digest'];
  if (!DIGESTS.includes(name)) throw malformed('digest', 'unknown digest');
  if (name === 'md5' && parts.length === 3) {
    return { format: 'salted-digest', digest: name, salt: new Uint8Array(0), hash: b64(name, 'hash', parts[2]) };
  }
  if (parts.length !== 5) throw malformed(name, `expected $${name}$pf=<base64 pattern>$<salt>$<hash>`);
  if (!parts[2].startsWith('pf=') || parts[2].length === 3) throw malformed(name, 'missing pf=<base64 pattern>');
  return {
    format: 'salted-digest', digest: name,
    pattern: b64(name, 'pattern', parts[2].slice(3)),
    salt: b64(name, 'salt', parts[3]),
    hash: b64(name, 'hash', parts[4]),
  };
}

export async function verifySaltedDigest(h: SaltedDigestHash, password: Uint8Array): Promise<boolean> {
  const input = h.pattern ? expandPattern(h.pattern, h.salt, password) : password;
  return timingSafeEqual(await digest(h.digest, input), h.hash);
}
