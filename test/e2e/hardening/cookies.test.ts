/**
 * Issue 15, "Recovery and sessions hygiene" — cookies and idle sessions:
 * - `__Host-` names for the session and CSRF cookies whenever they are Secure, carry no Domain and have Path=/
 *   (`cookies.host_prefix`, idflow's own, on by default; RFC 6265bis 4.1.3.2), and only that name is read back.
 * - `session.inactivity_timeout` (idflow's own): a session unused that long is refused; use refreshes its last activity
 *   at most once per tenth of the timeout, so whoami does not write on every request.
 * The server's clock is moved, never slept on.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { Session as SessionEntity } from '../../../entities/index.ts';
import { CookieJar } from '../../support/cookie-jar.ts';
import { testDatabases } from '../../support/databases.ts';
import { startTestServer, type Overlay, type TestServer } from '../../support/server.ts';

type Json = any;
const PASSWORD = 'correct horse battery staple';
const MINUTE = 60_000;
const SIGN_UP_SIGNS_IN: Overlay = {
  selfservice: {
    methods: { password: { config: { haveibeenpwned_enabled: false } } },
    flows: { registration: { after: { password: { hooks: [{ hook: 'session' }] } } } },
  },
};

for (const db of testDatabases()) {
  describe(`cookies and idle sessions (${db.name})`, () => {
    const servers: Array<{ server: TestServer; drop: () => Promise<void> }> = [];
    async function start(overlay: Overlay): Promise<TestServer> {
      const created = await db.create();
      const server = await startTestServer(created.dsn, { ...SIGN_UP_SIGNS_IN, ...overlay });
      servers.push({ server, drop: created.drop });
      return server;
    }
    afterAll(async () => {
      for (const { server, drop } of servers) {
        await server.close();
        await drop();
      }
    });

    /** A browser sign-up: the Set-Cookie headers it got and its jar. */
    async function browserSignUp(server: TestServer): Promise<{ setCookies: string[]; jar: CookieJar }> {
      const jar = new CookieJar();
      const setCookies: string[] = [];
      const init = await jar.fetch(`${server.publicUrl}/self-service/registration/browser`, { headers: { accept: 'application/json' } });
      setCookies.push(...init.headers.getSetCookie());
      const flow = await init.json();
      const csrf = flow.ui.nodes.find((n: Json) => n.attributes.name === 'csrf_token').attributes.value;
      const res = await jar.fetch(`${server.publicUrl}/self-service/registration?flow=${flow.id}`, {
        method: 'POST', headers: { 'content-type': 'application/json', accept: 'application/json' },
        body: JSON.stringify({ csrf_token: csrf, method: 'password', traits: { email: `cookie.${crypto.randomUUID()}@example.com` }, password: PASSWORD }),
      });
      expect(res.status).toBe(200);
      setCookies.push(...res.headers.getSetCookie());
      return { setCookies, jar };
    }
    const whoami = (server: TestServer, cookie: string) => fetch(`${server.publicUrl}/sessions/whoami`, { headers: { cookie } });
    const named = (setCookies: string[], pattern: RegExp) => setCookies.filter((c) => pattern.test(c.split('=')[0]));

    it('names Secure, domain-less cookies __Host-… and reads only that name', async () => {
      const server = await start({ cookies: { secure: true } });
      const { setCookies, jar } = await browserSignUp(server);
      const session = named(setCookies, /ory_kratos_session$/);
      const csrf = named(setCookies, /csrf_token_/);
      expect(session.length).toBeGreaterThan(0);
      expect(csrf.length).toBeGreaterThan(0);
      for (const cookie of [...session, ...csrf]) {
        expect(cookie).toMatch(/^__Host-/);
        expect(cookie).toMatch(/; Secure/);
        expect(cookie).toMatch(/; Path=\/;/);
        expect(cookie).not.toMatch(/Domain=/i);
      }
      const token = jar.get('__Host-ory_kratos_session')!;
      expect((await whoami(server, `__Host-ory_kratos_session=${token}`)).status).toBe(200);
      // The same token under the unprefixed name (what a sibling subdomain could set) is not read.
      expect((await whoami(server, `ory_kratos_session=${token}`)).status).toBe(401);
      // The prefixed CSRF cookie is the one a browser flow is checked against: a login flow works with the jar.
      const login = await jar.fetch(`${server.publicUrl}/self-service/login/browser?refresh=true`, { headers: { accept: 'application/json' } });
      expect(login.status).toBe(200);
    });

    it('keeps the configured names with host_prefix off, a cookie domain, or without Secure (plain-HTTP dev)', async () => {
      for (const cookies of [{ secure: true, host_prefix: false }, { secure: true, domain: 'localhost' }, {}]) {
        const server = await start({ cookies });
        const { setCookies } = await browserSignUp(server);
        expect(setCookies.some((c) => c.startsWith('ory_kratos_session='))).toBe(true);
        expect(setCookies.some((c) => c.startsWith('__Host-'))).toBe(false);
      }
    });

    it('refuses a session idle longer than session.inactivity_timeout; use refreshes it, at most once per tenth of it', async () => {
      const server = await start({ session: { inactivity_timeout: '10m' } });
      const email = `idle.${crypto.randomUUID()}@example.com`;
      await server.identityApi.createIdentity({ createIdentityBody: { schema_id: 'default', traits: { email }, credentials: { password: { config: { password: PASSWORD } } } } });
      const flow = await server.frontendApi.createNativeLoginFlow();
      const { session_token: token, session } = await server.frontendApi.updateLoginFlow({ flow: flow.id, updateLoginFlowBody: { method: 'password', identifier: email, password: PASSWORD } });
      const check = async () => (await fetch(`${server.publicUrl}/sessions/whoami`, { headers: { 'x-session-token': token! } })).status;
      const lastActivity = async () => (await server.orm.em.fork().findOneOrFail(SessionEntity, { id: session.id })).updatedAt.getTime();

      const issued = await lastActivity();
      server.clock.advance(30_000);
      expect(await check()).toBe(200);
      // Within the first tenth of the timeout: nothing written.
      expect(await lastActivity()).toBe(issued);
      server.clock.advance(9 * MINUTE);
      expect(await check()).toBe(200);
      const refreshed = await lastActivity();
      expect(refreshed).toBeGreaterThan(issued);
      // Used 9.5 min after sign-in, so 9.5 min later it is still alive although 19 min passed since login.
      server.clock.advance(9 * MINUTE + 30_000);
      expect(await check()).toBe(200);
      server.clock.advance(10 * MINUTE + 1000);
      expect(await check()).toBe(401);
    });
  });
}
