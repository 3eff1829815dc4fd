/**
 * Every supported format: a hash made by an independent implementation (node:crypto, openssl,
 * hash-wasm, Kratos's Go test fixtures) verifies with the right password and not with a wrong one,
 * once on the default engine (native + process pool) and once on hash-wasm in worker threads.
 */
import { createCipheriv, createHash, createHmac, pbkdf2Sync, randomBytes, scryptSync } from 'node:crypto';
import { argon2i, argon2id, bcrypt } from 'hash-wasm';
import { afterAll, describe, expect, it } from 'vitest';
import { createPasswordHasher, detectHashFormat, SUPPORTED_HASH_FORMATS, type PasswordHasherOptions } from '../../../src/hash/index.ts';
import { hashersConfig } from './helpers.ts';

const PW = 'correct horse';
const WRONG = 'correct horsf';
const b64 = (b: Uint8Array) => Buffer.from(b).toString('base64');
const b64raw = (b: Uint8Array) => b64(b).replace(/=+$/, '');
const salt = randomBytes(16);

interface Fixture { name: string; encoded: string; password: string }

async function fixtures(): Promise<Fixture[]> {
  const list: Fixture[] = [];
  const add = (name: string, encoded: string, password = PW) => list.push({ name, encoded, password });

  // argon2 from hash-wasm (small memory keeps the suite fast) and from Kratos (Go x/crypto/argon2).
  add('argon2id hash-wasm', await argon2id({ password: PW, salt, memorySize: 1024, iterations: 2, parallelism: 2, hashLength: 32, outputType: 'encoded' }));
  add('argon2i hash-wasm', await argon2i({ password: PW, salt, memorySize: 1024, iterations: 3, parallelism: 1, hashLength: 24, outputType: 'encoded' }));
  add('argon2id kratos', '$argon2id$v=19$m=32,t=2,p=4$cm94YnRVOW5jZzFzcVE4bQ$MNzk5BtR2vUhrp6qQEjRNw', 'test');
  add('argon2i kratos', '$argon2i$v=19$m=65536,t=3,p=4$kk51rW/vxIVCYn+EG4kTSg$NyT88uraJ6im6dyha/M5jhXvpqlEdlS/9fEm7ScMb8c', 'test');

  // bcrypt from hash-wasm ($2a$); $2b$/$2y$/$2$ differ only in the label for passwords < 255 bytes.
  const bc = await bcrypt({ password: PW, salt, costFactor: 5, outputType: 'encoded' });
  add('bcrypt $2a$ hash-wasm', bc);
  add('bcrypt $2b$', bc.replace('$2a$', '$2b$'));
  add('bcrypt $2y$', bc.replace('$2a$', '$2y$'));
  add('bcrypt $2$', bc.replace('$2a$', '$2$'));
  add('bcrypt kratos', '$2a$12$o6hx.Wog/wvFSkT/Bp/6DOxCtLRTDj7lm9on9suF/WaCGNVHbkfL6', 'test');
  add('bcrypt 72 bytes', await bcrypt({ password: 'x'.repeat(72), salt, costFactor: 4, outputType: 'encoded' }), 'x'.repeat(72));

  for (const digest of ['sha1', 'sha224', 'sha256', 'sha384', 'sha512']) {
    const hash = pbkdf2Sync(PW, salt, 1000, 32, digest);
    add(`pbkdf2-${digest} node:crypto`, `$pbkdf2-${digest}$i=1000,l=32$${b64raw(salt)}$${b64raw(hash)}`);
  }
  add('pbkdf2-sha512 kratos', '$pbkdf2-sha512$i=100000,l=32$bdHBpn7OWOivJMVJypy2UqR0UnaD5prQXRZevj/05YU$+wArTfv1a+bNGO1iZrmEdVjhA+lL11wF4/IxpgYfPwc', 'test');

  add('scrypt node:crypto', `$scrypt$ln=1024,r=8,p=2$${b64(salt)}$${b64(scryptSync(PW, salt, 32, { N: 1024, r: 8, p: 2 }))}`);
  add('scrypt kratos', '$scrypt$ln=16384,r=8,p=1$2npRo7P03Mt8keSoMbyD/tKFWyUzjiQf2svUaNDSrhA=$MiCzNcIplSMqSBrm4HckjYqYhaVPPjTARTzwB1cVNYE=', 'test');

  const separator = Buffer.from([7]);
  const signer = randomBytes(64);
  const key = scryptSync(PW, Buffer.concat([salt, separator]), 32, { N: 2 ** 10, r: 8, p: 1 });
  const fireHash = createCipheriv('aes-256-ctr', key, Buffer.alloc(16)).update(signer);
  add('firescrypt node:crypto', `$firescrypt$ln=10,r=8,p=1$${b64(salt)}$${b64(fireHash)}$${b64(separator)}$${b64(signer)}`);
  add('firescrypt kratos', '$firescrypt$ln=14,r=8,p=1$sPtDhWcd1MfdAw==$xbSou7FOl6mChCyzpCPIQ7tku7nsQMTFtyOZSXXd7tjBa4NtimOx7v42Gv2SfzPQu1oxM2/k4SsbOu73wlKe1A==$Bw==$YE0dO4bwD4JnJafh6lZZfkp1MtKzuKAXQcDCJNJNyeCHairWHKENOkbh3dzwaCdizzOspwr/FITUVlnOAwPKyw==', '8x4WjoDbSxJZdR');

  for (const [label, digest, size] of [['SSHA', 'sha1', 20], ['SSHA256', 'sha256', 32], ['SSHA512', 'sha512', 64]] as const) {
    const s = randomBytes(8);
    const h = createHash(digest).update(PW).update(s).digest();
    expect(h.length).toBe(size);
    add(`{${label}} node:crypto`, `{${label}}${b64(Buffer.concat([h, s]))}`);
  }

  for (const digest of ['sha1', 'sha256', 'sha512', 'md5'] as const) {
    const s = Buffer.from('s@lt$');
    const input = Buffer.concat([Buffer.from('pre'), s, Buffer.from('::'), Buffer.from(PW)]);
    add(`$${digest}$pf node:crypto`, `$${digest}$pf=${b64(Buffer.from('pre{SALT}::{PASSWORD}'))}$${b64(s)}$${b64(createHash(digest).update(input).digest())}`);
  }
  add('$md5$ node:crypto', `$md5$${b64(createHash('md5').update(PW).digest())}`);
  add('$sha1$pf kratos', '$sha1$pf=e1NBTFR9e1BBU1NXT1JEfQ==$NW9wbWtnejAzcg==$2qU2SGWP8viTM1md3FiI3+rjWXQ=', 'test');

  for (const digest of ['md5', 'sha1', 'sha224', 'sha256', 'sha384', 'sha512']) {
    const k = randomBytes(12);
    const hex = createHmac(digest, k).update(PW).digest('hex');
    add(`hmac-${digest} node:crypto`, `$hmac-${digest}$${b64(Buffer.from(hex))}$${b64(k)}`);
  }
  // OpenSSL 3 ships no MD4 by default, so this one comes from Kratos's tests (Go x/crypto/md4).
  add('hmac-md4 kratos', '$hmac-md4$MWQ5ZTI4Nzc2Zjg4YmE2MTQ5YjQ0OTMyOGE4NWU4YjA=$MTIzNDU=', 'test');

  // `openssl passwd -1 / -5 / -6`, computed once.
  add('$1$ openssl', '$1$saltsalt$NuzA7WTAelpl95xgBGWN60');
  add('$md5-crypt$ openssl', '$md5-crypt$saltsalt$NuzA7WTAelpl95xgBGWN60');
  add('$1$ empty salt openssl', '$1$$whuMjZj.HMFoaTaZRRtkO0', 'test');
  add('$5$ openssl', '$5$saltsalt$myjXcpMpE2Ofk7fj9hqyNYSn6lmWG4Mqnjx.KIRRr4/');
  add('$sha256-crypt$ rounds openssl', '$sha256-crypt$rounds=12000$abcdefghijklmnop$oURuoyBak9B5cXBLGxWBtfYIfWuUr76v6D.tVTIWQ88');
  add('$6$ openssl', '$6$saltsalt$hRM5XZ86KXEw9UOmjigeVqFgULtFB2sgpC9lXQDfMib3Zgw7mEiUvBJI2EplzfAqxL5Vvwp2scFtv/uamSo5z0');
  add('$sha512-crypt$ utf-8 openssl', '$sha512-crypt$rounds=1000$xy$sN6HCzssPVTjXLzMzTeSAHs5hhxHxKDl9iq.w6Omy9GHKOxONSTsA.bwMdMmPnXKZnQ/XyfomMVk5va55mhcO.', 'pässwörd');
  add('$sha512-crypt$ kratos (656000 rounds)', '$sha512-crypt$rounds=656000$3LVbIAVxR//cRajw$uuNasMW.RYxlGzIRFU1Was70BPSa933AjxhZIGJdJBOlqJAHlgqa0yuiuq5JHF/ryNGryJkj87G9i3G2HPSXg1', 'test');
  return list;
}

const all = await fixtures();

describe('fixtures', () => {
  it('cover every listed format', () => {
    const covered = new Set(all.map((f) => detectHashFormat(f.encoded)));
    expect([...covered].sort()).toEqual(SUPPORTED_HASH_FORMATS.map((f) => f.id).sort());
  });
});

const engines: [string, PasswordHasherOptions][] = [
  ['default engine', {}],
  ['hash-wasm in worker threads', { native: 'off', pool: 'thread', concurrency: 1 }],
];

describe.each(engines)('verify on the %s', (_label, options) => {
  const hasher = createPasswordHasher(hashersConfig(), options);
  afterAll(() => hasher.close());

  it.concurrent.each(all.map((f) => [f.name, f] as const))('%s', async (_name, f) => {
    hasher.assertImportable(f.encoded);
    expect(await hasher.verify(f.password, f.encoded)).toBe(true);
    // The slowest fixture proves the same point once; skip its second pass.
    if (!f.name.includes('656000')) expect(await hasher.verify(f.password === PW ? WRONG : `${f.password}x`, f.encoded)).toBe(false);
  });
});
