/**
 * Issue 15, "Recovery and sessions hygiene": a new code for an address voids the ones sent to it before, whichever
 * flow asked for them (Kratos voids only the flow's own), and a successful recovery tells the address (idflow's
 * `account_recovered` mail).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { testDatabases } from '../../support/databases.ts';
import { startTestServer, type TestServer } from '../../support/server.ts';

type Json = any;

for (const db of testDatabases()) {
  describe(`code hygiene (${db.name})`, () => {
    let server: TestServer;
    let drop: () => Promise<void>;

    beforeAll(async () => {
      const created = await db.create();
      drop = created.drop;
      server = await startTestServer(created.dsn, {
        selfservice: { flows: { recovery: { enabled: true, use: 'code' }, verification: { enabled: true, use: 'code' } } },
      });
    });
    afterAll(async () => {
      await server?.close();
      await drop?.();
    });

    const mails = async (to: string): Promise<Json[]> =>
      (await fetch(`${server.adminUrl}/admin/courier/messages?recipient=${encodeURIComponent(to)}`)).json();
    const newAddress = async () => {
      const email = `hygiene.${crypto.randomUUID()}@example.com`;
      await server.identityApi.createIdentity({ createIdentityBody: { schema_id: 'default', traits: { email } } });
      return email;
    };
    const post = async (kind: string, flowId: string, body: Record<string, unknown>) => {
      const res = await fetch(`${server.publicUrl}/self-service/${kind}?flow=${flowId}`, {
        method: 'POST', headers: { 'content-type': 'application/json', accept: 'application/json' }, body: JSON.stringify(body),
      });
      return { status: res.status, body: await res.json() };
    };
    /** A new flow of `kind` that mailed a code to `email`; the code from the newest mail. */
    async function codeIn(kind: 'recovery' | 'verification', email: string): Promise<{ flowId: string; code: string }> {
      const flow = await (await fetch(`${server.publicUrl}/self-service/${kind}/api`)).json();
      expect((await post(kind, flow.id, { method: 'code', email })).status).toBe(200);
      const codes = (await mails(email)).filter((m: Json) => m.template_type === `${kind}_code_valid`);
      return { flowId: flow.id, code: /\b(\d{6})\b/.exec(codes[0].body)![1] };
    }

    for (const kind of ['recovery', 'verification'] as const) {
      it(`${kind}: a code sent later, in another flow, voids the earlier one`, async () => {
        const email = await newAddress();
        const first = await codeIn(kind, email);
        const second = await codeIn(kind, email);
        expect(second.code).not.toBe(first.code);
        const stale = await post(kind, first.flowId, { method: 'code', code: first.code });
        expect(stale.body.state).toBe('sent_email');
        expect(stale.body.ui.messages.map((m: Json) => m.id)).toEqual([kind === 'recovery' ? 4060006 : 4070006]);
        const fresh = await post(kind, second.flowId, { method: 'code', code: second.code });
        expect(fresh.body.state).toBe('passed_challenge');
      });
    }

    it('after a recovery the address gets an "account recovered" mail; a failed one sends none', async () => {
      const email = await newAddress();
      const { flowId, code } = await codeIn('recovery', email);
      await post('recovery', flowId, { method: 'code', code: '000000' === code ? '000001' : '000000' });
      expect((await mails(email)).map((m: Json) => m.template_type)).toEqual(['recovery_code_valid']);
      const passed = await post('recovery', flowId, { method: 'code', code });
      expect(passed.status).toBe(200);
      const sent = await mails(email);
      expect(sent.map((m: Json) => m.template_type).sort()).toEqual(['account_recovered', 'recovery_code_valid']);
      const recovered = sent.find((m: Json) => m.template_type === 'account_recovered');
      expect(recovered.subject).toBe('Your account was recovered');
      expect(recovered.body).toMatch(/change your password/);
    });
  });
}
