import { afterAll, describe, expect, it } from 'vitest';
import { createPasswordHasher, PasswordTooLongError } from '../../../src/hash/index.ts';
import { hashersConfig } from './helpers.ts';

const argon2 = createPasswordHasher(hashersConfig());
const bcrypt = createPasswordHasher(hashersConfig({ algorithm: 'bcrypt', bcrypt: { cost: 6 } }));
afterAll(async () => {
  await argon2.close();
  await bcrypt.close();
});

const SALT = 'cm94YnRVOW5jZzFzcVE4bQ';
const HASH32 = 'N9ko965W7omiJfxXnC34WXPmotix7geqv9ED3HwVYu0';

describe('argon2 (configured)', () => {
  it('hashes to argon2id PHC with the configured parameters (19MB = 19 MiB)', async () => {
    const encoded = await argon2.hash('hunter22');
    const match = /^\$argon2id\$v=19\$m=19456,t=2,p=1\$([A-Za-z0-9+/]+)\$([A-Za-z0-9+/]+)$/.exec(encoded);
    expect(match).not.toBeNull();
    expect(Buffer.from(match![1], 'base64')).toHaveLength(16);
    expect(Buffer.from(match![2], 'base64')).toHaveLength(32);
    expect(await argon2.verify('hunter22', encoded)).toBe(true);
    expect(await argon2.verify('hunter23', encoded)).toBe(false);
    expect(await argon2.hash('hunter22')).not.toBe(encoded);
  });

  it('hashes multi-byte passwords as UTF-8', async () => {
    const encoded = await argon2.hash('pässwörd🔑');
    expect(await argon2.verify('pässwörd🔑', encoded)).toBe(true);
    expect(await argon2.verify('passwort🔑', encoded)).toBe(false);
  });

  it('never matches an empty password and refuses to hash one', async () => {
    const md5OfEmpty = '$md5$1B2M2Y8AsgTpgAmY7PhCfg==';
    expect(await argon2.verify('x', md5OfEmpty)).toBe(false);
    expect(await argon2.verify('', md5OfEmpty)).toBe(false);
    await expect(argon2.hash('')).rejects.toThrow(TypeError);
  });

  it('needsRehash: false for its own fresh hash or a stronger one, true for weaker or other formats', async () => {
    expect(argon2.needsRehash(await argon2.hash('hunter22'))).toBe(false);
    expect(argon2.needsRehash(`$argon2id$v=19$m=65536,t=3,p=2$${SALT}$${HASH32}`)).toBe(false);
    expect(argon2.needsRehash(`$argon2id$v=19$m=19455,t=2,p=1$${SALT}$${HASH32}`)).toBe(true);
    expect(argon2.needsRehash(`$argon2id$v=19$m=19456,t=1,p=1$${SALT}$${HASH32}`)).toBe(true);
    expect(argon2.needsRehash(`$argon2id$v=19$m=19456,t=2,p=1$${SALT}$MNzk5BtR2vUhrp6qQEjRNw`)).toBe(true);
    expect(argon2.needsRehash(`$argon2id$v=19$m=19456,t=2,p=1$cm94YnRVOW5jZw$${HASH32}`)).toBe(true);
    expect(argon2.needsRehash(`$argon2i$v=19$m=65536,t=3,p=4$${SALT}$${HASH32}`)).toBe(true);
    expect(argon2.needsRehash('$2a$12$o6hx.Wog/wvFSkT/Bp/6DOxCtLRTDj7lm9on9suF/WaCGNVHbkfL6')).toBe(true);
    expect(argon2.needsRehash('$pbkdf2-sha512$i=100000,l=32$bdHBpn7OWOivJMVJypy2UqR0UnaD5prQXRZevj/05YU$+wArTfv1a+bNGO1iZrmEdVjhA+lL11wF4/IxpgYfPwc')).toBe(true);
    expect(argon2.needsRehash('$md5$CY9rzUYh03PK3k6DJie09g==')).toBe(true);
    expect(argon2.needsRehash('$1$saltsalt$NuzA7WTAelpl95xgBGWN60')).toBe(true);
    expect(argon2.needsRehash('not a hash')).toBe(true);
  });
});

describe('bcrypt (configured)', () => {
  it('hashes to $2a$ with the configured cost', async () => {
    const encoded = await bcrypt.hash('hunter22');
    expect(encoded).toMatch(/^\$2a\$06\$[./A-Za-z0-9]{53}$/);
    expect(await bcrypt.verify('hunter22', encoded)).toBe(true);
    expect(await bcrypt.verify('hunter23', encoded)).toBe(false);
    expect(bcrypt.needsRehash(encoded)).toBe(false);
  });

  it('refuses passwords over 72 bytes with PasswordTooLongError (Kratos 4000033), counting bytes', async () => {
    await expect(bcrypt.hash('a'.repeat(72))).resolves.toMatch(/^\$2a\$/);
    const err = await bcrypt.hash('a'.repeat(73)).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(PasswordTooLongError);
    expect(err).toMatchObject({ maxLength: 72, actualLength: 73 });
    // 37 characters, 74 bytes
    await expect(bcrypt.hash('é'.repeat(37))).rejects.toMatchObject({ name: 'PasswordTooLongError', actualLength: 74 });
  });

  it('does not truncate: a 73-byte password never matches the hash of its first 72 bytes', async () => {
    const encoded = await bcrypt.hash('b'.repeat(72));
    expect(await bcrypt.verify('b'.repeat(72), encoded)).toBe(true);
    expect(await bcrypt.verify('b'.repeat(73), encoded)).toBe(false);
  });

  it('needsRehash: lower cost or another algorithm', async () => {
    expect(bcrypt.needsRehash('$2b$05$o6hx.Wog/wvFSkT/Bp/6DOxCtLRTDj7lm9on9suF/WaCGNVHbkfL6')).toBe(true);
    expect(bcrypt.needsRehash('$2y$12$o6hx.Wog/wvFSkT/Bp/6DOxCtLRTDj7lm9on9suF/WaCGNVHbkfL6')).toBe(false);
    expect(bcrypt.needsRehash(await argon2.hash('hunter22'))).toBe(true);
  });

  it('verifies argon2 hashes too (any supported format)', async () => {
    expect(await bcrypt.verify('hunter22', await argon2.hash('hunter22'))).toBe(true);
  });
});

describe('configuration', () => {
  it('rejects unusable settings', () => {
    expect(() => createPasswordHasher(hashersConfig({ argon2: { memory: 'lots' } }))).toThrow(/byte size/);
    expect(() => createPasswordHasher(hashersConfig({ argon2: { iterations: 0 } }))).toThrow(/iterations/);
    expect(() => createPasswordHasher(hashersConfig({ argon2: { salt_length: 4 } }))).toThrow(/salt_length/);
    expect(() => createPasswordHasher(hashersConfig({ algorithm: 'bcrypt', bcrypt: { cost: 32 } }))).toThrow(/cost/);
  });

  it('close() stops the pool; the hasher refuses work afterwards', async () => {
    const hasher = createPasswordHasher(hashersConfig(), { native: 'off', pool: 'thread', concurrency: 1 });
    await hasher.warm();
    expect(await hasher.verify('hunter22', await hasher.hash('hunter22'))).toBe(true);
    const pending = hasher.hash('hunter22').catch((err: unknown) => err);
    await new Promise((resolve) => setTimeout(resolve, 10));
    await hasher.close();
    expect(await pending).toMatchObject({ message: expect.stringMatching(/closed/) });
    await expect(hasher.hash('hunter22')).rejects.toThrow(/closed/);
  });

  it('close() also ends the native paths', async () => {
    const hasher = createPasswordHasher(hashersConfig());
    const encoded = await hasher.hash('hunter22');
    await hasher.close();
    await expect(hasher.verify('hunter22', encoded)).rejects.toThrow(/closed/);
  });
});
