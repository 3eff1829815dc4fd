/**
 * `idflow flows history|replay` (issue 18's audit trail): the real CLI reads a flow's history from the admin API and
 * replays it to a WebSocket shaped like the Stately inspector's — the machine's definition, then each recorded event
 * and the state it led to, never a submitted value.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WebSocketServer } from 'ws';
import type { AddressInfo } from 'node:net';
import { createServer } from 'node:net';
import { FLOW_MACHINES } from '../../../src/flows/flow-machines.ts';
import { runCli } from '../../support/cli.ts';
import { startTestServer, type TestServer } from '../../support/server.ts';

type Json = any;
const PASSWORD = 'a replayed passphrase 2718';

describe('idflow flows history / replay', () => {
  let server: TestServer;
  let wss: WebSocketServer;
  let inspectUrl: string;
  const received: Json[] = [];
  let flowId: string;

  beforeAll(async () => {
    wss = new WebSocketServer({ host: '127.0.0.1', port: 0 });
    await new Promise<void>((resolve) => wss.once('listening', () => resolve()));
    wss.on('connection', (socket) => socket.on('message', (data) => received.push(JSON.parse(data.toString()))));
    inspectUrl = `ws://127.0.0.1:${(wss.address() as AddressInfo).port}`;
    server = await startTestServer('memory', { selfservice: { methods: { password: { config: { haveibeenpwned_enabled: false } } } } });

    const email = `replay-${crypto.randomUUID()}@example.com`;
    await server.identityApi.createIdentity({ createIdentityBody: { schema_id: 'default', traits: { email }, credentials: { password: { config: { password: PASSWORD } } } } });
    const flow = await server.frontendApi.createNativeLoginFlow();
    flowId = flow.id;
    const submit = (password: string) => fetch(`${server.publicUrl}/self-service/login?flow=${flow.id}`, {
      method: 'POST', headers: { 'content-type': 'application/json', accept: 'application/json' },
      body: JSON.stringify({ method: 'password', identifier: email, password }),
    });
    expect((await submit('not the password at all')).status).toBe(400);
    expect((await submit(PASSWORD)).status).toBe(200);
  });
  afterAll(async () => {
    await server?.close();
    await new Promise((resolve) => wss?.close(resolve));
  });

  const cli = (...args: string[]) => runCli(['flows', ...args, '-e', server.adminUrl]);

  it('prints the history as one line per transition, or as the admin API JSON', async () => {
    const table = await cli('history', flowId);
    expect(table.code, table.stderr).toBe(0);
    const lines = table.stdout.trim().split('\n');
    expect(lines[0]).toBe(`login flow ${flowId} (api), now passed_challenge`);
    expect(lines.slice(1).map((l) => l.replace(/^\S+\s+/, ''))).toEqual([
      'method.submit [password]  choose_method.awaiting_input -> choose_method.authenticating',
      'xstate.done.actor.authenticate [password]  choose_method.authenticating -> choose_method.awaiting_input',
      'method.submit [password]  choose_method.awaiting_input -> choose_method.authenticating',
      'xstate.done.actor.authenticate [password]  choose_method.authenticating -> choose_method.issuing_session',
      'xstate.done.actor.issueSession [password]  choose_method.issuing_session -> passed_challenge',
    ]);

    const json = await cli('history', flowId, '--format', 'json');
    expect(json.code, json.stderr).toBe(0);
    const body = JSON.parse(json.stdout);
    expect(body).toMatchObject({ flow_id: flowId, kind: 'login', state: 'passed_challenge' });
    expect(body.transitions).toHaveLength(5);
  });

  it("replays the flow to the inspector's WebSocket: the machine, then each event and the state it reached", async () => {
    const run = await cli('replay', flowId, '--inspect', inspectUrl);
    expect(run.code, run.stderr).toBe(0);
    expect(run.stdout).toContain(`replayed 5 transitions of login flow ${flowId} (11 inspection events)`);
    // The CLI closes the socket only after sending; the server may still be reading the last frames.
    for (let i = 0; i < 100 && received.length < 11; i++) await new Promise((r) => setTimeout(r, 20));
    expect(received).toHaveLength(11);

    const [actor, ...rest] = received;
    expect(actor).toMatchObject({ type: '@xstate.actor', sessionId: `flow:${flowId}`, name: FLOW_MACHINES.login.id });
    expect(JSON.parse(actor.definition)).toMatchObject({ id: FLOW_MACHINES.login.id, initial: FLOW_MACHINES.login.config.initial });
    expect(actor.snapshot.value).toEqual({ choose_method: 'awaiting_input' });

    expect(rest.map((e) => e.type)).toEqual(Array.from({ length: 5 }, () => ['@xstate.event', '@xstate.snapshot']).flat());
    const snapshots = rest.filter((e) => e.type === '@xstate.snapshot');
    expect(snapshots.map((s) => s.snapshot.value)).toEqual([
      { choose_method: 'authenticating' },
      { choose_method: 'awaiting_input' },
      { choose_method: 'authenticating' },
      { choose_method: 'issuing_session' },
      'passed_challenge',
    ]);
    expect(snapshots.map((s) => s.snapshot.status)).toEqual(['active', 'active', 'active', 'active', 'done']);
    expect(rest.filter((e) => e.type === '@xstate.event').map((e) => [e.event.type, e.event.method])).toEqual([
      ['method.submit', 'password'],
      ['xstate.done.actor.authenticate', 'password'],
      ['method.submit', 'password'],
      ['xstate.done.actor.authenticate', 'password'],
      ['xstate.done.actor.issueSession', 'password'],
    ]);
    // Every replayed state is one the machine has, so the inspector can draw the path on the definition it got.
    for (const s of snapshots) expect(FLOW_MACHINES.login.resolveState({ value: s.snapshot.value, context: {} as never }).value).toEqual(s.snapshot.value);
    expect(JSON.stringify(received)).not.toContain(PASSWORD);
  });

  it('exits 1 naming the inspector URL when nothing listens there, and the admin answer for an unknown flow', async () => {
    const closed = await new Promise<number>((resolve) => {
      const probe = createServer().listen(0, '127.0.0.1', () => {
        const { port } = probe.address() as AddressInfo;
        probe.close(() => resolve(port));
      });
    });
    const unreachable = await cli('replay', flowId, '--inspect', `ws://127.0.0.1:${closed}`);
    expect(unreachable.code).toBe(1);
    expect(unreachable.stderr).toContain(`cannot reach the Stately inspector at ws://127.0.0.1:${closed}`);

    const unknown = await cli('history', crypto.randomUUID());
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toContain('admin API answered 404');

    const usage = await cli('replay', flowId);
    expect(usage.code).toBe(1);
    expect(usage.stderr).toContain('replay needs --inspect WS_URL');
  });
});
