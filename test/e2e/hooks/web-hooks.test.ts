/**
 * `web_hook` after-hooks against a real HTTP receiver on loopback: the jsonnet body built from Kratos's ctx, auth,
 * the allow-listed request headers, blocking vs ignored responses (retried with back-off), a method's list replacing
 * the flow's, hooks that stop a flow (`can_interrupt`) or change the identity before it is saved (`response.parse`),
 * and the configurations idflow refuses at start-up instead of skipping.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { testDatabases } from '../../support/databases.ts';
import { startTestServer, type Overlay, type TestServer } from '../../support/server.ts';
import { expectResponse } from '../../support/openapi.ts';
import { HookReceiver, type Received } from '../../support/hook-receiver.ts';
import { loadConfig } from '../../../config/load-config.ts';
import { WebHookConfigError, WebHooks } from '../../../src/hooks/web-hooks.ts';
import { createLogger } from '../../../observability/logger.ts';
import { Flow as FlowEntity, Identity as IdentityEntity, Session as SessionEntity } from '../../../entities/index.ts';
import { jsonnetMissing } from '../../support/jsonnet.ts';

type Json = any;

const template = (jsonnet: string) => `base64://${Buffer.from(jsonnet).toString('base64')}`;
const REGISTRATION_BODY = template(`function(ctx) {
  identity_id: ctx.identity.id,
  email: ctx.identity.traits.email,
  flow_id: ctx.flow.id,
  flow_type: ctx.flow.type,
  session_identity: if std.objectHas(ctx, 'session') then ctx.session.identity.id else null,
  request_method: ctx.request_method,
  request_url: ctx.request_url,
  user_agent: ctx.request_headers['User-Agent'][0],
  forwarded: std.objectFields(ctx.request_headers),
  has_credentials: std.objectHas(ctx.identity, 'credentials'),
}`);

const PASSWORD = 'a web hook test passphrase 91';

for (const db of testDatabases()) {
  describe.skipIf(jsonnetMissing)(`web_hook after-hooks (${db.name})`, () => {
    const receiver = new HookReceiver();
    let base = '';
    let server: TestServer;
    let drop: () => Promise<void>;

    const post = (path: string, body: unknown, headers: Record<string, string> = {}) =>
      fetch(`${server.publicUrl}${path}`, { method: 'POST', headers: { 'content-type': 'application/json', accept: 'application/json', ...headers }, body: JSON.stringify(body) });
    const get = (path: string, headers: Record<string, string> = {}) => fetch(`${server.publicUrl}${path}`, { headers: { accept: 'application/json', ...headers } });

    async function register(email: string): Promise<Json> {
      const flow = await (await get('/self-service/registration/api')).json();
      const res = await post(`/self-service/registration?flow=${flow.id}`, { method: 'password', traits: { email }, password: PASSWORD }, { 'user-agent': 'hook-test-agent/1.0' });
      const body = await res.json();
      expect(res.status, JSON.stringify(body)).toBe(200);
      return body;
    }

    async function login(email: string): Promise<Response> {
      const flow = await (await get('/self-service/login/api')).json();
      return post(`/self-service/login?flow=${flow.id}`, { method: 'password', identifier: email, password: PASSWORD });
    }

    beforeAll(async () => {
      base = await receiver.listen();
      const created = await db.create();
      drop = created.drop;
      const overlay: Overlay = {
        selfservice: {
          methods: { password: { config: { haveibeenpwned_enabled: false } } },
          flows: {
            registration: {
              before: { hooks: [{ hook: 'web_hook', config: { url: `${base}/before-registration`, method: 'POST', body: template('function(ctx) { flow_id: ctx.flow.id, flow_type: ctx.flow.type, has_identity: std.objectHas(ctx, "identity") }') } }] },
              after: {
                password: {
                  hooks: [
                    { hook: 'web_hook', config: { url: `${base}/registered`, method: 'POST', body: REGISTRATION_BODY, auth: { type: 'api_key', config: { name: 'X-Hook-Key', value: 'hook-key-secret-4411', in: 'header' } } } },
                    { hook: 'session' },
                  ],
                },
              },
            },
            login: {
              after: {
                hooks: [
                  { hook: 'web_hook', config: { url: `${base}/status/500`, method: 'POST', body: template('function(ctx) { id: ctx.identity.id }'), response: { ignore: true } } },
                  { hook: 'web_hook', config: { url: `${base}/logged-in`, method: 'GET', auth: { type: 'basic_auth', config: { user: 'hooks', password: 'basic-secret-77' } } } },
                ],
              },
            },
            recovery: {
              enabled: true,
              before: { hooks: [{ hook: 'web_hook', config: { url: `${base}/status/500`, method: 'GET' } }] },
            },
            settings: {
              after: {
                hooks: [{ hook: 'web_hook', config: { url: `${base}/status/503`, method: 'POST', body: template('function(ctx) { id: ctx.identity.id }') } }],
                profile: { hooks: [] },
              },
            },
          },
        },
      };
      server = await startTestServer(created.dsn, overlay);
    });

    afterAll(async () => {
      await server?.close();
      await drop?.();
      await receiver.close();
    });

    it('posts the jsonnet body built from ctx after registration, with the configured auth and allow-listed headers only', async () => {
      const email = `hooked-${Date.now()}@example.com`;
      const registered = await register(email);
      const [call] = await receiver.waitFor('/registered');
      expect(call.method).toBe('POST');
      expect(call.headers['content-type']).toBe('application/json');
      expect(call.headers['x-hook-key']).toBe('hook-key-secret-4411');
      const body = JSON.parse(call.body);
      expect(body).toMatchObject({
        identity_id: registered.identity.id,
        email,
        flow_type: 'api',
        session_identity: registered.identity.id,
        request_method: 'POST',
        user_agent: 'hook-test-agent/1.0',
        has_credentials: false,
      });
      expect(body.request_url).toBe(`${server.publicUrl}/self-service/registration?flow=${body.flow_id}`);
      expect(body.forwarded).toEqual(expect.arrayContaining(['User-Agent', 'Content-Type']));
      expect(body.forwarded).not.toContain('Cookie');
      expect(call.body).not.toContain(registered.session_token);
      // The secret of the hook's auth never reaches the log.
      expect(server.logs.join('\n')).not.toContain('hook-key-secret-4411');
    });

    it('runs before-hooks on a new flow before storing it; a failing one leaves no flow', async () => {
      const before = receiver.at('/before-registration').length;
      const res = await get('/self-service/registration/api');
      const flow = await res.json();
      expect(res.status).toBe(200);
      const calls = await receiver.waitFor('/before-registration', before + 1);
      expect(JSON.parse(calls.at(-1)!.body)).toEqual({ flow_id: flow.id, flow_type: 'api', has_identity: false });

      const recoveryFlows = () => server.orm.em.fork().count(FlowEntity, { kind: 'recovery' });
      const stored = await recoveryFlows();
      const refused = await get('/self-service/recovery/api');
      const error = await refused.json();
      expect(refused.status, JSON.stringify(error)).toBe(502);
      expect(error.error).toMatchObject({ code: 502, reason: 'A web hook failed.' });
      expect(await recoveryFlows()).toBe(stored);
    });

    it('awaits a blocking hook and ignores the answer of one with response.ignore', async () => {
      const email = `login-${Date.now()}@example.com`;
      const registered = await register(email);
      const before = receiver.at('/status/500').length;
      const res = await login(email);
      const body = await res.json();
      expect(res.status, JSON.stringify(body)).toBe(200);
      expectResponse('updateLoginFlow', 200, body);
      // The ignored hook was sent (and answered 500) without affecting the login.
      await receiver.waitFor('/status/500', before + 1);
      const [ignored] = receiver.at('/status/500').slice(-1);
      expect(JSON.parse(ignored.body)).toEqual({ id: registered.identity.id });
      // A GET hook carries no body, and its basic auth.
      const loggedIn = await receiver.waitFor('/logged-in');
      const last = loggedIn.at(-1)!;
      expect(last.method).toBe('GET');
      expect(last.body).toBe('');
      expect(last.headers.authorization).toBe(`Basic ${Buffer.from('hooks:basic-secret-77').toString('base64')}`);
    });

    it('fails the request with 502 when a blocking hook answers >= 400; a method\'s empty list replaces the flow\'s', async () => {
      const registered = await register(`settings-${Date.now()}@example.com`);
      const token = registered.session_token as string;
      const flow = await (await get('/self-service/settings/api', { 'x-session-token': token })).json();
      const before = receiver.at('/status/503').length;

      const profile = await post(`/self-service/settings?flow=${flow.id}`, { method: 'profile', traits: { email: registered.identity.traits.email, name: { first: 'Hooky' } } }, { 'x-session-token': token });
      expect(profile.status, JSON.stringify(await profile.clone().json()) + server.logs.filter((l) => l.includes('"error"')).join('\n')).toBe(200);
      expect(receiver.at('/status/503')).toHaveLength(before);

      const password = await post(`/self-service/settings?flow=${flow.id}`, { method: 'password', password: 'another web hook passphrase 12' }, { 'x-session-token': token });
      const error = await password.json();
      expect(password.status, JSON.stringify(error)).toBe(502);
      expect(error.error).toMatchObject({ code: 502, status: 'Bad Gateway', reason: 'A web hook failed.' });
      expect(receiver.at('/status/503')).toHaveLength(before + 1);
      // Kratos runs this hook after saving: the new password is in place.
      const flowAgain = await (await get('/self-service/login/api')).json();
      const relogin = await post(`/self-service/login?flow=${flowAgain.id}`, { method: 'password', identifier: registered.identity.traits.email, password: 'another web hook passphrase 12' });
      expect(relogin.status).toBe(200);
    });
  });
}

describe('web_hook configuration idflow cannot honour is refused at start-up', () => {
  const logger = createLogger({ level: 'error', format: 'json', write: () => {} });
  const configWith = (flows: Json) => loadConfig({ env: {}, dev: true, overrides: { selfservice: { flows } } }).config;
  const hook = (extra: Json = {}) => ({ hook: 'web_hook', config: { url: 'http://127.0.0.1:9/hook', method: 'POST', ...extra } });

  it('ignore with parse/can_interrupt, parse/can_interrupt where nothing can be changed, HTTP templates and unreadable files', () => {
    const cases: Array<[Json, RegExp]> = [
      [{ login: { after: { hooks: [hook({ can_interrupt: true, response: { ignore: true } })] } } }, /login\.after\.hooks\[0\]: a web hook cannot ignore its response and also parse it/],
      [{ recovery: { after: { hooks: [hook({ can_interrupt: true })] } } }, /recovery\.after\.hooks\[0\]: response\.parse \/ can_interrupt apply to the after-hooks of login, registration and settings only/],
      [{ registration: { before: { hooks: [hook({ response: { parse: true } })] } } }, /registration\.before\.hooks\[0\]: response\.parse/],
      [{ login: { after: { hooks: [hook({ body: 'https://example.com/body.jsonnet' })] } } }, /use a file:\/\/ or base64:\/\/ template/],
      [{ login: { after: { hooks: [hook({ body: 'file:///nonexistent/body.jsonnet' })] } } }, /cannot read \/nonexistent\/body\.jsonnet: ENOENT/],
    ];
    // The config schema itself refuses response.ignore with response.parse.
    expect(() => configWith({ registration: { after: { password: { hooks: [hook({ response: { parse: true, ignore: true } })] } } } })).toThrow(/must not set both ignore and parse/);
    for (const [flows, message] of cases) {
      expect(() => new WebHooks(configWith(flows), { logger })).toThrow(WebHookConfigError);
      expect(() => new WebHooks(configWith(flows), { logger })).toThrow(message);
    }
    expect(() => new WebHooks(configWith({ login: { after: { hooks: [hook({ response: { ignore: true } })] } } }), { logger })).not.toThrow();
    expect(() => new WebHooks(configWith({
      registration: { after: { password: { hooks: [hook({ response: { parse: true } })] } } },
      settings: { after: { hooks: [hook({ can_interrupt: true })] } },
      login: { after: { hooks: [hook({ can_interrupt: true, response: { parse: true } })] } },
    }), { logger })).not.toThrow();
  });
});

describe.skipIf(jsonnetMissing)('web hooks under clients.http.disallow_private_ip_ranges', () => {
  const receiver = new HookReceiver();
  let server: TestServer;
  let drop: () => Promise<void>;

  beforeAll(async () => {
    const base = await receiver.listen();
    const port = new URL(base).port;
    const created = await testDatabases()[0].create();
    drop = created.drop;
    const hook = (url: string) => ({ hook: 'web_hook', config: { url, method: 'POST', body: template('function(ctx) { id: ctx.identity.id }') } });
    server = await startTestServer(created.dsn, {
      clients: { http: { disallow_private_ip_ranges: true, private_ip_exception_urls: [`${base}/exempt`] } },
      selfservice: {
        methods: { password: { config: { haveibeenpwned_enabled: false } } },
        flows: {
          registration: { after: { password: { hooks: [hook(`${base}/exempt`), { hook: 'session' }] } } },
          login: { after: { hooks: [hook(`http://localhost:${port}/by-name`)] } },
          settings: { after: { hooks: [hook(`${base}/by-address`)] } },
        },
      },
    });
  });

  afterAll(async () => {
    await server?.close();
    await drop?.();
    await receiver.close();
  });

  it('calls an exempt URL, and refuses a private address given literally or through a name, without connecting', async () => {
    const send = (path: string, body: unknown, headers: Record<string, string> = {}) =>
      fetch(`${server.publicUrl}${path}`, { method: 'POST', headers: { 'content-type': 'application/json', accept: 'application/json', ...headers }, body: JSON.stringify(body) });
    const flow = async (kind: string, headers: Record<string, string> = {}) => (await fetch(`${server.publicUrl}/self-service/${kind}/api`, { headers: { accept: 'application/json', ...headers } })).json();
    const email = `guarded-${Date.now()}@example.com`;

    const registration = await flow('registration');
    const registered = await send(`/self-service/registration?flow=${registration.id}`, { method: 'password', traits: { email }, password: PASSWORD });
    const body = await registered.json();
    expect(registered.status, JSON.stringify(body)).toBe(200);
    expect(receiver.at('/exempt')).toHaveLength(1);

    const login = await flow('login');
    const refusedByName = await send(`/self-service/login?flow=${login.id}`, { method: 'password', identifier: email, password: PASSWORD });
    expect(refusedByName.status).toBe(502);

    const settings = await flow('settings', { 'x-session-token': body.session_token });
    const refusedLiteral = await send(`/self-service/settings?flow=${settings.id}`, { method: 'password', password: 'a guarded new passphrase 77' }, { 'x-session-token': body.session_token });
    expect(refusedLiteral.status).toBe(502);

    expect(receiver.received.map((r) => r.path)).toEqual(['/exempt']);
    expect(server.logs.filter((l) => l.includes('private IP range')).length).toBe(2);
    const counted = (await server.registry.metrics.webHookRequests.get()).values.map((v) => [v.labels.flow, v.labels.result, v.value]);
    expect(counted).toEqual(expect.arrayContaining([['registration', 'ok', 1], ['login', 'refused', 1], ['settings', 'refused', 1]]));
    expect(counted).toHaveLength(3);
  });
});

/** The interrupt shape Kratos documents for web hooks. */
const interrupt = (...groups: Array<[string, number, string]>) => ({
  messages: groups.map(([pointer, id, text]) => ({ instance_ptr: pointer, messages: [{ id, text, type: 'error', context: { hook: 'yes' } }] })),
});
const emailOf = (req: Received): string => JSON.parse(req.body || '{}').email ?? '';

for (const db of testDatabases()) {
  describe(`web hooks that stop or change a flow before it is saved (${db.name})`, () => {
    const receiver = new HookReceiver();
    let server: TestServer;
    let drop: () => Promise<void>;
    const emailBody = template('function(ctx) { email: ctx.identity.traits.email, has_session: std.objectHas(ctx, "session") }');

    const post = (path: string, body: unknown, headers: Record<string, string> = {}) =>
      fetch(`${server.publicUrl}${path}`, { method: 'POST', headers: { 'content-type': 'application/json', accept: 'application/json', ...headers }, body: JSON.stringify(body) });
    const flowOf = async (kind: string, headers: Record<string, string> = {}) => (await fetch(`${server.publicUrl}/self-service/${kind}/api`, { headers: { accept: 'application/json', ...headers } })).json();
    const register = async (email: string, traits: Json = { email }) => post(`/self-service/registration?flow=${(await flowOf('registration')).id}`, { method: 'password', traits, password: PASSWORD });
    const login = async (email: string) => post(`/self-service/login?flow=${(await flowOf('login')).id}`, { method: 'password', identifier: email, password: PASSWORD });
    const sessionRows = () => server.orm.em.fork().count(SessionEntity, {});
    const identityRows = () => server.orm.em.fork().count(IdentityEntity, {});
    const createIdentity = (email: string) => server.identityApi.createIdentity({ createIdentityBody: { schema_id: 'default', traits: { email }, credentials: { password: { config: { password: PASSWORD } } } } });

    beforeAll(async () => {
      const base = await receiver.listen();
      // Registration: the check refuses `stop-` addresses (on the e-mail field and the form); the parser rewrites `parse-` sign-ups.
      receiver.answer('/registration-check', (req) => (emailOf(req).startsWith('stop-')
        ? { status: 422, body: interrupt(['#/traits/email', 4000099, 'This address is not welcome.'], ['#/', 4000098, 'Sign-up refused.']) }
        : { status: 204 }));
      receiver.answer('/registration-parse', (req) => {
        const email = emailOf(req);
        if (email.startsWith('parse-')) {
          return { status: 200, body: { identity: { traits: { email, name: { first: 'FromHook' } }, metadata_public: { plan: 'gold' }, metadata_admin: { crm: 42 } } } };
        }
        if (email.startsWith('invalid-')) return { status: 200, body: { identity: { traits: { email: 'not an e-mail' } } } };
        return { status: 200, body: {} };
      });
      receiver.answer('/login-check', (req) => {
        const email = emailOf(req);
        if (email.startsWith('fail-')) return { status: 500, body: { error: 'boom' } };
        if (email.startsWith('stop-')) return { status: 403, body: interrupt(['#/identifier', 4000097, 'Locked by the hook.']) };
        return { status: 200, body: {} };
      });
      receiver.answer('/settings-parse', () => ({ status: 200, body: { identity: { metadata_public: { updated_by: 'hook' } } } }));
      const created = await db.create();
      drop = created.drop;
      const hook = (path: string, extra: Json = {}) => ({ hook: 'web_hook', config: { url: `${base}${path}`, method: 'POST', body: emailBody, ...extra } });
      server = await startTestServer(created.dsn, {
        clients: { web_hook: { retry: { attempts: 3, initial_backoff: '10ms', max_backoff: '20ms' } } },
        selfservice: {
          methods: { password: { config: { haveibeenpwned_enabled: false } } },
          flows: {
            registration: {
              after: {
                password: {
                  hooks: [
                    hook('/registration-check', { can_interrupt: true }),
                    hook('/registration-parse', { response: { parse: true } }),
                    hook('/registered'),
                    { hook: 'session' },
                  ],
                },
              },
            },
            login: {
              after: {
                hooks: [
                  hook('/login-check', { can_interrupt: true }),
                  hook('/flaky', { response: { ignore: true }, auth: { type: 'api_key', config: { name: 'X-Flaky-Key', value: 'flaky-secret-5150', in: 'header' } } }),
                  hook('/status/500', { response: { ignore: true } }),
                ],
              },
            },
            settings: { after: { profile: { hooks: [hook('/settings-parse', { response: { parse: true } })] } } },
          },
        },
      });
    });

    afterAll(async () => {
      await server?.registry.webHooks.idle();
      await server?.close();
      await drop?.();
      await receiver.close();
    });

    it('can_interrupt: the hook\'s messages go on the node its pointer names and on the form; no identity, no session', async () => {
      const email = `stop-${crypto.randomUUID()}@example.com`;
      const [identities, sessions, registered] = [await identityRows(), await sessionRows(), receiver.at('/registered').length];
      const res = await register(email);
      const body = await res.json();
      expect(res.status, JSON.stringify(body)).toBe(400);
      expectResponse('updateRegistrationFlow', 400, body);
      const node = body.ui.nodes.find((n: Json) => n.attributes.name === 'traits.email');
      expect(node.messages).toEqual([{ id: 4000099, text: 'This address is not welcome.', type: 'error', context: { hook: 'yes' } }]);
      expect(node.attributes.value).toBe(email);
      expect(body.ui.messages).toEqual([{ id: 4000098, text: 'Sign-up refused.', type: 'error', context: { hook: 'yes' } }]);
      expect(body.state).toBe('choose_method');
      expect(await identityRows()).toBe(identities);
      expect(await sessionRows()).toBe(sessions);
      // The parsing hook after it and the post-persist hook never ran.
      expect(receiver.at('/registration-parse').filter((r) => emailOf(r) === email)).toHaveLength(0);
      expect(receiver.at('/registered')).toHaveLength(registered);
      // The same flow takes a welcome address afterwards.
      const again = await post(`/self-service/registration?flow=${body.id}`, { method: 'password', traits: { email: `ok-${crypto.randomUUID()}@example.com` }, password: PASSWORD });
      expect(again.status).toBe(200);
    });

    it('response.parse: traits and metadata from the answer are saved with the new identity; invalid traits are refused', async () => {
      const email = `parse-${crypto.randomUUID()}@example.com`;
      const res = await register(email);
      const body = await res.json();
      expect(res.status, JSON.stringify(body)).toBe(200);
      expect(body.identity.traits).toEqual({ email, name: { first: 'FromHook' } });
      expect(body.identity.metadata_public).toEqual({ plan: 'gold' });
      const stored = await server.identityApi.getIdentity({ id: body.identity.id });
      expect(stored.traits).toEqual({ email, name: { first: 'FromHook' } });
      expect(stored.metadata_admin).toEqual({ crm: 42 });
      expect(stored.verifiable_addresses?.map((a) => a.value)).toEqual([email]);
      // The post-persist hook sees the saved identity.
      const [registered] = (await receiver.waitFor('/registered', 1)).filter((r) => emailOf(r) === email);
      expect(JSON.parse(registered.body)).toEqual({ email, has_session: true });

      const identities = await identityRows();
      const invalid = await register(`invalid-${crypto.randomUUID()}@example.com`);
      const refused = await invalid.json();
      expect(invalid.status, JSON.stringify(refused)).toBe(400);
      const node = refused.ui.nodes.find((n: Json) => n.attributes.name === 'traits.email');
      expect(node.messages.map((m: Json) => m.id)).toEqual([4000040]);
      expect(await identityRows()).toBe(identities);
    });

    it('response.parse in settings: the answer\'s metadata is saved with the change', async () => {
      const email = `settings-${crypto.randomUUID()}@example.com`;
      const registered = await (await register(email)).json();
      const token = registered.session_token as string;
      const flow = await flowOf('settings', { 'x-session-token': token });
      const res = await post(`/self-service/settings?flow=${flow.id}`, { method: 'profile', traits: { email, name: { first: 'Set' } } }, { 'x-session-token': token });
      expect(res.status, JSON.stringify(await res.clone().json())).toBe(200);
      const stored = await server.identityApi.getIdentity({ id: registered.identity.id });
      expect(stored.traits).toEqual({ email, name: { first: 'Set' } });
      expect(stored.metadata_public).toEqual({ updated_by: 'hook' });
    });

    it('a failing login hook (5xx → 502) leaves no session row behind; an interrupting one shows its message', async () => {
      const failing = `fail-${crypto.randomUUID()}@example.com`;
      await createIdentity(failing);
      const before = await sessionRows();
      const res = await login(failing);
      const error = await res.json();
      expect(res.status, JSON.stringify(error)).toBe(502);
      expect(error.error).toMatchObject({ code: 502, reason: 'A web hook failed.' });
      expect(await sessionRows()).toBe(before);

      const stopped = `stop-${crypto.randomUUID()}@example.com`;
      await createIdentity(stopped);
      const interrupted = await login(stopped);
      const body = await interrupted.json();
      expect(interrupted.status, JSON.stringify(body)).toBe(400);
      expectResponse('updateLoginFlow', 400, body);
      expect(body.ui.nodes.find((n: Json) => n.attributes.name === 'identifier').messages.map((m: Json) => m.id)).toEqual([4000097]);
      expect(body.session_token).toBeUndefined();
      expect(await sessionRows()).toBe(before);

      const welcome = `ok-${crypto.randomUUID()}@example.com`;
      await createIdentity(welcome);
      const ok = await login(welcome);
      expect(ok.status).toBe(200);
      expect(await sessionRows()).toBe(before + 1);
      const [call] = receiver.at('/login-check').filter((r) => emailOf(r) === welcome);
      // Kratos hands login hooks the session about to be saved.
      expect(JSON.parse(call.body)).toEqual({ email: welcome, has_session: true });
    });

    it('response.ignore: retried with back-off up to clients.web_hook.retry.attempts, failures logged without secrets', async () => {
      const email = `ok-${crypto.randomUUID()}@example.com`;
      await createIdentity(email);
      await server.registry.webHooks.idle();
      const [failing, sent] = [receiver.at('/status/500').length, receiver.at('/flaky').length];
      let answered = 0;
      receiver.answer('/flaky', () => ({ status: ++answered <= 2 ? 503 : 200, body: {} }));
      const res = await login(email);
      expect(res.status).toBe(200);
      await server.registry.webHooks.idle();
      // 503, 503, 200: three sends, the same body each time.
      const flaky = receiver.at('/flaky').slice(sent);
      expect(flaky).toHaveLength(3);
      expect(new Set(flaky.map((r) => r.body)).size).toBe(1);
      expect(flaky.every((r) => r.headers['x-flaky-key'] === 'flaky-secret-5150')).toBe(true);
      // Always 500: given up after three sends.
      expect(receiver.at('/status/500').length - failing).toBe(3);
      const logs = server.logs.join('\n');
      expect(logs).toContain('web hook failed (response ignored), retrying');
      expect(logs).toContain('web hook failed (response ignored), giving up');
      expect(logs).not.toContain('flaky-secret-5150');
    });
  });
}
