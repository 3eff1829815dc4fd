/**
 * Issue 15: every self-service flow answer (create, get, submit, errors), whoami, the /sessions endpoints and the
 * admin identity and session answers carry `Cache-Control: no-store` (src/http/middleware/no-store.ts).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { testDatabases } from '../../support/databases.ts';
import { startTestServer, type TestServer } from '../../support/server.ts';

const PASSWORD = 'a perfectly fine passphrase';
const JSON_HEADERS = { accept: 'application/json', 'content-type': 'application/json' };

for (const db of testDatabases()) {
  describe(`Cache-Control: no-store (${db.name})`, () => {
    let server: TestServer;
    let drop: () => Promise<void>;

    beforeAll(async () => {
      const created = await db.create();
      drop = created.drop;
      server = await startTestServer(created.dsn);
    });
    afterAll(async () => {
      await server?.close();
      await drop?.();
    });

    async function expectNoStore(what: string, res: Response | Promise<Response>, status?: number): Promise<Response> {
      const r = await res;
      if (status !== undefined) expect(r.status, what).toBe(status);
      expect(r.headers.get('cache-control'), what).toBe('no-store');
      return r;
    }

    it('on flow create, get, submit (400 and 200), expired and unknown flows, and errors, native and browser', async () => {
      const pub = server.publicUrl;
      for (const kind of ['login', 'registration', 'recovery', 'verification']) {
        const created = await expectNoStore(`${kind} api create`, fetch(`${pub}/self-service/${kind}/api`), 200);
        const flow = await created.json();
        await expectNoStore(`${kind} get`, fetch(`${pub}/self-service/${kind}/flows?id=${flow.id}`), 200);
        await expectNoStore(`${kind} browser create`, fetch(`${pub}/self-service/${kind}/browser`, { redirect: 'manual' }), 303);
        await expectNoStore(`${kind} submit 400`, fetch(`${pub}/self-service/${kind}?flow=${flow.id}`, { method: 'POST', headers: JSON_HEADERS, body: '{"method":"password"}' }));
        await expectNoStore(`${kind} unknown flow`, fetch(`${pub}/self-service/${kind}/flows?id=00000000-0000-4000-8000-000000000000`), 404);
      }
      const expiring = await (await fetch(`${pub}/self-service/login/api`)).json();
      server.clock.advance(2 * 60 * 60 * 1000);
      await expectNoStore('expired flow submit', fetch(`${pub}/self-service/login?flow=${expiring.id}`, { method: 'POST', headers: JSON_HEADERS, body: JSON.stringify({ method: 'password', identifier: 'a@example.com', password: PASSWORD }) }), 410);
      await expectNoStore('error by id', fetch(`${pub}/self-service/errors?id=stub:500`), 200);
      await expectNoStore('malformed body', fetch(`${pub}/self-service/login?flow=x`, { method: 'POST', headers: JSON_HEADERS, body: '{' }), 400);

      const flow = await (await fetch(`${pub}/self-service/registration/api`)).json();
      const registered = await expectNoStore('registration submit 200', fetch(`${pub}/self-service/registration?flow=${flow.id}`, {
        method: 'POST', headers: JSON_HEADERS, body: JSON.stringify({ method: 'password', traits: { email: 'cache@example.com' }, password: PASSWORD }),
      }), 200);
      const { session_token: token, identity } = await registered.json();

      await expectNoStore('whoami', fetch(`${pub}/sessions/whoami`, { headers: { 'X-Session-Token': token } }), 200);
      await expectNoStore('whoami 401', fetch(`${pub}/sessions/whoami`), 401);
      await expectNoStore('GET /sessions', fetch(`${pub}/sessions`, { headers: { 'X-Session-Token': token } }), 200);
      await expectNoStore('DELETE /sessions', fetch(`${pub}/sessions`, { method: 'DELETE', headers: { 'X-Session-Token': token } }), 200);
      await expectNoStore('DELETE /sessions/{id}', fetch(`${pub}/sessions/00000000-0000-4000-8000-000000000000`, { method: 'DELETE', headers: { 'X-Session-Token': token } }));
      await expectNoStore('settings api', fetch(`${pub}/self-service/settings/api`, { headers: { 'X-Session-Token': token } }), 200);
      await expectNoStore('logout api', fetch(`${pub}/self-service/logout/api`, { method: 'DELETE', headers: JSON_HEADERS, body: JSON.stringify({ session_token: token }) }), 204);

      const adm = server.adminUrl;
      await expectNoStore('admin list identities', fetch(`${adm}/admin/identities`), 200);
      await expectNoStore('admin get identity', fetch(`${adm}/admin/identities/${identity.id}`), 200);
      await expectNoStore('admin create identity', fetch(`${adm}/admin/identities`, { method: 'POST', headers: JSON_HEADERS, body: JSON.stringify({ schema_id: 'default', traits: { email: 'cache2@example.com' } }) }), 201);
      await expectNoStore('admin identity 404', fetch(`${adm}/admin/identities/00000000-0000-4000-8000-000000000000`), 404);
      await expectNoStore('admin identity sessions', fetch(`${adm}/admin/identities/${identity.id}/sessions`), 200);
      await expectNoStore('admin sessions', fetch(`${adm}/admin/sessions`), 200);
      await expectNoStore('admin recovery code', fetch(`${adm}/admin/recovery/code`, { method: 'POST', headers: JSON_HEADERS, body: JSON.stringify({ identity_id: identity.id }) }));
      await expectNoStore('legacy unprefixed admin path', fetch(`${adm}/identities/${identity.id}`), 200);
    });

    it('leaves the public identity schemas cacheable', async () => {
      const res = await fetch(`${server.publicUrl}/schemas/default`);
      expect(res.status).toBe(200);
      expect(res.headers.get('cache-control')).toBeNull();
    });
  });
}
