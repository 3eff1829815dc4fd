/**
 * Identifier-first login (`selfservice.flows.login.style: identifier_first`) over real HTTP, as Kratos's idfirst
 * strategy answers (selfservice/strategy/idfirst, Playwright identifier_first specs): the identifier alone first; then
 * the identity's methods with the identifier hidden. With account-enumeration mitigation (idflow's default) known and
 * unknown identifiers see the same screen; without it an unknown identifier gets 4000037.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { testDatabases } from '../../support/databases.ts';
import { startTestServer, type TestServer } from '../../support/server.ts';
import { expectResponse } from '../../support/openapi.ts';
import { FAST_WORKER, mailedCode, startSmtpServer, type TestSmtpServer } from '../../support/smtp-server.ts';
import { Browser, bodyOf, csrfOf } from '../browser/browser-client.ts';

type Json = any;

const PASSWORD = 'an identifier-first passphrase 4711';
const node = (flow: Json, name: string, value?: string): Json =>
  (flow.ui.nodes ?? []).find((n: Json) => n.attributes.name === name && (value === undefined || n.attributes.value === value));
/** The form as a client sees it, values aside: group, name, type (and a submit's value). */
const shape = (flow: Json) => flow.ui.nodes.map((n: Json) => `${n.group}:${n.attributes.name}:${n.attributes.type}${n.attributes.type === 'submit' ? `=${n.attributes.value}` : ''}`);

for (const db of testDatabases()) {
  describe(`identifier-first login (${db.name})`, () => {
    let mitigated: TestServer;
    let open: TestServer;
    let smtp: TestSmtpServer;
    const drops: Array<() => Promise<void>> = [];

    beforeAll(async () => {
      smtp = await startSmtpServer();
      const a = await db.create();
      const b = await db.create();
      drops.push(a.drop, b.drop);
      const overlay = (mitigate: boolean) => ({
        courier: { smtp: { connection_uri: smtp.uri() }, worker: FAST_WORKER },
        security: { account_enumeration: { mitigate } },
        selfservice: {
          methods: { password: { config: { haveibeenpwned_enabled: false } }, code: { passwordless_enabled: true } },
          flows: { login: { style: 'identifier_first' } },
        },
      });
      mitigated = await startTestServer(a.dsn, overlay(true));
      open = await startTestServer(b.dsn, overlay(false));
    });
    afterAll(async () => {
      await mitigated?.close();
      await open?.close();
      await smtp?.close();
      for (const drop of drops) await drop();
    });

    async function call(srv: TestServer, method: string, url: string, body?: unknown): Promise<{ status: number; body: Json }> {
      const res = await fetch(`${srv.publicUrl}${url}`, {
        method, headers: { accept: 'application/json', ...(body ? { 'content-type': 'application/json' } : {}) }, body: body ? JSON.stringify(body) : undefined, redirect: 'manual',
      });
      return { status: res.status, body: await res.json() };
    }
    async function user(srv: TestServer, credentials: Json = { password: { config: { password: PASSWORD } } }): Promise<string> {
      const email = `idfirst-${crypto.randomUUID()}@example.com`;
      await srv.identityApi.createIdentity({ createIdentityBody: { schema_id: 'default', traits: { email }, credentials } });
      return email;
    }
    async function identify(srv: TestServer, identifier: string) {
      const flow = await call(srv, 'GET', '/self-service/login/api');
      const next = await call(srv, 'POST', `/self-service/login?flow=${flow.body.id}`, { method: 'identifier_first', identifier });
      return { flowId: flow.body.id as string, next };
    }

    it('asks for the identifier alone first (identifier_first group, "Continue")', async () => {
      const flow = await call(open, 'GET', '/self-service/login/api');
      expect(flow.status).toBe(200);
      expectResponse('createNativeLoginFlow', 200, flow.body);
      expect(shape(flow.body)).toEqual(['default:csrf_token:hidden', 'identifier_first:identifier:text', 'identifier_first:method:submit=identifier_first']);
      expect(node(flow.body, 'identifier').attributes).toMatchObject({ required: true, autocomplete: 'username webauthn' });
      expect(node(flow.body, 'method', 'identifier_first').meta.label.id).toBe(1070009);
    });

    it('without mitigation: shows only the methods the identity has, then signs in with the password; an unknown identifier gets 4000037', async () => {
      const email = await user(open);
      const { flowId, next } = await identify(open, email.toUpperCase());
      expect(next.status).toBe(400);
      expectResponse('updateLoginFlow', 400, next.body);
      expect(next.body.state).toBe('choose_method');
      expect(next.body.ui.messages ?? []).toEqual([]);
      expect(node(next.body, 'identifier').attributes).toMatchObject({ type: 'hidden', value: email });
      expect(node(next.body, 'identifier').group).toBe('identifier_first');
      // The identity has a password and a code address (the schema's e-mail): both, and no identifier-first button.
      expect(node(next.body, 'password')).toBeDefined();
      expect(node(next.body, 'method', 'password').meta.label.id).toBe(1010022);
      expect(node(next.body, 'method', 'code').meta.label.id).toBe(1010015);
      expect(node(next.body, 'method', 'identifier_first')).toBeUndefined();

      const done = await call(open, 'POST', `/self-service/login?flow=${flowId}`, { method: 'password', identifier: email, password: PASSWORD });
      expect(done.status, JSON.stringify(done.body)).toBe(200);
      expect(done.body.session.identity.traits.email).toBe(email);

      const unknown = await identify(open, `nobody-${crypto.randomUUID()}@example.com`);
      expect(unknown.next.status).toBe(400);
      expect(node(unknown.next.body, 'identifier').attributes.type).toBe('text');
      expect(node(unknown.next.body, 'identifier').messages.map((m: Json) => m.id)).toEqual([4000037]);
      expect(node(unknown.next.body, 'password')).toBeUndefined();
    });

    it('without mitigation: an identity without a password is offered the code only', async () => {
      const email = await user(open, {});
      const { next } = await identify(open, email);
      expect(node(next.body, 'password')).toBeUndefined();
      expect(node(next.body, 'method', 'code')).toBeDefined();
    });

    it('with mitigation: known and unknown identifiers see the same screen; an unknown one fails like a wrong password', async () => {
      const email = await user(mitigated);
      const known = await identify(mitigated, email);
      const nobody = `nobody-${crypto.randomUUID()}@example.com`;
      const unknown = await identify(mitigated, nobody);
      expect(known.next.status).toBe(400);
      expect(unknown.next.status).toBe(400);
      expect(shape(unknown.next.body)).toEqual(shape(known.next.body));
      expect(shape(known.next.body)).toContain('password:password:password');
      expect(node(unknown.next.body, 'identifier').attributes).toMatchObject({ type: 'hidden', value: nobody });

      const wrong = await call(mitigated, 'POST', `/self-service/login?flow=${unknown.flowId}`, { method: 'password', identifier: nobody, password: PASSWORD });
      expect(wrong.body.ui.messages.map((m: Json) => m.id)).toEqual([4000006]);
      const right = await call(mitigated, 'POST', `/self-service/login?flow=${known.flowId}`, { method: 'password', identifier: email, password: PASSWORD });
      expect(right.status).toBe(200);
    });

    it('sends a browser back to the login UI (303) between the screens and signs it in with a code', async () => {
      const email = await user(open, {});
      const browser = new Browser(open.publicUrl);
      const init = await browser.navigate('/self-service/login/browser');
      const flowId = new URL(init.headers.get('location')!).searchParams.get('flow')!;
      const flow = await bodyOf(await browser.getJson(`/self-service/login/flows?id=${flowId}`));
      const next = await browser.submitForm(`/self-service/login?flow=${flowId}`, { method: 'identifier_first', identifier: email, csrf_token: csrfOf(flow) });
      expect(next.status).toBe(303);
      const second = await bodyOf(await browser.getJson(`/self-service/login/flows?id=${flowId}`));
      expect(node(second, 'identifier').attributes).toMatchObject({ type: 'hidden', value: email });
      const sent = await browser.submitForm(`/self-service/login?flow=${flowId}`, { method: 'code', identifier: email, csrf_token: csrfOf(second) });
      expect(sent.status).toBe(303);
      const code = await mailedCode(smtp, email);
      const done = await browser.submitForm(`/self-service/login?flow=${flowId}`, { method: 'code', identifier: email, code, csrf_token: csrfOf(second) });
      expect(done.status).toBe(303);
      expect((await bodyOf(await browser.getJson('/sessions/whoami'))).identity.traits.email).toBe(email);
    });
  });
}
