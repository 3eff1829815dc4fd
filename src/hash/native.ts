/**
 * Optional native fast paths (napi-rs, prebuilt per platform in the npm registry). They run on
 * libuv's threadpool, so they are both faster than hash-wasm and off the event loop. Loaded with a
 * dynamic import so a platform without the prebuilt package falls back to the wasm pool.
 */
export interface NativeArgon2 {
  hashRaw(password: Uint8Array, options: {
    algorithm: number; version: number; memoryCost: number; timeCost: number;
    parallelism: number; outputLen: number; salt: Uint8Array;
  }): Promise<Uint8Array>;
}

export interface NativeBcrypt {
  hash(password: Uint8Array, options: { salt: Uint8Array; cost: number; version: '2a' }): Promise<string>;
}

/** @node-rs/argon2's const enums (erased in its .d.ts, so spelled out here). */
export const ARGON2_ALGORITHM = { argon2i: 1, argon2id: 2 } as const;
export const ARGON2_VERSION_0X13 = 1;

async function probe<T>(load: () => Promise<T>, check: (mod: T) => Promise<unknown>): Promise<T | undefined> {
  try {
    const mod = await load();
    await check(mod);
    return mod;
  } catch {
    return undefined;
  }
}

export function loadNativeArgon2(): Promise<NativeArgon2 | undefined> {
  return probe(
    async () => (await import('@node-rs/argon2')) as unknown as NativeArgon2,
    (mod) => mod.hashRaw(new Uint8Array([1]), {
      algorithm: ARGON2_ALGORITHM.argon2id, version: ARGON2_VERSION_0X13, memoryCost: 8, timeCost: 1,
      parallelism: 1, outputLen: 16, salt: new Uint8Array(16),
    }),
  );
}

/**
 * No native bcrypt: @node-rs/bcrypt's platform packages are not all on the registry, which leaves the lockfile
 * unusable for `npm ci`, and the bench showed no throughput gain over hash-wasm in the worker pool (bcrypt is
 * only the imported-hash and `hashers.algorithm: bcrypt` path). bcrypt runs in the pool.
 */
export function loadNativeBcrypt(): Promise<NativeBcrypt | undefined> {
  return Promise.resolve(undefined);
}
