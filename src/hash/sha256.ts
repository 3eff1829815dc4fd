/**
 * Fast SHA-256 hex of short strings (session and logout tokens), for storage and lookup.
 *
 * Not `crypto.subtle.digest`: on Node every WebCrypto digest is a libuv threadpool round trip (~120 us measured here,
 * competing with other work for the same 4 threads), which alone halves `whoami` throughput. hash-wasm (plain
 * WebAssembly, runs on Deno too) hashes synchronously in ~4 us once its module is instantiated. The hasher is
 * shared: init/update/digest run without an await in between, so calls cannot interleave.
 */
import { createSHA256, type IHasher } from 'hash-wasm';

/**
 * One hash-wasm hasher, instantiated on first use and shared (callers run init/update/digest without an await in
 * between); a failed instantiation is retried on the next call.
 */
export function sharedHasher(create: () => Promise<IHasher>): () => Promise<IHasher> {
  let hasher: IHasher | undefined;
  let loading: Promise<IHasher> | undefined;
  return async () => hasher ?? (hasher = await (loading ??= create().catch((err: unknown) => {
    loading = undefined;
    throw err;
  })));
}

const sha256 = sharedHasher(createSHA256);

/** Lower-case hex SHA-256 of the UTF-8 text (same output as `sha256Hex` in src/x/random.ts). */
export async function fastSha256Hex(text: string): Promise<string> {
  const h = await sha256();
  h.init();
  h.update(text);
  return h.digest('hex');
}
