/**
 * One-time codes by SMS: a phone-number trait whose `ory.sh/kratos` extension says `code: {identifier: true, via: sms}`
 * gets its sign-up and sign-in codes through `courier.channels[id=sms]` (an HTTP request, Kratos's request config and
 * default body) — here a real HTTP receiver on loopback. The admin message list shows them as `phone` / `sms`.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { testDatabases } from '../../support/databases.ts';
import { startTestServer, type TestServer } from '../../support/server.ts';
import { expectResponse } from '../../support/openapi.ts';
import { FAST_WORKER } from '../../support/smtp-server.ts';
import { personSchema, schemaUrl } from '../../support/person-schema.ts';

type Json = any;

const SCHEMA = personSchema('sms-codes', {
  email: {},
  traits: { phone: { type: 'string', format: 'tel', title: 'Phone number', 'ory.sh/kratos': { credentials: { code: { identifier: true, via: 'sms' } } } } },
  required: ['phone'],
});

/** An SMS gateway on loopback: records each request's JSON body and Authorization header. */
async function startReceiver(): Promise<{ url: string; received: Array<{ body: Json; auth?: string }>; close(): Promise<void> }> {
  const received: Array<{ body: Json; auth?: string }> = [];
  const server: Server = createServer((req, res) => {
    let text = '';
    req.on('data', (chunk) => (text += chunk));
    req.on('end', () => {
      received.push({ body: JSON.parse(text), auth: req.headers.authorization });
      res.writeHead(202).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/sms`,
    received,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}

for (const db of testDatabases()) {
  describe(`one-time codes by SMS through courier.channels (${db.name})`, () => {
    let server: TestServer;
    let receiver: Awaited<ReturnType<typeof startReceiver>>;
    let drop: (() => Promise<void>) | undefined;

    beforeAll(async () => {
      receiver = await startReceiver();
      const created = await db.create();
      drop = created.drop;
      server = await startTestServer(created.dsn, {
        identity: { default_schema_id: 'default', schemas: [{ id: 'default', url: schemaUrl(SCHEMA) }] },
        courier: {
          worker: FAST_WORKER,
          channels: [{ id: 'sms', type: 'http', request_config: { url: receiver.url, method: 'POST', auth: { type: 'api_key', config: { name: 'Authorization', value: 'Bearer sms-gateway-key', in: 'header' } } } }],
        },
        selfservice: {
          methods: { password: { enabled: false }, code: { passwordless_enabled: true } },
          flows: { registration: { style: 'unified', after: { code: { hooks: [{ hook: 'session' }] } } } },
        },
      });
    });
    afterAll(async () => {
      await server?.close();
      await receiver?.close();
      await drop?.();
    });

    async function post(url: string, body: unknown): Promise<{ status: number; body: Json }> {
      const res = await fetch(`${server.publicUrl}${url}`, { method: 'POST', headers: { accept: 'application/json', 'content-type': 'application/json' }, body: JSON.stringify(body) });
      return { status: res.status, body: await res.json() };
    }
    async function smsTo(phone: string, n: number): Promise<Json> {
      for (let i = 0; i < 400; i++) {
        const to = receiver.received.filter((r) => r.body.recipient === phone);
        if (to.length >= n) return to[n - 1];
        await new Promise((r) => setTimeout(r, 25));
      }
      throw new Error(`expected ${n} SMS to ${phone}`);
    }
    const codeOf = (sms: Json) => /Your (?:login|registration) code is: (\d{6})/.exec(sms.body.body)![1];

    it('signs up and in with codes sent by SMS; the admin API lists them as phone messages on the sms channel', async () => {
      // A Swiss mobile number (+41 79 …), different per database run.
      const phone = `+41791${String(Math.floor(Math.random() * 1e6)).padStart(6, '0')}`;
      const registration = await (await fetch(`${server.publicUrl}/self-service/registration/api`)).json();
      // The number as a person types it: stored and messaged as E.164.
      const typed = `${phone.slice(0, 3)} ${phone.slice(3, 5)} ${phone.slice(5, 8)} ${phone.slice(8)}`;
      const sent = await post(`/self-service/registration?flow=${registration.id}`, { method: 'code', traits: { phone: typed } });
      expect(sent.status, JSON.stringify(sent.body)).toBe(400);
      expect(sent.body.state, JSON.stringify(sent.body.ui)).toBe("sent_email");
      const signUpSms = await smsTo(phone, 1);
      expect(signUpSms.auth).toBe('Bearer sms-gateway-key');
      expect(signUpSms.body).toMatchObject({ recipient: phone, template_type: 'registration_code_valid', subject: '' });
      expect(signUpSms.body.body).toMatch(/^Your registration code is: \d{6}\n\nIt expires in 15 minutes\.\n/);

      const done = await post(`/self-service/registration?flow=${registration.id}`, { method: 'code', traits: { phone: typed }, code: codeOf(signUpSms) });
      expect(done.status, JSON.stringify(done.body)).toBe(200);
      expect(done.body.identity.traits.phone).toBe(typed);

      const login = await (await fetch(`${server.publicUrl}/self-service/login/api`)).json();
      const asked = await post(`/self-service/login?flow=${login.id}`, { method: 'code', identifier: typed });
      expect(asked.body.ui.messages.map((m: Json) => m.id)).toEqual([1010014]);
      const signInSms = await smsTo(phone, 2);
      expect(signInSms.body.template_type).toBe('login_code_valid');
      const session = await post(`/self-service/login?flow=${login.id}`, { method: 'code', identifier: typed, code: codeOf(signInSms) });
      expect(session.status, JSON.stringify(session.body)).toBe(200);
      expect(session.body.session.authentication_methods.map((m: Json) => m.method)).toEqual(['code']);

      const list = await fetch(`${server.adminUrl}/admin/courier/messages?recipient=${encodeURIComponent(phone)}`, { headers: { accept: 'application/json' } });
      const messages = await list.json();
      expectResponse('listCourierMessages', 200, messages);
      expect(messages.map((m: Json) => [m.type, m.channel, m.template_type]).sort()).toEqual([['phone', 'sms', 'login_code_valid'], ['phone', 'sms', 'registration_code_valid']]);
      // The gateway's key never reaches the logs.
      expect(server.logs.join('\n')).not.toContain('sms-gateway-key');
    });
  });
}
