/** Single-pass digests for the unsalted/salted legacy formats; microseconds, so they run inline. */
import { concatBytes, utf8 } from '../encoding.ts';
import { createHMAC, createMD4, createMD5, createSHA1, createSHA224, createSHA256, createSHA384, createSHA512, type IHasher } from 'hash-wasm';

export type DigestName = 'md4' | 'md5' | 'sha1' | 'sha224' | 'sha256' | 'sha384' | 'sha512';

const CREATE: Record<DigestName, () => Promise<IHasher>> = {
  md4: createMD4, md5: createMD5, sha1: createSHA1, sha224: createSHA224,
  sha256: createSHA256, sha384: createSHA384, sha512: createSHA512,
};

export async function digest(name: DigestName, data: Uint8Array): Promise<Uint8Array> {
  const hasher = await CREATE[name]();
  hasher.init();
  hasher.update(data);
  return hasher.digest('binary');
}

export async function hmac(name: DigestName, key: Uint8Array, data: Uint8Array): Promise<Uint8Array> {
  const mac = await createHMAC(CREATE[name](), key);
  mac.init();
  mac.update(data);
  return mac.digest('binary');
}

/**
 * Expands a `pf` salting pattern: `{SALT}` and `{PASSWORD}` are replaced, every other byte kept
 * (Go strings.NewReplacer, as Kratos uses it).
 */
export function expandPattern(pattern: Uint8Array, salt: Uint8Array, password: Uint8Array): Uint8Array {
  const tokens: [Uint8Array, Uint8Array][] = [[utf8('{SALT}'), salt], [utf8('{PASSWORD}'), password]];
  const at = (token: Uint8Array, i: number) => token.every((b, k) => pattern[i + k] === b);
  const parts: Uint8Array[] = [];
  let literal = 0;
  for (let i = 0; i < pattern.length;) {
    const hit = tokens.find(([token]) => at(token, i));
    if (!hit) {
      i++;
      continue;
    }
    parts.push(pattern.subarray(literal, i), hit[1]);
    i += hit[0].length;
    literal = i;
  }
  parts.push(pattern.subarray(literal));
  return concatBytes(...parts);
}
