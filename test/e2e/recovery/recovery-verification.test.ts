import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { testDatabases } from '../../support/databases.ts';
import { startTestServer, type TestServer } from '../../support/server.ts';
import { FAST_WORKER, startSmtpServer, type TestSmtpServer } from '../../support/smtp-server.ts';
import { expectResponse } from '../../support/openapi.ts';
import { CookieJar } from '../../support/cookie-jar.ts';

type Json = any;

for (const db of testDatabases()) {
  describe(`recovery and verification over a real SMTP server (${db.name})`, () => {
    let server: TestServer;
    let smtp: TestSmtpServer;
    let drop: () => Promise<void>;

    beforeAll(async () => {
      smtp = await startSmtpServer();
      const created = await db.create();
      drop = created.drop;
      server = await startTestServer(created.dsn, {
        courier: { smtp: { connection_uri: smtp.uri(), from_address: 'accounts@idflow.test' }, worker: FAST_WORKER },
        selfservice: {
          methods: { password: { config: { haveibeenpwned_enabled: false } }, code: { config: { max_submissions: 5 } } },
          flows: { recovery: { notify_unknown_recipients: true } },
        },
      });
    });
    afterAll(async () => {
      await server?.close();
      await smtp?.close();
      await drop?.();
    });

    const post = (kind: string, flowId: string, body: unknown, headers: Record<string, string> = {}) =>
      fetch(`${server.publicUrl}/self-service/${kind}?flow=${flowId}`, { method: 'POST', headers: { 'content-type': 'application/json', accept: 'application/json', ...headers }, body: JSON.stringify(body) });
    async function mailTo(address: string, after = 0): Promise<{ text: string; subject: string; code?: string; link?: string }> {
      for (let i = 0; i < 100; i++) {
        const mails = smtp.mails.filter((m) => m.envelope.to.includes(address));
        if (mails.length > after) {
          const mail = mails[after];
          const text = mail.parsed.text ?? '';
          return { text, subject: mail.parsed.subject ?? '', code: /\b(\d{6})\b/.exec(text)?.[1], link: /(https?:\/\/\S+token=\S+)/.exec(text)?.[1] };
        }
        await new Promise((r) => setTimeout(r, 50));
      }
      throw new Error(`no mail #${after + 1} to ${address}`);
    }
    async function identity(email: string, password = 'the original passphrase') {
      return server.identityApi.createIdentity({ createIdentityBody: { schema_id: 'default', traits: { email }, credentials: { password: { config: { password } } } } });
    }

    it('recovers a native account by code: mail, session, settings flow, new password', async () => {
      const email = `native-rec-${crypto.randomUUID()}@example.com`;
      const id = await identity(email);
      const flowRaw = await server.frontendApi.createNativeRecoveryFlowRaw();
      const flow = await flowRaw.raw.json();
      expectResponse('createNativeRecoveryFlow', 200, flow);
      const sent = await post('recovery', flow.id, { method: 'code', email: email.toUpperCase() });
      const sentBody = await sent.json();
      expect(sent.status).toBe(200);
      expectResponse('updateRecoveryFlow', 200, sentBody);
      expect(sentBody.state).toBe('sent_email');
      expect(sentBody.ui.messages.map((m: Json) => m.id)).toEqual([1060003]);
      const mail = await mailTo(email);
      expect(mail.code).toMatch(/^\d{6}$/);

      const passed = await post('recovery', flow.id, { method: 'code', code: mail.code });
      const passedBody = await passed.json();
      expect(passed.status).toBe(200);
      expectResponse('updateRecoveryFlow', 200, passedBody);
      expect(passedBody.state).toBe('passed_challenge');
      const token = passedBody.continue_with.find((c: Json) => c.action === 'set_ory_session_token').ory_session_token;
      const settingsId = passedBody.continue_with.find((c: Json) => c.action === 'show_settings_ui').flow.id;
      const whoami = await server.frontendApi.toSession({ xSessionToken: token });
      expect(whoami.identity?.id).toBe(id.id);
      expect(whoami.authentication_methods?.map((m) => m.method)).toEqual(['code_recovery']);

      const settings = await fetch(`${server.publicUrl}/self-service/settings/flows?id=${settingsId}`, { headers: { 'x-session-token': token } }).then((r) => r.json());
      expect(settings.ui.messages.map((m: Json) => m.id)).toEqual([1060001]);
      const changed = await post('settings', settingsId, { method: 'password', password: 'a recovered new passphrase' }, { 'x-session-token': token });
      expect(changed.status).toBe(200);
      const login = await server.frontendApi.updateLoginFlow({ flow: (await server.frontendApi.createNativeLoginFlow()).id, updateLoginFlowBody: { method: 'password', identifier: email, password: 'a recovered new passphrase' } });
      expect(login.session_token).toMatch(/^ory_st_/);
      const after = await server.identityApi.getIdentity({ id: id.id });
      expect(after.verifiable_addresses?.[0].verified).toBe(true);

      const reused = await post('recovery', flow.id, { method: 'code', code: mail.code });
      const reusedBody = await reused.json();
      expect(reusedBody.ui.messages.map((m: Json) => m.id)).toEqual([4060001]);
      expect(reusedBody.id).not.toBe(flow.id);
    });

    it('answers unknown addresses like known ones, and tells the unknown address', async () => {
      const known = `known-${crypto.randomUUID()}@example.com`;
      await identity(known);
      const unknown = `unknown-${crypto.randomUUID()}@example.com`;
      const answer = async (email: string) => {
        const flow = await server.frontendApi.createNativeRecoveryFlow();
        const res = await post('recovery', flow.id, { method: 'code', email });
        const body = await res.json();
        return { status: res.status, state: body.state, messages: body.ui.messages, nodes: body.ui.nodes.map((n: Json) => [n.attributes.name, n.attributes.type]) };
      };
      const a = await answer(known);
      const b = await answer(unknown);
      expect(b).toEqual(a);
      const invalid = await mailTo(unknown);
      expect(invalid.code).toBeUndefined();
      expect(invalid.text.toLowerCase()).toContain('account');
    });

    it('limits wrong codes per address and refuses codes mailed for another flow', async () => {
      const email = `wrong-${crypto.randomUUID()}@example.com`;
      await identity(email);
      const flow = await server.frontendApi.createNativeRecoveryFlow();
      await post('recovery', flow.id, { method: 'code', email });
      const mail = await mailTo(email);
      const wrong = mail.code === '000000' ? '111111' : '000000';
      const ids = (body: Json) => body.ui.messages.map((m: Json) => m.id);
      const answers: number[][] = [];
      for (let i = 0; i < 5; i++) answers.push(ids(await (await post('recovery', flow.id, { method: 'code', code: wrong })).json()));
      expect(answers).toEqual([[4060006], [4060006], [4060006], [4060006], [4060006]]);
      // The sixth submission, even of the right code, ends the flow (Kratos's max_submissions): a new flow takes over
      // with "submitted too often".
      const sixth = await (await post('recovery', flow.id, { method: 'code', code: mail.code })).json();
      expect(sixth.id).not.toBe(flow.id);
      expect(sixth.state).toBe('choose_method');
      expect(ids(sixth)).toEqual([4000001]);
      // Beyond Kratos: the address stays locked for the code lifespan, so a new flow and a new code don't reset it.
      await post('recovery', sixth.id, { method: 'code', email });
      const second = await mailTo(email, 1);
      const stillLocked = await (await post('recovery', sixth.id, { method: 'code', code: second.code })).json();
      expect(stillLocked.id).not.toBe(sixth.id);
      expect(ids(stillLocked)).toEqual([4000001]);

      // A code mailed for A's flow never completes B's flow.
      const a = `bound-a-${crypto.randomUUID()}@example.com`;
      const b = `bound-b-${crypto.randomUUID()}@example.com`;
      await identity(a);
      await identity(b);
      const flowA = await server.frontendApi.createNativeRecoveryFlow();
      const flowB = await server.frontendApi.createNativeRecoveryFlow();
      await post('recovery', flowA.id, { method: 'code', email: a });
      await post('recovery', flowB.id, { method: 'code', email: b });
      const codeA = (await mailTo(a)).code;
      const crossed = await (await post('recovery', flowB.id, { method: 'code', code: codeA })).json();
      expect(crossed.state).toBe('sent_email');
      expect(crossed.ui.messages.map((m: Json) => m.id)).toEqual([4060006]);
    });

    it('verifies an address by code (API) and by the mailed link (browser)', async () => {
      const email = `verify-${crypto.randomUUID()}@example.com`;
      const id = await identity(email);
      const flowRaw = await server.frontendApi.createNativeVerificationFlowRaw({});
      const flow = await flowRaw.raw.json();
      expectResponse('createNativeVerificationFlow', 200, flow);
      const sent = await (await post('verification', flow.id, { method: 'code', email })).json();
      expectResponse('updateVerificationFlow', 200, sent);
      expect(sent.ui.messages.map((m: Json) => m.id)).toEqual([1080003]);
      const mail = await mailTo(email);
      const done = await post('verification', flow.id, { method: 'code', code: mail.code });
      const doneBody = await done.json();
      expect(done.status).toBe(200);
      expectResponse('updateVerificationFlow', 200, doneBody);
      expect(doneBody.state).toBe('passed_challenge');
      expect(doneBody.ui.method).toBe('GET');
      expect(doneBody.ui.messages.map((m: Json) => m.id)).toEqual([1080002]);
      const verified = await server.identityApi.getIdentity({ id: id.id });
      expect(verified.verifiable_addresses?.[0]).toMatchObject({ verified: true, status: 'completed' });

      // Browser: the mailed link fills in the code and lands on the verification UI.
      const other = `verify-link-${crypto.randomUUID()}@example.com`;
      const otherId = await identity(other);
      const jar = new CookieJar();
      const start = await jar.fetch(`${server.publicUrl}/self-service/verification/browser`, { headers: { accept: 'application/json' } });
      const browserFlow = await start.json();
      const csrf = browserFlow.ui.nodes.find((n: Json) => n.attributes.name === 'csrf_token').attributes.value;
      await jar.fetch(`${server.publicUrl}/self-service/verification?flow=${browserFlow.id}`, { method: 'POST', headers: { 'content-type': 'application/json', accept: 'application/json' }, body: JSON.stringify({ method: 'code', email: other, csrf_token: csrf }) });
      const linkMail = await mailTo(other);
      const link = /(https?:\/\/\S*\/self-service\/verification\?\S*code=\d{6}\S*)/.exec(linkMail.text)?.[1];
      expect(link).toBeDefined();
      const click = await jar.fetch(new URL(new URL(link!).pathname + new URL(link!).search, server.publicUrl).toString());
      expect(click.status).toBe(303);
      expect(click.headers.get('location')).toContain(`flow=${browserFlow.id}`);
      // Kratos does not consume a code on GET: the form is pre-filled and waits for the user's submit.
      expect((await server.identityApi.getIdentity({ id: otherId.id })).verifiable_addresses?.[0].verified).toBe(false);
      const prefilled = await (await jar.fetch(`${server.publicUrl}/self-service/verification/flows?id=${browserFlow.id}`, { headers: { accept: 'application/json' } })).json();
      const codeNode = prefilled.ui.nodes.find((n: Json) => n.attributes.name === 'code');
      expect(codeNode.attributes.value).toBe(new URL(link!).searchParams.get('code'));
      const submitted = await jar.fetch(`${server.publicUrl}/self-service/verification?flow=${browserFlow.id}`, {
        method: 'POST', headers: { 'content-type': 'application/json', accept: 'application/json' },
        body: JSON.stringify({ method: 'code', code: codeNode.attributes.value, csrf_token: prefilled.ui.nodes.find((n: Json) => n.attributes.name === 'csrf_token').attributes.value }),
      });
      expect(submitted.status).toBe(200);
      expect((await submitted.json()).state).toBe('passed_challenge');
      expect((await server.identityApi.getIdentity({ id: otherId.id })).verifiable_addresses?.[0].verified).toBe(true);
    });

    it('recovers a browser account: 303 to the settings UI with a session cookie', async () => {
      const email = `browser-rec-${crypto.randomUUID()}@example.com`;
      await identity(email);
      const jar = new CookieJar();
      const flow = await (await jar.fetch(`${server.publicUrl}/self-service/recovery/browser`, { headers: { accept: 'application/json' } })).json();
      const csrf = flow.ui.nodes.find((n: Json) => n.attributes.name === 'csrf_token').attributes.value;
      const form = (fields: Record<string, string>) => jar.fetch(`${server.publicUrl}/self-service/recovery?flow=${flow.id}`, {
        method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: new URLSearchParams({ ...fields, csrf_token: csrf }).toString(),
      });
      expect((await form({ method: 'code', email })).status).toBe(303);
      const mail = await mailTo(email);
      const done = await form({ method: 'code', code: mail.code! });
      expect(done.status).toBe(303);
      expect(done.headers.get('location')).toMatch(/\/settings\?flow=/);
      const whoami = await jar.fetch(`${server.publicUrl}/sessions/whoami`);
      expect(whoami.status).toBe(200);
    });

    it('lets an administrator create a recovery code and a recovery link', async () => {
      const email = `admin-rec-${crypto.randomUUID()}@example.com`;
      const id = await identity(email);
      const codeRaw = await server.identityApi.createRecoveryCodeForIdentityRaw({ createRecoveryCodeForIdentityBody: { identity_id: id.id, expires_in: '10m', flow_type: 'api' } });
      const code = await codeRaw.raw.json();
      expect(codeRaw.raw.status).toBe(201);
      expectResponse('createRecoveryCodeForIdentity', 201, code);
      expect(Date.parse(code.expires_at) - Date.now()).toBeLessThanOrEqual(10 * 60_000);
      const flowId = new URL(code.recovery_link).searchParams.get('flow')!;
      const passed = await (await post('recovery', flowId, { method: 'code', code: code.recovery_code })).json();
      expect(passed.state).toBe('passed_challenge');

      const linkRaw = await server.identityApi.createRecoveryLinkForIdentityRaw({ createRecoveryLinkForIdentityBody: { identity_id: id.id } });
      const link = await linkRaw.raw.json();
      expectResponse('createRecoveryLinkForIdentity', 200, link);
      const jar = new CookieJar();
      const url = new URL(link.recovery_link);
      const click = await jar.fetch(`${server.publicUrl}${url.pathname}${url.search}`);
      expect(click.status).toBe(303);
      expect(click.headers.get('location')).toMatch(/\/settings\?flow=/);
      expect((await jar.fetch(`${server.publicUrl}/sessions/whoami`)).status).toBe(200);
      const again = await new CookieJar().fetch(`${server.publicUrl}${url.pathname}${url.search}`);
      expect(again.headers.get('location')).not.toMatch(/\/settings\?flow=/);

      const missing = await fetch(`${server.adminUrl}/admin/recovery/code`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ identity_id: crypto.randomUUID() }) });
      expect(missing.status).toBe(404);
    });
  });
}
