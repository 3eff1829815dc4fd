import { CRYPT_ALPHABET } from '../encoding.ts';

/** An incremental digest, reusable after init() (hash-wasm's IHasher fits). */
export interface Digest {
  init(): unknown;
  update(data: Uint8Array): unknown;
  digest(format: 'binary'): Uint8Array;
}

const MD5_MAGIC = new TextEncoder().encode('$1$');

function to64(value: number, count: number): string {
  let out = '';
  for (let i = 0; i < count; i++) {
    out += CRYPT_ALPHABET[value & 0x3f];
    value >>>= 6;
  }
  return out;
}

function encodeGroups(bytes: Uint8Array, groups: readonly (readonly [number, number, number])[], tail: readonly [number, number, number, number]): string {
  let out = '';
  for (const [a, b, c] of groups) out += to64((bytes[a] << 16) | (bytes[b] << 8) | bytes[c], 4);
  const [a, b, c, n] = tail;
  return out + to64(((a < 0 ? 0 : bytes[a]) << 16) | ((b < 0 ? 0 : bytes[b]) << 8) | bytes[c], n);
}

const MD5_GROUPS = [[0, 6, 12], [1, 7, 13], [2, 8, 14], [3, 9, 15], [4, 10, 5]] as const;
const SHA256_GROUPS = [
  [0, 10, 20], [21, 1, 11], [12, 22, 2], [3, 13, 23], [24, 4, 14],
  [15, 25, 5], [6, 16, 26], [27, 7, 17], [18, 28, 8], [9, 19, 29],
] as const;
const SHA512_GROUPS = [
  [0, 21, 42], [22, 43, 1], [44, 2, 23], [3, 24, 45], [25, 46, 4], [47, 5, 26], [6, 27, 48],
  [28, 49, 7], [50, 8, 29], [9, 30, 51], [31, 52, 10], [53, 11, 32], [12, 33, 54], [34, 55, 13],
  [56, 14, 35], [15, 36, 57], [37, 58, 16], [59, 17, 38], [18, 39, 60], [40, 61, 19], [62, 20, 41],
] as const;

/** Poul-Henning Kamp's FreeBSD MD5-crypt; returns the 22-character checksum. */
export function md5Crypt(md5: Digest, password: Uint8Array, salt: Uint8Array): string {
  md5.init();
  md5.update(password);
  md5.update(salt);
  md5.update(password);
  const alt = md5.digest('binary');

  md5.init();
  md5.update(password);
  md5.update(MD5_MAGIC);
  md5.update(salt);
  for (let left = password.length; left > 0; left -= 16) md5.update(alt.subarray(0, Math.min(16, left)));
  for (let i = password.length; i > 0; i >>= 1) md5.update(i & 1 ? new Uint8Array(1) : password.subarray(0, 1));
  let final = md5.digest('binary');

  for (let i = 0; i < 1000; i++) {
    md5.init();
    md5.update(i & 1 ? password : final);
    if (i % 3) md5.update(salt);
    if (i % 7) md5.update(password);
    md5.update(i & 1 ? final : password);
    final = md5.digest('binary');
  }
  return encodeGroups(final, MD5_GROUPS, [-1, -1, 11, 2]);
}

function repeatTo(source: Uint8Array, length: number): Uint8Array {
  const out = new Uint8Array(length);
  for (let o = 0; o < length; o += source.length) out.set(source.subarray(0, Math.min(source.length, length - o)), o);
  return out;
}

/** Ulrich Drepper's SHA-crypt ($5$/$6$); returns the checksum (43 or 86 characters). */
export function shaCrypt(sha: Digest, size: 32 | 64, password: Uint8Array, salt: Uint8Array, rounds: number): string {
  sha.init();
  sha.update(password);
  sha.update(salt);
  sha.update(password);
  const b = sha.digest('binary');

  sha.init();
  sha.update(password);
  sha.update(salt);
  let left = password.length;
  for (; left > size; left -= size) sha.update(b);
  sha.update(b.subarray(0, left));
  for (let i = password.length; i > 0; i >>= 1) sha.update(i & 1 ? b : password);
  const a = sha.digest('binary');

  sha.init();
  for (let i = 0; i < password.length; i++) sha.update(password);
  const p = repeatTo(sha.digest('binary'), password.length);

  sha.init();
  for (let i = 0; i < 16 + a[0]; i++) sha.update(salt);
  const s = repeatTo(sha.digest('binary'), salt.length);

  // Each round's input is at most C|S|P|P; build it in one buffer so a round costs one update().
  const buf = new Uint8Array(size * 2 + s.length + p.length * 2);
  let c = a;
  for (let r = 0; r < rounds; r++) {
    let n = 0;
    if (r & 1) { buf.set(p, n); n += p.length; } else { buf.set(c, n); n += size; }
    if (r % 3) { buf.set(s, n); n += s.length; }
    if (r % 7) { buf.set(p, n); n += p.length; }
    if (r & 1) { buf.set(c, n); n += size; } else { buf.set(p, n); n += p.length; }
    sha.init();
    sha.update(buf.subarray(0, n));
    c = sha.digest('binary');
  }
  return size === 32
    ? encodeGroups(c, SHA256_GROUPS, [-1, 31, 30, 3])
    : encodeGroups(c, SHA512_GROUPS, [-1, -1, 63, 2]);
}
