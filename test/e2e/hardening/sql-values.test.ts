/**
 * Issue 15, "SQL: every value is a bound parameter". MikroORM 6 formats every query's values into the SQL text
 * (`Platform.formatQuery`) before knex sends it; a NUL byte in a value then broke the statement (500 on both
 * databases). Values are now bound parameters (src/persistence/sql/bound-connection.ts), identifiers with control
 * characters are refused with Kratos's 400s, and no trait string with a NUL reaches the database.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { testDatabases } from '../../support/databases.ts';
import { startTestServer, type TestServer } from '../../support/server.ts';
import { expectResponse } from '../../support/openapi.ts';
import { Identity as IdentityEntity } from '../../../entities/index.ts';

type Json = any;
const PASSWORD = 'a perfectly fine passphrase';

for (const db of testDatabases()) {
  describe(`SQL values and control characters (${db.name})`, () => {
    let server: TestServer;
    let drop: () => Promise<void>;
    const countIdentities = () => server.orm.em.fork().count(IdentityEntity, {});

    beforeAll(async () => {
      const created = await db.create();
      drop = created.drop;
      server = await startTestServer(created.dsn);
    });
    afterAll(async () => {
      await server?.close();
      await drop?.();
    });

    async function post(base: string, path: string, body: unknown): Promise<{ status: number; body: Json }> {
      const res = await fetch(base + path, { method: 'POST', headers: { 'content-type': 'application/json', accept: 'application/json' }, body: JSON.stringify(body) });
      return { status: res.status, body: await res.json() };
    }

    async function submitLogin(identifier: string, password = PASSWORD) {
      const flow = await server.frontendApi.createNativeLoginFlow();
      return post(server.publicUrl, `/self-service/login?flow=${flow.id}`, { method: 'password', identifier, password });
    }

    async function submitRegistration(traits: Json) {
      const flow = await server.frontendApi.createNativeRegistrationFlow();
      return post(server.publicUrl, `/self-service/registration?flow=${flow.id}`, { method: 'password', traits, password: PASSWORD });
    }

    const nodeIds = (flow: Json, name: string) => flow.ui.nodes.find((n: Json) => n.attributes.name === name)?.messages.map((m: Json) => m.id);

    it('round-trips an identifier made of SQL metacharacters exactly (admin create, lookup, login)', async () => {
      const tricky = `o'brien?$1--/*x*/{y}@example.com`;
      const created = await post(server.adminUrl, '/admin/identities', {
        schema_id: 'default', traits: { email: tricky, name: { first: `'); DROP TABLE identities; -- $1 ? \\` } },
        credentials: { password: { config: { password: PASSWORD } } },
      });
      expect(created.status, JSON.stringify(created.body)).toBe(201);
      expect(created.body.traits.name.first).toBe(`'); DROP TABLE identities; -- $1 ? \\`);
      const listed = await fetch(`${server.adminUrl}/admin/identities?credentials_identifier=${encodeURIComponent(tricky)}`);
      const found = await listed.json();
      expect(found.map((i: Json) => i.id)).toEqual([created.body.id]);
      const login = await submitLogin(tricky);
      expect(login.status, JSON.stringify(login.body)).toBe(200);
      expect(login.body.session.identity.id).toBe(created.body.id);
    });

    it('sends values as bound parameters, never inside the SQL text', async () => {
      const marker = `bound-${Math.random().toString(36).slice(2)}'?--@example.com`;
      const seen: Array<{ sql: string; bindings: unknown[] }> = [];
      const knex = (server.orm.em.getConnection() as unknown as { getKnex(): { on(e: string, f: (q: Json) => void): void; off(e: string, f: (q: Json) => void): void } }).getKnex();
      const listen = (q: Json) => seen.push({ sql: q.sql, bindings: q.bindings ?? [] });
      knex.on('query', listen);
      try {
        const login = await submitLogin(marker);
        expect(login.status).toBe(400);
      } finally {
        knex.off('query', listen);
      }
      const lookup = seen.filter((q) => q.bindings.includes(marker));
      expect(lookup.length, JSON.stringify(seen.map((q) => q.sql))).toBeGreaterThan(0);
      for (const q of seen) expect(q.sql).not.toContain('bound-');
    });

    it('answers a login identifier with a NUL or another control character with 4000001 on the identifier node, not 500', async () => {
      for (const identifier of ['ada\u0000@example.com', 'ada\u0001@example.com', 'ada\u001f@example.com', 'ada\u007f@example.com', 'ada\n@example.com']) {
        const res = await submitLogin(identifier);
        expect(res.status, JSON.stringify(identifier)).toBe(400);
        expectResponse('updateLoginFlow', 400, res.body);
        expect(nodeIds(res.body, 'identifier')).toEqual([4000001]);
      }
    });

    it('refuses registration traits with a NUL (identifier or free text) on the trait node, writing nothing', async () => {
      const before = await countIdentities();
      const viaIdentifier = await submitRegistration({ email: 'eve\u0000@example.com' });
      expect(viaIdentifier.status, JSON.stringify(viaIdentifier.body)).toBe(400);
      expectResponse('updateRegistrationFlow', 400, viaIdentifier.body);
      expect(nodeIds(viaIdentifier.body, 'traits.email')).toContain(4000001);

      const viaName = await submitRegistration({ email: 'eve-name@example.com', name: { first: 'Eve\u0000' } });
      expect(viaName.status, JSON.stringify(viaName.body)).toBe(400);
      expectResponse('updateRegistrationFlow', 400, viaName.body);
      expect(nodeIds(viaName.body, 'traits.name.first')).toEqual([4000001]);
      expect(await countIdentities()).toBe(before);
    });

    it('keeps tabs and line breaks in free-text traits but never in identifiers', async () => {
      const ok = await submitRegistration({ email: 'tabs@example.com', name: { first: 'Line\tone\nLine two' } });
      expect(ok.status, JSON.stringify(ok.body)).toBe(200);
      expect(ok.body.identity.traits.name.first).toBe('Line\tone\nLine two');
    });

    it('answers the admin API with a 400 Kratos error for control characters in identifiers and NULs in traits', async () => {
      const before = await countIdentities();
      for (const traits of [{ email: 'mallory\u0000@example.com' }, { email: 'mallory\u0007@example.com' }, { email: 'mallory@example.com', name: { last: 'x\u0000' } }]) {
        const res = await post(server.adminUrl, '/admin/identities', { schema_id: 'default', traits });
        expect(res.status, JSON.stringify(traits)).toBe(400);
        expectResponse('createIdentity', 400, res.body);
        expect(res.body.error).toMatchObject({ code: 400, status: 'Bad Request' });
        expect(res.body.error.reason).toMatch(/control character/);
      }
      const batch = await fetch(`${server.adminUrl}/admin/identities`, {
        method: 'PATCH', headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ identities: [{ create: { schema_id: 'default', traits: { email: 'batch\u0000@example.com' } }, patch_id: '5f0a7a32-45c8-4b4e-9d0a-56d0a3a7b4e1' }] }),
      });
      expect(batch.status).toBeLessThan(500);
      expect(await countIdentities()).toBe(before);
      const metadata = await post(server.adminUrl, '/admin/identities', { schema_id: 'default', traits: { email: 'meta@example.com' }, metadata_public: { note: 'x\u0000' } });
      expect(metadata.status, JSON.stringify(metadata.body)).toBe(400);
      expect(metadata.body.error.reason).toMatch(/NUL control character/);
      expect(await countIdentities()).toBe(before);
    });

    it('answers a NUL in any URL with 400, on both APIs (PostgreSQL can not compare it: 500 before)', async () => {
      for (const url of [
        `${server.adminUrl}/admin/identities?credentials_identifier=x%00y`,
        `${server.adminUrl}/admin/courier/messages?recipient=a%00b`,
        `${server.publicUrl}/self-service/login/flows?id=a%00b`,
        `${server.publicUrl}/sessions/whoami?tokenize_as=%00`,
      ]) {
        const res = await fetch(url);
        expect(res.status, url).toBe(400);
        expect((await res.json()).error.reason).toMatch(/NUL control character/);
      }
    });
  });
}
