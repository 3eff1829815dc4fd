import { mkdtempSync, mkdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CourierMessage } from '../../../entities/index.ts';
import { KratosError } from '../../../src/errors/kratos-error.ts';
import { testDatabases } from '../../support/databases.ts';
import { startTestServer, type TestServer } from '../../support/server.ts';
import { startSmtpServer, type TestSmtpServer } from '../../support/smtp-server.ts';
import { dispatchesOf, enqueue, FAST_WORKER, untilStatus } from './helpers.ts';

const HOSTILE = '<script>x</script>\r\nBcc: evil@x';
const b64 = (text: string) => `base64://${Buffer.from(text).toString('base64')}`;

for (const db of testDatabases()) {
  describe(`courier delivery over SMTP (${db.name})`, () => {
    let smtp: TestSmtpServer;
    let server: TestServer;
    let drop: () => Promise<void>;

    beforeAll(async () => {
      smtp = await startSmtpServer();
      // Overrides in all three forms: base64:// and file:// URLs in config, and a template_override_path directory.
      const dir = mkdtempSync(join(tmpdir(), 'idflow-tpl-'));
      mkdirSync(join(dir, 'verification_code', 'valid'), { recursive: true });
      writeFileSync(join(dir, 'verification_code', 'valid', 'email.subject.gotmpl'), 'Verify {{ .Identity.traits.name }}');
      writeFileSync(join(dir, 'verification_code', 'valid', 'email.body.gotmpl'), '<p>Hi {{ .Identity.traits.name }}, code <b>{{ .VerificationCode }}</b> for {{ .To }}</p>');
      const plainFile = join(dir, 'registration-plain.gotmpl');
      writeFileSync(plainFile, '{{- if .Traits.name }}Hello {{ .Traits.name }}!{{ else }}Hello!{{ end }} Your code: {{ .RegistrationCode }}');
      const created = await db.create();
      drop = created.drop;
      server = await startTestServer(created.dsn, {
        courier: {
          smtp: {
            connection_uri: smtp.uri(),
            from_address: 'accounts@idflow.test',
            from_name: 'Idflow Accounts',
            headers: { 'X-Campaign': 'transactional' },
            local_name: 'idflow.test',
          },
          worker: FAST_WORKER,
          template_override_path: dir,
          templates: {
            login_code: {
              valid: {
                email: {
                  subject: b64('Log in, {{ .Identity.traits.name }}'),
                  body: {
                    html: b64('<p title="{{ .Identity.traits.name }}">Hello {{ .Identity.traits.name }}</p><p>{{ .LoginCode }}</p>'),
                    plaintext: b64('Hello {{ .Identity.traits.name }}\nCode: {{ .LoginCode }}'),
                  },
                },
              },
            },
            registration_code: { valid: { email: { body: { plaintext: pathToFileURL(plainFile).href } } } },
          },
        },
      });
    });
    afterAll(async () => {
      await server?.close();
      await smtp?.close();
      await drop?.();
    });

    it('delivers one mail with the stored recipient, the configured sender and the rendered subject, text and HTML', async () => {
      const before = smtp.mails.length;
      const row = await enqueue(server, {
        templateType: 'recovery_code_valid',
        recipient: 'ada@example.com',
        data: { recovery_code: '482913', expires_in_minutes: 15, identity: { id: crypto.randomUUID(), traits: { email: 'ada@example.com' } } },
      });
      const [mail] = (await smtp.waitForMails(before + 1)).slice(before);
      expect(mail.envelope).toEqual({ from: 'accounts@idflow.test', to: ['ada@example.com'] });
      expect(mail.parsed.to).toMatchObject({ value: [{ address: 'ada@example.com', name: '' }] });
      expect(mail.parsed.from).toMatchObject({ value: [{ address: 'accounts@idflow.test', name: 'Idflow Accounts' }] });
      expect(mail.parsed.subject).toBe('Use code 482913 to recover access to your account');
      expect(mail.parsed.text).toContain('482913');
      expect(mail.parsed.text).toContain('This code expires in 15 minutes.');
      expect(mail.parsed.html).toContain('following code:\n\n482913\n');
      expect(mail.messageId).toBe(`<${row.id}@idflow.test>`);
      expect(mail.parsed.headers.get('x-campaign')).toBe('transactional');
      expect(mail.headerNames.filter((h) => h === 'to' || h === 'cc' || h === 'bcc')).toEqual(['to']);

      const sent = await untilStatus(server, row.id, 'sent');
      expect(sent).toMatchObject({ sendCount: 1, leaseUntil: null, leasedBy: null, subject: 'Use code 482913 to recover access to your account' });
      const dispatches = await dispatchesOf(server, row.id);
      expect(dispatches.map((d) => [d.status, d.error])).toEqual([['success', null]]);
    });

    it('renders every message type (built-in templates), text and HTML', async () => {
      const data = {
        recovery_code: '111111', recovery_url: 'https://idflow.test/recover?token=abc', verification_code: '222222',
        verification_url: 'https://idflow.test/verify?token=def', login_code: '333333', registration_code: '444444',
        identity: { traits: { email: 'types@example.com', name: 'Types' } }, traits: { email: 'types@example.com' },
      };
      const types = ['recovery_valid', 'recovery_invalid', 'recovery_code_valid', 'recovery_code_invalid', 'verification_valid',
        'verification_invalid', 'verification_code_valid', 'verification_code_invalid', 'login_code_valid', 'registration_code_valid'] as const;
      const before = smtp.mails.length;
      const rows = [];
      for (const templateType of types) rows.push(await enqueue(server, { templateType, recipient: `${templateType}@example.com`, data }));
      const mails = (await smtp.waitForMails(before + types.length)).slice(before);
      const byRecipient = new Map(mails.map((m) => [m.envelope.to[0], m]));
      const expectations: Record<(typeof types)[number], string[]> = {
        recovery_valid: ['https://idflow.test/recover?token=abc'],
        recovery_invalid: ['registered users'],
        recovery_code_valid: ['111111'],
        recovery_code_invalid: ['registered users'],
        verification_valid: ['https://idflow.test/verify?token=def'],
        verification_invalid: ['unable to find an account'],
        verification_code_valid: ['222222'],
        verification_code_invalid: ['unable to find an account'],
        login_code_valid: ['333333'],
        registration_code_valid: ['444444'],
      };
      for (const type of types) {
        const mail = byRecipient.get(`${type}@example.com`)!;
        expect(mail, type).toBeDefined();
        expect(mail.parsed.subject, type).toBeTruthy();
        for (const needle of expectations[type]) {
          expect(mail.parsed.text, type).toContain(needle);
          expect(String(mail.parsed.html), type).toContain(needle.replace(/&/g, '&amp;'));
        }
      }
      // Link templates escape the URL inside the HTML attribute too.
      expect(String(byRecipient.get('recovery_valid@example.com')!.parsed.html)).toContain('<a href="https://idflow.test/recover?token=abc">');
      for (const row of rows) await untilStatus(server, row.id, 'sent');
    });

    it('keeps CR/LF and HTML in traits out of the headers and the markup', async () => {
      const before = smtp.mails.length;
      const identity = { traits: { email: 'mallory@example.com', name: HOSTILE } };
      const login = await enqueue(server, { templateType: 'login_code_valid', recipient: 'mallory@example.com', data: { login_code: '909090', identity } });
      const verify = await enqueue(server, { templateType: 'verification_code_valid', recipient: 'mallory2@example.com', data: { verification_code: '515151', identity } });
      const mails = (await smtp.waitForMails(before + 2)).slice(before);
      expect(mails).toHaveLength(2);
      for (const mail of mails) {
        expect(mail.envelope.to).toHaveLength(1);
        expect(mail.headerNames).not.toContain('bcc');
        expect(mail.parsed.bcc).toBeUndefined();
        expect(mail.parsed.cc).toBeUndefined();
        expect((mail.parsed.to as { value: unknown[] }).value).toHaveLength(1);
        expect(mail.parsed.subject).not.toMatch(/[\r\n]/);
        expect(String(mail.parsed.html)).not.toContain('<script>');
        expect(String(mail.parsed.html)).toContain('&lt;script&gt;x&lt;/script&gt;');
        const headerBlock = mail.raw.slice(0, mail.raw.search(/\r?\n\r?\n/));
        expect(headerBlock).not.toMatch(/^Bcc:/im);
        expect(headerBlock.match(/^Subject:/gim)).toHaveLength(1);
      }
      const loginMail = mails.find((m) => m.envelope.to[0] === 'mallory@example.com')!;
      expect(loginMail.parsed.subject).toBe('Log in, <script>x</script> Bcc: evil@x');
      expect(String(loginMail.parsed.html)).toMatch(/<p title="&lt;script&gt;x&lt;\/script&gt;\r?\nBcc: evil@x">Hello &lt;script&gt;/);
      expect(loginMail.parsed.text).toContain('Code: 909090');
      const verifyMail = mails.find((m) => m.envelope.to[0] === 'mallory2@example.com')!;
      expect(verifyMail.parsed.subject).toBe('Verify <script>x</script> Bcc: evil@x');
      expect(String(verifyMail.parsed.html)).toContain('code <b>515151</b> for mallory2@example.com');
      // The part not overridden (plaintext) falls back to the built-in template.
      expect(verifyMail.parsed.text).toContain('Verify your account with the following code:');
      await untilStatus(server, login.id, 'sent');
      await untilStatus(server, verify.id, 'sent');
    });

    it('uses file:// overrides from config', async () => {
      const before = smtp.mails.length;
      await enqueue(server, { templateType: 'registration_code_valid', recipient: 'reg@example.com', data: { registration_code: '777000', traits: { name: 'Reg' } } });
      const [mail] = (await smtp.waitForMails(before + 1)).slice(before);
      expect(mail.parsed.text?.trim()).toBe('Hello Reg! Your code: 777000');
      expect(mail.parsed.subject).toBe('Use code 777000 to complete your account registration');
    });

    it('refuses recipients that are not exactly one plain address, and queues nothing', async () => {
      const em = server.orm.em.fork();
      const countBefore = await em.count(CourierMessage, {});
      const hostile = [
        '"e@attacker.com"@victim.com',
        'victim@example.com, attacker@evil.com',
        'victim@example.com;attacker@evil.com',
        'Victim <victim@example.com>',
        '<victim@example.com>',
        'victim@example.com (comment)',
        'victim@example.com\r\nBcc: evil@x',
        'victim@example.com\n',
        ' victim@example.com',
        'victim @example.com',
        'vic\\tim@example.com',
        'a@b@example.com',
        'victim',
        '@example.com',
        'victim@',
        'victim@[127.0.0.1]',
        'victim@exa_mple.com',
        'victim@-example.com',
        'victim..x@example.com',
        '.victim@example.com',
        '',
        'x'.repeat(65) + '@example.com',
        `victim@${'a'.repeat(250)}.com`,
        'victim\u2028@example.com',
      ];
      for (const recipient of hostile) {
        let thrown: unknown;
        try {
          server.registry.courier.render({ templateType: 'recovery_code_valid', recipient, data: { recovery_code: '1' } });
        } catch (err) {
          thrown = err;
        }
        expect(thrown, JSON.stringify(recipient)).toBeInstanceOf(KratosError);
        expect((thrown as KratosError).status).toBe(400);
      }
      expect(await server.orm.em.fork().count(CourierMessage, {})).toBe(countBefore);
      for (const ok of ["o'brien+tag@example.co.uk", 'jörg@bücher.example', 'user@localhost', 'a.b-c_d@sub.example.com']) {
        expect(() => server.registry.courier.render({ templateType: 'recovery_code_valid', recipient: ok, data: { recovery_code: '1' } }), ok).not.toThrow();
      }
    });

    it('counts messages by status and deliveries by result in metrics, and never shows recipients in metrics or logs', async () => {
      const text = await server.registry.metrics.registry.metrics();
      expect(text).toMatch(/idflow_courier_messages\{status="sent"\} [1-9]\d*/);
      expect(text).toMatch(/idflow_courier_messages\{status="queued"\} \d+/);
      expect(text).toMatch(/idflow_courier_deliveries_total\{result="sent"\} [1-9]\d*/);
      expect(text).not.toContain('@example.com');
      const courierLogs = server.logs.filter((line) => line.includes('courier'));
      expect(courierLogs.some((line) => line.includes('"message_id"'))).toBe(true);
      for (const line of server.logs) expect(line).not.toMatch(/@example\.com|mallory|ada@/);
    });
  });
}
