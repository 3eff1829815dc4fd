/**
 * A method is one object registered with the registry: this suite plugs in a toy method that is nowhere else in
 * idflow and checks that the engine shows its nodes, routes its submissions to it, commits its outcome (a session),
 * and mounts the routes it owns — a static script and a callback that continues a browser flow.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Method } from '../../../src/methods/method.ts';
import { inputNode, submitNode } from '../../../src/ui/node.ts';
import { MessageId } from '../../../src/text/ids.ts';
import { message } from '../../../src/text/message.ts';
import { CookieJar } from '../../support/cookie-jar.ts';
import { expectResponse } from '../../support/openapi.ts';
import { startTestServer, type TestServer } from '../../support/server.ts';

type Json = any;

const MAGIC_WORD = 'abracadabra';
/** The identity the toy method signs in (set once it exists). */
const target: { identityId?: string } = {};

const magic: Method = {
  id: 'magic',
  group: 'default',
  login: {
    aal: 'aal1',
    nodes: () => ({
      nodes: [inputNode('default', 'magic_word', 'text', { required: true }), submitNode('default', 'method', 'magic')],
      internal: { shown: true },
    }),
    async submit(ctx, payload) {
      if (payload.magic_word !== MAGIC_WORD || !target.identityId) {
        return { kind: 'rejected', messages: [message(MessageId.ErrorValidationInvalidCredentials)] };
      }
      // The internal state the nodes returned at creation came back with the flow.
      if ((ctx.internal as { shown?: boolean } | undefined)?.shown !== true) throw new Error('internal state lost');
      return { kind: 'authenticated', identityId: target.identityId, method: 'magic', aal: 'aal1' };
    },
  },
  routes: [
    { method: 'GET', path: '/.well-known/idflow/magic.js', handle: async () => ({ kind: 'content', status: 200, contentType: 'application/javascript', body: 'window.magic = true;', cacheControl: 'max-age=60' }) },
    {
      method: 'GET',
      path: '/self-service/methods/magic/callback/:word',
      handle: async ({ params, query }) => ({ kind: 'submit', flowKind: 'login', flowId: query.flow ?? '', payload: { method: 'magic', magic_word: params.word } }),
    },
  ],
};

describe('a method plugged into the registry', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer('memory', {
      selfservice: { default_browser_return_url: 'http://127.0.0.1:9/home', methods: { password: { config: { haveibeenpwned_enabled: false } } } },
      hashers: { algorithm: 'bcrypt', bcrypt: { cost: 4 } },
    }, { extraMethods: [magic] });
    const identity = await server.identityApi.createIdentity({ createIdentityBody: { schema_id: 'default', traits: { email: 'magic@example.com' } } });
    target.identityId = identity.id;
  });
  afterAll(() => server?.close());

  const submit = (flowId: string, body: Record<string, unknown>) => fetch(`${server.publicUrl}/self-service/login?flow=${flowId}`, {
    method: 'POST', headers: { 'content-type': 'application/json', accept: 'application/json' }, body: JSON.stringify(body),
  });

  it('shows its nodes and takes its submissions, committing the session it proves', async () => {
    const flow = await server.frontendApi.createNativeLoginFlow();
    expect(flow.ui.nodes.map((n) => (n.attributes as { name?: string }).name)).toEqual(expect.arrayContaining(['magic_word', 'identifier', 'password']));

    const wrong = await submit(flow.id, { method: 'magic', magic_word: 'hocus pocus' });
    const wrongBody = await wrong.json();
    expectResponse('updateLoginFlow', 400, wrongBody);
    expect(wrongBody.ui.messages.map((m: Json) => m.id)).toEqual([4000006]);

    const right = await submit(flow.id, { method: 'magic', magic_word: MAGIC_WORD });
    const rightBody = await right.json();
    // Not checked against Kratos's OpenAPI: its method enum knows only Kratos's methods, and `magic` is not one.
    expect(right.status).toBe(200);
    expect(rightBody.session.identity.id).toBe(target.identityId);
    expect(rightBody.session.authentication_methods.map((m: Json) => m.method)).toEqual(['magic']);
    const whoami = await fetch(`${server.publicUrl}/sessions/whoami`, { headers: { 'x-session-token': rightBody.session_token } });
    expect(whoami.status).toBe(200);
  });

  it('serves the content its routes answer', async () => {
    const res = await fetch(`${server.publicUrl}/.well-known/idflow/magic.js`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^application\/javascript/);
    expect(res.headers.get('cache-control')).toBe('max-age=60');
    expect(await res.text()).toBe('window.magic = true;');
  });

  it('continues a browser flow from its callback route, like a navigation', async () => {
    const jar = new CookieJar();
    const flow = await (await jar.fetch(`${server.publicUrl}/self-service/login/browser`, { headers: { accept: 'application/json' } })).json();
    const bad = await jar.fetch(`${server.publicUrl}/self-service/methods/magic/callback/nope?flow=${flow.id}`);
    expect(bad.status).toBe(303);
    expect(bad.headers.get('location')).toContain(`flow=${flow.id}`);
    const done = await jar.fetch(`${server.publicUrl}/self-service/methods/magic/callback/${MAGIC_WORD}?flow=${flow.id}`);
    expect(done.status).toBe(303);
    expect(done.headers.get('location')).toBe('http://127.0.0.1:9/home');
    expect((await jar.fetch(`${server.publicUrl}/sessions/whoami`)).status).toBe(200);
  });
});
