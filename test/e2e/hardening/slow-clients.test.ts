/**
 * Issue 15, "slow bodies": a request that trickles its declared Content-Length held a connection for seconds.
 * `serve.*.request_timeout` / `headers_timeout` close it (408) and `serve.*.max_connections_per_ip` caps what one
 * address may hold open. Small timeouts here, so the real socket timeout under test stays well below a second.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connect, type Socket } from 'node:net';
import { testDatabases } from '../../support/databases.ts';
import { startTestServer, type TestServer } from '../../support/server.ts';
import { until } from '../../support/until.ts';

const LIMITS = { request_timeout: '400ms', headers_timeout: '300ms', keep_alive_timeout: '1s', max_connections_per_ip: 3 };

function open(url: string): Promise<Socket> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve, reject) => {
    const socket = connect(Number(port), hostname, () => resolve(socket));
    socket.once('error', reject);
  });
}

/** Resolves with what the server sent and how long until it closed the connection. */
function untilClosed(socket: Socket): Promise<{ data: string; ms: number }> {
  const started = performance.now();
  let data = '';
  socket.on('data', (chunk) => { data += chunk; });
  socket.on('error', () => {});
  return new Promise((resolve) => socket.once('close', () => resolve({ data, ms: performance.now() - started })));
}

/** One request on a fresh connection; its status line, or '' when the server closed the connection unanswered. */
async function request(url: string): Promise<string> {
  const socket = await open(url);
  const closed = untilClosed(socket);
  socket.write('GET /health/alive HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n');
  return (await closed).data.split('\r\n')[0];
}

for (const db of testDatabases()) {
  describe(`slow clients and connection caps (${db.name})`, () => {
    let server: TestServer;
    let drop: () => Promise<void>;

    beforeAll(async () => {
      const created = await db.create();
      drop = created.drop;
      server = await startTestServer(created.dsn, { serve: { public: LIMITS, admin: LIMITS } });
    });
    afterAll(async () => {
      await server?.close();
      await drop?.();
    });

    for (const api of ['public', 'admin'] as const) {
      it(`closes a connection that trickles its body past request_timeout with 408 (${api})`, async () => {
        const socket = await open(api === 'public' ? server.publicUrl : server.adminUrl);
        const closed = untilClosed(socket);
        const path = api === 'public' ? '/self-service/registration?flow=00000000-0000-4000-8000-000000000000' : '/admin/identities';
        socket.write(`POST ${path} HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n{`);
        const drip = setInterval(() => { if (!socket.destroyed) socket.write(' '); }, 50);
        const { data, ms } = await closed;
        clearInterval(drip);
        expect(data).toMatch(/^HTTP\/1\.1 408 /);
        expect(ms).toBeLessThan(1000);
      });

      it(`closes a connection whose headers never finish (${api})`, async () => {
        const socket = await open(api === 'public' ? server.publicUrl : server.adminUrl);
        const closed = untilClosed(socket);
        socket.write('GET /health/alive HTTP/1.1\r\nHost: x\r\n');
        const { data, ms } = await closed;
        expect(data).toMatch(/^HTTP\/1\.1 408 /);
        expect(ms).toBeLessThan(1000);
      });

      it(`refuses connections over max_connections_per_ip from one address and serves the others (${api})`, async () => {
        const url = api === 'public' ? server.publicUrl : server.adminUrl;
        const held = [await open(url), await open(url), await open(url)];
        const extra = await open(url);
        const refused = await untilClosed(extra);
        expect(refused.data).toBe('');
        const answered = new Promise<string>((resolve) => {
          let data = '';
          held[0].on('data', (chunk) => { data += chunk; if (data.includes('\r\n\r\n')) resolve(data); });
        });
        held[0].write('GET /health/alive HTTP/1.1\r\nHost: x\r\n\r\n');
        expect(await answered).toMatch(/^HTTP\/1\.1 200 /);
        for (const s of held) s.destroy();
        // Closed connections stop counting once the server has seen them close.
        const status = await until(() => request(url), (line) => line.startsWith('HTTP/1.1 200'), 2000, 'a connection after the others closed');
        expect(status).toMatch(/^HTTP\/1\.1 200 /);
      });
    }
  });
}
