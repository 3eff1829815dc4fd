/**
 * Kratos's `revoke_active_sessions` after-hook (selfservice/hook/session_destroyer.go) on login, settings and
 * recovery: every other session of the identity ends, the one the flow issued (or the caller's) stays, other
 * identities are untouched.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { testDatabases, type TestDatabase } from '../../support/databases.ts';
import { startTestServer, type Overlay, type TestServer } from '../../support/server.ts';
import { FAST_WORKER, startSmtpServer, type TestSmtpServer } from '../../support/smtp-server.ts';
import { expectResponse } from '../../support/openapi.ts';
import { createIdentity, expectWhoamiOk, expectWhoamiUnauthorized, nativeLogin, type Json } from './helpers.ts';

const PASSWORD = 'a long revocation test passphrase';
const NO_HIBP = { password: { config: { haveibeenpwned_enabled: false } } };
let counter = 0;
const email = (label: string) => `${label}-${++counter}-${Math.random().toString(36).slice(2, 8)}@example.com`;

function useServer(db: TestDatabase, overlay: (smtp: TestSmtpServer) => Overlay): () => { server: TestServer; smtp: TestSmtpServer } {
  let server: TestServer | undefined;
  let smtp: TestSmtpServer | undefined;
  let drop: (() => Promise<void>) | undefined;
  beforeAll(async () => {
    smtp = await startSmtpServer();
    const created = await db.create();
    drop = created.drop;
    server = await startTestServer(created.dsn, overlay(smtp));
  });
  afterAll(async () => {
    await server?.close();
    await smtp?.close();
    await drop?.();
  });
  return () => ({ server: server!, smtp: smtp! });
}

const post = (server: TestServer, kind: string, flowId: string, body: unknown, headers: Record<string, string> = {}) =>
  fetch(`${server.publicUrl}/self-service/${kind}?flow=${flowId}`, {
    method: 'POST', headers: { 'content-type': 'application/json', accept: 'application/json', ...headers }, body: JSON.stringify(body),
  });

for (const db of testDatabases()) {
  describe(`revoke_active_sessions after login (${db.name})`, () => {
    const ctx = useServer(db, () => ({
      selfservice: { methods: NO_HIBP, flows: { login: { after: { password: { hooks: [{ hook: 'revoke_active_sessions' }] } } } } },
    }));

    it("ends the identity's other sessions when it logs in again, and nobody else's", async () => {
      const { server } = ctx();
      const address = email('login');
      const bystanderAddress = email('login-bystander');
      await createIdentity(server, address, PASSWORD);
      await createIdentity(server, bystanderAddress, PASSWORD);
      const bystander = await nativeLogin(server, bystanderAddress, PASSWORD);
      const first = await nativeLogin(server, address, PASSWORD);
      await expectWhoamiOk(server, first.token);

      const second = await nativeLogin(server, address, PASSWORD);
      await expectWhoamiUnauthorized(server, { 'X-Session-Token': first.token });
      await expectWhoamiOk(server, second.token);
      await expectWhoamiOk(server, bystander.token);
      // Revoked, not deleted (Kratos RevokeSessionsIdentityExcept).
      const old = await (await fetch(`${server.adminUrl}/admin/sessions/${first.session.id}`)).json();
      expectResponse('getSession', 200, old);
      expect(old.active).toBe(false);
    });
  });

  describe(`revoke_active_sessions after settings and recovery (${db.name})`, () => {
    const ctx = useServer(db, (smtp) => ({
      courier: { smtp: { connection_uri: smtp.uri(), from_address: 'accounts@idflow.test' }, worker: FAST_WORKER },
      // The idflow switch is off: what ends the sessions here is the hook alone.
      session: { revoke_other_sessions_on_password_change: false },
      selfservice: {
        methods: NO_HIBP,
        flows: {
          settings: { after: { profile: { hooks: [{ hook: 'revoke_active_sessions' }] } } },
          recovery: { enabled: true, use: 'code', after: { hooks: [{ hook: 'revoke_active_sessions' }] } },
        },
      },
    }));

    it("ends the other sessions after a settings change (here: the profile), keeping the caller's", async () => {
      const { server } = ctx();
      const address = email('settings');
      await createIdentity(server, address, PASSWORD);
      const [caller, other1, other2] = [
        await nativeLogin(server, address, PASSWORD), await nativeLogin(server, address, PASSWORD), await nativeLogin(server, address, PASSWORD),
      ];
      const flow = await server.frontendApi.createNativeSettingsFlow({ xSessionToken: caller.token });
      const res = await post(server, 'settings', flow.id, { method: 'profile', traits: { email: address } }, { 'X-Session-Token': caller.token });
      const body = await res.json();
      expect(res.status, JSON.stringify(body)).toBe(200);
      expectResponse('updateSettingsFlow', 200, body);
      expect(body.state).toBe('success');
      await expectWhoamiOk(server, caller.token);
      await expectWhoamiUnauthorized(server, { 'X-Session-Token': other1.token });
      await expectWhoamiUnauthorized(server, { 'X-Session-Token': other2.token });

      // The per-method list: a password change runs `after.hooks` (none here) and ends nothing.
      const again = await nativeLogin(server, address, PASSWORD);
      const pwFlow = await server.frontendApi.createNativeSettingsFlow({ xSessionToken: caller.token });
      const pw = await post(server, 'settings', pwFlow.id, { method: 'password', password: 'another long revocation passphrase' }, { 'X-Session-Token': caller.token });
      expect(pw.status).toBe(200);
      await expectWhoamiOk(server, again.token);
    });

    it('ends every session but the new one after a recovery', async () => {
      const { server, smtp } = ctx();
      const address = email('recovery');
      await createIdentity(server, address, PASSWORD);
      const before = [await nativeLogin(server, address, PASSWORD), await nativeLogin(server, address, PASSWORD)];
      const flow = await server.frontendApi.createNativeRecoveryFlow();
      expect((await post(server, 'recovery', flow.id, { method: 'code', email: address })).status).toBe(200);
      let code: string | undefined;
      for (let i = 0; i < 100 && !code; i++) {
        const mail = smtp.mails.find((m) => m.envelope.to.includes(address));
        code = mail ? /\b(\d{6})\b/.exec(mail.parsed.text ?? '')?.[1] : undefined;
        if (!code) await new Promise((r) => setTimeout(r, 50));
      }
      expect(code).toMatch(/^\d{6}$/);
      const passed = await post(server, 'recovery', flow.id, { method: 'code', code });
      const passedBody = await passed.json();
      expect(passed.status, JSON.stringify(passedBody)).toBe(200);
      expectResponse('updateRecoveryFlow', 200, passedBody);
      const token = passedBody.continue_with.find((c: Json) => c.action === 'set_ory_session_token').ory_session_token;
      await expectWhoamiOk(server, token);
      for (const login of before) await expectWhoamiUnauthorized(server, { 'X-Session-Token': login.token });
    });
  });
}
