/**
 * `idflow courier watch` as real processes (the built CLI): several watchers on one database deliver each message
 * once; a watcher killed with SIGKILL in the middle of sending leaves its messages leased, and another watcher
 * delivers them, once, when the lease has run out.
 */
import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { CourierMessage } from '../../../entities/index.ts';
import { repoRoot, spawnCli } from '../../support/cli.ts';
import { testDatabases } from '../../support/databases.ts';
import { TEST_SECRETS } from '../../support/server.ts';
import { startSmtpServer, type TestSmtpServer } from '../../support/smtp-server.ts';
import { openCourierHarness, until, type CourierHarness } from '../../db/courier/harness.ts';

const SMTP_AUTH = { user: 'watcher', pass: 'Watch-Pass-0001' };

interface Watcher {
  child: ChildProcess;
  output: () => string;
  exited: Promise<number | null>;
}

for (const db of testDatabases()) {
  describe(`idflow courier watch processes (${db.name})`, () => {
    let h: CourierHarness;
    let dir: string;
    const watchers: Watcher[] = [];
    const servers: TestSmtpServer[] = [];

    beforeAll(async () => {
      h = await openCourierHarness(db);
      dir = mkdtempSync(join(tmpdir(), 'idflow-watch-'));
    });
    afterEach(async () => {
      for (const w of watchers.splice(0)) {
        if (w.child.exitCode === null && w.child.signalCode === null) w.child.kill('SIGKILL');
        await w.exited;
      }
      for (const s of servers.splice(0)) await s.close();
      await h.orm.em.fork().nativeDelete(CourierMessage, {});
    });
    afterAll(async () => {
      await h?.close();
      rmSync(dir, { recursive: true, force: true });
    });

    function configFile(smtp: TestSmtpServer, worker: Record<string, unknown>): string {
      const file = join(dir, `watch-${crypto.randomUUID()}.json`);
      writeFileSync(file, JSON.stringify({
        dsn: h.dsn,
        secrets: TEST_SECRETS,
        identity: { default_schema_id: 'default', schemas: [{ id: 'default', url: `file://${join(repoRoot, 'schemas', 'default.schema.json')}` }] },
        selfservice: { default_browser_return_url: 'http://127.0.0.1:4455/' },
        courier: { smtp: { connection_uri: smtp.uri(SMTP_AUTH), from_address: 'watch@idflow.test' }, worker },
        log: { level: 'info', format: 'json' },
      }));
      return file;
    }

    function watch(config: string): Watcher {
      const child = spawnCli(['courier', 'watch', '--config', config]);
      let output = '';
      child.stdout!.on('data', (d) => { output += d; });
      child.stderr!.on('data', (d) => { output += d; });
      const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
      const watcher = { child, output: () => output, exited };
      watchers.push(watcher);
      return watcher;
    }

    async function enqueueMany(n: number, prefix: string): Promise<string[]> {
      const courier = h.courier({ smtp: { connection_uri: 'smtp://127.0.0.1:1/?disable_starttls=true' } });
      // One transaction, so the watchers find them all at once (as with a burst of sign-ups).
      return h.store.transaction(async (tx) => {
        const ids: string[] = [];
        for (let i = 0; i < n; i++) {
          ids.push((await courier.enqueue(tx, { templateType: 'login_code_valid', recipient: `${prefix}${i}@example.com`, data: { login_code: String(i).padStart(6, '0') } })).id);
        }
        return ids;
      });
    }

    const sentCount = async (ids: string[]) => h.orm.em.fork().count(CourierMessage, { id: { $in: ids }, status: 'sent' });

    it('two watchers deliver 200 queued messages, each exactly once', async () => {
      const smtp = await startSmtpServer({ auth: SMTP_AUTH });
      servers.push(smtp);
      const config = configFile(smtp, { pull_wait: '100ms', pull_count: 10, lease: '10s' });
      const a = watch(config);
      const b = watch(config);
      // Both are polling before the burst arrives, so neither can have sent everything before the other started.
      await until(async () => a.output() + '\n' + b.output(), (out) => out.split('courier watching the message queue').length === 3, 30_000, 'both watchers up');
      const ids = await enqueueMany(200, 'pair');
      await smtp.waitForMails(200, 60_000);
      await until(() => sentCount(ids), (n) => n === 200, 20_000, 'all sent');
      await new Promise((resolve) => setTimeout(resolve, 500));
      expect(smtp.mails).toHaveLength(200);
      const counts = smtp.messageIdCounts();
      for (const id of ids) expect(counts.get(`<${id}@idflow.test>`), id).toBe(1);
      for (const mail of smtp.mails) expect(mail.envelope.to).toHaveLength(1);
      // both took part, and a clean stop (SIGTERM) ends them with exit code 0
      const logs = a.output() + b.output();
      expect(a.output()).toContain('courier message sent');
      expect(b.output()).toContain('courier message sent');
      a.child.kill('SIGTERM');
      b.child.kill('SIGTERM');
      expect(await a.exited).toBe(0);
      expect(await b.exited).toBe(0);
      expect(logs).not.toContain(SMTP_AUTH.pass);
      expect(logs).not.toMatch(/pair\d+@example\.com/);
    }, 90_000);

    it('a watcher killed with SIGKILL while sending loses nothing: another one delivers its messages once the lease ran out', async () => {
      let holding = true;
      const held: Array<() => void> = [];
      const smtp = await startSmtpServer({
        auth: SMTP_AUTH,
        beforeAccept: () => holding ? new Promise<void>((_resolve, reject) => { held.push(() => reject(new Error('connection lost'))); }) : undefined,
      });
      servers.push(smtp);
      const ids = await enqueueMany(3, 'killed');
      const config = configFile(smtp, { pull_wait: '100ms', lease: '2s' });
      const victim = watch(config);
      // the victim has sent all three messages' data and waits for the server's answer
      await until(async () => held.length, (n) => n === 3, 20_000, 'three messages in flight');
      const stored = await h.orm.em.fork().find(CourierMessage, { id: { $in: ids } });
      expect(stored.every((m) => m.status === 'processing' && m.leasedBy !== null)).toBe(true);
      victim.child.kill('SIGKILL');
      await victim.exited;
      const killedAt = Date.now();
      holding = false;
      for (const refuse of held.splice(0)) refuse();
      expect(smtp.mails).toHaveLength(0);

      const rescuer = watch(config);
      await smtp.waitForMails(3, 20_000);
      await until(() => sentCount(ids), (n) => n === 3, 10_000, 'all sent');
      expect(Date.now() - killedAt).toBeGreaterThan(500);
      await new Promise((resolve) => setTimeout(resolve, 500));
      expect(smtp.mails).toHaveLength(3);
      const counts = smtp.messageIdCounts();
      for (const id of ids) expect(counts.get(`<${id}@idflow.test>`)).toBe(1);
      for (const message of await h.orm.em.fork().find(CourierMessage, { id: { $in: ids } })) expect(message.sendCount).toBe(2);
      rescuer.child.kill('SIGTERM');
      expect(await rescuer.exited).toBe(0);
    }, 60_000);
  });
}
