import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { spawnCli } from '../../support/cli.ts';
import { CookieJar } from '../../support/cookie-jar.ts';
import { OtlpReceiver, type ReceivedSpan } from './otlp-receiver.ts';
import { jsonnetMissing } from '../../support/jsonnet.ts';

/**
 * The real program (`dist/src/main.js serve`) with `TRACING_PROVIDER=otel` exports its spans over OTLP/HTTP to a
 * receiver on loopback named by the standard `OTEL_EXPORTER_OTLP_ENDPOINT`.
 */
const COURIER_URL_SECRET = `url-secret-${randomBytes(8).toString('hex')}`;

describe('OpenTelemetry tracing of a running server', () => {
  const receiver = new OtlpReceiver();
  let child: ChildProcess;
  let cwd: string;
  let stderr = '';
  let publicUrl = '';

  beforeAll(async () => {
    const endpoint = await receiver.listen();
    cwd = mkdtempSync(join(tmpdir(), 'idflow-otel-'));
    child = spawnCli(['serve', '--dev'], {
      cwd,
      env: {
        SERVE_PUBLIC_PORT: '0', SERVE_ADMIN_PORT: '0', SERVE_UI_PORT: '0', LOG_LEVEL: 'trace', LOG_FORMAT: 'json',
        SELFSERVICE_METHODS_PASSWORD_CONFIG_HAVEIBEENPWNED_ENABLED: 'false',
        TRACING_PROVIDER: 'otel', TRACING_SERVICE_NAME: 'idflow-e2e',
        OTEL_EXPORTER_OTLP_ENDPOINT: endpoint, OTEL_EXPORTER_OTLP_PROTOCOL: 'http/json',
        OTEL_BSP_SCHEDULE_DELAY: '100',
        // The HTTP courier posts to the same loopback receiver; its URL carries a secret query parameter.
        SELFSERVICE_FLOWS_RECOVERY_ENABLED: 'true', SELFSERVICE_FLOWS_VERIFICATION_ENABLED: 'true',
        COURIER_DELIVERY_STRATEGY: 'http', COURIER_HTTP_REQUEST_CONFIG_URL: `${endpoint}/courier?token=${COURIER_URL_SECRET}`,
        COURIER_WORKER_PULL_WAIT: '50ms',
        // A web hook after login posts to the receiver too (its body is Jsonnet, an optional package).
        ...(jsonnetMissing ? {} : { SELFSERVICE_FLOWS_LOGIN_AFTER_HOOKS: JSON.stringify([{ hook: 'web_hook', config: {
          url: `${endpoint}/hook/login`, method: 'POST', body: `base64://${Buffer.from('function(ctx) { identity_id: ctx.identity.id }').toString('base64')}`,
        } }]) }),
      },
    });
    publicUrl = await new Promise<string>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`server did not start: ${stderr}`)), 30_000);
      child.stderr!.on('data', (d) => {
        stderr += d;
        const match = /"msg":"public API listening","address":"([^"]+)"/.exec(stderr);
        if (match && stderr.includes('admin API listening')) {
          clearTimeout(timer);
          resolve(match[1]);
        }
      });
      child.on('exit', () => reject(new Error(`server exited: ${stderr}`)));
    });
  });

  afterAll(async () => {
    if (child && child.exitCode === null) {
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.kill('SIGTERM');
      await exited;
    }
    await receiver.close();
    if (cwd) rmSync(cwd, { recursive: true, force: true });
  });

  const traceparent = () => {
    const traceId = randomBytes(16).toString('hex');
    const parentId = randomBytes(8).toString('hex');
    return { traceId, parentId, header: `00-${traceId}-${parentId}-01` };
  };

  async function call(path: string, init: RequestInit & { headers?: Record<string, string> } = {}) {
    const res = await fetch(publicUrl + path, { ...init, headers: { Accept: 'application/json', 'Content-Type': 'application/json', ...init.headers } });
    return { res, body: await res.json() as Record<string, unknown> };
  }

  /** Walks up from `span` through the received spans of its trace; the ids on the way. */
  function ancestors(span: ReceivedSpan, spans: ReceivedSpan[]): ReceivedSpan[] {
    const byId = new Map(spans.filter((s) => s.traceId === span.traceId).map((s) => [s.spanId, s]));
    const chain: ReceivedSpan[] = [];
    for (let cur = byId.get(span.parentSpanId); cur; cur = byId.get(cur.parentSpanId)) chain.push(cur);
    return chain;
  }

  it('exports HTTP, Express and one span per flow transition, in the trace of the incoming traceparent', async () => {
    const registration = await call('/self-service/registration/api');
    expect(registration.res.status).toBe(200);
    const tp = traceparent();
    const submitted = await call(`/self-service/registration?flow=${registration.body.id}`, {
      method: 'POST', headers: { traceparent: tp.header },
      body: JSON.stringify({ method: 'password', traits: { email: 'traced@example.com' }, password: 'traced passphrase 4411' }),
    });
    expect(submitted.res.status).toBe(200);

    const spans = await receiver.waitFor((all) => all.filter((s) => s.traceId === tp.traceId && s.name.startsWith('flow.transition')).length >= 3
      && all.some((s) => s.traceId === tp.traceId && s.kind === 2));
    expect(spans.every((s) => s.service === 'idflow-e2e')).toBe(true);
    const inTrace = spans.filter((s) => s.traceId === tp.traceId);
    // The incoming request's server span continues the caller's trace.
    const serverSpan = inTrace.find((s) => s.kind === 2 && s.parentSpanId === tp.parentId);
    expect(serverSpan, `spans: ${inTrace.map((s) => `${s.name}(${s.kind})`).join(', ')}`).toBeDefined();
    expect(serverSpan!.scope).toBe('@opentelemetry/instrumentation-http');
    expect(JSON.stringify(serverSpan!.attributes)).toContain('/self-service/registration');
    // Express spans for the middleware and the route.
    expect(inTrace.some((s) => s.scope === '@opentelemetry/instrumentation-express')).toBe(true);
    // Database spans (through knex) in the same request.
    const dbSpans = inTrace.filter((s) => s.scope === '@opentelemetry/instrumentation-knex');
    expect(dbSpans.length, `spans: ${inTrace.map((s) => `${s.name}(${s.scope})`).join(', ')}`).toBeGreaterThan(0);
    expect(JSON.stringify(dbSpans.map((s) => s.attributes))).not.toContain('traced passphrase 4411');

    const transitions = inTrace.filter((s) => s.name === 'flow.transition registration');
    expect(transitions.map((s) => [s.attributes['idflow.flow.from'], s.attributes['idflow.flow.to'], s.attributes['idflow.flow.event']])).toEqual(expect.arrayContaining([
      ['choose_method.awaiting_input', 'choose_method.registering', 'method.submit'],
      ['choose_method.registering', 'choose_method.issuing_session', 'xstate.done.actor.register'],
      ['choose_method.issuing_session', 'passed_challenge', 'xstate.done.actor.issueSession'],
    ]));
    for (const t of transitions) {
      expect(t.attributes).toMatchObject({ 'idflow.flow': 'registration', 'idflow.flow.id': registration.body.id, 'idflow.flow.type': 'api' });
      // A child of the request: its ancestors lead to the HTTP server span.
      expect(ancestors(t, spans).map((s) => s.spanId)).toContain(serverSpan!.spanId);
    }
  });

  it.skipIf(jsonnetMissing)('carries the request\'s trace into the web hook request (traceparent of a client span under the request)', async () => {
    const email = `hooked-${randomBytes(4).toString('hex')}@example.com`;
    const password = `pw-${randomBytes(12).toString('hex')}`;
    const registration = await call('/self-service/registration/api');
    expect((await call(`/self-service/registration?flow=${registration.body.id}`, { method: 'POST', body: JSON.stringify({ method: 'password', traits: { email }, password }) })).res.status).toBe(200);
    const login = await call('/self-service/login/api');
    const tp = traceparent();
    const loggedIn = await call(`/self-service/login?flow=${login.body.id}`, { method: 'POST', headers: { traceparent: tp.header }, body: JSON.stringify({ method: 'password', identifier: email, password }) });
    expect(loggedIn.res.status).toBe(200);
    const identityId = (loggedIn.body.session as { identity: { id: string } }).identity.id;

    const hook = receiver.requests.find((r) => r.url === '/hook/login' && r.body.includes(identityId));
    expect(hook, 'the hook was called before the login answered').toBeDefined();
    expect(JSON.parse(hook!.body)).toEqual({ identity_id: identityId });
    const [, traceId, spanId] = String(hook!.headers.traceparent ?? '').split('-');
    expect(traceId).toBe(tp.traceId);
    const spans = await receiver.waitFor((all) => all.some((s) => s.spanId === spanId) && all.some((s) => s.traceId === tp.traceId && s.kind === 2));
    const client = spans.find((s) => s.spanId === spanId)!;
    expect(client.kind).toBe(3); // CLIENT, from the instrumented fetch
    const serverSpan = spans.find((s) => s.traceId === tp.traceId && s.kind === 2 && s.parentSpanId === tp.parentId)!;
    expect(ancestors(client, spans).map((s) => s.spanId)).toContain(serverSpan.spanId);
    expect(receiver.bodies.join('\n')).not.toContain(password);
  });

  it('never exports or logs a password, session token, CSRF token or cookie', async () => {
    const email = `secret-${randomBytes(4).toString('hex')}@example.com`;
    const password = `pw-${randomBytes(12).toString('hex')}`;
    const browserPassword = `pw-${randomBytes(12).toString('hex')}`;

    // Native registration and login: the session token, then whoami with it.
    const registration = await call('/self-service/registration/api');
    expect((await call(`/self-service/registration?flow=${registration.body.id}`, { method: 'POST', body: JSON.stringify({ method: 'password', traits: { email }, password }) })).res.status).toBe(200);
    const login = await call('/self-service/login/api');
    const wrong = await call(`/self-service/login?flow=${login.body.id}`, { method: 'POST', body: JSON.stringify({ method: 'password', identifier: email, password: password + '-wrong' }) });
    expect(wrong.res.status).toBe(400);
    const loggedIn = await call(`/self-service/login?flow=${login.body.id}`, { method: 'POST', body: JSON.stringify({ method: 'password', identifier: email, password }) });
    expect(loggedIn.res.status).toBe(200);
    const sessionToken = loggedIn.body.session_token as string;
    expect(sessionToken).toBeTruthy();
    expect((await call('/sessions/whoami', { headers: { 'X-Session-Token': sessionToken } })).res.status).toBe(200);
    expect((await call('/sessions/whoami', { headers: { Authorization: `Bearer ${sessionToken}` } })).res.status).toBe(200);

    // Browser registration (JSON): the CSRF token in the body and its cookie, then the session cookie.
    const cookies = new CookieJar();
    const keep = (res: Response) => cookies.store(res);
    const cookieHeader = () => cookies.header();
    const browserFlow = await call('/self-service/registration/browser');
    expect(browserFlow.res.status).toBe(200);
    keep(browserFlow.res);
    const nodes = (browserFlow.body.ui as { nodes: Array<{ attributes: { name?: string; value?: unknown } }> }).nodes;
    const csrfToken = String(nodes.find((n) => n.attributes.name === 'csrf_token')?.attributes.value ?? '');
    expect(csrfToken.length).toBeGreaterThan(10);
    const browserEmail = `browser-${randomBytes(4).toString('hex')}@example.com`;
    const browserSubmit = await call(`/self-service/registration?flow=${browserFlow.body.id}`, {
      method: 'POST', headers: { cookie: cookieHeader() },
      body: JSON.stringify({ method: 'password', csrf_token: csrfToken, traits: { email: browserEmail }, password: browserPassword }),
    });
    expect(browserSubmit.res.status).toBe(200);
    keep(browserSubmit.res);
    const cookieValues = cookies.names().map((n) => cookies.get(n)!).filter((v) => v.length >= 16);
    expect(cookieValues.length).toBeGreaterThanOrEqual(2); // the CSRF cookie and the session cookie
    expect((await call('/sessions/whoami', { headers: { cookie: cookieHeader() } })).res.status).toBe(200);

    // Wait for the last request's spans, then search everything exported and logged.
    await receiver.waitFor((all) => all.some((s) => s.kind === 2 && JSON.stringify(s.attributes).includes('/sessions/whoami'))
      && all.filter((s) => s.name === 'flow.transition registration' && s.attributes['idflow.flow.id'] === browserFlow.body.id).length >= 3);
    await new Promise((resolve) => setTimeout(resolve, 500));
    const exported = receiver.bodies.join('\n');
    expect(exported.length).toBeGreaterThan(1000);
    // Database spans are exported, with their statements stripped of values (MikroORM inlines them).
    expect(exported).toContain('db.query.text');
    expect(exported).not.toContain(email);
    expect(exported).not.toContain(browserEmail);
    const secrets = { password, browserPassword, sessionToken, csrfToken, ...Object.fromEntries(cookieValues.map((v, i) => [`cookie${i}`, v])) };
    for (const [name, secret] of Object.entries(secrets)) {
      expect(exported.includes(secret), `${name} in exported spans`).toBe(false);
      expect(exported.includes(encodeURIComponent(secret)), `${name} (URL-encoded) in exported spans`).toBe(false);
      expect(stderr.includes(secret), `${name} in the log`).toBe(false);
    }
    // The log is JSON lines, and it did log these requests' work.
    const lines = stderr.split('\n').filter(Boolean);
    expect(lines.every((line) => { try { JSON.parse(line); return true; } catch { return false; } })).toBe(true);
  });

  it('never exports or logs the secrets of settings, verification and logout', async () => {
    const hex = () => randomBytes(12).toString('hex');
    const email = `later-${hex()}@example.com`;
    const password = `pw-${hex()}`;
    const newPassword = `pw-${hex()}`;
    const newName = `name-${hex()}`;
    const post = (path: string, body: unknown, headers: Record<string, string> = {}) => call(path, { method: 'POST', headers, body: JSON.stringify(body) });

    // Native registration, then settings: a password change and a profile change with the session token.
    const registration = await call('/self-service/registration/api');
    const registered = await post(`/self-service/registration?flow=${registration.body.id}`, { method: 'password', traits: { email }, password });
    expect(registered.res.status).toBe(200);
    const sessionToken = registered.body.session_token as string;
    const settings = await call('/self-service/settings/api', { headers: { 'X-Session-Token': sessionToken } });
    expect(settings.res.status).toBe(200);
    const changed = await post(`/self-service/settings?flow=${settings.body.id}`, { method: 'password', password: newPassword }, { 'X-Session-Token': sessionToken });
    expect(changed.res.status, JSON.stringify(changed.body)).toBe(200);
    const profile = await post(`/self-service/settings?flow=${settings.body.id}`, { method: 'profile', traits: { email, name: newName } }, { 'X-Session-Token': sessionToken });
    expect(profile.res.status, JSON.stringify(profile.body)).toBeLessThan(500);

    // Verification by code: the code arrives through the HTTP courier and goes back through the flow.
    // (Registration already mailed a code for a flow of its own: wait for that one, then take the next.)
    const isVerification = (r: { url: string; body: string }) => r.url.startsWith('/courier') && r.body.includes(email) && r.body.includes('"verification_code_valid"');
    const mailed = () => receiver.requests.filter(isVerification);
    await receiver.waitFor(() => mailed().length >= 1);
    const verification = await call('/self-service/verification/api');
    expect((await post(`/self-service/verification?flow=${verification.body.id}`, { method: 'code', email })).res.status).toBe(200);
    await receiver.waitFor(() => mailed().length >= 2);
    const code = String((JSON.parse(mailed()[1].body) as { verification_code?: unknown }).verification_code ?? '');
    expect(code).toMatch(/^\d{6,}$/);
    const verified = await post(`/self-service/verification?flow=${verification.body.id}`, { method: 'code', code });
    expect(verified.body.state, JSON.stringify(verified.body)).toBe('passed_challenge');

    // Logout: the native session by its token, a browser session by its logout token (which travels in a URL).
    const apiLogout = await fetch(`${publicUrl}/self-service/logout/api`, {
      method: 'DELETE', headers: { Accept: 'application/json', 'Content-Type': 'application/json' }, body: JSON.stringify({ session_token: sessionToken }),
    });
    expect(apiLogout.status).toBe(204);
    const jar = new CookieJar();
    const keep = (res: Response) => jar.store(res);
    const cookie = () => jar.header();
    const browserLogin = await call('/self-service/login/browser');
    keep(browserLogin.res);
    const csrfToken = String((browserLogin.body.ui as { nodes: Array<{ attributes: { name?: string; value?: unknown } }> }).nodes
      .find((n) => n.attributes.name === 'csrf_token')?.attributes.value ?? '');
    const loggedIn = await post(`/self-service/login?flow=${browserLogin.body.id}`, { method: 'password', csrf_token: csrfToken, identifier: email, password: newPassword }, { cookie: cookie() });
    expect(loggedIn.res.status, JSON.stringify(loggedIn.body)).toBe(200);
    keep(loggedIn.res);
    const cookieValues = jar.names().map((n) => jar.get(n)!).filter((v) => v.length >= 16);
    expect(cookieValues.length).toBeGreaterThanOrEqual(2);
    const logout = await call('/self-service/logout/browser', { headers: { cookie: cookie() } });
    expect(logout.res.status).toBe(200);
    const logoutToken = String(logout.body.logout_token);
    expect(logoutToken.length).toBeGreaterThan(16);
    const loggedOut = await fetch(String(logout.body.logout_url), { headers: { cookie: cookie(), Accept: 'application/json' }, redirect: 'manual' });
    expect(loggedOut.status).toBe(204);
    expect((await call('/sessions/whoami', { headers: { cookie: cookie() } })).res.status).toBe(401);

    await receiver.waitFor((all) => all.some((s) => s.kind === 2 && JSON.stringify(s.attributes).includes('/self-service/logout'))
      && all.filter((s) => s.name === 'flow.transition verification' && s.attributes['idflow.flow.id'] === verification.body.id).length >= 3
      && all.some((s) => s.name === 'flow.transition settings' && s.attributes['idflow.flow.id'] === settings.body.id));
    await new Promise((resolve) => setTimeout(resolve, 500));
    const exported = receiver.bodies.join('\n');
    // The logout URL's token was redacted, not dropped: the request is there.
    // The requests that carried the logout token (in the URL) and the session token (in the body) were exported.
    const logoutMentions = [...exported.matchAll(/self-service\/logout[^"\\]*/g)].map((m) => m[0]);
    expect(new Set(logoutMentions)).toEqual(new Set(['self-service/logout/browser', 'self-service/logout/api', 'self-service/logout']));
    expect(exported).not.toContain(email);
    expect(exported).not.toContain(newName);
    const secrets = { password, newPassword, sessionToken, csrfToken, logoutToken, ...Object.fromEntries(cookieValues.map((v, i) => [`cookie${i}`, v])) };
    for (const [name, secret] of Object.entries(secrets)) {
      expect(exported.includes(secret), `${name} in exported spans`).toBe(false);
      expect(exported.includes(encodeURIComponent(secret)), `${name} (URL-encoded) in exported spans`).toBe(false);
      expect(stderr.includes(secret), `${name} in the log`).toBe(false);
    }
    expect(exported).not.toContain(`"${code}"`);
    expect(stderr).not.toContain(`"${code}"`);
  });

  it('continues the enqueuing request\'s trace in the HTTP courier\'s request (traceparent), without the message, its code or the URL secret', async () => {
    const email = `courier-${randomBytes(4).toString('hex')}@example.com`;
    const registration = await call('/self-service/registration/api');
    expect((await call(`/self-service/registration?flow=${registration.body.id}`, { method: 'POST', body: JSON.stringify({ method: 'password', traits: { email }, password: `pw-${randomBytes(12).toString('hex')}` }) })).res.status).toBe(200);
    const recovery = await call('/self-service/recovery/api');
    expect(recovery.res.status).toBe(200);
    const tp = traceparent();
    const sent = await call(`/self-service/recovery?flow=${recovery.body.id}`, { method: 'POST', headers: { traceparent: tp.header }, body: JSON.stringify({ method: 'code', email }) });
    expect(sent.res.status).toBe(200);

    const isRecovery = (r: { url: string; body: string }) => r.url.startsWith('/courier') && r.body.includes(email) && r.body.includes('"recovery_code_valid"');
    await receiver.waitFor(() => receiver.requests.some(isRecovery));
    const delivery = receiver.requests.find(isRecovery)!;
    const header = String(delivery.headers.traceparent ?? '');
    expect(header).toMatch(/^00-[0-9a-f]{32}-[0-9a-f]{16}-0[01]$/);
    const [, traceId, spanId] = header.split('-');
    const spans = await receiver.waitFor((all) => all.some((s) => s.spanId === spanId));
    const client = spans.find((s) => s.spanId === spanId)!;
    expect(client.traceId).toBe(traceId);
    expect(client.kind).toBe(3); // CLIENT
    expect(client.scope).toBe('@opentelemetry/instrumentation-http');
    // The delivery continues the trace of the request that queued the message (sent later, by the courier's loop):
    // client span -> courier.deliver -> ... -> the recovery submit's server span -> the caller's span.
    expect(traceId).toBe(tp.traceId);
    const serverSpan = await receiver.waitFor((all) => all.some((s) => s.traceId === tp.traceId && s.kind === 2 && s.parentSpanId === tp.parentId))
      .then((all) => all.find((s) => s.traceId === tp.traceId && s.kind === 2 && s.parentSpanId === tp.parentId)!);
    const chain = ancestors(client, await receiver.waitFor((all) => all.some((s) => s.name === 'courier.deliver' && s.traceId === tp.traceId)));
    expect(chain[0]?.name, chain.map((s) => s.name).join(' <- ')).toBe('courier.deliver');
    expect(chain[0].attributes).toMatchObject({ 'idflow.courier.template_type': 'recovery_code_valid', 'idflow.courier.transport': 'http' });
    expect(chain.map((s) => s.spanId)).toContain(serverSpan.spanId);

    const code = String((JSON.parse(delivery.body) as { recovery_code?: unknown }).recovery_code ?? '');
    expect(code).toMatch(/^\d{6,}$/);
    // The code goes back through the recovery flow, then everything exported and logged is searched for it.
    const submitted = await call(`/self-service/recovery?flow=${recovery.body.id}`, { method: 'POST', body: JSON.stringify({ method: 'code', code }) });
    expect(submitted.res.status).toBeLessThan(500);
    await receiver.waitFor((all) => all.filter((s) => s.name === 'flow.transition recovery' && s.attributes['idflow.flow.id'] === recovery.body.id).length >= 3);
    await new Promise((resolve) => setTimeout(resolve, 500));
    const exported = receiver.bodies.join('\n');
    expect(exported).not.toContain(COURIER_URL_SECRET);
    expect(exported).not.toContain(`"${code}"`);
    const at = exported.indexOf(email);
    expect(at, exported.slice(Math.max(0, at - 600), at + 200)).toBe(-1);
    expect(stderr).not.toContain(COURIER_URL_SECRET);
    expect(stderr).not.toContain(`"${code}"`);
  });
});
