/**
 * `web_hook` after-hooks against a real HTTP receiver on loopback: the jsonnet body built from Kratos's ctx, auth,
 * the allow-listed request headers, blocking vs ignored responses, a method's list replacing the flow's, and the
 * configurations idflow refuses at start-up instead of skipping.
 */
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { testDatabases } from '../../support/databases.ts';
import { startTestServer, type Overlay, type TestServer } from '../../support/server.ts';
import { expectResponse } from '../../support/openapi.ts';
import { until } from '../../support/until.ts';
import { loadConfig } from '../../../config/load-config.ts';
import { WebHookConfigError, WebHooks } from '../../../src/hooks/web-hooks.ts';
import { createLogger } from '../../../observability/logger.ts';
import { Flow as FlowEntity } from '../../../entities/index.ts';
import { jsonnetMissing } from '../../support/jsonnet.ts';

type Json = any;

interface Received {
  method: string;
  path: string;
  headers: IncomingHttpHeaders;
  body: string;
}

/** Records every request; answers with the status its path names (`/status/500`), 200 otherwise. */
class HookReceiver {
  readonly received: Received[] = [];
  #server: Server | undefined;

  async listen(): Promise<string> {
    this.#server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        this.received.push({ method: req.method ?? '', path: req.url ?? '', headers: req.headers, body: Buffer.concat(chunks).toString('utf8') });
        const status = Number(/^\/status\/(\d{3})/.exec(req.url ?? '')?.[1] ?? 200);
        res.writeHead(status, { 'content-type': 'application/json' }).end('{}');
      });
    });
    await new Promise<void>((resolve) => this.#server!.listen(0, '127.0.0.1', resolve));
    return `http://127.0.0.1:${(this.#server.address() as AddressInfo).port}`;
  }

  at(path: string): Received[] {
    return this.received.filter((r) => r.path === path);
  }

  waitFor(path: string, count = 1): Promise<Received[]> {
    return until(async () => this.at(path), (calls) => calls.length >= count, 5000, `${count} request(s) to ${path}`);
  }

  close(): Promise<void> {
    return new Promise((resolve) => (this.#server ? this.#server.close(() => resolve()) : resolve()));
  }
}

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

  it('response.parse, can_interrupt, HTTP templates and unreadable files', () => {
    const cases: Array<[Json, RegExp]> = [
      [{ registration: { after: { password: { hooks: [hook({ response: { parse: true } })] } } } }, /registration\.after\.password\.hooks\[0\]: response\.parse/],
      [{ login: { after: { hooks: [hook({ can_interrupt: true })] } } }, /login\.after\.hooks\[0\]: response\.parse \/ can_interrupt/],
      [{ login: { after: { hooks: [hook({ body: 'https://example.com/body.jsonnet' })] } } }, /use a file:\/\/ or base64:\/\/ template/],
      [{ login: { after: { hooks: [hook({ body: 'file:///nonexistent/body.jsonnet' })] } } }, /cannot read \/nonexistent\/body\.jsonnet: ENOENT/],
    ];
    for (const [flows, message] of cases) {
      expect(() => new WebHooks(configWith(flows), { logger })).toThrow(WebHookConfigError);
      expect(() => new WebHooks(configWith(flows), { logger })).toThrow(message);
    }
    expect(() => new WebHooks(configWith({ login: { after: { hooks: [hook({ response: { ignore: true } })] } } }), { logger })).not.toThrow();
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
