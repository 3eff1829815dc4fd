import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { CourierConfig } from '../../../config/types.ts';
import { createHttpTransport } from '../../../src/courier/transports/http.ts';
import { DeliveryError } from '../../../src/courier/transports/transport.ts';
import { createOutboundGuard } from '../../../src/x/outbound-guard.ts';

const message = { id: 'm1', recipient: 'to@example.com', subject: 'Hi', text: 'code 123456', templateType: 'verification_code_valid', templateData: { to: 'to@example.com' } };

describe('HTTP courier transport', () => {
  let server: Server;
  let base = '';
  const paths: string[] = [];

  beforeAll(async () => {
    server = createServer((req, res) => {
      paths.push(req.url ?? '');
      req.resume();
      req.on('end', () => (req.url === '/fail' ? res.writeHead(500).end('x'.repeat(5000)) : res.writeHead(204).end()));
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
});
