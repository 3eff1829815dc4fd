/**
 * Issue 15, "Account enumeration": with `security.account_enumeration.mitigate` (on by default) a sign-up with an
 * identifier that has an account answers as a new sign-up would — same status, same body shape, the same
 * continue_with and redirect — creates nothing, and mails the account's owner ("someone tried to sign up with your
 * address", idflow's `registration_attempted` template). With mitigation off: Kratos's 4000007.
 *
 * No session can be issued for an account that was not created: where a new sign-up is signed in at once (the
 * `session` hook) the clash answers the same status and shape without a session (README, "Security").
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CookieJar } from '../../support/cookie-jar.ts';
import { testDatabases } from '../../support/databases.ts';
import { expectResponse } from '../../support/openapi.ts';
import { startTestServer, type Overlay, type TestServer } from '../../support/server.ts';

type Json = any;
const PASSWORD = 'correct horse battery staple';
const NO_HIBP = { password: { config: { haveibeenpwned_enabled: false } } };
/** Sign-ups that must verify their address first: no session, a verification flow shown. */
const VERIFY_FIRST: Overlay = {
  selfservice: {
    methods: NO_HIBP,
    flows: {
      verification: { enabled: true, use: 'code' },
      registration: { after: { password: { hooks: [{ hook: 'show_verification_ui' }] } } },
    },
  },
};

/** The shape of a JSON value: keys and types, values left out (ids, dates, addresses differ by nature). */
function shape(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(shape);
  if (value && typeof value === 'object') return Object.fromEntries(Object.entries(value).sort(([a], [b]) => a.localeCompare(b)).map(([k, v]) => [k, shape(v)]));
  return value === null ? 'null' : typeof value;
}

for (const db of testDatabases()) {
  describe(`registration with an identifier that has an account (${db.name})`, () => {
    const servers: Array<{ server: TestServer; drop: () => Promise<void> }> = [];
    async function start(overlay: Overlay): Promise<TestServer> {
      const created = await db.create();
      const server = await startTestServer(created.dsn, overlay);
      servers.push({ server, drop: created.drop });
      return server;
    }
    afterAll(async () => {
      for (const { server, drop } of servers) {
        await server.close();
        await drop();
      }
    });

    const owned = async (server: TestServer) => {
      const email = `owner.${crypto.randomUUID()}@example.com`;
      await server.identityApi.createIdentity({ createIdentityBody: { schema_id: 'default', traits: { email }, credentials: { password: { config: { password: PASSWORD } } } } });
      return email;
    };
    const identityCount = async (server: TestServer) => (await (await fetch(`${server.adminUrl}/admin/identities?page_size=1000`)).json()).length;
    const mails = async (server: TestServer, to: string): Promise<Json[]> =>
      (await fetch(`${server.adminUrl}/admin/courier/messages?recipient=${encodeURIComponent(to)}`)).json();

    async function apiSignUp(server: TestServer, email: string, typedEmail = email): Promise<{ status: number; body: Json }> {
      const flow = await (await fetch(`${server.publicUrl}/self-service/registration/api`)).json();
      const res = await fetch(`${server.publicUrl}/self-service/registration?flow=${flow.id}`, {
        method: 'POST', headers: { 'content-type': 'application/json', accept: 'application/json' },
        body: JSON.stringify({ method: 'password', traits: { email: typedEmail }, password: `${PASSWORD} ${crypto.randomUUID().slice(0, 8)}` }),
      });
      return { status: res.status, body: await res.json() };
    }

    async function browserSignUp(server: TestServer, email: string): Promise<{ status: number; location: string | null; cookies: string[] }> {
      const jar = new CookieJar();
      const init = await jar.fetch(`${server.publicUrl}/self-service/registration/browser`, { headers: { accept: 'application/json' } });
      const flow = await init.json();
      const csrf = flow.ui.nodes.find((n: Json) => n.attributes.name === 'csrf_token').attributes.value;
      const before = new Set(jar.names());
      const res = await jar.fetch(`${server.publicUrl}/self-service/registration?flow=${flow.id}`, {
        method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams({ csrf_token: csrf, method: 'password', 'traits.email': email, password: `${PASSWORD} ${crypto.randomUUID().slice(0, 8)}` }),
      });
      return { status: res.status, location: res.headers.get('location'), cookies: jar.names().filter((n) => !before.has(n)) };
    }

    describe('sign-ups that verify their address first', () => {
      let server: TestServer;
      beforeAll(async () => {
        server = await start(VERIFY_FIRST);
      });

      it('an API client gets what a new sign-up gets; nothing is created; the owner is mailed', async () => {
        const taken = await owned(server);
        const before = await identityCount(server);
        const fresh = await apiSignUp(server, `new.${crypto.randomUUID()}@example.com`);
        const clash = await apiSignUp(server, taken, taken.toUpperCase());
        expect(fresh.status).toBe(200);
        expect(clash.status).toBe(200);
        expectResponse('updateRegistrationFlow', 200, clash.body);
        expect(shape(clash.body)).toEqual(shape(fresh.body));
        expect(clash.body.continue_with.map((c: Json) => c.action)).toEqual(['show_verification_ui']);
        // Traits as typed, addresses normalised: what a new sign-up shows.
        expect(clash.body.identity.traits.email).toBe(taken.toUpperCase());
        expect(clash.body.identity.verifiable_addresses.map((a: Json) => [a.value, a.status])).toEqual([[taken, 'sent']]);
        // The verification flow shown exists and looks like the new sign-up's.
        const shown = async (body: Json) => (await fetch(`${server.publicUrl}/self-service/verification/flows?id=${body.continue_with[0].flow.id}`)).json();
        const [freshFlow, clashFlow] = [await shown(fresh.body), await shown(clash.body)];
        expect(clashFlow.state).toBe('sent_email');
        expect(shape(clashFlow)).toEqual(shape(freshFlow));
        expect(clashFlow.ui.messages).toEqual(freshFlow.ui.messages);

        expect(await identityCount(server)).toBe(before + 1);
        const owner = await mails(server, taken);
        expect(owner.map((m: Json) => m.template_type)).toEqual(['registration_attempted']);
        expect(owner[0].subject).toBe('Someone tried to sign up with your address');
        expect(owner[0].body).toMatch(/already belongs to an account/);
        expect((await mails(server, fresh.body.identity.traits.email)).map((m: Json) => m.template_type)).toEqual(['verification_code_valid']);
      });

      it('a browser is sent where a new sign-up is sent, with the same cookies', async () => {
        const taken = await owned(server);
        const fresh = await browserSignUp(server, `new.${crypto.randomUUID()}@example.com`);
        const clash = await browserSignUp(server, taken);
        expect(fresh.status).toBe(303);
        expect(clash.status).toBe(303);
        const kind = (location: string | null) => new URL(location!).pathname;
        expect(kind(clash.location)).toBe(kind(fresh.location));
        expect(kind(clash.location)).toMatch(/verification/);
        expect(clash.cookies).toEqual(fresh.cookies);
        expect((await mails(server, taken)).map((m: Json) => m.template_type)).toEqual(['registration_attempted']);
      });
    });

    it('with the session hook: the same status and shape without a session (none can exist); nothing created', async () => {
      const server = await start({ selfservice: { methods: NO_HIBP, flows: { registration: { after: { password: { hooks: [{ hook: 'session' }] } } } } } });
      const taken = await owned(server);
      const before = await identityCount(server);
      const fresh = await apiSignUp(server, `new.${crypto.randomUUID()}@example.com`);
      const clash = await apiSignUp(server, taken);
      expect(fresh.status).toBe(200);
      expect(fresh.body.session_token).toEqual(expect.any(String));
      expect(clash.status).toBe(200);
      expectResponse('updateRegistrationFlow', 200, clash.body);
      expect(clash.body.session_token).toBeUndefined();
      expect(clash.body.session).toBeUndefined();
      expect(Object.keys(clash.body.identity).sort()).toEqual(Object.keys(fresh.body.identity).sort());
      expect(await identityCount(server)).toBe(before + 1);
      expect((await mails(server, taken)).map((m: Json) => m.template_type)).toEqual(['registration_attempted']);
    });

    it('with mitigation off: Kratos 4000007, no mail', async () => {
      const server = await start({ ...VERIFY_FIRST, security: { account_enumeration: { mitigate: false } } });
      const taken = await owned(server);
      const clash = await apiSignUp(server, taken);
      expect(clash.status).toBe(400);
      expect(clash.body.ui.messages.map((m: Json) => m.id)).toEqual([4000007]);
      expect(await mails(server, taken)).toEqual([]);
    });
  });
}
