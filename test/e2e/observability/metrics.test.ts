import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from '../../support/server.ts';

const UUID = /[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/i;

interface Sample { name: string; labels: Record<string, string>; value: number }

/** Parses the Prometheus text exposition into samples (enough for the format prom-client writes). */
function parseExposition(text: string): Sample[] {
  const samples: Sample[] = [];
  for (const line of text.split('\n')) {
    if (!line || line.startsWith('#')) continue;
    const match = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})?\s+(\S+)/.exec(line);
    if (!match) throw new Error(`unparseable exposition line: ${line}`);
    const labels: Record<string, string> = {};
    for (const [, key, value] of (match[2] ?? '').matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g)) labels[key] = value;
    samples.push({ name: match[1], labels, value: Number(match[3]) });
  }
  return samples;
}

describe('GET /admin/metrics/prometheus', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer('memory', { selfservice: { methods: { password: { config: { haveibeenpwned_enabled: false } } } } });
  });
  afterAll(async () => server?.close());

  async function json(path: string, init: RequestInit = {}): Promise<{ status: number; body: Record<string, unknown> }> {
    const res = await fetch(server.publicUrl + path, { ...init, headers: { Accept: 'application/json', 'Content-Type': 'application/json', ...init.headers } });
    return { status: res.status, body: await res.json() as Record<string, unknown> };
  }

  it('exports flow, HTTP, hashing and session metrics after a registration and a login, with no user data in labels', async () => {
    const email = 'scrape-me@example.com';
    const password = 'scrape passphrase 8731';
    const registration = await json('/self-service/registration/api');
    expect(registration.status).toBe(200);
    const registered = await json(`/self-service/registration?flow=${registration.body.id}`, {
      method: 'POST', body: JSON.stringify({ method: 'password', traits: { email }, password }),
    });
    expect(registered.status).toBe(200);
    const login = await json('/self-service/login/api');
    const loggedIn = await json(`/self-service/login?flow=${login.body.id}`, {
      method: 'POST', body: JSON.stringify({ method: 'password', identifier: email, password }),
    });
    expect(loggedIn.status).toBe(200);
    const token = loggedIn.body.session_token as string;
    expect(token).toBeTruthy();
    expect((await json('/sessions/whoami', { headers: { 'X-Session-Token': token } })).status).toBe(200);
    expect((await json('/sessions/whoami', { headers: { 'X-Session-Token': 'not-a-valid-token' } })).status).toBe(401);
    await fetch(`${server.publicUrl}/no/such/route/${crypto.randomUUID()}`);
    // Admin routes, prefixed and legacy unprefixed (rewritten to /admin/...), with ids in the path.
    expect((await fetch(`${server.adminUrl}/admin/identities/${crypto.randomUUID()}`)).status).toBe(404);
    expect((await fetch(`${server.adminUrl}/identities/${crypto.randomUUID()}`)).status).toBe(404);
    expect((await fetch(`${server.adminUrl}/admin/health/alive`)).status).toBe(200);

    const res = await fetch(`${server.adminUrl}/admin/metrics/prometheus`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^text\/plain/);
    const text = await res.text();
    const samples = parseExposition(text);
    const find = (name: string, labels: Record<string, string>) =>
      samples.filter((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v));
    const value = (name: string, labels: Record<string, string>) => find(name, labels).reduce((sum, s) => sum + s.value, 0);

    // default process metrics
    expect(text).toContain('process_cpu_user_seconds_total');
    expect(text).toContain('nodejs_eventloop_lag_seconds');
    // transitions
    expect(value('idflow_flow_transitions_total', { flow: 'registration', from: 'choose_method.awaiting_input', to: 'choose_method.registering', event: 'method.submit' })).toBe(1);
    expect(value('idflow_flow_transitions_total', { flow: 'registration', from: 'choose_method.issuing_session', to: 'passed_challenge', event: 'xstate.done.actor.issueSession' })).toBe(1);
    expect(value('idflow_flow_transitions_total', { flow: 'login', from: 'choose_method.awaiting_input', to: 'choose_method.authenticating', event: 'method.submit' })).toBe(1);
    expect(value('idflow_flow_transitions_total', { flow: 'login', from: 'choose_method.authenticating', to: 'choose_method.issuing_session', event: 'xstate.done.actor.authenticate' })).toBe(1);
    expect(value('idflow_flow_transitions_total', { flow: 'login', from: 'choose_method.issuing_session', to: 'passed_challenge', event: 'xstate.done.actor.issueSession' })).toBe(1);
    // flows started / completed
    expect(value('idflow_flows_started_total', { flow: 'registration', type: 'api' })).toBe(1);
    expect(value('idflow_flows_started_total', { flow: 'login', type: 'api' })).toBe(1);
    expect(value('idflow_flows_completed_total', { flow: 'registration', type: 'api' })).toBe(1);
    expect(value('idflow_flows_completed_total', { flow: 'login', type: 'api' })).toBe(1);
    // HTTP histogram by route template
    expect(value('idflow_http_request_duration_seconds_count', { method: 'POST', route: '/self-service/login', status_code: '200' })).toBe(1);
    expect(value('idflow_http_request_duration_seconds_count', { method: 'GET', route: '/self-service/login/api', status_code: '200' })).toBe(1);
    expect(value('idflow_http_request_duration_seconds_count', { method: 'POST', route: '/self-service/registration', status_code: '200' })).toBe(1);
    expect(value('idflow_http_request_duration_seconds_count', { method: 'GET', route: '/sessions/whoami', status_code: '401' })).toBe(1);
    expect(value('idflow_http_request_duration_seconds_count', { route: 'unmatched', status_code: '404' })).toBe(1);
    expect(find('idflow_http_request_duration_seconds_bucket', { method: 'POST', route: '/self-service/login', le: '+Inf' })).toHaveLength(1);
    expect(value('idflow_http_request_duration_seconds_count', { method: 'GET', route: '/admin/identities/:id', status_code: '404' })).toBe(2);
    expect(value('idflow_http_request_duration_seconds_count', { method: 'GET', route: '/admin/health/alive', status_code: '200' })).toBe(1);
    // password hashing: one hash at registration, one verify at login
    expect(value('idflow_password_hash_duration_seconds_count', { operation: 'hash' })).toBeGreaterThan(0);
    expect(value('idflow_password_hash_duration_seconds_count', { operation: 'verify' })).toBeGreaterThan(0);
    // session checks
    expect(value('idflow_session_checks_total', { result: 'valid' })).toBe(1);
    expect(value('idflow_session_checks_total', { result: 'invalid' })).toBe(1);
    // courier series are exported (help/type lines at least)
    expect(text).toContain('# TYPE idflow_courier_messages gauge');
    expect(text).toContain('# TYPE idflow_courier_deliveries_total counter');

    // No user data in any label value.
    const labelValues = samples.flatMap((s) => Object.values(s.labels));
    for (const v of labelValues) {
      expect(v).not.toContain(email);
      expect(v).not.toContain('scrape-me');
      expect(v).not.toContain(password);
      expect(v).not.toContain(token);
      expect(v).not.toContain('?');
      expect(v).not.toMatch(UUID);
    }
    expect(text).not.toContain(email);
    expect(text).not.toContain(token);
    expect(text).not.toContain(password);
  });

  it('is also served unprefixed, and not on the public port', async () => {
    expect((await fetch(`${server.adminUrl}/metrics/prometheus`)).status).toBe(200);
    expect((await fetch(`${server.publicUrl}/admin/metrics/prometheus`)).status).toBe(404);
  });
});
