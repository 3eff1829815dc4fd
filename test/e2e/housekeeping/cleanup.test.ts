/**
 * Deleting what expired (`idflow cleanup sql`, Kratos's `kratos cleanup sql`, and the in-process job): rows older than
 * the cut-off go — flows with their transition history, codes, token exchanges, sessions, delivered mail — newer rows
 * and undelivered mail stay. Through the real CLI process and through the job, on SQLite and PostgreSQL.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sqliteFile, testDatabases } from '../../support/databases.ts';
import { startTestServer, type TestServer } from '../../support/server.ts';
import { runCli } from '../../support/cli.ts';
import { startCleanupJob } from '../../../src/persistence/cleanup-job.ts';
import {
  CourierMessage, Flow, FlowTransition, SelfServiceCode, Session, SessionTokenExchange,
} from '../../../entities/index.ts';

const PASSWORD = 'a cleanup test passphrase 31';
const HOUR = 3_600_000;

// The CLI is another process: SQLite runs on a file both can open.
const databases = testDatabases().map((db) => (db.name === 'sqlite' ? sqliteFile : db));

for (const db of databases) {
  describe(`cleanup of expired rows (${db.name})`, () => {
    let server: TestServer;
    let dsn: string;
    let drop: () => Promise<void>;

    beforeAll(async () => {
      const created = await db.create();
      dsn = created.dsn;
      drop = created.drop;
      server = await startTestServer(dsn, { selfservice: { methods: { password: { config: { haveibeenpwned_enabled: false } } } } });
    });
    afterAll(async () => {
      await server?.close();
      await drop?.();
    });

    const em = () => server.orm.em.fork();
    const ago = (hours: number) => new Date(Date.now() - hours * HOUR);

    /** Two of everything: one that ended `oldHours` ago, one that ends in the future. Returns the ids. */
    async function seed(oldHours: number) {
      const email = `cleanup-${crypto.randomUUID()}@example.com`;
      const identity = await server.identityApi.createIdentity({ createIdentityBody: { schema_id: 'default', traits: { email }, credentials: { password: { config: { password: PASSWORD } } } } });
      const flows: string[] = [];
      for (let i = 0; i < 2; i++) {
        const flow = await server.frontendApi.createNativeLoginFlow();
        // A wrong password: the flow gets a transition history.
        await fetch(`${server.publicUrl}/self-service/login?flow=${flow.id}`, {
          method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ method: 'password', identifier: email, password: 'wrong one' }),
        });
        const session = await server.frontendApi.updateLoginFlow({ flow: (await server.frontendApi.createNativeLoginFlow()).id, updateLoginFlowBody: { method: 'password', identifier: email, password: PASSWORD } });
        flows.push(flow.id);
        if (i === 0) await em().nativeUpdate(Session, { id: session.session.id }, { expiresAt: ago(oldHours) });
      }
      await em().nativeUpdate(Flow, { id: flows[0] }, { expiresAt: ago(oldHours) });
      const now = new Date();
      const row = (id: string, expiresAt: Date) => ({ id, flowId: flows[0], expiresAt, createdAt: now, updatedAt: now });
      const codes = [crypto.randomUUID(), crypto.randomUUID()];
      const exchanges = [crypto.randomUUID(), crypto.randomUUID()];
      const mails = [crypto.randomUUID(), crypto.randomUUID(), crypto.randomUUID()];
      const fork = em();
      for (const [i, id] of codes.entries()) {
        fork.create(SelfServiceCode, { ...row(id, i === 0 ? ago(oldHours) : new Date(Date.now() + HOUR)), purpose: 'login', kind: 'code', via: 'email', address: email, identityId: identity.id, secretHmac: 'x'.repeat(64), failedAttempts: 0 });
      }
      for (const [i, id] of exchanges.entries()) {
        fork.create(SessionTokenExchange, { ...row(id, i === 0 ? ago(oldHours) : new Date(Date.now() + HOUR)), initCodeHash: crypto.randomUUID().replaceAll('-', '').padEnd(64, '0') });
      }
      // Delivered long ago, delivered just now, and an old message never delivered.
      for (const [i, id] of mails.entries()) {
        fork.create(CourierMessage, {
          id, type: 'email', status: i === 2 ? 'abandoned' : 'sent', recipient: email, subject: 's', body: 'b', templateType: 'test', sendCount: 1,
          nextAttemptAt: now, createdAt: i === 1 ? now : ago(oldHours), updatedAt: i === 1 ? now : ago(oldHours),
        });
      }
      await fork.flush();
      return { flows, codes, exchanges, mails };
    }

    async function remaining(ids: Awaited<ReturnType<typeof seed>>) {
      return {
        flows: (await em().find(Flow, { id: { $in: ids.flows } })).map((f) => f.id),
        transitions: new Set((await em().find(FlowTransition, { flowId: { $in: ids.flows } })).map((t) => t.flowId)),
        codes: (await em().find(SelfServiceCode, { id: { $in: ids.codes } })).map((c) => c.id),
        exchanges: (await em().find(SessionTokenExchange, { id: { $in: ids.exchanges } })).map((c) => c.id),
        mails: (await em().find(CourierMessage, { id: { $in: ids.mails } })).map((m) => m.id).sort(),
      };
    }

    it('idflow cleanup sql --keep-last: older rows go, newer ones and undelivered mail stay', async () => {
      const recent = await seed(2);
      const old = await seed(48);
      expect((await remaining(old)).transitions.size).toBe(2);
      const sessionsBefore = await em().count(Session, {});

      const res = await runCli(['cleanup', 'sql', dsn, '--keep-last', '24h', '--batch-size', '1', '--sleep', '1ms']);
      expect(res.code, res.stderr).toBe(0);
      expect(res.stdout).toMatch(/^selfservice_flows\t[1-9]\d*$/m);

      const gone = await remaining(old);
      expect(gone.flows).toEqual([old.flows[1]]);
      expect([...gone.transitions]).toEqual([old.flows[1]]);
      expect(gone.codes).toEqual([old.codes[1]]);
      expect(gone.exchanges).toEqual([old.exchanges[1]]);
      expect(gone.mails).toEqual([old.mails[1], old.mails[2]].sort());
      // Expired 2 h ago is within --keep-last 24h: all kept.
      const kept = await remaining(recent);
      expect(kept.flows).toHaveLength(2);
      expect(kept.transitions.size).toBe(2);
      expect(kept.codes).toHaveLength(2);
      expect(kept.mails).toHaveLength(3);
      expect(await em().count(Session, {})).toBe(sessionsBefore - 1);

      // Without --keep-last the recent expired rows go too; bad flags exit non-zero.
      expect((await runCli(['cleanup', 'sql', dsn])).code).toBe(0);
      expect((await remaining(recent)).flows).toEqual([recent.flows[1]]);
      const bad = await runCli(['cleanup', 'sql', dsn, '--batch-size', '0']);
      expect(bad.code).toBe(1);
      expect(bad.stderr).toContain('--batch-size');
    }, 60_000);

    it('the in-process job (database.cleanup.interval) does the same and counts the rows it deletes', async () => {
      const old = await seed(48);
      server.registry.config.database = { cleanup: { interval: '1h', keep_last: '24h', batch_size: 2 } };
      const job = startCleanupJob(server.registry)!;
      try {
        const deleted = await job.runOnce();
        expect(deleted?.selfservice_flows).toBeGreaterThanOrEqual(1);
        const gone = await remaining(old);
        expect(gone.flows).toEqual([old.flows[1]]);
        expect(gone.mails).toHaveLength(2);
        const counted = (await server.registry.metrics.cleanupDeleted.get()).values;
        expect(counted.find((v) => v.labels.table === 'selfservice_flows')?.value).toBe(deleted!.selfservice_flows);
        expect(counted.find((v) => v.labels.table === 'selfservice_flow_transitions')?.value).toBeGreaterThanOrEqual(1);
      } finally {
        await job.stop();
        server.registry.config.database = undefined;
      }
    });
  });
}
