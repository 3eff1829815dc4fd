/**
 * Issue 15, "Brute force and rate limiting" (src/ratelimit/): a lockout per identifier with Keycloak's defaults,
 * atomic under 50 parallel guesses (Keycloak CVE-2024-4629), the same for identifiers nobody has, a correct password
 * refused during the wait; limits per client address that spoofed X-Forwarded-For headers do not evade and that
 * trusted proxies may name (IPv6 counted by /64); limits on codes sent per address and on admin imports; 429 with
 * Retry-After and a Kratos-shaped body; counters shared by two replicas on one PostgreSQL database and on Redis.
 * Windows and waits are passed with the server's clock, never by sleeping.
 */
import { spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { createConnection } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { until } from '../../support/until.ts';
import { testDatabases } from '../../support/databases.ts';
import { deepMerge, startTestServer, type Overlay, type TestServer } from '../../support/server.ts';
import { expectResponse } from '../../support/openapi.ts';
import { loadConfig } from '../../../config/load-config.ts';
import { freePort } from '../../support/free-port.ts';

type Json = any;

const PASSWORD = 'correct horse battery staple';
const BASE: Overlay = {
  hashers: { algorithm: 'argon2', argon2: { memory: '2MB', iterations: 1, parallelism: 1 } },
  selfservice: { methods: { password: { config: { haveibeenpwned_enabled: false } } } },
  rate_limit: { enabled: true },
};
const MINUTE = 60_000;
const REDIS_URL = process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379/0';
const random = () => Math.random().toString(36).slice(2, 10);
const email = (tag: string) => `${tag}.${random()}@example.com`;

interface Answer { status: number; body: Json; retryAfter: number | undefined }

async function post(url: string, body: unknown, headers: Record<string, string> = {}): Promise<Answer> {
  const res = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json', accept: 'application/json', ...headers }, body: JSON.stringify(body) });
  const retry = res.headers.get('retry-after');
  return { status: res.status, body: await res.json(), retryAfter: retry === null ? undefined : Number(retry) };
}

async function loginFlow(server: TestServer): Promise<string> {
  return (await server.frontendApi.createNativeLoginFlow()).id;
}

async function login(server: TestServer, identifier: string, password: string, headers: Record<string, string> = {}, flowId?: string): Promise<Answer> {
  const flow = flowId ?? await loginFlow(server);
  return post(`${server.publicUrl}/self-service/login?flow=${flow}`, { method: 'password', identifier, password }, headers);
}

async function createIdentity(server: TestServer, address: string): Promise<void> {
  const res = await post(`${server.adminUrl}/admin/identities`, { schema_id: 'default', traits: { email: address }, credentials: { password: { config: { password: PASSWORD } } } });
  expect(res.status, JSON.stringify(res.body)).toBe(201);
}

/** 50 wrong passwords at once, each on its own flow (so no flow's optimistic lock serialises them). */
async function parallelGuesses(server: TestServer, identifier: string, count = 50): Promise<number[]> {
  const flows = await Promise.all(Array.from({ length: count }, () => loginFlow(server)));
  const answers = await Promise.all(flows.map((flow, i) => login(server, identifier, `wrong guess ${i}`, {}, flow)));
  return answers.map((a) => a.status);
}

const canConnect = (port: number) => new Promise<boolean>((resolve) => {
  const socket = createConnection({ port, host: '127.0.0.1' }, () => {
    socket.destroy();
    resolve(true);
  });
  socket.on('error', () => resolve(false));
});

const tally = (statuses: number[]) => statuses.reduce<Record<number, number>>((acc, s) => ({ ...acc, [s]: (acc[s] ?? 0) + 1 }), {});

function expectLimited(answer: Answer, maxSeconds: number): void {
  expect(answer.status, JSON.stringify(answer.body)).toBe(429);
  expectResponse('updateLoginFlow', 429, answer.body);
  expect(answer.retryAfter).toBeGreaterThan(0);
  expect(answer.retryAfter).toBeLessThanOrEqual(maxSeconds);
  expect(answer.body.error).toMatchObject({ code: 429, status: 'Too Many Requests', details: { retry_after: answer.retryAfter } });
  expect(answer.body.error.id).toBeUndefined();
}

async function rateLimitedMetric(server: TestServer, action: string, scope: string): Promise<number> {
  const text = await (await fetch(`${server.adminUrl}/admin/metrics/prometheus`)).text();
  const line = text.split('\n').find((l) => l.startsWith(`idflow_rate_limited_total{action="${action}",scope="${scope}"}`));
  return line ? Number(line.split(' ').pop()) : 0;
}

describe('rate_limit defaults', () => {
  it('are on, with Keycloak\'s brute-force defaults for the lockout, and trust no proxy', () => {
    const { config } = loadConfig({ env: {}, dev: true, overrides: { dsn: 'memory', secrets: { cookie: ['x'.repeat(32)], cipher: ['0123456789abcdef0123456789abcdef'] } } });
    expect(config.rate_limit).toMatchObject({
      enabled: true,
      lockout: { failure_factor: 30, wait_increment: '1m', max_wait: '15m', failure_reset: '12h' },
      login: { per_ip: { limit: 100, window: '10m' } },
      send: { per_address: { limit: 10, window: '1h' }, per_ip: { limit: 50, window: '1h' } },
      registration: { per_ip: { limit: 50, window: '10m' }, per_identifier: { limit: 10, window: '1h' } },
      code: { per_ip: { limit: 100, window: '10m' }, per_address: { limit: 20, window: '1h' } },
    });
    expect(config.rate_limit.redis_url).toBeUndefined();
    expect(config.serve.public.trusted_proxies).toEqual([]);
  });
});

for (const db of testDatabases()) {
  describe(`rate limits and lockout (${db.name})`, () => {
    const servers: TestServer[] = [];
    const dsns: string[] = [];
    const drops: Array<() => Promise<void>> = [];
    /** A server on a database of its own (on PostgreSQL, servers on one database share their counters), or on `dsn`. */
    const start = async (overlay: Overlay = {}, dsn?: string) => {
      let target = dsn;
      if (!target) {
        const created = await db.create();
        drops.push(created.drop);
        target = created.dsn;
      }
      const server = await startTestServer(target, deepMerge(BASE, overlay));
      servers.push(server);
      dsns.push(target);
      return server;
    };

    afterAll(async () => {
      for (const server of servers) await server.close();
      for (const drop of drops) await drop();
    });

    it('locks an identifier after 30 failures (Keycloak defaults): 50 parallel guesses check exactly 30, the right password then waits 60 s', async () => {
      // The lockout's defaults; the failures-per-address budget (100 per 10 min) is lifted for the tests that use this server.
      const server = await start({ rate_limit: { login: { per_ip: { limit: 100_000 } } } });
      const known = email('known');
      await createIdentity(server, known);
      const before = await rateLimitedMetric(server, 'login', 'identifier');

      expect(tally(await parallelGuesses(server, known))).toEqual({ 400: 30, 429: 20 });
      const locked = await login(server, known, PASSWORD);
      expectLimited(locked, 60);
      expect(await rateLimitedMetric(server, 'login', 'identifier')).toBe(before + 21);

      // Another spelling of the identifier is the same identifier.
      expectLimited(await login(server, `  ${known.toUpperCase()} `, PASSWORD), 60);

      server.clock.advance(MINUTE);
      const after = await login(server, known, PASSWORD);
      expect(after.status, JSON.stringify(after.body)).toBe(200);
      // The success forgot every failure: the next wrong password is an ordinary one.
      expect((await login(server, known, 'wrong again')).status).toBe(400);
      expect((await login(server, known, PASSWORD)).status).toBe(200);
    });

    it('locks an identifier nobody has the same way, with the same answer', async () => {
      const server = servers[0];
      const known = email('known');
      await createIdentity(server, known);
      const unknown = email('nobody');
      const [k, u] = await Promise.all([parallelGuesses(server, known), parallelGuesses(server, unknown)]);
      expect(tally(k)).toEqual({ 400: 30, 429: 20 });
      expect(tally(u)).toEqual({ 400: 30, 429: 20 });
      const a = await login(server, known, PASSWORD);
      const b = await login(server, unknown, PASSWORD);
      expectLimited(a, 60);
      expectLimited(b, 60);
      const shape = (x: Answer) => JSON.stringify(x.body).replace(/\d+/g, 'N');
      expect(shape(a)).toBe(shape(b));
    });

    it('makes each further failure wait longer, wait_increment × failures / failure_factor, up to max_wait', async () => {
      const server = await start({ rate_limit: { lockout: { failure_factor: 3, wait_increment: '1m', max_wait: '150s' } } });
      const known = email('progressive');
      await createIdentity(server, known);
      for (let i = 0; i < 3; i++) expect((await login(server, known, 'wrong')).status).toBe(400);
      const waits: number[] = [];
      for (let failure = 4; failure <= 9; failure++) {
        const refused = await login(server, known, PASSWORD);
        expect(refused.status, `before failure ${failure}`).toBe(429);
        waits.push(refused.retryAfter!);
        server.clock.advance(refused.retryAfter! * 1000);
        expect((await login(server, known, 'wrong')).status, `failure ${failure}`).toBe(400);
      }
      // Waits after failures 3..8: 60 s (3-5), 120 s (6-8); then capped at 150 s after failure 9. A wait ends on a whole
      // second (rounded down), so Retry-After may be one second less.
      const expected = [60, 60, 60, 120, 120, 120];
      waits.forEach((wait, i) => expect(wait, `wait ${i}`).toBeOneOf([expected[i], expected[i] - 1]));
      const last = await login(server, known, PASSWORD);
      expect(last.retryAfter).toBeOneOf([150, 149]);
      server.clock.advance(last.retryAfter! * 1000);
      expect((await login(server, known, PASSWORD)).status).toBe(200);
    });

    it('limits failed logins per client address; spoofed X-Forwarded-For headers change nothing', async () => {
      const server = await start({ rate_limit: { login: { per_ip: { limit: 5, window: '10m' } } } });
      const statuses: number[] = [];
      for (let i = 0; i < 6; i++) {
        statuses.push((await login(server, email('stuffing'), 'password123', { 'X-Forwarded-For': `203.0.113.${i + 1}`, 'X-Real-IP': `198.51.100.${i}` })).status);
      }
      expect(statuses).toEqual([400, 400, 400, 400, 400, 429]);
      expect(await rateLimitedMetric(server, 'login', 'ip')).toBe(1);
      // Successful logins are not failures.
      server.clock.advance(10 * MINUTE);
      const known = email('good');
      await createIdentity(server, known);
      for (let i = 0; i < 6; i++) expect((await login(server, known, PASSWORD)).status).toBe(200);
      for (let i = 0; i < 5; i++) expect((await login(server, email('stuffing'), 'password123')).status).toBe(400);
      expectLimited(await login(server, known, PASSWORD), 600);
    });

    it('believes X-Forwarded-For only from trusted proxies, and counts IPv6 clients by /64 and every spelling of an address as one', async () => {
      const server = await start({
        serve: { public: { trusted_proxies: ['127.0.0.1'] } },
        rate_limit: { login: { per_ip: { limit: 3, window: '10m' } } },
      });
      const from = (client: string) => ({ 'X-Forwarded-For': client });
      // Distinct clients behind the proxy each have their own budget.
      for (let i = 1; i <= 6; i++) expect((await login(server, email('proxied'), 'password123', from(`203.0.113.${i}`))).status).toBe(400);
      // One IPv6 /64 is one client, however its addresses are written.
      const spellings = ['2001:db8:1:2::1', '2001:DB8:1:2:0:0:0:ffff', '2001:0db8:0001:0002:abcd::7'];
      for (const client of spellings) expect((await login(server, email('v6'), 'password123', from(client))).status).toBe(400);
      expect((await login(server, email('v6'), 'password123', from('2001:db8:1:2::99'))).status).toBe(429);
      expect((await login(server, email('v6'), 'password123', from('2001:db8:1:3::1'))).status).toBe(400);
      // An IPv4-mapped IPv6 address is its IPv4 address.
      for (let i = 0; i < 3; i++) expect((await login(server, email('v4'), 'password123', from('198.51.100.7'))).status).toBe(400);
      expect((await login(server, email('v4'), 'password123', from('::ffff:198.51.100.7'))).status).toBe(429);
      // A client prepending its own entries does not move out of its bucket: the right-most untrusted one counts.
      expect((await login(server, email('v4'), 'password123', from('192.0.2.1, 198.51.100.7'))).status).toBe(429);
    });

    it('limits codes sent to one address (known or not) and per client address; refused sends queue nothing', async () => {
      const server = await start({
        selfservice: { flows: { recovery: { enabled: true, use: 'code' } } },
        rate_limit: { send: { per_address: { limit: 2, window: '1h' }, per_ip: { limit: 5, window: '1h' } } },
      });
      const known = email('mailbomb');
      await createIdentity(server, known);
      const send = async (address: string) => {
        const flow = await server.frontendApi.createNativeRecoveryFlow();
        return post(`${server.publicUrl}/self-service/recovery?flow=${flow.id}`, { method: 'code', email: address });
      };
      const queued = async () => (await (await fetch(`${server.adminUrl}/admin/courier/messages`)).json()).length as number;
      const unknown = email('nobody');
      expect((await send(known)).status).toBe(200);
      expect((await send(known)).status).toBe(200);
      expect((await send(unknown)).status).toBe(200);
      expect((await send(unknown)).status).toBe(200);
      const messages = await queued();
      const [a, b] = [await send(known), await send(unknown)];
      expect(a.status).toBe(429);
      expect(b.status).toBe(429);
      expect(JSON.stringify(a.body).replace(/\d+/g, 'N')).toBe(JSON.stringify(b.body).replace(/\d+/g, 'N'));
      expect(await queued()).toBe(messages);
      // The fifth send from this client is its last this hour, whatever the address.
      expect((await send(email('other'))).status).toBe(200);
      expect((await send(email('other'))).status).toBe(429);
      server.clock.advance(60 * MINUTE);
      expect((await send(known)).status).toBe(200);
    });

    it('limits sign-ups per identifier, whatever its spelling: a taken address\'s owner gets a bounded number of mails', async () => {
      const server = await start({
        selfservice: { flows: { verification: { enabled: true, use: 'code' } } },
        rate_limit: { registration: { per_identifier: { limit: 2, window: '1h' } } },
      });
      const taken = email('signup');
      await createIdentity(server, taken);
      const signUp = async (address: string) => {
        const flow = await server.frontendApi.createNativeRegistrationFlow();
        return post(`${server.publicUrl}/self-service/registration?flow=${flow.id}`, { method: 'password', traits: { email: address }, password: `${PASSWORD} ${random()}` });
      };
      // Profile-first's traits screen hashes nothing and mails nobody: not counted per identifier.
      for (let i = 0; i < 3; i++) {
        const flow = await server.frontendApi.createNativeRegistrationFlow();
        expect((await post(`${server.publicUrl}/self-service/registration?flow=${flow.id}`, { method: 'profile', traits: { email: taken } })).status).not.toBe(429);
      }
      expect((await signUp(taken)).status).toBe(200);
      expect((await signUp(taken.toUpperCase())).status).toBe(200);
      const refused = await signUp(` ${taken} `);
      expect(refused.status).toBe(429);
      expectResponse('updateRegistrationFlow', 429, refused.body);
      const mails = await (await fetch(`${server.adminUrl}/admin/courier/messages?recipient=${encodeURIComponent(taken)}`)).json();
      expect(mails.map((m: Json) => m.template_type)).toEqual(['registration_attempted', 'registration_attempted']);
      // Per identifier, not per client: another address from the same client still signs up.
      expect((await signUp(email('other'))).status).toBe(200);
      expect(await rateLimitedMetric(server, 'registration', 'identifier')).toBe(1);
      server.clock.advance(60 * MINUTE);
      expect((await signUp(taken)).status).toBe(200);
    });

    it('limits wrong codes per address across flows; other addresses are not affected', async () => {
      const server = await start({
        selfservice: { flows: { recovery: { enabled: true, use: 'code' } } },
        rate_limit: { code: { per_address: { limit: 3, window: '1h' } } },
      });
      const target = email('codes');
      const other = email('bystander');
      await createIdentity(server, target);
      await createIdentity(server, other);
      const sendCode = async (address: string) => {
        const flow = await server.frontendApi.createNativeRecoveryFlow();
        expect((await post(`${server.publicUrl}/self-service/recovery?flow=${flow.id}`, { method: 'code', email: address })).status).toBe(200);
        return flow.id;
      };
      const submit = (flowId: string, code: string) => post(`${server.publicUrl}/self-service/recovery?flow=${flowId}`, { method: 'code', code });
      const [first, second] = [await sendCode(target), await sendCode(target)];
      const r0 = await submit(first, '000000');
      expect(r0.status, JSON.stringify(r0.body)).toBe(200);
      expect((await submit(first, '000001')).status).toBe(200);
      expect((await submit(second, '000002')).status).toBe(200);
      // The fourth wrong code for this address, in a flow that has seen none.
      const refused = await submit(second, '000003');
      expect(refused.status).toBe(429);
      expectResponse('updateRecoveryFlow', 429, refused.body);
      expect(await rateLimitedMetric(server, 'code', 'address')).toBe(1);
      // Another address's flow from the same client is not affected.
      expect((await submit(await sendCode(other), '000004')).status).toBe(200);
      server.clock.advance(60 * MINUTE);
      expect((await submit(await sendCode(target), '000005')).status).toBe(200);
    });

    it('limits identities created through the admin API per client address, batches counted per identity', async () => {
      const server = await start({ rate_limit: { admin: { per_ip: { limit: 4, window: '1m' } } } });
      const create = () => post(`${server.adminUrl}/admin/identities`, { schema_id: 'default', traits: { email: email('admin') } });
      expect((await create()).status).toBe(201);
      const batch = (n: number) => fetch(`${server.adminUrl}/admin/identities`, {
        method: 'PATCH', headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ identities: Array.from({ length: n }, () => ({ create: { schema_id: 'default', traits: { email: email('batch') } } })) }),
      });
      expect((await batch(4)).status).toBe(429);
      expect((await batch(3)).status).toBe(200);
      const refused = await create();
      expect(refused.status).toBe(429);
      expect(refused.retryAfter).toBeGreaterThan(0);
      expect(refused.retryAfter).toBeLessThanOrEqual(60);
      server.clock.advance(MINUTE);
      expect((await create()).status).toBe(201);
    });

    it('sends HTML browsers of a browser flow to the error UI with the 429', async () => {
      const server = servers[0];
      const known = email('browser');
      await createIdentity(server, known);
      expect(tally(await parallelGuesses(server, known, 31))).toEqual({ 400: 30, 429: 1 });
      const created = await fetch(`${server.publicUrl}/self-service/login/browser`, { headers: { accept: 'application/json' } });
      const cookie = created.headers.getSetCookie().map((c) => c.split(';')[0]).join('; ');
      const flow = await created.json();
      const csrf = flow.ui.nodes.find((n: Json) => n.attributes.name === 'csrf_token').attributes.value;
      const form = new URLSearchParams({ method: 'password', identifier: known, password: PASSWORD, csrf_token: csrf });
      const res = await fetch(`${server.publicUrl}/self-service/login?flow=${flow.id}`, {
        method: 'POST', redirect: 'manual', headers: { cookie, 'content-type': 'application/x-www-form-urlencoded', accept: 'text/html' }, body: form.toString(),
      });
      expect(res.status).toBe(303);
      const location = new URL(res.headers.get('location')!);
      const stored = await (await fetch(`${server.publicUrl}/self-service/errors?id=${location.searchParams.get('id')}`)).json();
      expect(stored.error).toMatchObject({ code: 429, status: 'Too Many Requests' });
      // A JSON client of the same browser flow gets the error itself.
      const json = await post(`${server.publicUrl}/self-service/login?flow=${flow.id}`, { method: 'password', identifier: known, password: PASSWORD, csrf_token: csrf }, { cookie });
      expectLimited(json, 60);
    });

    if (db.name === 'postgresql') {
      it('shares counters between two replicas on one database', async () => {
        // Two fresh servers, so their clocks agree (as replicas' clocks do).
        const a = await start();
        const b = await start({}, dsns[dsns.length - 1]);
        const known = email('replicas');
        await createIdentity(a, known);
        const statuses = await Promise.all(Array.from({ length: 40 }, async (_, i) => (await login(i % 2 === 0 ? a : b, known, `wrong ${i}`)).status));
        expect(tally(statuses)).toEqual({ 400: 30, 429: 10 });
        expectLimited(await login(b, known, PASSWORD), 60);
        expectLimited(await login(a, known, PASSWORD), 60);
      });
    }
  });
}

describe('rate limits on Redis (rate_limit.redis_url)', () => {
  const servers: TestServer[] = [];
  afterAll(async () => {
    for (const server of servers) await server.close();
  });

  it('shares atomic counters between two processes-worth of servers on SQLite', async () => {
    const prefix = `idflow-test:${random()}:`;
    const overlay = deepMerge(BASE, { rate_limit: { redis_url: REDIS_URL, redis_key_prefix: prefix } });
    const a = await startTestServer('memory', overlay);
    servers.push(a);
    const b = await startTestServer('memory', overlay);
    servers.push(b);
    const known = email('redis');
    await createIdentity(a, known);
    await createIdentity(b, known);
    const flows = await Promise.all(Array.from({ length: 50 }, (_, i) => loginFlow(i % 2 === 0 ? a : b)));
    const statuses = await Promise.all(flows.map((flow, i) => login(i % 2 === 0 ? a : b, known, `wrong ${i}`, {}, flow).then((r) => r.status)));
    expect(tally(statuses)).toEqual({ 400: 30, 429: 20 });
    expectLimited(await login(a, known, PASSWORD), 60);
    expectLimited(await login(b, known, PASSWORD), 60);
    // The wait is kept in idflow's clock: each server passes it when its clock does.
    a.clock.advance(MINUTE);
    expect((await login(a, known, PASSWORD)).status).toBe(200);
  });

  it('answers 503 (Kratos-shaped, Retry-After) while Redis is away at runtime, and works again once it is back', { timeout: 60_000 }, async () => {
    // A redis-server of this test's own on a free port, stopped and started again (the shared one stays up).
    const port = await freePort();
    const dir = await mkdtemp(join(tmpdir(), 'idflow-redis-'));
    const startRedis = async () => {
      const child = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', dir], { stdio: 'ignore' });
      await until(() => canConnect(port), (ok) => ok, 10_000, 'redis-server to listen');
      return child;
    };
    let redis = await startRedis();
    try {
      const server = await startTestServer('memory', deepMerge(BASE, { rate_limit: { redis_url: `redis://127.0.0.1:${port}/0` } }));
      servers.push(server);
      const known = email('outage');
      await createIdentity(server, known);
      expect((await login(server, known, PASSWORD)).status).toBe(200);

      redis.kill('SIGKILL');
      await new Promise((resolve) => redis.once('exit', resolve));
      const refused = await login(server, known, PASSWORD);
      expect(refused.status, JSON.stringify(refused.body)).toBe(503);
      expectResponse('updateLoginFlow', 503, refused.body);
      expect(refused.body.error).toMatchObject({ code: 503, status: 'Service Unavailable', details: { retry_after: 5 } });
      expect(refused.retryAfter).toBe(5);
      const flow = await server.frontendApi.createNativeRegistrationFlow();
      expect((await post(`${server.publicUrl}/self-service/registration?flow=${flow.id}`, { method: 'password', traits: { email: email('new') }, password: `${PASSWORD} ${random()}` })).status).toBe(503);
      expect(await rateLimitedMetric(server, 'login', 'unavailable')).toBeGreaterThanOrEqual(1);

      redis = await startRedis();
      // ioredis reconnects by itself (its back-off is at most 2 s): logins are checked and answered again.
      const back = await until(() => login(server, known, PASSWORD), (a) => a.status !== 503, 20_000, 'a login after Redis returned');
      expect(back.status).toBe(200);
    } finally {
      redis.kill('SIGKILL');
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('refuses to start when Redis can not be reached, naming the key', async () => {
    await expect(startTestServer('memory', deepMerge(BASE, { rate_limit: { redis_url: 'redis://127.0.0.1:1/0' } }))).rejects.toThrow(/rate_limit\.redis_url/);
  });
});
