/**
 * A flow's audit trail on the admin API (`GET /admin/flows/{id}/history`, idflow): every transition of its machine,
 * with the event's type, the submitted method and the time — and never a submitted secret.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { testDatabases } from '../../support/databases.ts';
import { passwordSuite } from '../../support/password-suite.ts';
import type { TestServer } from '../../support/server.ts';

type Json = any;
const PASSWORD = 'a flow-history passphrase 4711';

for (const db of testDatabases()) {
  describe(`flow history on the admin API (${db.name})`, () => {
    const suite = passwordSuite(db);
    let server: TestServer;
    beforeAll(() => {
      server = suite.server;
    });

    const history = async (id: string) => {
      const res = await fetch(`${server.adminUrl}/admin/flows/${id}/history`, { headers: { accept: 'application/json' } });
      return { status: res.status, cache: res.headers.get('cache-control'), body: await res.json() as Json };
    };

    it('records every transition of a login — a wrong password, then the right one — without the passwords', async () => {
      const email = `history-${crypto.randomUUID()}@example.com`;
      await server.identityApi.createIdentity({ createIdentityBody: { schema_id: 'default', traits: { email }, credentials: { password: { config: { password: PASSWORD } } } } });
      const flow = await server.frontendApi.createNativeLoginFlow();
      const submit = (password: string) => fetch(`${server.publicUrl}/self-service/login?flow=${flow.id}`, {
        method: 'POST', headers: { 'content-type': 'application/json', accept: 'application/json' },
        body: JSON.stringify({ method: 'password', identifier: email, password }),
      });
      expect((await submit('not the password at all')).status).toBe(400);
      expect((await history(flow.id)).body.transitions.map((t: Json) => [t.event, t.to, t.method ?? null])).toEqual([
        ['method.submit', 'choose_method.authenticating', 'password'],
        ['xstate.done.actor.authenticate', 'choose_method.awaiting_input', 'password'],
      ]);
      expect((await submit(PASSWORD)).status).toBe(200);

      const { status, cache, body } = await history(flow.id);
      expect(status).toBe(200);
      expect(cache).toBe('no-store');
      expect(body).toMatchObject({ flow_id: flow.id, kind: 'login', type: 'api', state: 'passed_challenge' });
      expect(body.transitions.map((t: Json) => [t.event, t.from, t.to])).toEqual([
        ['method.submit', 'choose_method.awaiting_input', 'choose_method.authenticating'],
        ['xstate.done.actor.authenticate', 'choose_method.authenticating', 'choose_method.awaiting_input'],
        ['method.submit', 'choose_method.awaiting_input', 'choose_method.authenticating'],
        ['xstate.done.actor.authenticate', 'choose_method.authenticating', 'choose_method.issuing_session'],
        ['xstate.done.actor.issueSession', 'choose_method.issuing_session', 'passed_challenge'],
      ]);
      const times = body.transitions.map((t: Json) => Date.parse(t.at));
      expect([...times].sort((a, b) => a - b)).toEqual(times);
      const text = JSON.stringify(body);
      expect(text).not.toContain(PASSWORD);
      expect(text).not.toContain('not the password at all');
    });

    it('answers 404 for an unknown or malformed flow id', async () => {
      expect((await history(crypto.randomUUID())).status).toBe(404);
      expect((await history('not-a-uuid')).status).toBe(404);
    });
  });
}
