/**
 * Issue 16: a method's work on a submission may begin while the flow is read (src/methods/method.ts HeadStart); the
 * password method's check does. It must cost nothing extra: one hash per password login, as before (counted in
 * idflow_password_hash_duration_seconds{operation="verify"}); and a head start is begun only for a submission that
 * passed the flow's checks — shown with a toy method that records what the flow service does with its head start
 * (an expired flow, a browser submit without its CSRF token, another method named: never begun).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { HeadStart, Method } from '../../../src/methods/method.ts';
import { MessageId } from '../../../src/text/ids.ts';
import { message } from '../../../src/text/message.ts';
import { inputNode, submitNode } from '../../../src/ui/node.ts';
import { CookieJar } from '../../support/cookie-jar.ts';
import { testDatabases } from '../../support/databases.ts';
import { passwordSuite } from '../../support/password-suite.ts';
import { startTestServer, type TestServer } from '../../support/server.ts';

type Json = any;
const PASSWORD = 'a long and unguessable passphrase';
const EMAIL = 'head-start@example.com';
const LOGIN_LIFESPAN_MS = 60 * 60 * 1000;

for (const db of testDatabases()) {
  describe(`password login head start (${db.name})`, () => {
    const suite = passwordSuite(db);
    let server: TestServer;
    const post = (path: string, body: unknown) => suite.post(path, body);

    beforeAll(async () => {
      server = suite.server;
      const flow = await server.frontendApi.createNativeRegistrationFlow();
      expect((await post(`/self-service/registration?flow=${flow.id}`, { method: 'password', traits: { email: EMAIL }, password: PASSWORD })).status).toBe(200);
    });

    async function verifies(): Promise<number> {
      const text = await (await fetch(`${server.adminUrl}/admin/metrics/prometheus`)).text();
      const line = /^idflow_password_hash_duration_seconds_count\{operation="verify"\} (\d+)$/m.exec(text);
      return line ? Number(line[1]) : 0;
    }

    /** The answer to `submit`, and how many password hashes were verified meanwhile. */
    async function counted(submit: () => Promise<{ status: number; body: Json }>) {
      const before = await verifies();
      const answer = await submit();
      return { ...answer, hashes: (await verifies()) - before };
    }

    const loginBody = { method: 'password', identifier: EMAIL, password: PASSWORD };

    it('a login verifies one hash: the check begun early is the one the method uses', async () => {
      const flow = await server.frontendApi.createNativeLoginFlow();
      const answer = await counted(() => post(`/self-service/login?flow=${flow.id}`, loginBody));
      expect(answer.status).toBe(200);
      expect(answer.body.session.identity.traits.email).toBe(EMAIL);
      expect(answer.hashes).toBe(1);
      const wrong = await server.frontendApi.createNativeLoginFlow();
      const refused = await counted(() => post(`/self-service/login?flow=${wrong.id}`, { ...loginBody, password: 'not the passphrase' }));
      expect(refused.status).toBe(400);
      expect(refused.body.ui.messages.map((m: Json) => m.id)).toEqual([4000006]);
      expect(refused.hashes).toBe(1);
    });
  });
}

/** A toy login method whose head start records what happens to it: made, begun, handed to the submit. */
const events: string[] = [];
class RecordedHeadStart implements HeadStart {
  begun = false;
  readonly word: unknown;
  constructor(word: unknown) {
    this.word = word;
    events.push('made');
  }
  async begin(): Promise<void> {
    this.begun = true;
    events.push('begun');
  }
}
const early: Method = {
  id: 'early',
  group: 'default',
  login: {
    aal: 'aal1',
    nodes: () => ({ nodes: [inputNode('default', 'word', 'text'), submitNode('default', 'method', 'early')] }),
    headStart: (body) => new RecordedHeadStart(body.word),
    async submit(ctx) {
      const given = ctx.headStart;
      events.push(given instanceof RecordedHeadStart ? `submitted with ${given.begun ? 'a begun' : 'an unbegun'} head start for ${String(given.word)}` : 'submitted without');
      return { kind: 'rejected', messages: [message(MessageId.ErrorValidationInvalidCredentials)] };
    },
  },
};

describe('a head start is begun only once the flow accepted the submission', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer('memory', { selfservice: { methods: { password: { config: { haveibeenpwned_enabled: false } } } } }, { extraMethods: [early] });
  });
  afterAll(() => server?.close());

  async function submit(flowId: string, body: Record<string, unknown>, jar?: CookieJar): Promise<number> {
    events.length = 0;
    const request = { method: 'POST', headers: { 'content-type': 'application/json', accept: 'application/json' }, body: JSON.stringify(body) };
    const res = await (jar ? jar.fetch(`${server.publicUrl}/self-service/login?flow=${flowId}`, request) : fetch(`${server.publicUrl}/self-service/login?flow=${flowId}`, request));
    await res.arrayBuffer();
    return res.status;
  }

  it('accepted: made, begun, then handed to the method\'s submit', async () => {
    const flow = await server.frontendApi.createNativeLoginFlow();
    expect(await submit(flow.id, { method: 'early', word: 'please' })).toBe(400);
    expect(events).toEqual(['made', 'begun', 'submitted with a begun head start for please']);
  });

  it('an expired flow, a forged browser submit, an unknown flow: made, never begun, the method never runs', async () => {
    const expired = await server.frontendApi.createNativeLoginFlow();
    server.clock.advance(LOGIN_LIFESPAN_MS + 1000);
    expect(await submit(expired.id, { method: 'early', word: 'late' })).toBe(410);
    expect(events).toEqual(['made']);

    const jar = new CookieJar();
    const browser = await (await jar.fetch(`${server.publicUrl}/self-service/login/browser`, { headers: { accept: 'application/json' } })).json() as Json;
    expect(await submit(browser.id, { method: 'early', word: 'forged' }, jar)).toBe(403);
    expect(events).toEqual(['made']);

    expect(await submit(crypto.randomUUID(), { method: 'early', word: 'nowhere' })).toBe(404);
    expect(events).toEqual(['made']);
  });

  it('none is made for a submission naming another method', async () => {
    const flow = await server.frontendApi.createNativeLoginFlow();
    expect(await submit(flow.id, { method: 'password', identifier: 'nobody@example.com', password: PASSWORD })).toBe(400);
    expect(events).toEqual([]);
  });
});
