import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { CourierConfig } from '../../../config/types.ts';
import { createHttpTransport, createRequestTransport } from '../../../src/courier/transports/http.ts';
import { DeliveryError } from '../../../src/courier/transports/transport.ts';
import { createOutboundGuard } from '../../../src/x/outbound-guard.ts';
import { jsonnetMissing } from '../../support/jsonnet.ts';

const message = { id: 'm1', recipient: 'to@example.com', subject: 'Hi', text: 'code 123456', templateType: 'verification_code_valid', templateData: { to: 'to@example.com' } };

describe('HTTP courier transport', () => {
  let server: Server;
  let base = '';
  const paths: string[] = [];
  const bodies: string[] = [];

  beforeAll(async () => {
    server = createServer((req, res) => {
      paths.push(req.url ?? '');
      let text = '';
      req.on('data', (chunk) => (text += chunk));
      req.on('end', () => {
        bodies.push(text);
        if (req.url === '/fail') res.writeHead(500).end('x'.repeat(5000));
        else res.writeHead(204).end();
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

  const transport = (path: string, guard = createOutboundGuard({})) =>
    createHttpTransport({ http: { request_config: { url: `${base}${path}`, method: 'POST' } } } as unknown as CourierConfig, { guard });

  it('refuses a private address under clients.http.disallow_private_ip_ranges (not an outage), unless the URL is exempt', async () => {
    const guard = createOutboundGuard({ disallow_private_ip_ranges: true, private_ip_exception_urls: [`${base}/exempt`] });
    const refused = await transport('/mail', guard).send(message).then(() => undefined, (err: unknown) => err);
    expect(refused).toBeInstanceOf(DeliveryError);
    expect((refused as DeliveryError).message).toMatch(/private IP range/);
    expect((refused as DeliveryError).outage).toBe(false);
    expect(paths).not.toContain('/mail');

    await transport('/exempt', guard).send(message);
    expect(paths).toContain('/exempt');
  });

  it('keeps at most 500 bytes of a failed answer in the error', async () => {
    const failed = await transport('/fail').send(message).then(() => undefined, (err: unknown) => err as DeliveryError);
    expect(failed?.message).toMatch(/^HTTP 500: x+$/);
    expect(failed!.message.length).toBe('HTTP 500: '.length + 500);
  });

  it.skipIf(jsonnetMissing)('sends what a configured Jsonnet body makes of Kratos\'s context (function(ctx)), e-mail and SMS alike', async () => {
    const jsonnet = 'function(ctx) { to: ctx.recipient, text: ctx.body, kind: ctx.message_type, type: ctx.template_type, code: ctx.template_data.login_code }';
    const body = `base64://${Buffer.from(jsonnet).toString('base64')}`;
    const custom = createRequestTransport({ url: `${base}/jsonnet`, method: 'POST', body }, 'courier.channels[id=sms].request_config', { guard: createOutboundGuard({}) });
    await custom.send({ ...message, recipient: '+41791234567', templateType: 'login_code_valid', templateData: { login_code: '123456' }, channel: 'sms' });
    expect(JSON.parse(bodies.at(-1)!)).toEqual({ to: '+41791234567', text: 'code 123456', kind: 'phone', type: 'login_code_valid', code: '123456' });

    const broken = createRequestTransport({ url: `${base}/jsonnet`, body: `base64://${Buffer.from('function(ctx) ctx.nope').toString('base64')}` }, 'courier.http.request_config');
    const failed = await broken.send(message).then(() => undefined, (err: unknown) => err as DeliveryError);
    expect(failed).toBeInstanceOf(DeliveryError);
    expect(failed!.permanent).toBe(true);
    expect(failed!.message).toMatch(/^courier\.http\.request_config\.body: /);
    expect(() => createRequestTransport({ url: `${base}/x`, body: 'https://example.com/body.jsonnet' }, 'courier.http.request_config')).toThrow(/file:\/\/ or base64:\/\//);
  });
});
