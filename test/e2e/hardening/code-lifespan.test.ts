/**
 * Issue 15, "Recovery and sessions hygiene": recovery and verification codes live 15 minutes by default (OWASP Forgot
 * Password Cheat Sheet; Kratos defaults to 1 h), and the mail says so; `selfservice.methods.code.config.lifespan` still
 * sets it. The server's clock is moved, never slept on.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { testDatabases } from '../../support/databases.ts';
import { startTestServer, type TestServer } from '../../support/server.ts';

type Json = any;
const MINUTE = 60_000;

for (const db of testDatabases()) {
  describe(`recovery code lifespan (${db.name})`, () => {
    let server: TestServer;
    let drop: () => Promise<void>;

    beforeAll(async () => {
      const created = await db.create();
      drop = created.drop;
      server = await startTestServer(created.dsn, { selfservice: { flows: { recovery: { enabled: true, use: 'code' } } } });
    });
    afterAll(async () => {
      await server?.close();
      await drop?.();
    });

    async function sendCode(): Promise<{ flowId: string; code: string; mail: Json }> {
      const email = `lifespan.${crypto.randomUUID()}@example.com`;
      await server.identityApi.createIdentity({ createIdentityBody: { schema_id: 'default', traits: { email } } });
      const flow = await server.frontendApi.createNativeRecoveryFlow();
      await server.frontendApi.updateRecoveryFlow({ flow: flow.id, updateRecoveryFlowBody: { method: 'code', email } });
      const messages = await (await fetch(`${server.adminUrl}/admin/courier/messages?recipient=${encodeURIComponent(email)}`)).json();
      expect(messages).toHaveLength(1);
      return { flowId: flow.id, code: /\b(\d{6})\b/.exec(messages[0].body)![1], mail: messages[0] };
    }
    const submit = async (flowId: string, code: string) =>
      (await server.frontendApi.updateRecoveryFlowRaw({ flow: flowId, updateRecoveryFlowBody: { method: 'code', code } })).raw;

    it('is 15 minutes by default: the mail says so, the code works before and is refused after', async () => {
      expect(server.registry.config.selfservice.methods.code.config?.lifespan).toBe('15m');
      const early = await sendCode();
      expect(early.mail.body).toMatch(/15 minutes/);
      server.clock.advance(14 * MINUTE);
      const passed = await submit(early.flowId, early.code);
      expect(passed.status).toBe(200);
      expect((await passed.json()).state).toBe('passed_challenge');

      const late = await sendCode();
      server.clock.advance(15 * MINUTE + 1000);
      const res = await submit(late.flowId, late.code);
      const body = await res.json();
      expect(res.status).toBe(200);
      expect(body.state).toBe('sent_email');
      expect(body.ui.messages.map((m: Json) => m.id)).toEqual([4060006]);
    });
  });
}
