/**
 * Issue 15, "Passwords": NFKC before hashing and comparing (NIST SP 800-63B-4 3.1.1.2), so a composed and a
 * decomposed "é" are one password; hashes made before (of the password as typed) still verify; a documented
 * maximum of 1024 characters checked before hashing; an imported bcrypt hash never matches a password longer than
 * 72 bytes by truncation (as Kratos's CompareBcrypt refuses > 72 bytes).
 */
import { argon2id, bcrypt } from 'hash-wasm';
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { testDatabases } from '../../support/databases.ts';
import { startTestServer, type TestServer } from '../../support/server.ts';
import { expectResponse } from '../../support/openapi.ts';

type Json = any;

const COMPOSED = 'Caf\u00e9 au lait, s\u2019il vous pla\u00eet';
const DECOMPOSED = COMPOSED.normalize('NFD');
const HASHERS = { algorithm: 'argon2', argon2: { memory: '2MB', iterations: 1, parallelism: 1 } };

for (const db of testDatabases()) {
  describe(`password normalisation and limits (${db.name})`, () => {
    let server: TestServer;
    let drop: () => Promise<void>;
    let n = 0;
    const email = () => `pw${++n}.${Math.random().toString(36).slice(2, 8)}@example.com`;

    beforeAll(async () => {
      const created = await db.create();
      drop = created.drop;
      server = await startTestServer(created.dsn, { hashers: HASHERS, selfservice: { methods: { password: { config: { haveibeenpwned_enabled: false } } } } });
    });
    afterAll(async () => {
      await server?.close();
      await drop?.();
    });

    async function post(url: string, body: unknown): Promise<{ status: number; body: Json }> {
      const res = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json', accept: 'application/json' }, body: JSON.stringify(body) });
      return { status: res.status, body: await res.json() };
    }
    async function register(address: string, password: string) {
      const flow = await server.frontendApi.createNativeRegistrationFlow();
      return post(`${server.publicUrl}/self-service/registration?flow=${flow.id}`, { method: 'password', traits: { email: address }, password });
    }
    async function login(identifier: string, password: string) {
      const flow = await server.frontendApi.createNativeLoginFlow();
      return post(`${server.publicUrl}/self-service/login?flow=${flow.id}`, { method: 'password', identifier, password });
    }
    async function importHash(address: string, hashed: string) {
      const res = await post(`${server.adminUrl}/admin/identities`, { schema_id: 'default', traits: { email: address }, credentials: { password: { config: { hashed_password: hashed } } } });
      expect(res.status, JSON.stringify(res.body)).toBe(201);
    }
    const passwordIds = (flow: Json) => flow.ui.nodes.find((x: Json) => x.attributes.name === 'password').messages.map((m: Json) => m.id);

    expect(COMPOSED).not.toBe(DECOMPOSED);

    for (const [typed, other] of [[COMPOSED, DECOMPOSED], [DECOMPOSED, COMPOSED]]) {
      it(`logs in with either form of "é" after registering with the ${typed === COMPOSED ? 'composed' : 'decomposed'} one`, async () => {
        const address = email();
        const registered = await register(address, typed);
        expect(registered.status, JSON.stringify(registered.body)).toBe(200);
        for (const password of [typed, other]) {
          const res = await login(address, password);
          expect(res.status, JSON.stringify(res.body)).toBe(200);
        }
        expect((await login(address, 'Cafe au lait, s\u2019il vous plait')).status).toBe(400);
      });
    }

    it('still verifies hashes made before normalisation: of an NFKC password by either form, of a non-NFKC one as typed', async () => {
      const salt = randomBytes(16);
      const hashOf = (password: string) => argon2id({ password, salt, memorySize: 2048, iterations: 1, parallelism: 1, hashLength: 32, outputType: 'encoded' });
      const nfkc = email();
      await importHash(nfkc, await hashOf(COMPOSED));
      expect((await login(nfkc, COMPOSED)).status).toBe(200);
      expect((await login(nfkc, DECOMPOSED)).status).toBe(200);
      const legacy = email();
      await importHash(legacy, await hashOf(DECOMPOSED));
      expect((await login(legacy, DECOMPOSED)).status).toBe(200);
    });

    it('refuses a password over 1024 characters before hashing (4000033 at registration, 4000017 at login)', async () => {
      const address = email();
      const tooLong = await register(address, 'x'.repeat(1025) + ' y');
      expect(tooLong.status).toBe(400);
      expectResponse('updateRegistrationFlow', 400, tooLong.body);
      expect(passwordIds(tooLong.body)).toEqual([4000033]);
      expect(tooLong.body.ui.nodes.find((x: Json) => x.attributes.name === 'password').messages[0].context).toMatchObject({ max_length: 1024 });
      const longest = 'correct horse '.repeat(74).slice(0, 1024);
      expect([...longest]).toHaveLength(1024);
      expect((await register(address, longest)).status).toBe(200);
      expect((await login(address, longest)).status).toBe(200);
      const loginTooLong = await login(address, longest + 'x');
      expect(loginTooLong.status).toBe(400);
      expect(passwordIds(loginTooLong.body), JSON.stringify(loginTooLong.body.ui)).toEqual([4000017]);
    });

    it('never matches an imported bcrypt hash of the first 72 bytes with a longer password', async () => {
      const first72 = 'b'.repeat(72);
      const address = email();
      await importHash(address, await bcrypt({ password: first72, salt: randomBytes(16), costFactor: 4, outputType: 'encoded' }));
      const longer = await login(address, first72 + 'ignored-by-bcrypt');
      expect(longer.status).toBe(400);
      expect(longer.body.ui.messages.map((m: Json) => m.id)).toEqual([4000006]);
      expect((await login(address, first72)).status).toBe(200);
    });
  });
}
