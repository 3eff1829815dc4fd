import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Configuration, CourierApi, ResponseError } from '@ory/client-fetch';
import { testDatabases } from '../../support/databases.ts';
import { startTestServer, type TestServer } from '../../support/server.ts';
import { startSmtpServer, type TestSmtpServer } from '../../support/smtp-server.ts';
import { expectResponse } from '../../support/openapi.ts';
import { enqueue, FAST_WORKER, untilStatus } from './helpers.ts';

function nextLink(header: string | null): string | undefined {
  return header?.split(',').map((part) => part.match(/<([^>]+)>;\s*rel="next"/)?.[1]).find(Boolean);
}

for (const db of testDatabases()) {
  describe(`admin courier API (${db.name})`, () => {
    let smtp: TestSmtpServer;
    let server: TestServer;
    let courierApi: CourierApi;
    let drop: () => Promise<void>;
    const ids: Record<string, string> = {};

    beforeAll(async () => {
      smtp = await startSmtpServer({ rejectRecipients: ['refused@example.com'] });
      const created = await db.create();
      drop = created.drop;
      server = await startTestServer(created.dsn, { courier: { smtp: { connection_uri: smtp.uri() }, worker: FAST_WORKER } });
      courierApi = new CourierApi(new Configuration({ basePath: server.adminUrl }));
      // 12 sent to list@, one abandoned (refused), then the sender stops and 2 stay queued.
      for (let i = 0; i < 12; i++) {
        const row = await enqueue(server, { templateType: 'verification_code_valid', recipient: 'list@example.com', data: { verification_code: String(100000 + i) } });
        ids[`list${i}`] = row.id;
      }
      ids.refused = (await enqueue(server, { templateType: 'recovery_code_valid', recipient: 'refused@example.com', data: { recovery_code: '1' } })).id;
      for (let i = 0; i < 12; i++) await untilStatus(server, ids[`list${i}`], 'sent');
      await untilStatus(server, ids.refused, 'abandoned');
      await server.registry.courier.stop();
      ids.queued1 = (await enqueue(server, { templateType: 'login_code_valid', recipient: 'queued@example.com', data: { login_code: '1' } })).id;
      ids.queued2 = (await enqueue(server, { templateType: 'login_code_valid', recipient: 'queued@example.com', data: { login_code: '2' } })).id;
    });
    afterAll(async () => {
      await server?.close();
      await smtp?.close();
      await drop?.();
    });

    it('lists messages newest first, 10 per page by default, with a Link header and sealed page tokens', async () => {
      const first = await courierApi.listCourierMessagesRaw({});
      const body = await first.raw.clone().json();
      expectResponse('listCourierMessages', 200, body);
      expect(body).toHaveLength(10);
      expect(body[0].id).toBe(ids.queued2);
      expect(body[1].id).toBe(ids.queued1);
      const link = first.raw.headers.get('link');
      expect(link).toContain('rel="first"');
      const next = nextLink(link);
      expect(next).toBeDefined();
      const secondRes = await fetch(next!);
      const second = await secondRes.json();
      expectResponse('listCourierMessages', 200, second);
      expect(second).toHaveLength(5);
      expect(nextLink(secondRes.headers.get('link'))).toBeUndefined();
      const all = [...body, ...second].map((m: { id: string }) => m.id);
      expect(new Set(all).size).toBe(15);
      expect(all.sort()).toEqual(Object.values(ids).sort());
    });

    it('walks every page with a small page size', async () => {
      const seen: string[] = [];
      let url: string | undefined = `${server.adminUrl}/admin/courier/messages?page_size=4`;
      while (url) {
        const res: Response = await fetch(url);
        const page = await res.json();
        expectResponse('listCourierMessages', 200, page);
        expect(page.length).toBeLessThanOrEqual(4);
        seen.push(...page.map((m: { id: string }) => m.id));
        url = nextLink(res.headers.get('link'));
      }
      expect(seen).toHaveLength(15);
      expect(new Set(seen).size).toBe(15);
    });

    it('filters by status and by recipient, and pages within the filter', async () => {
      const queued = await courierApi.listCourierMessages({ status: 'queued' });
      expect(queued.map((m) => m.id).sort()).toEqual([ids.queued1, ids.queued2].sort());
      const abandoned = await courierApi.listCourierMessages({ status: 'abandoned' });
      expect(abandoned.map((m) => m.id)).toEqual([ids.refused]);
      expect(abandoned[0]).toMatchObject({ status: 'abandoned', send_count: 1, recipient: 'refused@example.com', template_type: 'recovery_code_valid', type: 'email' });
      const byRecipient = await courierApi.listCourierMessagesRaw({ recipient: 'list@example.com', pageSize: 5 });
      const page1 = await byRecipient.value();
      expect(page1).toHaveLength(5);
      expect(page1.every((m) => m.recipient === 'list@example.com' && m.status === 'sent')).toBe(true);
      const next = nextLink(byRecipient.raw.headers.get('link'));
      expect(next).toContain('recipient=list%40example.com');
      const both = await courierApi.listCourierMessages({ recipient: 'queued@example.com', status: 'sent' });
      expect(both).toEqual([]);
    });

    it('refuses an unknown status and foreign or forged page tokens', async () => {
      const bad = await fetch(`${server.adminUrl}/admin/courier/messages?status=delivered`);
      expect(bad.status).toBe(400);
      expectResponse('listCourierMessages', 400, await bad.json());
      const first = await fetch(`${server.adminUrl}/admin/courier/messages?page_size=2&status=sent`);
      const token = new URL(nextLink(first.headers.get('link'))!).searchParams.get('page_token')!;
      // the same token with another filter, or tampered with: 400
      const foreign = await fetch(`${server.adminUrl}/admin/courier/messages?page_size=2&status=queued&page_token=${encodeURIComponent(token)}`);
      expect(foreign.status).toBe(400);
      const forged = await fetch(`${server.adminUrl}/admin/courier/messages?page_token=${encodeURIComponent(token.slice(0, -2) + 'AA')}`);
      expect(forged.status).toBe(400);
      const sessionsToken = await fetch(`${server.adminUrl}/admin/courier/messages?page_token=not-a-token`);
      expect(sessionsToken.status).toBe(400);
    });

    it('gets one message with its dispatches, 404 for an unknown id and 400 for a malformed one', async () => {
      const res = await courierApi.getCourierMessageRaw({ id: ids.list0 });
      const body = await res.raw.clone().json();
      expectResponse('getCourierMessage', 200, body);
      expect(body).toMatchObject({
        id: ids.list0, recipient: 'list@example.com', subject: 'Use code 100000 to verify your account', type: 'email',
        status: 'sent', template_type: 'verification_code_valid', send_count: 1,
      });
      expect(body.body).toContain('100000');
      expect(body.dispatches).toEqual([{ id: expect.any(String), message_id: ids.list0, status: 'success', created_at: expect.any(String), updated_at: expect.any(String) }]);
      const refused = await courierApi.getCourierMessage({ id: ids.refused });
      expect(refused.dispatches).toHaveLength(1);
      expect(refused.dispatches![0]).toMatchObject({ status: 'failed', error: { message: expect.stringContaining('550') } });
      const queued = await courierApi.getCourierMessage({ id: ids.queued1 });
      expect(queued).toMatchObject({ status: 'queued', send_count: 0, dispatches: [] });

      for (const [id, status] of [[crypto.randomUUID(), 404], ['not-a-uuid', 400]] as const) {
        try {
          await courierApi.getCourierMessage({ id });
          throw new Error('expected an error');
        } catch (err) {
          expect(err).toBeInstanceOf(ResponseError);
          const response = (err as ResponseError).response;
          expect(response.status).toBe(status);
          const error = await response.json();
          expectResponse('getCourierMessage', status, error);
          expect(error.error.code).toBe(status);
        }
      }
      // also reachable without the /admin prefix, as in Kratos
      const unprefixed = await fetch(`${server.adminUrl}/courier/messages/${ids.list0}`);
      expect(unprefixed.status).toBe(200);
    });
  });
}
