/**
 * Sign-in and sign-up with one-time codes over real HTTP and a real SMTP server, checked against Kratos's answers
 * (strategy/code: strategy_login.go, strategy_registration.go, strategy_mfa.go; Cypress profiles/code): registration
 * by code, passwordless login by code, resend, wrong, expired and too many codes, unknown identifiers under
 * account-enumeration mitigation, and the code as a second factor (aal2). Time is the server's TestClock.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { testDatabases } from '../../support/databases.ts';
import { startTestServer, type TestServer } from '../../support/server.ts';
import { expectResponse } from '../../support/openapi.ts';
import { FAST_WORKER, mailedCode as mailedCodeOf, startSmtpServer, type TestSmtpServer } from '../../support/smtp-server.ts';
import { Browser, bodyOf, csrfOf } from '../browser/browser-client.ts';

type Json = any;

const PASSWORD = 'a long code-test passphrase 4711';

interface Answer {
  status: number;
  body: Json;
  location?: string | null;
}

const node = (flow: Json, name: string, value?: string): Json =>
  (flow.ui.nodes ?? []).find((n: Json) => n.attributes.name === name && (value === undefined || n.attributes.value === value));
const messageIds = (list: Array<{ id: number }> | undefined) => (list ?? []).map((m) => m.id);

for (const db of testDatabases()) {
  describe(`one-time codes: sign-up, passwordless login, second factor (${db.name})`, () => {
    let passwordless: TestServer;
    let mfa: TestServer;
    let smtp: TestSmtpServer;
    const drops: Array<() => Promise<void>> = [];

    beforeAll(async () => {
      smtp = await startSmtpServer();
      const a = await db.create();
      const b = await db.create();
      drops.push(a.drop, b.drop);
      const courier = { smtp: { connection_uri: smtp.uri(), from_address: 'accounts@idflow.test' }, worker: FAST_WORKER };
      passwordless = await startTestServer(a.dsn, {
        courier,
        selfservice: {
          methods: { password: { config: { haveibeenpwned_enabled: false } }, code: { passwordless_enabled: true } },
          flows: { registration: { style: 'unified', login_hints: true, after: { code: { hooks: [{ hook: 'session' }] } } } },
        },
      });
      mfa = await startTestServer(b.dsn, {
        courier,
        selfservice: { methods: { password: { config: { haveibeenpwned_enabled: false } }, code: { mfa_enabled: true } } },
      });
    });
    afterAll(async () => {
      await passwordless?.close();
      await mfa?.close();
      await smtp?.close();
      for (const drop of drops) await drop();
    });

    async function call(srv: TestServer, method: string, url: string, options: { token?: string; body?: unknown } = {}): Promise<Answer> {
      const headers: Record<string, string> = { accept: 'application/json' };
      if (options.token) headers['x-session-token'] = options.token;
      if (options.body !== undefined) headers['content-type'] = 'application/json';
      const res = await fetch(`${srv.publicUrl}${url}`, { method, headers, body: options.body === undefined ? undefined : JSON.stringify(options.body), redirect: 'manual' });
      const text = await res.text();
      return { status: res.status, body: text === '' ? undefined : JSON.parse(text), location: res.headers.get('location') };
    }

    const LOGIN_MAIL = 'Login to your account with the following code';
    const SIGN_UP_MAIL = 'Complete your account registration with the following code';
    /** The code of the `n`-th mail (1-based) to `address` of `kind`'s template. */
    const mailedCode = (address: string, n: number, kind: 'login' | 'registration') => mailedCodeOf(smtp, address, n, kind === 'login' ? LOGIN_MAIL : SIGN_UP_MAIL);
    const mailsTo = (address: string) => smtp.mails.filter((m) => m.envelope.to.includes(address)).length;
    const wrong = (code: string) => String((Number(code) + 1) % 1_000_000).padStart(6, '0');

    async function register(srv: TestServer, email: string): Promise<Json> {
      const flow = await call(srv, 'GET', '/self-service/registration/api');
      const sent = await call(srv, 'POST', `/self-service/registration?flow=${flow.body.id}`, { body: { method: 'code', traits: { email } } });
      expect(sent.status).toBe(400);
      const code = await mailedCode(email, 1, 'registration');
      const done = await call(srv, 'POST', `/self-service/registration?flow=${flow.body.id}`, { body: { method: 'code', code, traits: { email } } });
      expect(done.status, JSON.stringify(done.body)).toBe(200);
      return done.body;
    }

    it('signs up by code: code form in sent_email, wrong (4040003), resend voids the old code, changed traits (4000036), then a verified identity and an aal1 session', async () => {
      const email = `signup-${crypto.randomUUID()}@example.com`;
      const flow = await call(passwordless, 'GET', '/self-service/registration/api');
      expect(flow.status).toBe(200);
      expect(node(flow.body, 'method', 'code').meta.label).toMatchObject({ id: 1040006, text: 'Send sign up code' });
      expect(node(flow.body, 'method', 'password')).toBeDefined();
      const url = `/self-service/registration?flow=${flow.body.id}`;

      const sent = await call(passwordless, 'POST', url, { body: { method: 'code', traits: { email } } });
      expect(sent.status).toBe(400);
      expectResponse('updateRegistrationFlow', 400, sent.body);
      expect(sent.body.state).toBe('sent_email');
      expect(sent.body.active).toBe('code');
      expect(messageIds(sent.body.ui.messages)).toEqual([1040005]);
      expect(node(sent.body, 'traits.email').attributes).toMatchObject({ type: 'hidden', value: email });
      expect(node(sent.body, 'code').meta.label.id).toBe(1070012);
      expect(node(sent.body, 'resend', 'code').meta.label.id).toBe(1070008);
      expect(node(sent.body, 'password')).toBeUndefined();
      const first = await mailedCode(email, 1, 'registration');

      const bad = await call(passwordless, 'POST', url, { body: { method: 'code', code: wrong(first), traits: { email } } });
      expect(bad.status).toBe(400);
      expect(bad.body.state).toBe('sent_email');
      expect(messageIds(bad.body.ui.messages)).toEqual([4040003]);

      const resent = await call(passwordless, 'POST', url, { body: { method: 'code', resend: 'code', traits: { email } } });
      expect(resent.status).toBe(400);
      expect(messageIds(resent.body.ui.messages)).toEqual([1040005]);
      const second = await mailedCode(email, 2, 'registration');
      const old = await call(passwordless, 'POST', url, { body: { method: 'code', code: first, traits: { email } } });
      expect(messageIds(old.body.ui.messages)).toEqual([4040003]);

      const swapped = await call(passwordless, 'POST', url, { body: { method: 'code', code: second, traits: { email: `other-${email}` } } });
      expect(messageIds(swapped.body.ui.messages)).toEqual([4000036]);

      const done = await call(passwordless, 'POST', url, { body: { method: 'code', code: second, traits: { email } } });
      expect(done.status, JSON.stringify(done.body)).toBe(200);
      expectResponse('updateRegistrationFlow', 200, done.body);
      expect(done.body.session.authentication_methods.map((m: Json) => [m.method, m.aal])).toEqual([['code', 'aal1']]);
      expect(done.body.identity.verifiable_addresses).toMatchObject([{ value: email, verified: true, status: 'completed' }]);
      expect(done.body.identity.credentials).toBeUndefined();
      const identity = await passwordless.identityApi.getIdentity({ id: done.body.identity.id, includeCredential: ['code'] });
      expect(identity.credentials?.code?.identifiers).toEqual([email]);

      // The finished flow takes no more submissions (Kratos 4040001), and the code is used.
      const again = await call(passwordless, 'POST', url, { body: { method: 'code', code: second, traits: { email } } });
      expect(again.status).toBe(400);
      expect(messageIds(again.body.ui.messages)).toEqual([4040002]);
      expect(again.body.session_token).toBeUndefined();
    });

    it('finds a taken address only once its code is proven, and then names how that account signs in (login hints, 4000028)', async () => {
      const email = `taken-${crypto.randomUUID()}@example.com`;
      await register(passwordless, email);
      const flow = await call(passwordless, 'GET', '/self-service/registration/api');
      const url = `/self-service/registration?flow=${flow.body.id}`;
      const sent = await call(passwordless, 'POST', url, { body: { method: 'code', traits: { email } } });
      expect(messageIds(sent.body.ui.messages)).toEqual([1040005]);
      const code = await mailedCode(email, 2, 'registration');
      const dup = await call(passwordless, 'POST', url, { body: { method: 'code', code, traits: { email } } });
      expect(dup.status).toBe(400);
      expect(dup.body.ui.messages).toMatchObject([{
        id: 4000028, context: { available_credential_types: ['code'], available_oidc_providers: [], credential_identifier_hint: email },
      }]);
      expect(dup.body.session_token).toBeUndefined();
    });

    it('logs in by code: sent_email with the identifier hidden (1010014), wrong (4010008), then an aal1 session that verified the address', async () => {
      const email = `login-${crypto.randomUUID()}@example.com`;
      await passwordless.identityApi.createIdentity({ createIdentityBody: { schema_id: 'default', traits: { email }, credentials: { password: { config: { password: PASSWORD } } } } });
      const flow = await call(passwordless, 'GET', '/self-service/login/api');
      expect(node(flow.body, 'method', 'code').meta.label).toMatchObject({ id: 1010015, text: 'Send sign in code' });
      expect(node(flow.body, 'identifier').attributes.type).toBe('text');
      const url = `/self-service/login?flow=${flow.body.id}`;

      const sent = await call(passwordless, 'POST', url, { body: { method: 'code', identifier: email.toUpperCase() } });
      expect(sent.status).toBe(400);
      expectResponse('updateLoginFlow', 400, sent.body);
      expect(sent.body.state).toBe('sent_email');
      expect(messageIds(sent.body.ui.messages)).toEqual([1010014]);
      expect(node(sent.body, 'identifier').attributes).toMatchObject({ type: 'hidden', value: email });
      expect(node(sent.body, 'code').meta.label.id).toBe(1070013);
      expect(node(sent.body, 'password')).toBeUndefined();
      const code = await mailedCode(email, 1, 'login');

      const bad = await call(passwordless, 'POST', url, { body: { method: 'code', identifier: email, code: wrong(code) } });
      expect(bad.status).toBe(400);
      expect(messageIds(bad.body.ui.messages)).toEqual([4010008]);
      expect(node(bad.body, 'identifier').attributes).toMatchObject({ type: 'hidden', value: email });

      const done = await call(passwordless, 'POST', url, { body: { method: 'code', identifier: email, code } });
      expect(done.status, JSON.stringify(done.body)).toBe(200);
      expectResponse('updateLoginFlow', 200, done.body);
      expect(done.body.session.authentication_methods.map((m: Json) => [m.method, m.aal])).toEqual([['code', 'aal1']]);
      expect(done.body.session.identity.verifiable_addresses).toMatchObject([{ value: email, verified: true, status: 'completed' }]);
      const whoami = await call(passwordless, 'GET', '/sessions/whoami', { token: done.body.session_token });
      expect(whoami.status).toBe(200);
    });

    it('counts every code submission: the one after max_submissions is refused with 4000001 even when right; resend does not reset it', async () => {
      const email = `attempts-${crypto.randomUUID()}@example.com`;
      await register(passwordless, email);
      const flow = await call(passwordless, 'GET', '/self-service/login/api');
      const url = `/self-service/login?flow=${flow.body.id}`;
      await call(passwordless, 'POST', url, { body: { method: 'code', identifier: email } });
      await mailedCode(email, 1, 'login');
      for (let i = 0; i < 4; i++) {
        const bad = await call(passwordless, 'POST', url, { body: { method: 'code', identifier: email, code: '000000' } });
        expect(messageIds(bad.body.ui.messages)).toEqual([4010008]);
      }
      await call(passwordless, 'POST', url, { body: { method: 'code', identifier: email, resend: 'code' } });
      const code = await mailedCode(email, 2, 'login');
      const fifth = await call(passwordless, 'POST', url, { body: { method: 'code', identifier: email, code: wrong(code) } });
      expect(messageIds(fifth.body.ui.messages)).toEqual([4010008]);
      const sixth = await call(passwordless, 'POST', url, { body: { method: 'code', identifier: email, code } });
      expect(sixth.status).toBe(400);
      expect(sixth.body.ui.messages).toMatchObject([{ id: 4000001, text: 'The request was submitted too often. Please request another code.' }]);
    });

    it('refuses an expired code with 4010008 and no session', async () => {
      const email = `expired-${crypto.randomUUID()}@example.com`;
      await register(passwordless, email);
      const flow = await call(passwordless, 'GET', '/self-service/login/api');
      const url = `/self-service/login?flow=${flow.body.id}`;
      await call(passwordless, 'POST', url, { body: { method: 'code', identifier: email } });
      const code = await mailedCode(email, 1, 'login');
      passwordless.clock.advance(61 * 60_000);
      try {
        const late = await call(passwordless, 'POST', url, { body: { method: 'code', identifier: email, code } });
        // The login flow itself lives an hour too: either answer leaves the user without a session.
        expect([400, 410]).toContain(late.status);
        if (late.status === 400) expect(messageIds(late.body.ui.messages)).toEqual([4010008]);
        expect(late.body.session_token).toBeUndefined();
      } finally {
        passwordless.clock.advance(-61 * 60_000);
      }
    });

    it('answers an unknown identifier like a known one (enumeration mitigation on by default) and mails nothing', async () => {
      const email = `nobody-${crypto.randomUUID()}@example.com`;
      const flow = await call(passwordless, 'GET', '/self-service/login/api');
      const url = `/self-service/login?flow=${flow.body.id}`;
      const sent = await call(passwordless, 'POST', url, { body: { method: 'code', identifier: email } });
      expect(sent.status).toBe(400);
      expect(sent.body.state).toBe('sent_email');
      expect(messageIds(sent.body.ui.messages)).toEqual([1010014]);
      const guess = await call(passwordless, 'POST', url, { body: { method: 'code', identifier: email, code: '123456' } });
      expect(messageIds(guess.body.ui.messages)).toEqual([4010008]);
      // A known address's mail went out meanwhile (the courier is working), none to the unknown one.
      const known = `known-${crypto.randomUUID()}@example.com`;
      await register(passwordless, known);
      expect(mailsTo(email)).toBe(0);
    });

    it('sends a browser to the login UI (303) while the code is out, and finishes with a session cookie', async () => {
      const email = `browser-${crypto.randomUUID()}@example.com`;
      await register(passwordless, email);
      const browser = new Browser(passwordless.publicUrl);
      const init = await browser.navigate('/self-service/login/browser');
      const flowId = new URL(init.headers.get('location')!).searchParams.get('flow')!;
      const flow = await bodyOf(await browser.getJson(`/self-service/login/flows?id=${flowId}`));
      const sent = await browser.submitForm(`/self-service/login?flow=${flowId}`, { method: 'code', identifier: email, csrf_token: csrfOf(flow) });
      expect(sent.status).toBe(303);
      expect(sent.headers.get('location')).toContain(`flow=${flowId}`);
      const code = await mailedCode(email, 1, 'login');
      const done = await browser.submitForm(`/self-service/login?flow=${flowId}`, { method: 'code', identifier: email, code, csrf_token: csrfOf(flow) });
      expect(done.status).toBe(303);
      const whoami = await bodyOf(await browser.getJson('/sessions/whoami'));
      expect(whoami.authentication_methods.map((m: Json) => m.method)).toEqual(['code']);
    });

    it('re-authenticates by code (refresh): only the session identity\'s own address (4000035 otherwise), the session continues', async () => {
      const email = `refresh-${crypto.randomUUID()}@example.com`;
      const first = await register(passwordless, email);
      const token = first.session_token;
      const flow = await call(passwordless, 'GET', '/self-service/login/api?refresh=true', { token });
      expect(flow.status).toBe(200);
      expect(flow.body.refresh).toBe(true);
      const url = `/self-service/login?flow=${flow.body.id}`;
      const other = `other-${crypto.randomUUID()}@example.com`;
      await register(passwordless, other);
      const foreign = await call(passwordless, 'POST', url, { token, body: { method: 'code', identifier: other } });
      expect(messageIds(foreign.body.ui.messages)).toEqual([4000035]);
      const sent = await call(passwordless, 'POST', url, { token, body: { method: 'code', identifier: email } });
      expect(messageIds(sent.body.ui.messages)).toEqual([1010025]);
      const code = await mailedCode(email, 1, 'login');
      const done = await call(passwordless, 'POST', url, { token, body: { method: 'code', identifier: email, code } });
      expect(done.status, JSON.stringify(done.body)).toBe(200);
      expect(done.body.session.id).toBe(first.session.id);
      expect(done.body.session.authentication_methods.map((m: Json) => m.method)).toEqual(['code', 'code']);
    });

    it('as a second factor: an aal1 session must step up (whoami 403), aal2 shows one button per address (1010023), the code upgrades the session', async () => {
      const email = `mfa-${crypto.randomUUID()}@example.com`;
      await mfa.identityApi.createIdentity({ createIdentityBody: { schema_id: 'default', traits: { email }, credentials: { password: { config: { password: PASSWORD } } } } });
      const login = await call(mfa, 'GET', '/self-service/login/api');
      expect(node(login.body, 'method', 'code')).toBeUndefined();
      const first = await call(mfa, 'POST', `/self-service/login?flow=${login.body.id}`, { body: { method: 'password', identifier: email, password: PASSWORD } });
      expect(first.status).toBe(200);
      const token = first.body.session_token;
      expect(first.body.session.authenticator_assurance_level).toBe('aal1');
      expect((await call(mfa, 'GET', '/sessions/whoami', { token })).status).toBe(403);

      const step = await call(mfa, 'GET', '/self-service/login/api?aal=aal2', { token });
      expect(step.status).toBe(200);
      const button = node(step.body, 'address', email);
      expect(button.group).toBe('code');
      expect(button.meta.label).toMatchObject({ id: 1010023, text: `Send code to ${email}`, context: { address: email, channel: 'email' } });
      const url = `/self-service/login?flow=${step.body.id}`;

      const foreign = await call(mfa, 'POST', url, { token, body: { address: 'someone-else@example.com' } });
      expect(messageIds(foreign.body.ui.messages)).toEqual([4010010]);
      const sent = await call(mfa, 'POST', url, { token, body: { address: email } });
      expect(sent.status).toBe(400);
      expect(sent.body.state).toBe('sent_email');
      expect(messageIds(sent.body.ui.messages)).toEqual([1010025]);
      expect(node(sent.body, 'identifier').attributes).toMatchObject({ type: 'hidden', value: email });
      const code = await mailedCode(email, 1, 'login');
      const done = await call(mfa, 'POST', url, { token, body: { method: 'code', identifier: email, code } });
      expect(done.status, JSON.stringify(done.body)).toBe(200);
      expect(done.body.session.authenticator_assurance_level).toBe('aal2');
      expect(done.body.session.authentication_methods.map((m: Json) => [m.method, m.aal])).toEqual([['password', 'aal1'], ['code', 'aal2']]);
      expect((await call(mfa, 'GET', '/sessions/whoami', { token })).status).toBe(200);
    });
  });
}
