/**
 * Imported password hashes end to end (Kratos section 11): for every prefix of every entry in SUPPORTED_HASH_FORMATS,
 * an identity is imported through `POST /admin/identities` with `credentials.password.config.hashed_password` made
 * by an independent implementation (node:crypto, hash-wasm, `openssl passwd`, Kratos's Go test fixtures - never
 * idflow's hasher), then logs in through the native login flow; the first successful login re-hashes to the
 * configured Argon2id. Unknown formats and hashes over the cost limits are refused at import with nothing written;
 * the batch endpoint imports hashes too.
 */
import { createCipheriv, createHash, createHmac, pbkdf2Sync, randomBytes, scryptSync } from 'node:crypto';
import { argon2i, argon2id, argon2Verify, bcrypt } from 'hash-wasm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ResponseError } from '@ory/client-fetch';
import { testDatabases } from '../../support/databases.ts';
import { startTestServer, type TestServer } from '../../support/server.ts';
import { expectResponse } from '../../support/openapi.ts';
import { SUPPORTED_HASH_FORMATS } from '../../../src/hash/index.ts';
import { Identity as IdentityEntity } from '../../../entities/index.ts';
import { failure } from '../../support/sdk.ts';

type Json = any;

const PW = 'correct horse';
const b64 = (b: Uint8Array) => Buffer.from(b).toString('base64');
const b64raw = (b: Uint8Array) => b64(b).replace(/=+$/, '');
/**
 * The hasher the server runs with: Argon2id, cheaper than the defaults so 2 x 34 imports with three logins each
 * fit the time budget. The Argon2id fixture below uses less memory, so it must be re-hashed as well.
 */
const HASHERS = { algorithm: 'argon2', argon2: { memory: '2MB', iterations: 1, parallelism: 1 } };
const PHC_ARGON2ID = /^\$argon2id\$v=19\$(m=\d+,t=\d+,p=\d+)\$[A-Za-z0-9+/]{22}\$[A-Za-z0-9+/]{43}$/;

interface Fixture { name: string; encoded: string; password: string }

/** One hash per prefix (the same independent sources as test/unit/hash/formats.test.ts). */
async function fixtures(): Promise<Fixture[]> {
  const list: Fixture[] = [];
  const add = (name: string, encoded: string, password = PW) => list.push({ name, encoded, password });
  const salt = randomBytes(16);

  // Argon2 from hash-wasm, below the configured cost so the login must re-hash.
  add('argon2id (hash-wasm)', await argon2id({ password: PW, salt, memorySize: 1024, iterations: 2, parallelism: 2, hashLength: 32, outputType: 'encoded' }));
  add('argon2i (hash-wasm)', await argon2i({ password: PW, salt, memorySize: 1024, iterations: 3, parallelism: 1, hashLength: 24, outputType: 'encoded' }));

  // bcrypt from hash-wasm ($2a$); $2b$/$2y$/$2$ differ only in the label for passwords < 255 bytes.
  const bc = await bcrypt({ password: PW, salt, costFactor: 5, outputType: 'encoded' });
  add('bcrypt $2a$ (hash-wasm)', bc);
  add('bcrypt $2b$', bc.replace('$2a$', '$2b$'));
  add('bcrypt $2y$', bc.replace('$2a$', '$2y$'));
  add('bcrypt $2$', bc.replace('$2a$', '$2$'));

  for (const digest of ['sha1', 'sha224', 'sha256', 'sha384', 'sha512']) {
    add(`pbkdf2-${digest} (node:crypto)`, `$pbkdf2-${digest}$i=1000,l=32$${b64raw(salt)}$${b64raw(pbkdf2Sync(PW, salt, 1000, 32, digest))}`);
  }

  add('scrypt (node:crypto)', `$scrypt$ln=1024,r=8,p=2$${b64(salt)}$${b64(scryptSync(PW, salt, 32, { N: 1024, r: 8, p: 2 }))}`);

  const separator = Buffer.from([7]);
  const signer = randomBytes(64);
  const key = scryptSync(PW, Buffer.concat([salt, separator]), 32, { N: 2 ** 10, r: 8, p: 1 });
  const fireHash = createCipheriv('aes-256-ctr', key, Buffer.alloc(16)).update(signer);
  add('firescrypt (node:crypto)', `$firescrypt$ln=10,r=8,p=1$${b64(salt)}$${b64(fireHash)}$${b64(separator)}$${b64(signer)}`);

  for (const [label, digest] of [['SSHA', 'sha1'], ['SSHA256', 'sha256'], ['SSHA512', 'sha512']] as const) {
    const s = randomBytes(8);
    add(`{${label}} (node:crypto)`, `{${label}}${b64(Buffer.concat([createHash(digest).update(PW).update(s).digest(), s]))}`);
  }

  for (const digest of ['sha1', 'sha256', 'sha512', 'md5'] as const) {
    const s = Buffer.from('s@lt$');
    const input = Buffer.concat([Buffer.from('pre'), s, Buffer.from('::'), Buffer.from(PW)]);
    add(`$${digest}$ with pf (node:crypto)`, `$${digest}$pf=${b64(Buffer.from('pre{SALT}::{PASSWORD}'))}$${b64(s)}$${b64(createHash(digest).update(input).digest())}`);
  }
  add('$md5$ plain (node:crypto)', `$md5$${b64(createHash('md5').update(PW).digest())}`);

  for (const digest of ['md5', 'sha1', 'sha224', 'sha256', 'sha384', 'sha512']) {
    const k = randomBytes(12);
    add(`hmac-${digest} (node:crypto)`, `$hmac-${digest}$${b64(Buffer.from(createHmac(digest, k).update(PW).digest('hex')))}$${b64(k)}`);
  }
  // OpenSSL 3 ships no MD4 by default: Kratos's test fixture (Go x/crypto/md4).
  add('hmac-md4 (kratos fixture)', '$hmac-md4$MWQ5ZTI4Nzc2Zjg4YmE2MTQ5YjQ0OTMyOGE4NWU4YjA=$MTIzNDU=', 'test');

  // `openssl passwd -1 / -5 / -6`, computed once.
  add('$1$ (openssl)', '$1$saltsalt$NuzA7WTAelpl95xgBGWN60');
  add('$md5-crypt$ (openssl)', '$md5-crypt$saltsalt$NuzA7WTAelpl95xgBGWN60');
  add('$5$ (openssl)', '$5$saltsalt$myjXcpMpE2Ofk7fj9hqyNYSn6lmWG4Mqnjx.KIRRr4/');
  add('$sha256-crypt$ rounds (openssl)', '$sha256-crypt$rounds=12000$abcdefghijklmnop$oURuoyBak9B5cXBLGxWBtfYIfWuUr76v6D.tVTIWQ88');
  add('$6$ (openssl)', '$6$saltsalt$hRM5XZ86KXEw9UOmjigeVqFgULtFB2sgpC9lXQDfMib3Zgw7mEiUvBJI2EplzfAqxL5Vvwp2scFtv/uamSo5z0');
  add('$sha512-crypt$ utf-8 (openssl)', '$sha512-crypt$rounds=1000$xy$sN6HCzssPVTjXLzMzTeSAHs5hhxHxKDl9iq.w6Omy9GHKOxONSTsA.bwMdMmPnXKZnQ/XyfomMVk5va55mhcO.', 'pässwörd');
  return list;
}

const ALL = await fixtures();
const ALL_PREFIXES = SUPPORTED_HASH_FORMATS.flatMap((f) => f.prefixes.map((prefix) => ({ id: f.id, prefix })));
/** The longest listed prefix a hash starts with (`$md5-crypt$` is not `$md5$`, `$2a$` is not `$2$`). */
const prefixOf = (encoded: string) =>
  ALL_PREFIXES.filter((p) => encoded.startsWith(p.prefix)).sort((a, b) => b.prefix.length - a.prefix.length)[0]?.prefix;

const OVER_LIMIT = {
  bcryptCost31: '$2a$31$abcdefghijklmnopqrstuugn/uitWMnDoOdJaSWqW1pjEXZ8eOSCqK',
  argon2m4GiB: '$argon2id$v=19$m=4194304,t=2,p=4$cm94YnRVOW5jZzFzcVE4bQ$MNzk5BtR2vUhrp6qQEjRNw',
};

describe('fixtures', () => {
  it('cover every prefix of every entry of SUPPORTED_HASH_FORMATS', () => {
    const covered = new Set(ALL.map((f) => prefixOf(f.encoded)));
    const missing = ALL_PREFIXES.filter((p) => !covered.has(p.prefix)).map((p) => `${p.id} ${p.prefix}`);
    expect(missing).toEqual([]);
    expect(ALL.every((f) => prefixOf(f.encoded) !== undefined)).toBe(true);
  });
});

for (const db of testDatabases()) {
  describe(`imported password hashes (${db.name})`, () => {
    let server: TestServer;
    let drop: () => Promise<void>;
    let freshArgon2id: RegExp;
    const countIdentities = () => server.orm.em.fork().count(IdentityEntity, {});

    beforeAll(async () => {
      const created = await db.create();
      drop = created.drop;
      server = await startTestServer(created.dsn, { hashers: HASHERS, selfservice: { methods: { password: { config: { haveibeenpwned_enabled: false } } } } });
      // What the server writes for a new password: a re-hash must produce the same parameters.
      const reference = await server.identityApi.createIdentity({
        createIdentityBody: { schema_id: 'default', traits: { email: `reference-${db.name}@example.com` }, credentials: { password: { config: { password: 'a reference passphrase' } } } },
      });
      const referenceHash = await storedHash(reference.id);
      const params = PHC_ARGON2ID.exec(referenceHash)?.[1];
      expect(params, referenceHash).toBeDefined();
      expect(params).not.toBe('m=19456,t=2,p=1'); // the HASHERS overlay is in effect
      freshArgon2id = new RegExp(`^\\$argon2id\\$v=19\\$${params}\\$[A-Za-z0-9+/]{22}\\$[A-Za-z0-9+/]{43}$`);
    });
    afterAll(async () => {
      await server?.close();
      await drop?.();
    });

    async function login(identifier: string, password: string): Promise<{ status: number; body: Json }> {
      const flow = await server.frontendApi.createNativeLoginFlow();
      try {
        const res = await server.frontendApi.updateLoginFlowRaw({ flow: flow.id, updateLoginFlowBody: { method: 'password', identifier, password } });
        const body = await res.raw.json();
        expectResponse('updateLoginFlow', 200, body);
        return { status: res.raw.status, body };
      } catch (err) {
        if (!(err instanceof ResponseError)) throw err;
        const body = await err.response.json();
        expectResponse('updateLoginFlow', err.response.status, body);
        return { status: err.response.status, body };
      }
    }

    async function expectLoggedIn(identifier: string, password: string, identityId: string): Promise<void> {
      const res = await login(identifier, password);
      expect(res.status, JSON.stringify(res.body)).toBe(200);
      expect(res.body.session_token).toMatch(/^ory_st_[A-Za-z0-9]{48}$/);
      expect(res.body.session.identity.id).toBe(identityId);
      expect(res.body.session.authentication_methods.map((m: Json) => m.method)).toEqual(['password']);
    }

    async function expectInvalidCredentials(identifier: string, password: string): Promise<void> {
      const res = await login(identifier, password);
      expect(res.status).toBe(400);
      expect(res.body.ui.messages.map((m: Json) => m.id)).toEqual([4000006]);
    }

    async function storedHash(identityId: string): Promise<string> {
      const res = await server.identityApi.getIdentityRaw({ id: identityId, includeCredential: ['password'] });
      const body = await res.raw.json();
      expectResponse('getIdentity', 200, body);
      return body.credentials.password.config.hashed_password;
    }

    it.concurrent.each(ALL.map((f, i) => [f.name, f, i] as const))('imports %s, logs in, and re-hashes to Argon2id', async (_name, fixture, i) => {
      const address = `import-${i}-${db.name}@example.com`;
      const res = await server.identityApi.createIdentityRaw({
        createIdentityBody: { schema_id: 'default', traits: { email: address }, credentials: { password: { config: { hashed_password: fixture.encoded } } } },
      });
      expect(res.raw.status).toBe(201);
      const created = await res.raw.json();
      expectResponse('createIdentity', 201, created);
      expect(created.credentials.password.identifiers).toEqual([address]);
      expect(JSON.stringify(created)).not.toContain(fixture.encoded);

      // A wrong password fails against the imported hash and leaves it exactly as imported.
      await expectInvalidCredentials(address, `${fixture.password}!`);
      expect(await storedHash(created.id)).toBe(fixture.encoded);

      await expectLoggedIn(address, fixture.password, created.id);
      const rehashed = await storedHash(created.id);
      expect(rehashed).not.toBe(fixture.encoded);
      expect(rehashed).toMatch(freshArgon2id);
      expect(await argon2Verify({ password: fixture.password, hash: rehashed })).toBe(true);

      await expectLoggedIn(address, fixture.password, created.id);
    });

    it('refuses an unknown or malformed hash with 400 naming the problem, writing nothing', async () => {
      const before = await countIdentities();
      const cases: Array<[string, RegExp]> = [
        ['$unknown$12$o6hx.Wog/wvFSkT/Bp/6DOxCtLRTDj7lm9on9suF/WaCGNVHbkfL6', /unsupported hash format/],
        ['hunter2', /unsupported hash format/],
        ['$argon2d$v=19$m=65536,t=3,p=4$cm94YnRVOW5jZzFzcVE4bQ$MNzk5BtR2vUhrp6qQEjRNw', /unsupported hash format/],
        ['$2a$10$tooshort', /malformed bcrypt hash/],
        ['$pbkdf2-sha256$i=1000$nosalt', /malformed pbkdf2/],
      ];
      for (const [i, [encoded, reason]] of cases.entries()) {
        const address = `unknown-${i}@example.com`;
        const failed = await failure(server.identityApi.createIdentity({
          createIdentityBody: { schema_id: 'default', traits: { email: address }, credentials: { password: { config: { hashed_password: encoded } } } },
        }));
        expect(failed.status, encoded).toBe(400);
        expectResponse('createIdentity', 400, failed.body);
        expect(failed.body.error.reason, encoded).toMatch(reason);
        expect(await server.identityApi.listIdentities({ credentialsIdentifier: address })).toEqual([]);
      }
      expect(await countIdentities()).toBe(before);
    });

    it('refuses bcrypt cost 31 and argon2 m=4GiB at import (Kratos c52a99be2), writing nothing', async () => {
      const before = await countIdentities();
      for (const [label, encoded, reason] of [
        ['bcrypt', OVER_LIMIT.bcryptCost31, /bcrypt cost=31 exceeds max 15/],
        ['argon2', OVER_LIMIT.argon2m4GiB, /argon2 m=4194304 KiB/],
      ] as const) {
        const address = `over-limit-${label}@example.com`;
        const started = performance.now();
        const failed = await failure(server.identityApi.createIdentity({
          createIdentityBody: { schema_id: 'default', traits: { email: address }, credentials: { password: { config: { hashed_password: encoded } } } },
        }));
        expect(performance.now() - started).toBeLessThan(2000);
        expect(failed.status).toBe(400);
        expectResponse('createIdentity', 400, failed.body);
        expect(failed.body.error.reason).toMatch(/^hash parameters exceed allowed bounds: /);
        expect(failed.body.error.reason).toMatch(reason);
        expect(await server.identityApi.listIdentities({ credentialsIdentifier: address })).toEqual([]);
      }
      expect(await countIdentities()).toBe(before);

      // Nor can an existing identity be given such a hash through PUT.
      const existing = await server.identityApi.createIdentity({ createIdentityBody: { schema_id: 'default', traits: { email: 'over-limit-put@example.com' } } });
      const put = await failure(server.identityApi.updateIdentity({
        id: existing.id,
        updateIdentityBody: { schema_id: 'default', state: 'active', traits: { email: 'over-limit-put@example.com' }, credentials: { password: { config: { hashed_password: OVER_LIMIT.bcryptCost31 } } } },
      }));
      expect(put.status).toBe(400);
      expectResponse('updateIdentity', 400, put.body);
      const after = await server.identityApi.getIdentity({ id: existing.id, includeCredential: ['password'] });
      expect(after.credentials?.password).toBeUndefined();
    });

    it('imports hashed passwords through the batch endpoint (PATCH /admin/identities) with per-item errors', async () => {
      const before = await countIdentities();
      const bc = await bcrypt({ password: 'batch passphrase', salt: randomBytes(16), costFactor: 4, outputType: 'encoded' });
      const pbkdf2Salt = randomBytes(16);
      const pbkdf2 = `$pbkdf2-sha256$i=1000,l=32$${b64raw(pbkdf2Salt)}$${b64raw(pbkdf2Sync('batch passphrase 2', pbkdf2Salt, 1000, 32, 'sha256'))}`;
      const patchIds = [crypto.randomUUID(), crypto.randomUUID(), crypto.randomUUID(), crypto.randomUUID()];
      const raw = await server.identityApi.batchPatchIdentitiesRaw({
        patchIdentitiesBody: {
          identities: [
            { patch_id: patchIds[0], create: { schema_id: 'default', traits: { email: 'batch-bcrypt@example.com' }, credentials: { password: { config: { hashed_password: bc } } } } },
            { patch_id: patchIds[1], create: { schema_id: 'default', traits: { email: 'batch-unknown@example.com' }, credentials: { password: { config: { hashed_password: '$unknown$abc' } } } } },
            { patch_id: patchIds[2], create: { schema_id: 'default', traits: { email: 'batch-over@example.com' }, credentials: { password: { config: { hashed_password: OVER_LIMIT.bcryptCost31 } } } } },
            { patch_id: patchIds[3], create: { schema_id: 'default', traits: { email: 'batch-pbkdf2@example.com' }, credentials: { password: { config: { hashed_password: pbkdf2 } } } } },
          ],
        },
      });
      const body = await raw.raw.json();
      expectResponse('batchPatchIdentities', 200, body);
      expect(body.identities.map((r: Json) => r.action)).toEqual(['create', 'error', 'error', 'create']);
      expect(body.identities.map((r: Json) => r.patch_id)).toEqual(patchIds);
      expect(body.identities[1].error).toMatchObject({ code: 400, reason: expect.stringMatching(/unsupported hash format/) });
      expect(body.identities[2].error).toMatchObject({ code: 400, reason: expect.stringMatching(/bcrypt cost=31/) });
      expect(await countIdentities()).toBe(before + 2);
      expect(await server.identityApi.listIdentities({ credentialsIdentifier: 'batch-unknown@example.com' })).toEqual([]);
      expect(await server.identityApi.listIdentities({ credentialsIdentifier: 'batch-over@example.com' })).toEqual([]);

      const bcryptId = body.identities[0].identity;
      expect(await storedHash(bcryptId)).toBe(bc);
      await expectInvalidCredentials('batch-bcrypt@example.com', 'batch passphrase!');
      await expectLoggedIn('batch-bcrypt@example.com', 'batch passphrase', bcryptId);
      expect(await storedHash(bcryptId)).toMatch(freshArgon2id);
      await expectLoggedIn('batch-bcrypt@example.com', 'batch passphrase', bcryptId);

      const pbkdf2Id = body.identities[3].identity;
      await expectLoggedIn('batch-pbkdf2@example.com', 'batch passphrase 2', pbkdf2Id);
      expect(await storedHash(pbkdf2Id)).toMatch(freshArgon2id);
    });
  });
}
