/**
 * HMAC-SHA-512 of short messages with short keys, synchronously once hash-wasm's module is instantiated.
 *
 * Not `crypto.subtle.sign`: on Node every WebCrypto operation is a libuv threadpool round trip (see sha256.ts), and
 * deriving a session's logout token took two of them (import the key, sign) on every login. RFC 2104 with a key no
 * longer than SHA-512's 128-byte block: the key is zero-padded, no pre-hashing. The hasher is shared: every call runs
 * to its end without an await, so calls cannot interleave.
 */
import { createSHA512 } from 'hash-wasm';
import { sharedHasher } from './sha256.ts';

const BLOCK_BYTES = 128;
const sha512 = sharedHasher(createSHA512);

/** HMAC-SHA-512(key, message), for keys up to 128 bytes. */
export async function hmacSha512(key: Uint8Array, message: Uint8Array): Promise<Uint8Array> {
  if (key.length > BLOCK_BYTES) throw new RangeError(`HMAC keys longer than ${BLOCK_BYTES} bytes are not supported here`);
  const h = await sha512();
  const inner = new Uint8Array(BLOCK_BYTES);
  const outer = new Uint8Array(BLOCK_BYTES);
  for (let i = 0; i < BLOCK_BYTES; i++) {
    const k = i < key.length ? key[i] : 0;
    inner[i] = k ^ 0x36;
    outer[i] = k ^ 0x5c;
  }
  h.init();
  h.update(inner);
  h.update(message);
  const digest = h.digest('binary');
  h.init();
  h.update(outer);
  h.update(digest);
  return h.digest('binary');
}
