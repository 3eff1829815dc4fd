import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WebSocketServer } from 'ws';
import type { AddressInfo } from 'node:net';
import { startTestServer, type TestServer } from '../../support/server.ts';

describe('Stately inspector streaming (serve --inspect)', () => {
  let wss: WebSocketServer;
  let server: TestServer;
  const received: Array<Record<string, any>> = [];

  beforeAll(async () => {
    wss = new WebSocketServer({ host: '127.0.0.1', port: 0 });
    await new Promise<void>((resolve) => wss.once('listening', () => resolve()));
    wss.on('connection', (socket) => socket.on('message', (data) => received.push(JSON.parse(data.toString()))));
    const port = (wss.address() as AddressInfo).port;
    server = await startTestServer('memory', { selfservice: { methods: { password: { config: { haveibeenpwned_enabled: false } } } } }, { inspectUrl: `ws://127.0.0.1:${port}` });
  });
  afterAll(async () => {
    await server?.close();
    await new Promise((resolve) => wss.close(resolve));
  });

  it("receives a flow's actor, events and snapshots over the WebSocket, without submit payloads", async () => {
    const flow = await server.frontendApi.createNativeRegistrationFlow();
    await server.frontendApi.updateRegistrationFlow({ flow: flow.id, updateRegistrationFlowBody: { method: 'password', traits: { email: 'inspected@example.com' }, password: 'an inspected passphrase' } });
    for (let i = 0; i < 100 && !received.some((e) => e.type === '@xstate.snapshot' && JSON.stringify(e).includes('passed_challenge')); i++) {
      await new Promise((r) => setTimeout(r, 50));
    }
    expect(received.some((e) => e.type === '@xstate.actor')).toBe(true);
    expect(received.some((e) => e.type === '@xstate.event' && e.event?.type === 'method.submit' && e.event?.method === 'password')).toBe(true);
    expect(received.some((e) => e.type === '@xstate.snapshot' && JSON.stringify(e.snapshot?.value) === '"passed_challenge"')).toBe(true);
    const leak = received.find((e) => JSON.stringify(e).includes("an inspected passphrase"));
    expect(leak, JSON.stringify(leak)?.slice(0, 1500)).toBeUndefined();
  });
});
