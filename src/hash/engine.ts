/**
 * Runs the expensive primitives off the event loop, on the fastest implementation available:
 * native modules and node:crypto on libuv's threadpool, WebCrypto where it covers the primitive,
 * else hash-wasm in a worker pool (src/hash/pool.ts).
 */
import { availableParallelism } from 'node:os';
import { runTask, type Argon2Task, type CryptVariant, type Pbkdf2Digest, type Task, type TaskResult } from './kernels.ts';
import { ARGON2_ALGORITHM, ARGON2_VERSION_0X13, loadNativeArgon2, loadNativeBcrypt, type NativeArgon2, type NativeBcrypt } from './native.ts';
import { WorkerPool, type PoolMode } from './pool.ts';
import { Semaphore } from './semaphore.ts';

export interface EngineOptions {
  /**
   * 'auto' (default) uses @node-rs/argon2, @node-rs/bcrypt and node:crypto's scrypt when they load;
   * 'off' runs all three on hash-wasm.
   */
  native?: 'auto' | 'off';
  /**
   * Where hash-wasm runs: 'process' (default on Node), 'thread' (default elsewhere), or
   * 'main-thread', which blocks the event loop and exists only as a benchmark baseline.
   */
  pool?: 'auto' | PoolMode | 'main-thread';
  /** Workers in the pool and concurrent threadpool hashes; defaults to the number of CPUs. */
  concurrency?: number;
}

export type Backend = 'native' | 'node:crypto' | 'webcrypto' | PoolMode | 'main-thread';

export interface EngineDescription {
  argon2: Backend;
  bcrypt: Backend;
  scrypt: Backend;
  pbkdf2: Backend;
  crypt: Backend;
}

export type Argon2Input = Omit<Argon2Task, 'op'>;

type NodeScrypt = (password: Uint8Array, salt: Uint8Array, keylen: number, options: { N: number; r: number; p: number; maxmem: number }, cb: (err: Error | null, key: Uint8Array) => void) => void;

const WEBCRYPTO_PBKDF2: Partial<Record<Pbkdf2Digest, string>> = { sha1: 'SHA-1', sha256: 'SHA-256', sha384: 'SHA-384', sha512: 'SHA-512' };

export function defaultConcurrency(): number {
  try {
    return Math.max(1, availableParallelism());
  } catch {
    return 2;
  }
}

export class HashEngine {
  readonly concurrency: number;
  #options: EngineOptions;
  #slots: Semaphore;
  #pool?: WorkerPool;
  #closed = false;
  #init?: Promise<{ argon2?: NativeArgon2; bcrypt?: NativeBcrypt; scrypt?: NodeScrypt }>;

  constructor(options: EngineOptions = {}) {
    this.#options = options;
    this.concurrency = options.concurrency ?? defaultConcurrency();
    this.#slots = new Semaphore(this.concurrency);
  }

  #natives() {
    this.#init ??= (async () => {
      if (this.#options.native === 'off') return {};
      const [argon2, bcrypt, scrypt] = await Promise.all([loadNativeArgon2(), loadNativeBcrypt(), loadNodeScrypt()]);
      return { argon2, bcrypt, scrypt };
    })();
    return this.#init;
  }

  async #open() {
    if (this.#closed) throw new Error('password hasher is closed');
    return this.#natives();
  }

  #wasmMode(): PoolMode | 'main-thread' {
    const mode = this.#options.pool ?? 'auto';
    return mode === 'auto' ? (this.#pool?.mode ?? defaultPoolMode()) : mode;
  }

  #offload<T extends Task>(task: T): Promise<TaskResult<T>> {
    if (this.#closed) return Promise.reject(new Error('password hasher is closed'));
    const mode = this.#wasmMode();
    if (mode === 'main-thread') return runTask(task);
    this.#pool ??= new WorkerPool({ mode, size: this.concurrency });
    return this.#pool.run(task);
  }

  async describe(): Promise<EngineDescription> {
    const natives = await this.#natives();
    const wasm = this.#wasmMode();
    return {
      argon2: natives.argon2 ? 'native' : wasm,
      bcrypt: natives.bcrypt ? 'native' : wasm,
      scrypt: natives.scrypt ? 'node:crypto' : wasm,
      pbkdf2: 'webcrypto',
      crypt: wasm,
    };
  }

  /** Starts the wasm pool's workers now, when the primitive would run there (no native module). */
  async warm(primitive: 'argon2' | 'bcrypt'): Promise<void> {
    const natives = await this.#natives();
    const mode = this.#wasmMode();
    if (natives[primitive] || mode === 'main-thread' || this.#closed) return;
    this.#pool ??= new WorkerPool({ mode, size: this.concurrency });
    await this.#pool.warm();
  }

  async argon2(input: Argon2Input): Promise<Uint8Array> {
    const { argon2 } = await this.#open();
    if (!argon2) return this.#offload({ op: 'argon2', ...input });
    return this.#slots.run(async () => new Uint8Array(await argon2.hashRaw(input.password, {
      algorithm: ARGON2_ALGORITHM[input.type], version: ARGON2_VERSION_0X13, memoryCost: input.memoryKiB,
      timeCost: input.iterations, parallelism: input.parallelism, outputLen: input.keyLength, salt: input.salt,
    })));
  }

  /** The 60-character `$2a$` string for a 16-byte salt; callers enforce the 72-byte limit. */
  async bcrypt(password: Uint8Array, salt: Uint8Array, cost: number): Promise<string> {
    const { bcrypt } = await this.#open();
    if (!bcrypt) return this.#offload({ op: 'bcrypt', password, salt, cost });
    return this.#slots.run(() => bcrypt.hash(password, { salt, cost, version: '2a' }));
  }

  async scrypt(password: Uint8Array, salt: Uint8Array, n: number, r: number, p: number, keyLength: number): Promise<Uint8Array> {
    const { scrypt } = await this.#open();
    if (!scrypt) return this.#offload({ op: 'scrypt', password, salt, n, r, p, keyLength });
    return this.#slots.run(() => new Promise<Uint8Array>((resolve, reject) => {
      scrypt(password, salt, keyLength, { N: n, r, p, maxmem: 256 * n * r + (1 << 20) }, (err, key) => {
        if (err) reject(err);
        else resolve(new Uint8Array(key.buffer, key.byteOffset, key.byteLength));
      });
    }));
  }

  async pbkdf2(digest: Pbkdf2Digest, password: Uint8Array, salt: Uint8Array, iterations: number, keyLength: number): Promise<Uint8Array> {
    await this.#open();
    const hash = WEBCRYPTO_PBKDF2[digest];
    // WebCrypto has no SHA-224.
    if (!hash) return this.#offload({ op: 'pbkdf2', digest, password, salt, iterations, keyLength });
    return this.#slots.run(async () => {
      const key = await crypto.subtle.importKey('raw', password as BufferSource, 'PBKDF2', false, ['deriveBits']);
      const bits = await crypto.subtle.deriveBits({ name: 'PBKDF2', hash, salt: salt as BufferSource, iterations }, key, keyLength * 8);
      return new Uint8Array(bits);
    });
  }

  /** The checksum part of a crypt(3) string. */
  crypt(variant: CryptVariant, password: Uint8Array, salt: Uint8Array, rounds: number): Promise<string> {
    return this.#offload({ op: 'crypt', variant, password, salt, rounds });
  }

  async close(): Promise<void> {
    this.#closed = true;
    const pool = this.#pool;
    this.#pool = undefined;
    await pool?.close();
  }
}

function defaultPoolMode(): PoolMode {
  return 'Deno' in globalThis ? 'thread' : 'process';
}

async function loadNodeScrypt(): Promise<NodeScrypt | undefined> {
  try {
    const { scrypt } = await import('node:crypto');
    return scrypt as unknown as NodeScrypt;
  } catch {
    return undefined;
  }
}
