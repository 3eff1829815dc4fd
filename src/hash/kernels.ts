/**
 * The CPU-heavy primitives in portable hash-wasm form. They block the thread they run on, so
 * idflow runs them inside the pool's workers (src/hash/worker.ts); the password hasher only
 * calls them directly when told to run on the main thread (benchmarks).
 */
import { argon2i, argon2id, bcrypt, createMD5, createSHA1, createSHA224, createSHA256, createSHA384, createSHA512, pbkdf2, scrypt } from 'hash-wasm';
import { md5Crypt, shaCrypt } from './legacy/crypt-algorithm.ts';

export type Pbkdf2Digest = 'sha1' | 'sha224' | 'sha256' | 'sha384' | 'sha512';
export type CryptVariant = 'md5' | 'sha256' | 'sha512';

export interface Argon2Task {
  op: 'argon2';
  type: 'argon2id' | 'argon2i';
  password: Uint8Array;
  salt: Uint8Array;
  memoryKiB: number;
  iterations: number;
  parallelism: number;
  keyLength: number;
}
/** Returns the 60-character `$2a$` string for a 16-byte salt. */
export interface BcryptTask { op: 'bcrypt'; password: Uint8Array; salt: Uint8Array; cost: number }
export interface ScryptTask { op: 'scrypt'; password: Uint8Array; salt: Uint8Array; n: number; r: number; p: number; keyLength: number }
export interface Pbkdf2Task { op: 'pbkdf2'; digest: Pbkdf2Digest; password: Uint8Array; salt: Uint8Array; iterations: number; keyLength: number }
/** Returns the crypt checksum characters only. */
export interface CryptTask { op: 'crypt'; variant: CryptVariant; password: Uint8Array; salt: Uint8Array; rounds: number }

export type Task = Argon2Task | BcryptTask | ScryptTask | Pbkdf2Task | CryptTask;
export type TaskResult<T extends Task> = T extends BcryptTask | CryptTask ? string : Uint8Array;

const DIGESTS = { sha1: createSHA1, sha224: createSHA224, sha256: createSHA256, sha384: createSHA384, sha512: createSHA512 };

export async function runTask<T extends Task>(task: T): Promise<TaskResult<T>> {
  return (await run(task)) as TaskResult<T>;
}

async function run(task: Task): Promise<Uint8Array | string> {
  switch (task.op) {
    case 'argon2': {
      const fn = task.type === 'argon2id' ? argon2id : argon2i;
      return fn({
        password: task.password, salt: task.salt, memorySize: task.memoryKiB, iterations: task.iterations,
        parallelism: task.parallelism, hashLength: task.keyLength, outputType: 'binary',
      });
    }
    case 'bcrypt':
      return bcrypt({ password: task.password, salt: task.salt, costFactor: task.cost, outputType: 'encoded' });
    case 'scrypt':
      return scrypt({
        password: task.password, salt: task.salt, costFactor: task.n, blockSize: task.r,
        parallelism: task.p, hashLength: task.keyLength, outputType: 'binary',
      });
    case 'pbkdf2':
      return pbkdf2({
        password: task.password, salt: task.salt, iterations: task.iterations, hashLength: task.keyLength,
        hashFunction: DIGESTS[task.digest](), outputType: 'binary',
      });
    case 'crypt':
      if (task.variant === 'md5') return md5Crypt(await createMD5(), task.password, task.salt);
      return task.variant === 'sha256'
        ? shaCrypt(await createSHA256(), 32, task.password, task.salt, task.rounds)
        : shaCrypt(await createSHA512(), 64, task.password, task.salt, task.rounds);
  }
}
