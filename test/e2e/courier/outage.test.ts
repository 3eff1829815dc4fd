import { rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { CourierMessage } from '../../../entities/index.ts';
import { testDatabases } from '../../support/databases.ts';
import { startTestServer, type Overlay, type TestServer } from '../../support/server.ts';
import { startSmtpServer, type TestSmtpServer } from '../../support/smtp-server.ts';
import { dispatchesOf, enqueue, messageRow, until, untilStatus } from './helpers.ts';

/** Retries at 100, 200, 400, 800, 800 ... ms; the default min_age (24 h) keeps failing mail from being abandoned. */
const OUTAGE_WORKER = { pull_wait: '50ms', lease: '2s', retry: { initial_backoff: '100ms', max_backoff: '800ms' } };

for (const db of testDatabases()) {
  describe(`courier through an SMTP outage (${db.name})`, () => {
    let smtp: TestSmtpServer;
    let dsn: string;
    let drop: () => Promise<void>;
    const servers: TestServer[] = [];
    const file = join(tmpdir(), `idflow-outage-${crypto.randomUUID()}.sqlite`);
    const start = async (overlay: Overlay = {}) => {
      const server = await startTestServer(dsn, { courier: { smtp: { connection_uri: smtp.uri(), from_address: 'outage@idflow.test' }, worker: OUTAGE_WORKER }, ...overlay });
      servers.push(server);
      return server;
    };

    beforeAll(async () => {
      smtp = await startSmtpServer();
      const created = await db.create();
      drop = created.drop;
      // a file for SQLite, so a second server process sees the same queue
      dsn = created.dsn === 'memory' ? `sqlite://${file}?_fk=true` : created.dsn;
    });
    afterEach(async () => {
      // a failed test must not leave a sender polling the next test's queue
      for (const server of servers.splice(0)) await server.close();
      if (!smtp.isUp) await smtp.up();
    });
    afterAll(async () => {
      await smtp?.close();
      await drop?.();
      for (const suffix of ['', '-wal', '-shm']) rmSync(file + suffix, { force: true });
    });

    it('keeps messages queued while SMTP is down, retries with growing delays, and delivers each exactly once when it is back', async () => {
      const server = await start();
      await smtp.down();
      const rows = [];
      for (let i = 0; i < 5; i++) {
        rows.push(await enqueue(server, { templateType: 'verification_code_valid', recipient: `outage${i}@example.com`, data: { verification_code: `10000${i}` } }));
      }
      // ~2 s of outage: attempts at about 0, 0.1, 0.3, 0.7, 1.5 s
      for (const row of rows) await until(() => messageRow(server, row.id), (m) => m.sendCount >= 5, 10_000, 'five attempts');
      for (const row of rows) {
        const stored = await messageRow(server, row.id);
        expect(['queued', 'processing']).toContain(stored.status);
        const dispatches = await dispatchesOf(server, row.id);
        expect(dispatches.length).toBeGreaterThanOrEqual(4);
        expect(dispatches.every((d) => d.status === 'failed')).toBe(true);
        expect(JSON.stringify(dispatches[0].error)).toMatch(/ECONNREFUSED/);
        const gaps = dispatches.slice(1, 5).map((d, i) => d.createdAt.getTime() - dispatches[i].createdAt.getTime());
        // nominal 100, 200, 400, 800 ms: no attempt comes before its backoff has passed (a loaded machine only adds)
        const nominal = [100, 200, 400, 800];
        gaps.forEach((gap, i) => expect(gap, `gap ${i} of ${JSON.stringify(gaps)}`).toBeGreaterThanOrEqual(nominal[i]));
        expect(gaps.at(-1)!).toBeGreaterThan(gaps[0]);
      }
      expect(smtp.mails).toHaveLength(0);

      await smtp.up();
      await smtp.waitForMails(5, 10_000);
      for (const row of rows) await untilStatus(server, row.id, 'sent');
      await new Promise((resolve) => setTimeout(resolve, 500));
      expect(smtp.mails).toHaveLength(5);
      const counts = smtp.messageIdCounts();
      for (const row of rows) expect(counts.get(`<${row.id}@idflow.test>`)).toBe(1);
      for (const row of rows) expect((await dispatchesOf(server, row.id)).at(-1)!.status).toBe('success');
    });

    it('delivers within moments of SMTP coming back, not at the next backoff (the sender probes the server while it is away)', async () => {
      // real backoff (1 s doubling up to 1 h); probes every 15 pull_waits = 750 ms
      const server = await start({ courier: { smtp: { connection_uri: smtp.uri(), from_address: 'outage@idflow.test' }, worker: { pull_wait: '50ms', lease: '5s', retry: { initial_backoff: '1s', max_backoff: '1h' } } } });
      await smtp.down();
      const before = smtp.mails.length;
      const rows = [];
      for (let i = 0; i < 3; i++) rows.push(await enqueue(server, { templateType: 'login_code_valid', recipient: `probe${i}@example.com`, data: { login_code: `30000${i}` } }));
      for (const row of rows) await until(() => messageRow(server, row.id), (m) => m.sendCount >= 3 && m.status === 'queued', 15_000, 'three attempts');
      const waiting = await Promise.all(rows.map((row) => messageRow(server, row.id)));
      // the next attempts are 4 s (or more) away
      for (const row of waiting) expect(row.nextAttemptAt.getTime() - Date.now()).toBeGreaterThan(2500);
      const upAt = Date.now();
      await smtp.up();
      await smtp.waitForMails(before + 3, 10_000);
      const delay = Date.now() - upAt;
      expect(delay).toBeLessThan(Math.min(...waiting.map((row) => row.nextAttemptAt.getTime())) - upAt);
      for (const row of rows) await untilStatus(server, row.id, 'sent');
      const counts = smtp.messageIdCounts();
      for (const row of rows) expect(counts.get(`<${row.id}@idflow.test>`)).toBe(1);
      expect(server.logs.some((line) => line.includes('courier delivery is back'))).toBe(true);
    });

    it('keeps the queue across a restart of the server process during the outage, then delivers each exactly once', async () => {
      const first = await start();
      await smtp.down();
      const before = smtp.mails.length;
      const rows = [];
      for (let i = 0; i < 3; i++) {
        rows.push(await enqueue(first, { templateType: 'recovery_code_valid', recipient: `restart${i}@example.com`, data: { recovery_code: `20000${i}` } }));
      }
      for (const row of rows) await until(() => messageRow(first, row.id), (m) => m.sendCount >= 2, 10_000, 'two attempts');
      const firstWorker = first.registry.courier.sender!.workerId;
      await first.close();
      // a clean shutdown leaves nothing leased to the stopped sender
      const second = await start();
      const stored = await second.orm.em.fork().find(CourierMessage, { id: { $in: rows.map((r) => r.id) } });
      expect(stored.filter((r) => r.leasedBy === firstWorker)).toEqual([]);
      await smtp.up();
      await smtp.waitForMails(before + 3, 10_000);
      for (const row of rows) await untilStatus(second, row.id, 'sent');
      await new Promise((resolve) => setTimeout(resolve, 500));
      const counts = smtp.messageIdCounts();
      for (const row of rows) expect(counts.get(`<${row.id}@idflow.test>`)).toBe(1);
      expect(smtp.mails.length - before).toBe(3);
    });
  });
}
