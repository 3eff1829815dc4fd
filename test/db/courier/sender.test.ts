import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { testDatabases } from '../../support/databases.ts';
import { startSmtpServer, type TestSmtpServer } from '../../support/smtp-server.ts';
import { openCourierHarness, until, type CourierHarness } from './harness.ts';

const FAST = { pull_wait: '50ms', lease: '1s', retry: { initial_backoff: '100ms', max_backoff: '400ms', min_age: '0s' } };
const draft = (recipient: string, code = '123456') => ({ templateType: 'recovery_code_valid' as const, recipient, data: { recovery_code: code } });

for (const db of testDatabases()) {
  describe(`courier sender (${db.name})`, () => {
    let h: CourierHarness;
    let smtp: TestSmtpServer;
    const cleanups: Array<() => Promise<void>> = [];

    beforeAll(async () => {
      smtp = await startSmtpServer();
      h = await openCourierHarness(db, { smtp: { connection_uri: smtp.uri(), from_address: 'courier@idflow.test' }, worker: FAST });
    });
    afterEach(async () => {
      for (const cleanup of cleanups.splice(0)) await cleanup();
      await h.clear();
    });
    afterAll(async () => {
      await h?.close();
      await smtp?.close();
    });

    /** Messages sent so far, by Message-ID, must each have arrived exactly once. */
    const expectEachOnce = (ids: string[]) => {
      const counts = smtp.messageIdCounts();
      for (const id of ids) expect(counts.get(`<${id}@idflow.test>`), id).toBe(1);
    };

    it('claims atomically with a lease, and a second sender finds nothing to claim', async () => {
      const a = h.courier();
      const b = h.courier();
      const rows = [];
      for (let i = 0; i < 3; i++) rows.push(await h.enqueue(a, draft(`claim${i}@example.com`)));
      const started = Date.now();
      const claimed = await a.sender!.claim(10);
      expect(claimed.map((m) => m.id).sort()).toEqual(rows.map((r) => r.id).sort());
      expect(await b.sender!.claim(10)).toEqual([]);
      for (const row of rows) {
        const stored = await h.message(row.id);
        expect(stored).toMatchObject({ status: 'processing', sendCount: 1, leasedBy: a.sender!.workerId });
        expect(stored.leaseUntil!.getTime()).toBeGreaterThanOrEqual(started + 900);
        expect(stored.leaseUntil!.getTime()).toBeLessThanOrEqual(Date.now() + 1000);
      }
      // stop() returns claimed-but-unattempted messages at once, without counting an attempt.
      await a.stop();
      for (const row of rows) expect(await h.message(row.id)).toMatchObject({ status: 'queued', sendCount: 0, leaseUntil: null, leasedBy: null });
      b.start();
      cleanups.push(() => b.stop());
      for (const row of rows) await until(() => h.message(row.id), (m) => m.status === 'sent', 5000, 'sent');
      expectEachOnce(rows.map((r) => r.id));
    });

    it('reclaims the messages of a crashed sender once its lease has run out, and delivers each once', async () => {
      const crashed = h.courier({ worker: { lease: '2s' } });
      const rows = [];
      for (let i = 0; i < 4; i++) rows.push(await h.enqueue(crashed, draft(`crash${i}@example.com`)));
      const claimed = await crashed.sender!.claim(10);
      expect(claimed).toHaveLength(4);
      crashed.sender!.kill();
      const claimedAt = Date.now();
      const rescuer = h.courier();
      rescuer.start();
      cleanups.push(() => rescuer.stop());
      await new Promise((resolve) => setTimeout(resolve, 400));
      for (const row of rows) expect((await h.message(row.id)).status).toBe('processing');
      for (const row of rows) await until(() => h.message(row.id), (m) => m.status === 'sent', 10_000, 'sent');
      expect(Date.now() - claimedAt).toBeGreaterThanOrEqual(1900);
      for (const row of rows) {
        expect(await h.message(row.id)).toMatchObject({ sendCount: 2, leasedBy: null });
        expect((await h.dispatches(row.id)).map((d) => d.status)).toEqual(['success']);
      }
      expectEachOnce(rows.map((r) => r.id));
    });

    it('renews the lease of a slow send, so no other sender takes the message over', async () => {
      const slow = await startSmtpServer({ beforeAccept: () => new Promise((resolve) => setTimeout(resolve, 2500)) });
      cleanups.push(() => slow.close());
      const overlay = { smtp: { connection_uri: slow.uri() }, worker: { lease: '600ms' } };
      const a = h.courier(overlay);
      const b = h.courier(overlay);
      const row = await h.enqueue(a, draft('slow@example.com'));
      a.start();
      cleanups.push(() => a.stop());
      await until(() => h.message(row.id), (m) => m.status === 'processing', 5000, 'claimed');
      b.start();
      cleanups.push(() => b.stop());
      const sent = await until(() => h.message(row.id), (m) => m.status === 'sent', 10_000, 'sent');
      await new Promise((resolve) => setTimeout(resolve, 300));
      expect(sent.sendCount).toBe(1);
      expect(slow.mails).toHaveLength(1);
      expect((await h.dispatches(row.id)).map((d) => d.status)).toEqual(['success']);
    });

    it('retries with growing delays and abandons after message_retries when min_age is 0', async () => {
      const down = await startSmtpServer();
      await down.down();
      const courier = h.courier({ message_retries: 3, smtp: { connection_uri: down.uri() } });
      const row = await h.enqueue(courier, draft('abandon@example.com'));
      const before = await h.metrics.registry.getSingleMetricAsString('idflow_courier_deliveries_total');
      courier.start();
      cleanups.push(() => courier.stop());
      const final = await until(() => h.message(row.id), (m) => m.status === 'abandoned', 10_000, 'abandoned');
      expect(final.sendCount).toBe(4);
      const dispatches = await h.dispatches(row.id);
      expect(dispatches.map((d) => d.status)).toEqual(['failed', 'failed', 'failed', 'failed']);
      for (const d of dispatches) expect(JSON.stringify(d.error)).toMatch(/ECONNREFUSED/);
      const gaps = dispatches.slice(1).map((d, i) => d.createdAt.getTime() - dispatches[i].createdAt.getTime());
      // nominal 100, 200, 400 ms (+ up to 20 % jitter, + up to one poll interval, + whatever a loaded machine adds)
      expect(gaps[0]).toBeGreaterThanOrEqual(100);
      expect(gaps[1]).toBeGreaterThanOrEqual(200);
      expect(gaps[2]).toBeGreaterThanOrEqual(400);
      expect(gaps[2]).toBeGreaterThan(gaps[0]);
      const after = await h.metrics.registry.getSingleMetricAsString('idflow_courier_deliveries_total');
      expect(after).toMatch(/result="abandoned"\} [1-9]/);
      expect(after).not.toBe(before);
      expect(h.logs.some((l) => l.includes('courier message abandoned') && l.includes(row.id))).toBe(true);
      await down.close();
    });

    it('keeps retrying a failing message until it is min_age old, even when message_retries is spent', async () => {
      const down = await startSmtpServer();
      await down.down();
      const courier = h.courier({ message_retries: 0, smtp: { connection_uri: down.uri() }, worker: { retry: { initial_backoff: '100ms', max_backoff: '200ms', min_age: '1500ms' } } });
      const row = await h.enqueue(courier, draft('minage@example.com'));
      courier.start();
      cleanups.push(() => courier.stop());
      const midway = await until(() => h.message(row.id), (m) => m.sendCount >= 3, 10_000, 'three attempts');
      // message_retries (0) is long spent; the message is kept because it is younger than min_age
      if (Date.now() - midway.createdAt.getTime() < 1400) expect(midway.status).not.toBe('abandoned');
      const final = await until(() => h.message(row.id), (m) => m.status === 'abandoned', 10_000, 'abandoned');
      const dispatches = await h.dispatches(row.id);
      expect(dispatches.at(-1)!.createdAt.getTime() - final.createdAt.getTime()).toBeGreaterThanOrEqual(1500);
      await down.close();
    });

    it('abandons at once a recipient the server refuses permanently (550)', async () => {
      const refusing = await startSmtpServer({ rejectRecipients: ['nobody@example.com'] });
      const courier = h.courier({ smtp: { connection_uri: refusing.uri() } });
      const row = await h.enqueue(courier, draft('nobody@example.com'));
      courier.start();
      cleanups.push(() => courier.stop());
      const final = await until(() => h.message(row.id), (m) => m.status === 'abandoned', 5000, 'abandoned');
      expect(final.sendCount).toBe(1);
      const [dispatch] = await h.dispatches(row.id);
      expect(JSON.stringify(dispatch.error)).toMatch(/550/);
      const line = h.logs.find((l) => l.includes('courier message abandoned') && l.includes(row.id))!;
      expect(line).not.toContain('nobody@example.com');
      await refusing.close();
    });

    it('is woken by an enqueue commit instead of waiting for the next poll', async () => {
      const courier = h.courier({ worker: { pull_wait: '30s' } });
      courier.start();
      cleanups.push(() => courier.stop());
      await new Promise((resolve) => setTimeout(resolve, 100)); // the first poll found nothing; now it sleeps 30 s
      const row = await h.enqueue(courier, draft('wake@example.com'));
      await until(() => h.message(row.id), (m) => m.status === 'sent', 3000, 'sent');
    });

    it('delivers 200 messages with two senders on separate connections, each exactly once', async () => {
      const otherStore = await h.openStore();
      const a = h.courier();
      const b = h.courier({}, { store: otherStore });
      const ids: string[] = [];
      // one commit for the whole batch
      await h.store.transaction(async (tx) => {
        for (let i = 0; i < 200; i++) ids.push((await a.enqueue(tx, draft(`bulk${i}@example.com`, String(i).padStart(6, '0')))).id);
      });
      const before = smtp.mails.length;
      a.start();
      b.start();
      cleanups.push(async () => {
        await a.stop();
        await b.stop();
      });
      await smtp.waitForMails(before + 200, 60_000);
      for (const id of ids) await until(() => h.message(id), (m) => m.status === 'sent', 10_000, 'sent');
      await new Promise((resolve) => setTimeout(resolve, 300));
      expect(smtp.mails.length - before).toBe(200);
      expectEachOnce(ids);
      const workers = new Set(smtp.mails.slice(before).map((m) => m.envelope.to[0]));
      expect(workers.size).toBe(200);
    });
  });

  describe(`courier transports (${db.name})`, () => {
    let h: CourierHarness;
    const closers: Array<() => Promise<void>> = [];

    beforeAll(async () => {
      h = await openCourierHarness(db, { smtp: { from_address: 'courier@idflow.test' }, worker: FAST });
    });
    afterEach(async () => {
      for (const close of closers.splice(0)) await close();
      await h.clear();
    });
    afterAll(async () => {
      await h?.close();
    });

    it('sends over STARTTLS with authentication (smtp://, skip_ssl_verify) and over implicit TLS (smtps://)', async () => {
      const auth = { user: 'mailer', pass: 'S3cret-Pass!' };
      for (const tls of ['starttls', 'implicit'] as const) {
        const smtp = await startSmtpServer({ tls, auth });
        closers.push(() => smtp.close());
        const courier = h.courier({ smtp: { connection_uri: smtp.uri(auth) } });
        await h.enqueue(courier, draft(`${tls}@example.com`));
        expect(await courier.sender!.runOnce()).toBe(1);
        const [mail] = await smtp.waitForMails(1);
        expect(mail.secure).toBe(true);
        expect(mail.user).toBe('mailer');
        expect(mail.envelope.to).toEqual([`${tls}@example.com`]);
      }
    });

    it('never falls back to cleartext: smtp:// requires STARTTLS, and certificates are verified unless skip_ssl_verify', async () => {
      const plain = await startSmtpServer({ tls: 'none' });
      const tlsServer = await startSmtpServer({ tls: 'starttls' });
      closers.push(() => plain.close(), () => tlsServer.close());
      const noStartTls = h.courier({ smtp: { connection_uri: `smtp://127.0.0.1:${plain.port}/` } });
      const selfSigned = h.courier({ smtp: { connection_uri: `smtp://127.0.0.1:${tlsServer.port}/` } });
      const a = await h.enqueue(noStartTls, draft('cleartext@example.com'));
      await noStartTls.sender!.runOnce();
      const b = await h.enqueue(selfSigned, draft('selfsigned@example.com'));
      await selfSigned.sender!.runOnce();
      expect(plain.mails).toHaveLength(0);
      expect(tlsServer.mails).toHaveLength(0);
      expect((await h.message(a.id)).status).toBe('queued');
      expect(JSON.stringify((await h.dispatches(a.id))[0].error)).toMatch(/STARTTLS/i);
      expect(JSON.stringify((await h.dispatches(b.id))[0].error)).toMatch(/certificate/i);
    });

    it('keeps the SMTP password out of dispatch errors and logs, even when the server echoes it', async () => {
      const password = 'Hunter2-Very-Secret';
      const smtp = await startSmtpServer({
        tls: 'starttls',
        auth: { user: 'mailer', pass: 'another-password' },
        authFailureText: (user, pass) => `Authentication failed for ${user}:${pass} (${Buffer.from(`\u0000${user}\u0000${pass}`).toString('base64')})`,
      });
      closers.push(() => smtp.close());
      const courier = h.courier({ smtp: { connection_uri: smtp.uri({ user: 'mailer', pass: password }) } });
      const row = await h.enqueue(courier, draft('redact@example.com'));
      await courier.sender!.runOnce();
      const [dispatch] = await h.dispatches(row.id);
      const error = JSON.stringify(dispatch.error);
      expect(error).toMatch(/535|Authentication failed/);
      expect(error).toContain('[redacted]');
      const leaks = [password, encodeURIComponent(password), Buffer.from(password).toString('base64'), Buffer.from(`\u0000mailer\u0000${password}`).toString('base64')];
      for (const leak of leaks) {
        expect(error).not.toContain(leak);
        for (const line of h.logs) expect(line).not.toContain(leak);
      }
      for (const line of h.logs) expect(line).not.toContain('redact@example.com');
    });

    it('delivers by HTTP (delivery_strategy: http) with the message as JSON, retrying non-2xx answers', async () => {
      const requests: Array<{ method: string; headers: IncomingMessage['headers']; body: any }> = [];
      let failNext = 1;
      const server: Server = createServer((req, res) => {
        let text = '';
        req.on('data', (c) => { text += c; });
        req.on('end', () => {
          requests.push({ method: req.method!, headers: req.headers, body: JSON.parse(text) });
          if (failNext-- > 0) res.writeHead(503).end('try later');
          else res.writeHead(202).end();
        });
      });
      await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
      closers.push(() => new Promise((resolve) => server.close(() => resolve())));
      const port = (server.address() as AddressInfo).port;
      const courier = h.courier({
        delivery_strategy: 'http',
        http: { request_config: { url: `http://127.0.0.1:${port}/mail`, method: 'POST', headers: { 'X-Tenant': 'acme' }, auth: { type: 'basic_auth', config: { user: 'u', password: 'http-secret-123' } } } },
      });
      const row = await h.enqueue(courier, { templateType: 'verification_code_valid', recipient: 'http@example.com', data: { verification_code: '246810', verification_url: 'https://idflow.test/v' } });
      courier.start();
      closers.push(() => courier.stop());
      await until(() => h.message(row.id), (m) => m.status === 'sent', 5000, 'sent');
      expect(requests).toHaveLength(2);
      const last = requests[1];
      expect(last.method).toBe('POST');
      expect(last.headers['x-tenant']).toBe('acme');
      expect(last.headers.authorization).toBe(`Basic ${Buffer.from('u:http-secret-123').toString('base64')}`);
      expect(last.body).toMatchObject({
        recipient: 'http@example.com', to: 'http@example.com', template_type: 'verification_code_valid',
        verification_code: '246810', verification_url: 'https://idflow.test/v', recovery_code: null,
        subject: 'Use code 246810 to verify your account',
      });
      expect(last.body.body).toContain('246810');
      const dispatches = await h.dispatches(row.id);
      expect(dispatches.map((d) => d.status)).toEqual(['failed', 'success']);
      expect(JSON.stringify(dispatches[0].error)).toContain('HTTP 503');
      for (const line of h.logs) expect(line).not.toContain('http-secret-123');
    });
  });
}
