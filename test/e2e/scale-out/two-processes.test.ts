/**
 * Scale-out on PostgreSQL: two real `idflow serve` processes (the built CLI) on ONE database, with requests spread
 * over both as a load balancer without sticky routing would. A flow started on one completes on the other (browser,
 * with its cookies and CSRF token, and native); a session revoked through one is refused by the other at once; the
 * lockout counts wrong passwords sent to either; every courier message is sent exactly once although both senders
 * poll the same queue; and both cleanup jobs together delete each expired row once, without a failed run.
 *
 * PostgreSQL only: SQLite is one process's database file (WAL allows one writer; idflow's rate-limit counters live
 * in the process there), so "two replicas on one database" is a PostgreSQL setup.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { testDatabases } from '../../support/databases.ts';
import { runCli, spawnCli } from '../../support/cli.ts';
import { deepMerge, TEST_SECRETS } from '../../support/server.ts';
import { startSmtpServer, FAST_WORKER, type TestSmtpServer } from '../../support/smtp-server.ts';
import { CookieJar } from '../../support/cookie-jar.ts';
import { until } from '../../support/until.ts';
import { defaultConfig } from '../../../config/default-config.ts';
import { openOrm, type Orm } from '../../../src/persistence/orm.ts';
import { CourierDispatch, CourierMessage, Flow, FlowTransition, Session } from '../../../entities/index.ts';

const PASSWORD = 'a scale-out test passphrase 47';
const HOUR = 3_600_000;
const FAILURE_FACTOR = 4;

interface Replica {
  name: string;
  publicUrl: string;
  adminUrl: string;
  child: ChildProcess;
  /** Everything the process wrote to standard error (its JSON log). */
  log(): string;
}

/** Starts `idflow serve --config FILE` and waits for both APIs to listen. */
async function startReplica(name: string, configFile: string): Promise<Replica> {
  const child = spawnCli(['serve', '--dev', '--config', configFile]);
  let stderr = '';
  child.stdout!.resume();
  const urls = await new Promise<{ publicUrl: string; adminUrl: string }>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${name} did not start: ${stderr}`)), 30_000);
    child.stderr!.on('data', (d) => {
      stderr += d;
      const publicUrl = /"msg":"public API listening","address":"([^"]+)"/.exec(stderr)?.[1];
      const adminUrl = /"msg":"admin API listening","address":"([^"]+)"/.exec(stderr)?.[1];
      if (publicUrl && adminUrl) {
        clearTimeout(timer);
        resolve({ publicUrl, adminUrl });
      }
    });
    child.on('exit', (code) => reject(new Error(`${name} exited (${code}): ${stderr}`)));
  });
  return { name, ...urls, child, log: () => stderr };
}

async function stopReplica(replica: Replica | undefined): Promise<void> {
  if (!replica || replica.child.exitCode !== null) return;
  const exited = new Promise((resolve) => replica.child.on('exit', resolve));
  replica.child.kill('SIGTERM');
  await exited;
}

const json = (body: unknown, headers: Record<string, string> = {}): RequestInit => ({
  method: 'POST', headers: { 'content-type': 'application/json', accept: 'application/json', ...headers }, body: JSON.stringify(body),
});

/** The sum of a counter's samples with `label` in the process's Prometheus text. */
async function counter(replica: Replica, name: string, label: string): Promise<number> {
  const text = await (await fetch(`${replica.adminUrl}/admin/metrics/prometheus`)).text();
  let sum = 0;
  for (const line of text.split('\n')) {
    if (line.startsWith(`${name}{`) && line.includes(label)) sum += Number(line.slice(line.lastIndexOf(' ') + 1));
  }
  return sum;
}

const postgresql = testDatabases().find((db) => db.name === 'postgresql');

if (!postgresql) {
  describe.skip('two idflow processes on one PostgreSQL database', () => {
    it('needs TEST_DATABASE_URL: replicas share a PostgreSQL database (a SQLite file has one writing process)', () => undefined);
  });
} else {
  describe('two idflow processes on one PostgreSQL database', () => {
    let smtp: TestSmtpServer;
    let dsn: string;
    let drop: (() => Promise<void>) | undefined;
    let orm: Orm;
    let a: Replica;
    let b: Replica;
    /** Alternates between the replicas, as a round-robin load balancer does. */
    let turn = 0;
    const next = () => (turn++ % 2 === 0 ? a : b);

    beforeAll(async () => {
      smtp = await startSmtpServer();
      const created = await postgresql.create();
      dsn = created.dsn;
      drop = created.drop;
      const migrated = await runCli(['migrate', 'sql', dsn, '--yes']);
      expect(migrated.code, migrated.stderr).toBe(0);
      const dir = mkdtempSync(join(tmpdir(), 'idflow-scale-out-'));
      const configFile = join(dir, 'idflow.yml');
      // JSON is YAML: both replicas read the same file, as two pods read one ConfigMap.
      writeFileSync(configFile, JSON.stringify(deepMerge(defaultConfig(), {
        dsn,
        // Replicas behind one load balancer share its public URL; the anti-CSRF cookie is named after it (as Kratos).
        serve: {
          public: { host: '127.0.0.1', port: 0, base_url: 'http://127.0.0.1:4433/' },
          admin: { host: '127.0.0.1', port: 0 }, ui: { enabled: false },
        },
        secrets: TEST_SECRETS,
        log: { level: 'info', format: 'json' },
        hashers: { algorithm: 'bcrypt', bcrypt: { cost: 4 } },
        selfservice: { methods: { password: { config: { haveibeenpwned_enabled: false } } } },
        courier: { smtp: { connection_uri: smtp.uri(), from_address: 'accounts@idflow.test' }, worker: { ...FAST_WORKER, pull_count: 3 } },
        rate_limit: { enabled: true, lockout: { failure_factor: FAILURE_FACTOR } },
        // Both replicas run the job, often at the same moment; rows younger than an hour are never touched by it.
        database: { cleanup: { interval: '100ms', batch_size: 2, keep_last: '1h' } },
      })));
      [a, b] = await Promise.all([startReplica('a', configFile), startReplica('b', configFile)]);
      orm = await openOrm(dsn);
    }, 90_000);

    afterAll(async () => {
      await Promise.all([stopReplica(a), stopReplica(b)]);
      await orm?.close(true);
      await smtp?.close();
      await drop?.();
    }, 30_000);

    async function identity(label: string): Promise<{ id: string; email: string }> {
      const email = `${label}-${crypto.randomUUID()}@example.com`;
      const res = await fetch(`${next().adminUrl}/admin/identities`, json({ schema_id: 'default', traits: { email }, credentials: { password: { config: { password: PASSWORD } } } }));
      expect(res.status).toBe(201);
      return { id: (await res.json()).id, email };
    }

    /** A native login: the flow from `start`, the password submitted to `finish`. */
    async function nativeLogin(start: Replica, finish: Replica, email: string, password = PASSWORD) {
      const flow = await (await fetch(`${start.publicUrl}/self-service/login/api`, { headers: { accept: 'application/json' } })).json();
      return fetch(`${finish.publicUrl}/self-service/login?flow=${flow.id}`, json({ method: 'password', identifier: email, password }));
    }

    const whoami = (replica: Replica, headers: Record<string, string>) => fetch(`${replica.publicUrl}/sessions/whoami`, { headers: { accept: 'application/json', ...headers } });

    it('completes a browser flow started on one replica on the other, cookies and CSRF token included', async () => {
      // One browser, one cookie jar: both replicas answer on 127.0.0.1, so the browser sends the same cookies to either.
      const jar = new CookieJar();
      const email = `browser-${crypto.randomUUID()}@example.com`;
      const started = await jar.fetch(`${a.publicUrl}/self-service/registration/browser`, { headers: { accept: 'application/json' } });
      expect(started.status).toBe(200);
      const flow = await started.json();
      const csrf = flow.ui.nodes.find((n: { attributes: { name?: string } }) => n.attributes.name === 'csrf_token').attributes.value;
      const fetched = await jar.fetch(`${b.publicUrl}/self-service/registration/flows?id=${flow.id}`, { headers: { accept: 'application/json' } });
      expect(fetched.status, await fetched.clone().text()).toBe(200);
      const done = await jar.fetch(`${b.publicUrl}/self-service/registration?flow=${flow.id}`, json({ method: 'password', csrf_token: csrf, password: PASSWORD, traits: { email } }));
      expect(done.status, await done.clone().text()).toBe(200);
      expect(jar.names().some((n) => n.includes('session'))).toBe(true);
      const me = await whoami(a, { cookie: jar.header() });
      expect(me.status).toBe(200);
      expect((await me.json()).identity.traits.email).toBe(email);

      // A login flow of the same browser, the other way round; a CSRF token of the other flow is refused by either.
      const login = await (await jar.fetch(`${b.publicUrl}/self-service/login/browser?refresh=true`, { headers: { accept: 'application/json' } })).json();
      const loginCsrf = login.ui.nodes.find((n: { attributes: { name?: string } }) => n.attributes.name === 'csrf_token').attributes.value;
      const forged = await jar.fetch(`${a.publicUrl}/self-service/login?flow=${login.id}`, json({ method: 'password', csrf_token: 'not-the-token', identifier: email, password: PASSWORD }));
      expect(forged.status).toBe(403);
      const loggedIn = await jar.fetch(`${a.publicUrl}/self-service/login?flow=${login.id}`, json({ method: 'password', csrf_token: loginCsrf, identifier: email, password: PASSWORD }));
      expect(loggedIn.status, await loggedIn.clone().text()).toBe(200);
      expect((await (await whoami(b, { cookie: jar.header() })).json()).authentication_methods).toHaveLength(2);
    });

    it('completes a native flow started on one replica on the other', async () => {
      const { email } = await identity('native');
      const res = await nativeLogin(a, b, email);
      expect(res.status).toBe(200);
      const { session_token: token } = await res.json();
      expect((await whoami(a, { 'x-session-token': token })).status).toBe(200);
      expect((await whoami(b, { 'x-session-token': token })).status).toBe(200);
    });

    it('refuses a session revoked on one replica at once on the other, however often it was asked before', async () => {
      const { id, email } = await identity('revoke');
      const tokens: string[] = [];
      for (let i = 0; i < 3; i++) tokens.push((await (await nativeLogin(next(), next(), email)).json()).session_token);
      // Warm both replicas: whoami is polled; what the last answer looked like must not decide the next one.
      for (const token of tokens) for (let i = 0; i < 5; i++) expect((await whoami(next(), { 'x-session-token': token })).status).toBe(200);

      // Logout through A; B's very next whoami refuses the token.
      expect((await fetch(`${a.publicUrl}/self-service/logout/api`, { method: 'DELETE', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ session_token: tokens[0] }) })).status).toBe(204);
      expect((await whoami(b, { 'x-session-token': tokens[0] })).status).toBe(401);

      // An administrator revokes through B's admin API; A refuses at once.
      const session = await (await whoami(a, { 'x-session-token': tokens[1] })).json();
      expect((await fetch(`${b.adminUrl}/admin/sessions/${session.id}`, { method: 'DELETE' })).status).toBe(204);
      expect((await whoami(a, { 'x-session-token': tokens[1] })).status).toBe(401);

      // Disabling the identity through A ends its remaining session on B at once.
      expect((await whoami(b, { 'x-session-token': tokens[2] })).status).toBe(200);
      const patched = await fetch(`${a.adminUrl}/admin/identities/${id}`, { method: 'PATCH', headers: { 'content-type': 'application/json' }, body: JSON.stringify([{ op: 'replace', path: '/state', value: 'inactive' }]) });
      expect(patched.status).toBe(200);
      expect((await whoami(b, { 'x-session-token': tokens[2] })).status).toBe(401);
    });

    it('locks an identifier out after wrong passwords spread over both replicas (shared counters)', async () => {
      const { email } = await identity('lockout');
      for (let i = 0; i < FAILURE_FACTOR; i++) {
        expect((await nativeLogin(next(), next(), email, `wrong password ${i}`)).status).toBe(400);
      }
      const locked = await nativeLogin(a, a, email, 'yet another wrong one');
      expect(locked.status).toBe(429);
      // The right password waits too, on either replica.
      expect((await nativeLogin(a, a, email)).status).toBe(429);
      expect((await nativeLogin(b, b, email)).status).toBe(429);
    });

    it('sends every courier message exactly once although both senders poll the same queue', async () => {
      // What earlier tests queued (the verification mail of the browser sign-up) is delivered first, then counted off.
      const earlier = await until(() => orm.em.fork().find(CourierMessage, {}), (all) => all.every((m) => m.status === 'sent'), 20_000, 'earlier mail');
      const earlierMails = smtp.mails.length;
      const earlierDispatches = await orm.em.fork().count(CourierDispatch, {});
      expect(earlierMails).toBe(earlier.length);
      // A backlog both senders race for, written straight into the outbox …
      const now = new Date();
      const em = orm.em.fork();
      const backlog: string[] = [];
      for (let i = 0; i < 18; i++) {
        const id = crypto.randomUUID();
        backlog.push(id);
        em.create(CourierMessage, {
          id, type: 'email', status: 'queued', recipient: `backlog-${i}@example.com`, subject: `backlog ${i}`, body: `message ${i}`,
          templateType: 'stub', sendCount: 0, nextAttemptAt: now, createdAt: now, updatedAt: now,
        });
      }
      await em.flush();
      // … and recovery codes asked for through both replicas meanwhile.
      const people = await Promise.all(Array.from({ length: 6 }, (_, i) => identity(`courier-${i}`)));
      await Promise.all(people.map(async ({ email }) => {
        const flow = await (await fetch(`${next().publicUrl}/self-service/recovery/api`, { headers: { accept: 'application/json' } })).json();
        const sent = await fetch(`${next().publicUrl}/self-service/recovery?flow=${flow.id}`, json({ method: 'code', email }));
        expect(sent.status).toBe(200);
      }));
      const total = earlier.length + backlog.length + people.length;
      await smtp.waitForMails(total, 20_000);
      const rows = await until(
        async () => (await orm.em.fork().find(CourierMessage, {})).map((m) => ({ status: m.status, sendCount: m.sendCount })),
        (all) => all.length === total && all.every((m) => m.status === 'sent'),
        20_000, 'every message to be sent',
      );
      // Once each: one attempt per row, one dispatch per row, one mail per Message-ID and per recipient.
      expect(rows.map((m) => m.sendCount)).toEqual(rows.map(() => 1));
      expect(await orm.em.fork().count(CourierDispatch, {})).toBe(earlierDispatches + backlog.length + people.length);
      expect(smtp.mails).toHaveLength(total);
      expect([...smtp.messageIdCounts().values()].every((n) => n === 1)).toBe(true);
      expect(new Set(smtp.mails.slice(earlierMails).flatMap((m) => m.envelope.to)).size).toBe(backlog.length + people.length);
    }, 60_000);

    it('runs the cleanup job on both replicas without deleting a row twice or failing a run', async () => {
      const old = new Date(Date.now() - 2 * HOUR);
      const { email } = await identity('cleanup');
      for (let i = 0; i < 6; i++) expect((await nativeLogin(next(), next(), email, i % 2 ? PASSWORD : 'a wrong one')).status).toBeLessThan(500);
      const counted = { flows: 0, transitions: 0, sessions: 0, mails: 0 };
      const mails = 24;
      const fork = orm.em.fork();
      // Delivered two hours ago: older than keep_last.
      for (let i = 0; i < mails; i++) {
        fork.create(CourierMessage, {
          id: crypto.randomUUID(), type: 'email', status: 'sent', recipient: `old-${i}@example.com`, subject: 's', body: 'b',
          templateType: 'stub', sendCount: 1, nextAttemptAt: old, createdAt: old, updatedAt: old,
        });
      }
      // Everything at once, so both jobs find work on their next tick.
      await fork.transactional(async (tx) => {
        await tx.flush();
        counted.flows = await tx.nativeUpdate(Flow, {}, { expiresAt: old });
        counted.transitions = await tx.count(FlowTransition, {});
        counted.sessions = await tx.nativeUpdate(Session, {}, { expiresAt: old });
      });
      counted.mails = mails;
      expect(counted.flows).toBeGreaterThan(10);
      expect(counted.transitions).toBeGreaterThan(0);

      const deleted = async (table: string) => (await counter(a, 'idflow_cleanup_deleted_rows_total', `table="${table}"`)) + (await counter(b, 'idflow_cleanup_deleted_rows_total', `table="${table}"`));
      await until(async () => ({
        flows: await orm.em.fork().count(Flow, {}),
        sessions: await orm.em.fork().count(Session, {}),
        mails: await orm.em.fork().count(CourierMessage, { status: 'sent', updatedAt: { $lt: new Date(Date.now() - HOUR) } }),
      }), (left) => left.flows === 0 && left.sessions === 0 && left.mails === 0, 30_000, 'the expired rows to be deleted');

      // Each row counted once across the two processes: no run deleted what the other had deleted.
      expect({
        flows: await deleted('selfservice_flows'),
        transitions: await deleted('selfservice_flow_transitions'),
        sessions: await deleted('sessions'),
        mails: await deleted('courier_messages'),
      }).toEqual(counted);
      for (const replica of [a, b]) {
        expect(replica.log()).toContain('database cleanup finished');
        expect(replica.log()).not.toContain('database cleanup failed');
      }
    }, 60_000);
  });
}
