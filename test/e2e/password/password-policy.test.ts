/**
 * The password policy through the native registration and settings flows (Kratos section 12): breached passwords
 * against a local HaveIBeenPwned range server (never the internet), what happens when that service is down, the
 * identifier-similarity check, the configured minimum length, and "new password equals the current one".
 *
 * `haveibeenpwned_host: 127.0.0.1:<port>` is reached over plain http because the host is loopback (see
 * `defaultHibpScheme` in src/methods/password/hibp.ts); any other host is contacted over https.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ResponseError } from '@ory/client-fetch';
import { testDatabases, type TestDatabase } from '../../support/databases.ts';
import { startTestServer, type Overlay, type TestServer } from '../../support/server.ts';
import { expectResponse } from '../../support/openapi.ts';
import { closedPortHost, rangeHandler, sha1Upper, startRangeServer, type RangeServer } from '../../unit/methods/password/range-server.ts';
import { failure } from '../../support/sdk.ts';

type Json = any;

const BREACHED = 'correct horse battery staple';
const BREACH_COUNT = 4213;

function node(flow: Json, name: string): Json {
  return flow.ui.nodes.find((n: Json) => n.attributes.name === name);
}

function passwordConfig(host: string, over: Record<string, unknown> = {}): Overlay {
  return {
    selfservice: {
      methods: {
        password: {
          config: {
            haveibeenpwned_enabled: true,
            haveibeenpwned_host: host,
            max_breaches: 0,
            ignore_network_errors: false,
            min_password_length: 12,
            identifier_similarity_check_enabled: true,
            ...over,
          },
        },
      },
    },
  };
}

function useServer(db: TestDatabase, overlay: () => Overlay): () => TestServer {
  let server: TestServer | undefined;
  let drop: (() => Promise<void>) | undefined;
  beforeAll(async () => {
    const created = await db.create();
    drop = created.drop;
    server = await startTestServer(created.dsn, overlay());
  });
  afterAll(async () => {
    await server?.close();
    await drop?.();
  });
  return () => server!;
}

let counter = 0;
const email = (label: string) => `${label}${++counter}.${Math.random().toString(36).slice(2, 8)}@example.com`;

/** A one-shot native password registration; the raw 200 body or the 400 flow (both validated). */
async function register(server: TestServer, address: string, password: string): Promise<{ status: number; body: Json }> {
  const flow = await server.frontendApi.createNativeRegistrationFlow();
  try {
    const res = await server.frontendApi.updateRegistrationFlowRaw({
      flow: flow.id,
      updateRegistrationFlowBody: { method: 'password', traits: { email: address }, password },
    });
    const body = await res.raw.json();
    expectResponse('updateRegistrationFlow', 200, body);
    return { status: res.raw.status, body };
  } catch (err) {
    if (!(err instanceof ResponseError)) throw err;
    const body = await err.response.json();
    expectResponse('updateRegistrationFlow', err.response.status, body);
    return { status: err.response.status, body };
  }
}

/** The password node's message ids of a rejected registration; asserts nothing was created. */
async function rejectedIds(server: TestServer, address: string, password: string): Promise<{ ids: number[]; messages: Json[]; flow: Json }> {
  const res = await register(server, address, password);
  expect(res.status, JSON.stringify(res.body)).toBe(400);
  expect(res.body.state).toBe('choose_method');
  expect(node(res.body, 'password').attributes.value).toBeUndefined();
  expect(await server.identityApi.listIdentities({ credentialsIdentifier: address })).toEqual([]);
  const messages = node(res.body, 'password').messages;
  return { ids: messages.map((m: Json) => m.id), messages, flow: res.body };
}

async function expectRegistered(server: TestServer, address: string, password: string): Promise<Json> {
  const res = await register(server, address, password);
  expect(res.status, JSON.stringify(res.body)).toBe(200);
  expect(res.body.identity.traits.email).toBe(address);
  expect(res.body.session_token).toMatch(/^ory_st_/);
  return res.body;
}

for (const db of testDatabases()) {
  describe(`password policy with a reachable range service (${db.name})`, () => {
    let range: RangeServer;
    const breached = sha1Upper(BREACHED);
    beforeAll(async () => {
      range = await startRangeServer(rangeHandler({
        [breached.prefix]: ['0018A45C4D1DEF81644B54AB7F969B88D65:3', `${breached.suffix}:${BREACH_COUNT}`],
      }));
    });
    afterAll(() => range?.close());
    const server = useServer(db, () => passwordConfig(range.host));

    it('refuses a breached password with 4000034, asking the range API for the 5-hex prefix only', async () => {
      const before = range.requests.length;
      const { ids, messages } = await rejectedIds(server(), email('breached'), BREACHED);
      expect(ids).toEqual([4000034]);
      expect(messages[0]).toMatchObject({ type: 'error', context: { breaches: BREACH_COUNT } });
      const asked = range.requests.slice(before);
      expect(asked.map((r) => `${r.method} ${r.url}`)).toEqual([`GET /range/${breached.prefix}`]);
      expect(asked[0].headers['add-padding']).toBe('true');
      expect(JSON.stringify(asked)).not.toContain(breached.suffix);
    });

    it('accepts a password the range API does not list', async () => {
      const password = 'an unlisted and pleasantly long passphrase';
      const before = range.requests.length;
      const body = await expectRegistered(server(), email('clean'), password);
      expect(range.requests.slice(before).map((r) => r.url)).toEqual([`/range/${sha1Upper(password).prefix}`]);
      const whoami = await server().frontendApi.toSession({ xSessionToken: body.session_token });
      expect(whoami.identity?.id).toBe(body.identity.id);
    });

    it('refuses a password too similar to the e-mail address with 4000031', async () => {
      const address = email('quentin.quartermaster');
      const local = address.slice(0, address.indexOf('@'));
      expect((await rejectedIds(server(), address, `${local}!`)).ids).toEqual([4000031]);
      expect((await rejectedIds(server(), address, address.toUpperCase())).ids).toEqual([4000031]);
    });

    it('refuses a password below min_password_length with 4000032 and the configured minimum', async () => {
      const before = range.requests.length;
      const { ids, messages } = await rejectedIds(server(), email('short'), 'Zq8!vN2#kLp');
      expect(ids).toEqual([4000032]);
      expect(messages[0].context).toEqual({ min_length: 12, actual_length: 11 });
      // Length is judged before anything leaves the process.
      expect(range.requests.length).toBe(before);
      await expectRegistered(server(), email('twelve'), 'Zq8!vN2#kLpX');
    });

    it('refuses, in settings, a new password equal to the current one with 4000039', async () => {
      const current = 'my current passphrase is long';
      const registered = await expectRegistered(server(), email('settings'), current);
      const token: string = registered.session_token;
      const flow = await server().frontendApi.createNativeSettingsFlow({ xSessionToken: token });

      const same = await failure(server().frontendApi.updateSettingsFlow({
        flow: flow.id, xSessionToken: token,
        updateSettingsFlowBody: { method: 'password', password: current },
      }));
      expect(same.status).toBe(400);
      expectResponse('updateSettingsFlow', 400, same.body);
      expect(node(same.body, 'password').messages.map((m: Json) => m.id)).toEqual([4000039]);

      // The policy applies to settings too, and a different acceptable password goes through.
      const breachedChange = await failure(server().frontendApi.updateSettingsFlow({
        flow: flow.id, xSessionToken: token,
        updateSettingsFlowBody: { method: 'password', password: BREACHED },
      }));
      expect(node(breachedChange.body, 'password').messages.map((m: Json) => m.id)).toEqual([4000034]);
      const changed = await server().frontendApi.updateSettingsFlowRaw({
        flow: flow.id, xSessionToken: token,
        updateSettingsFlowBody: { method: 'password', password: 'my next passphrase is longer' },
      });
      const changedBody = await changed.raw.json();
      expectResponse('updateSettingsFlow', 200, changedBody);
      expect(changedBody.state).toBe('success');
    });
  });

  describe(`password policy with the range service down, ignore_network_errors: true (${db.name})`, () => {
    let host: string;
    beforeAll(async () => {
      host = await closedPortHost();
    });
    const server = useServer(db, () => passwordConfig(host, { ignore_network_errors: true }));

    it('lets the registration through (fail open) and logs the failed check', async () => {
      await expectRegistered(server(), email('fail-open'), 'a passphrase nobody can check');
      const warnings = server().logs.map((l) => JSON.parse(l)).filter((l) => l.msg === 'breached-password check failed' || l.message === 'breached-password check failed');
      expect(warnings.length).toBeGreaterThan(0);
      expect(warnings.at(-1)).toMatchObject({ fail_open: true });
      expect(server().logs.join('\n')).not.toContain('a passphrase nobody can check');
    });
  });

  describe(`password policy with the range service down, ignore_network_errors: false (${db.name})`, () => {
    let host: string;
    beforeAll(async () => {
      host = await closedPortHost();
    });
    const server = useServer(db, () => passwordConfig(host, { ignore_network_errors: false }));

    it('refuses the registration with 4000005 (fail closed)', async () => {
      const { ids, messages } = await rejectedIds(server(), email('fail-closed'), 'a passphrase nobody can check');
      expect(ids).toEqual([4000005]);
      expect(messages[0].context).toEqual({ reason: expect.stringContaining('breached-password service') });
    });
  });
}
