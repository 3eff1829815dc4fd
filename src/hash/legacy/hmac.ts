import { decodeBase64Strict, timingSafeEqual, toHex, utf8 } from '../encoding.ts';
import { malformed } from '../errors.ts';
import { hmac, type DigestName } from './digests.ts';

export interface HmacHash {
  format: 'hmac';
  digest: DigestName;
  /** Kratos stores base64 of the lower-case hex MAC, so this holds the hex characters. */
  hash: Uint8Array;
  key: Uint8Array;
}

const DIGESTS: readonly DigestName[] = ['md4', 'md5', 'sha1', 'sha224', 'sha256', 'sha384', 'sha512'];

/** `$hmac-<digest>$<base64 of hex MAC>$<base64 key>` */
export function parseHmac(encoded: string): HmacHash {
  const parts = encoded.split('$');
  const name = parts[1]?.slice('hmac-'.length) as DigestName;
  if (!DIGESTS.includes(name)) throw malformed('hmac', 'unknown digest');
  if (parts.length !== 4) throw malformed(`hmac-${name}`, 'expected $hmac-<digest>$<hash>$<key>');
  const hash = decodeBase64Strict(parts[2]);
  const key = decodeBase64Strict(parts[3]);
  if (!hash || !key) throw malformed(`hmac-${name}`, 'hash and key must be padded base64');
  return { format: 'hmac', digest: name, hash, key };
}

export async function verifyHmac(h: HmacHash, password: Uint8Array): Promise<boolean> {
  const mac = await hmac(h.digest, h.key, password);
  return timingSafeEqual(utf8(toHex(mac)), h.hash);
}
