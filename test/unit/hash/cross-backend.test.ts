/** The native modules and hash-wasm must be interchangeable: each accepts the other's hashes. */
import * as nativeArgon2 from '@node-rs/argon2';
import { argon2Verify, bcryptVerify } from 'hash-wasm';
import { afterAll, describe, expect, it } from 'vitest';
import { HashEngine } from '../../../src/hash/engine.ts';
import { createPasswordHasher } from '../../../src/hash/index.ts';
import { hashersConfig, NATIVE_EXPECTED } from './helpers.ts';

const argonNative = createPasswordHasher(hashersConfig());
const argonWasm = createPasswordHasher(hashersConfig(), { native: 'off', pool: 'process', concurrency: 1 });
const bcryptNative = createPasswordHasher(hashersConfig({ algorithm: 'bcrypt', bcrypt: { cost: 8 } }));
const bcryptWasm = createPasswordHasher(hashersConfig({ algorithm: 'bcrypt', bcrypt: { cost: 8 } }), { native: 'off', pool: 'thread', concurrency: 1 });
afterAll(() => Promise.all([argonNative, argonWasm, bcryptNative, bcryptWasm].map((h) => h.close())));

describe.runIf(NATIVE_EXPECTED)('native modules load here', () => {
  it('and serve argon2 and bcrypt; hash-wasm runs in the process pool otherwise', async () => {
    expect(await argonNative.describe()).toMatchObject({ argon2: 'native', bcrypt: 'process', scrypt: 'node:crypto' });
    expect(await argonWasm.describe()).toMatchObject({ argon2: 'process', bcrypt: 'process', scrypt: 'process' });
    expect(await bcryptWasm.describe()).toMatchObject({ argon2: 'thread', bcrypt: 'thread' });
  });
});

describe('argon2id', () => {
  it('native hashes verify on hash-wasm, and the other way round', async () => {
    const fromNative = await argonNative.hash('tr0ub4dor&3');
    const fromWasm = await argonWasm.hash('tr0ub4dor&3');
    expect(await argonWasm.verify('tr0ub4dor&3', fromNative)).toBe(true);
    expect(await argonNative.verify('tr0ub4dor&3', fromWasm)).toBe(true);
    expect(await argonWasm.verify('tr0ub4dor&4', fromNative)).toBe(false);
    expect(await argonNative.verify('tr0ub4dor&4', fromWasm)).toBe(false);
    // ... and with the libraries' own verifiers, so the PHC strings are standard.
    expect(await argon2Verify({ password: 'tr0ub4dor&3', hash: fromNative })).toBe(true);
    expect(await nativeArgon2.verify(fromWasm, 'tr0ub4dor&3')).toBe(true);
  });

  it.each(['argon2id', 'argon2i'] as const)('%s: both engines derive the same bytes', async (type) => {
    const native = new HashEngine();
    const wasm = new HashEngine({ native: 'off', pool: 'thread', concurrency: 1 });
    try {
      const input = { type, password: new TextEncoder().encode('pässwörd'), salt: new Uint8Array(16).fill(7), memoryKiB: 4096, iterations: 3, parallelism: 2, keyLength: 40 };
      const [a, b] = await Promise.all([native.argon2(input), wasm.argon2(input)]);
      expect(a).toHaveLength(40);
      expect(Buffer.from(a).toString('hex')).toBe(Buffer.from(b).toString('hex'));
    } finally {
      await Promise.all([native.close(), wasm.close()]);
    }
  });
});

describe('bcrypt', () => {
  it('pool hashes (process and thread) verify on each other and on hash-wasm directly', async () => {
    const fromNative = await bcryptNative.hash('tr0ub4dor&3');
    const fromWasm = await bcryptWasm.hash('tr0ub4dor&3');
    expect(fromNative).toMatch(/^\$2a\$08\$/);
    expect(fromWasm).toMatch(/^\$2a\$08\$/);
    expect(await bcryptWasm.verify('tr0ub4dor&3', fromNative)).toBe(true);
    expect(await bcryptNative.verify('tr0ub4dor&3', fromWasm)).toBe(true);
    expect(await bcryptWasm.verify('tr0ub4dor&4', fromNative)).toBe(false);
    expect(await bcryptNative.verify('tr0ub4dor&4', fromWasm)).toBe(false);
    expect(await bcryptVerify({ password: 'tr0ub4dor&3', hash: fromNative })).toBe(true);
  });
});
