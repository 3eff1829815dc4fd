import { createHash } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { testDatabases } from '../../support/databases.ts';
import { startTestServer, type TestServer } from '../../support/server.ts';
import { expectResponse } from '../../support/openapi.ts';
import { Flow as FlowEntity } from '../../../entities/index.ts';
import { Browser, bodyOf, csrfOf, messageIds, node, operations, type Json } from './browser-client.ts';

/** Where the (never contacted) self-service UI and the app live; only ever compared, never fetched. */
const UI = 'https://ui.example';
const APP_HOME = 'https://app.example/home';
const LOGGED_OUT = 'https://app.example/logged-out';
const ALLOWED = 'https://allowed.example';
const PRIVILEGED_MAX_AGE_MS = 5 * 60_000;

const overlay = {
  // Hashing is not under test here: the cheapest bcrypt keeps the file fast on a busy machine.
  hashers: { algorithm: 'bcrypt', bcrypt: { cost: 4 } },
  selfservice: {
    default_browser_return_url: APP_HOME,
    allowed_return_urls: [ALLOWED, 'https://app.example'],
    methods: { password: { config: { haveibeenpwned_enabled: false } } },
    flows: {
      error: { ui_url: `${UI}/error` },
      login: { ui_url: `${UI}/login` },
      registration: { ui_url: `${UI}/registration` },
      settings: { ui_url: `${UI}/settings`, privileged_session_max_age: `${PRIVILEGED_MAX_AGE_MS / 60_000}m` },
      logout: { after: { default_browser_return_url: LOGGED_OUT } },
    },
  },
};

/** Open-redirect corpus (SECURITY-BASELINE §1.1, §2: Better Auth / Keycloak series) against `https://allowed.example`. */
const HOSTILE_RETURN_TO = [
  'https://evil.example/x',
  '//evil.example',
  '//evil.example/path',
  'https://allowed.example@evil.example',
  'https://allowed.example:pw@evil.example/',
  'javascript:alert(1)',
  'JavaScript:alert(document.cookie)',
  'data:text/html,<script>alert(1)</script>',
  'https://allowed.example.evil.example',
  'https://evilallowed.example',
  'http://allowed.example/',
  'https://allowed.example\\@evil.example',
  'https://allowed%2eexample%2f:x@evil.example',
  '/\\evil.example',
  'http:///evil.example',
  'https:evil.example',
  ' https://evil.example',
];

function setCookies(res: Response): string[] {
  return res.headers.getSetCookie();
}

function cookieHeader(res: Response, name: string): string | undefined {
  return setCookies(res).find((c) => c.startsWith(`${name}=`));
}


for (const db of testDatabases()) {
  describe(`browser self-service flows with a cookie jar (${db.name})`, () => {
    let server: TestServer;
    let drop: () => Promise<void>;
    let csrfName: string;
    const browser = () => new Browser(server.publicUrl);
    let counter = 0;
    /** An identity with a password, created through the admin API (fast path for login tests). */
    const person = async (label: string) => {
      const email = `${label}-${++counter}@example.com`;
      const password = `passphrase for ${label} number ${counter}!`;
      const identity = await server.identityApi.createIdentity({
        createIdentityBody: { schema_id: 'default', traits: { email, name: { first: 'Ada' } }, credentials: { password: { config: { password } } } },
      });
      return { id: identity.id, email, password };
    };
    const expireFlow = (id: string) => server.orm.em.fork().nativeUpdate(FlowEntity, { id }, { expiresAt: new Date(Date.now() - 60_000) });

    beforeAll(async () => {
      const created = await db.create();
      drop = created.drop;
      server = await startTestServer(created.dsn, overlay);
      // Kratos: csrf_token_ + hex(sha256(public base URL)).
      csrfName = `csrf_token_${createHash('sha256').update(server.registry.urls.public).digest('hex')}`;
    });
    afterAll(async () => {
      await server?.close();
      await drop?.();
    });

    it('registers an HTML client through form posts: CSRF cookie, masked token, errors back on the form, session cookie', async () => {
      const b = browser();
      const { id, location, res: init } = await b.startHtml('registration');
      expect(location).toBe(`${UI}/registration?flow=${id}`);
      expect(await init.text()).toBe('');

      const csrfCookie = cookieHeader(init, csrfName);
      expect(csrfCookie, `Set-Cookie: ${JSON.stringify(setCookies(init))}`).toBeDefined();
      const attributes = csrfCookie!.split(';').map((a) => a.trim().toLowerCase());
      expect(attributes).toContain('httponly');
      expect(attributes).toContain('samesite=lax');
      expect(attributes).toContain('path=/');
      expect(attributes).not.toContain('secure'); // --dev on plain http
      const rawToken = b.jar.get(csrfName)!;
      expect(rawToken).toMatch(/^[A-Za-z0-9+/]{43}=$/);

      const flow = await b.readFlow('registration', id);
      expect(flow.id).toBe(id);
      expect(flow.type).toBe('browser');
      expect(flow.ui.action).toBe(`${server.registry.urls.public}self-service/registration?flow=${id}`);
      const masked = csrfOf(flow);
      expect(masked).toHaveLength(88);
      expect(masked).not.toContain(rawToken);
      expect(node(flow, 'csrf_token').attributes).toMatchObject({ type: 'hidden', required: true });
      // A fresh pad on every render (BREACH): the same cookie yields a different masked value.
      expect(csrfOf(await b.readFlow('registration', id))).not.toBe(masked);

      // Reading the flow without the CSRF cookie (a pasted flow URL) or with another browser's cookie: 403.
      const anonymous = await fetch(`${server.publicUrl}/self-service/registration/flows?id=${id}`, { headers: { accept: 'application/json' } });
      const anonymousBody = await bodyOf(anonymous);
      expect(anonymous.status).toBe(403);
      expectResponse('getRegistrationFlow', 403, anonymousBody);
      expect(anonymousBody.error.id).toBe('security_csrf_violation');
      const other = browser();
      await other.startHtml('registration');
      const foreign = await other.getJson(`/self-service/registration/flows?id=${id}`);
      expect(foreign.status).toBe(403);
      expect((await bodyOf(foreign)).error.id).toBe('security_csrf_violation');

      // A form with a validation error goes back to the UI with the same flow, the message on the password node.
      const email = `form-${++counter}@example.com`;
      const short = await b.submitForm(flow.ui.action, { csrf_token: masked, method: 'password', 'traits.email': email, password: 'short' });
      // Kratos answers registration form errors with 302 (every other flow with 303).
      expect(short.status).toBe(302);
      expect(short.headers.get('location')).toBe(`${UI}/registration?flow=${id}`);
      expect(b.sessionCookie()).toBeUndefined();
      const withError = await b.readFlow('registration', id);
      expect(messageIds(node(withError, 'password').messages)).toEqual([4000032]);
      expect(node(withError, 'traits.email').attributes.value).toBe(email);
      expect(node(withError, 'password').attributes.value).toBeUndefined();

      // The corrected form: 303 to the return URL with an HttpOnly session cookie; the CSRF token is rotated.
      const done = await b.submitForm(withError.ui.action, { csrf_token: csrfOf(withError), method: 'password', 'traits.email': email, password: 'a long and unguessable passphrase' });
      expect(done.status).toBe(303);
      expect(done.headers.get('location')).toBe(APP_HOME);
      const sessionSetCookie = cookieHeader(done, 'ory_kratos_session');
      expect(sessionSetCookie).toBeDefined();
      expect(sessionSetCookie!.toLowerCase()).toContain('httponly');
      expect(sessionSetCookie!.toLowerCase()).toContain('samesite=lax');
      expect(b.sessionCookie()).toMatch(/^ory_st_/);
      expect(b.jar.get(csrfName)).not.toBe(rawToken);

      const me = await b.whoami();
      expect(me.status).toBe(200);
      expect(me.body.identity.traits.email).toBe(email);
      expect(me.body.authentication_methods.map((m: Json) => m.method)).toEqual(['password']);

      // A completed flow is not reusable, and registering while logged in is refused.
      const again = await b.getJson('/self-service/registration/browser');
      const againBody = await bodyOf(again);
      expect(again.status).toBe(400);
      expectResponse('createBrowserRegistrationFlow', 400, againBody);
      expect(againBody.error.id).toBe('session_already_available');
    });

    it('refuses a wrong or missing CSRF token: HTML to the error UI with the stored 403, JSON with 403', async () => {
      const b = browser();
      const { id } = await b.startHtml('registration');
      const flow = await b.readFlow('registration', id);
      const action = flow.ui.action as string;
      const fields = { method: 'password', 'traits.email': `csrf-${++counter}@example.com`, password: 'a long and unguessable passphrase' };

      // A token of another browser is a valid token, just not this browser's.
      const attacker = browser();
      const attackerFlow = await attacker.readFlow('registration', (await attacker.startHtml('registration')).id);
      for (const csrf_token of [csrfOf(attackerFlow), 'not-a-token', undefined]) {
        const html = await b.submitForm(action, csrf_token === undefined ? fields : { ...fields, csrf_token });
        expect(html.status, `HTML submit with csrf_token=${csrf_token}`).toBe(303);
        const location = new URL(html.headers.get('location')!);
        expect(`${location.origin}${location.pathname}`).toBe(`${UI}/error`);
        const errorId = location.searchParams.get('id');
        expect(errorId).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
        const stored = await fetch(`${server.publicUrl}/self-service/errors?id=${errorId}`, { headers: { accept: 'application/json' } });
        const storedBody = await bodyOf(stored);
        expect(stored.status).toBe(200);
        expectResponse('getFlowError', 200, storedBody);
        expect(storedBody.id).toBe(errorId);
        expect(storedBody.error).toMatchObject({ id: 'security_csrf_violation', code: 403, status: 'Forbidden' });
      }

      const json = await b.submitJson(action, { ...fields, csrf_token: csrfOf(attackerFlow) });
      const jsonBody = await bodyOf(json);
      expect(json.status).toBe(403);
      expectResponse('updateRegistrationFlow', 403, jsonBody);
      expect(jsonBody.error.id).toBe('security_csrf_violation');

      // The X-CSRF-Token header works in place of the body field, and nothing above created an identity.
      const header = await b.jar.fetch(b.url(action), {
        method: 'POST',
        headers: { 'content-type': 'application/json', accept: 'application/json', 'x-csrf-token': csrfOf(flow) },
        body: JSON.stringify({ method: 'password', traits: { email: fields['traits.email'] }, password: fields.password }),
      });
      const headerBody = await bodyOf(header);
      expectResponse('updateRegistrationFlow', header.status, headerBody);
      expect(header.status).toBe(200);
      expect(headerBody.identity.traits.email).toBe(fields['traits.email']);
      expect(headerBody.session_token).toBeUndefined();

      const unknown = await fetch(`${server.publicUrl}/self-service/errors?id=${crypto.randomUUID()}`, { headers: { accept: 'application/json' } });
      expect(unknown.status).toBe(404);
      expectResponse('getFlowError', 404, await bodyOf(unknown));
    });

    it('logs a JSON browser client in: session + redirect_browser_to, cookie set, no session token in the body', async () => {
      const user = await person('spa');
      const b = browser();
      const flow = await b.startJson('login');
      expect(b.jar.get(csrfName)).toBeDefined();
      expect(flow.refresh).toBe(false);
      expect(csrfOf(flow)).toHaveLength(88);

      const wrong = await b.submitJson(flow.ui.action, { method: 'password', identifier: user.email, password: 'not the password', csrf_token: csrfOf(flow) });
      const wrongBody = await bodyOf(wrong);
      expect(wrong.status).toBe(400);
      expectResponse('updateLoginFlow', 400, wrongBody);
      expect(messageIds(wrongBody.ui.messages)).toEqual([4000006]);
      expect(b.sessionCookie()).toBeUndefined();

      const res = await b.submitJson(flow.ui.action, { method: 'password', identifier: user.email, password: user.password, csrf_token: csrfOf(wrongBody) });
      const body = await bodyOf(res);
      expectResponse('updateLoginFlow', 200, body);
      expect(res.status).toBe(200);
      expect(body.session_token).toBeUndefined();
      expect(JSON.stringify(body)).not.toContain('ory_st_');
      expect(body.continue_with).toEqual([{ action: 'redirect_browser_to', redirect_browser_to: APP_HOME }]);
      expect(body.session.identity.id).toBe(user.id);
      expect(cookieHeader(res, 'ory_kratos_session')!.toLowerCase()).toContain('httponly');
      const me = await b.whoami();
      expect(me.status).toBe(200);
      expect(me.body.id).toBe(body.session.id);
    });

    it('answers a logged-in browser: login init redirects or 400s, refresh=true re-authenticates with a new token', async () => {
      const user = await person('again');
      const b = browser();
      await b.loginJson(user.email, user.password);
      const firstToken = b.sessionCookie()!;

      const html = await b.navigate('/self-service/login/browser');
      expect(html.status).toBe(303);
      expect(html.headers.get('location')).toBe(APP_HOME);
      const htmlReturn = await b.navigate(`/self-service/login/browser?return_to=${encodeURIComponent(`${ALLOWED}/dashboard`)}`);
      expect(htmlReturn.status).toBe(303);
      expect(htmlReturn.headers.get('location')).toBe(`${ALLOWED}/dashboard`);

      const json = await b.getJson('/self-service/login/browser');
      const jsonBody = await bodyOf(json);
      expect(json.status).toBe(400);
      expectResponse('createBrowserLoginFlow', 400, jsonBody);
      expect(jsonBody.error.id).toBe('session_already_available');

      const refresh = await b.startJson('login', '?refresh=true');
      expect(refresh.refresh).toBe(true);
      expect(messageIds(refresh.ui.messages)).toEqual([1010003]);
      const res = await b.submitJson(refresh.ui.action, { method: 'password', identifier: user.email, password: user.password, csrf_token: csrfOf(refresh) });
      const body = await bodyOf(res);
      expectResponse('updateLoginFlow', res.status, body);
      expect(res.status).toBe(200);
      const secondToken = b.sessionCookie()!;
      expect(secondToken).toMatch(/^ory_st_/);
      expect(secondToken).not.toBe(firstToken);
      expect((await b.whoami()).status).toBe(200);
      // ASVS 7.2.4: re-authentication issues a new token and the old one is dead.
      const old = await b.whoami(`ory_kratos_session=${firstToken}`);
      expect(old.status).toBe(401);

      // The HTML refresh flow ends on the return URL too.
      const htmlRefresh = await b.startHtml('login', '?refresh=true');
      const htmlFlow = await b.readFlow('login', htmlRefresh.id);
      const done = await b.submitForm(htmlFlow.ui.action, { csrf_token: csrfOf(htmlFlow), method: 'password', identifier: user.email, password: user.password });
      expect(done.status).toBe(303);
      expect(done.headers.get('location')).toBe(APP_HOME);
      expect(b.sessionCookie()).not.toBe(secondToken);
      expect((await b.whoami(`ory_kratos_session=${secondToken}`)).status).toBe(401);
      expect((await b.whoami()).status).toBe(200);
    });

    it('never adopts a session cookie planted before login (session fixation)', async () => {
      const user = await person('fixation');
      const planted = `ory_st_${'A'.repeat(32)}`;
      const b = browser();
      const init = await b.startHtml('login');
      b.jar.store(new Response(null, { headers: [['set-cookie', `ory_kratos_session=${planted}; Path=/`]] }));
      expect(b.sessionCookie()).toBe(planted);
      const flow = await b.readFlow('login', init.id);
      const done = await b.submitForm(flow.ui.action, { csrf_token: csrfOf(flow), method: 'password', identifier: user.email, password: user.password });
      expect(done.status).toBe(303);
      const issued = b.sessionCookie()!;
      expect(issued).toMatch(/^ory_st_/);
      expect(issued).not.toBe(planted);
      expect((await b.whoami(`ory_kratos_session=${planted}`)).status).toBe(401);
      expect((await b.whoami()).body.identity.id).toBe(user.id);

      // An attacker's own valid session planted in the victim's browser is not taken over either: logging in as the
      // victim (refresh) yields a fresh session for the victim and ends the planted one.
      const attacker = await person('attacker');
      const evil = browser();
      await evil.loginJson(attacker.email, attacker.password);
      const attackerToken = evil.sessionCookie()!;
      const victim = browser();
      victim.jar.store(new Response(null, { headers: [['set-cookie', `ory_kratos_session=${attackerToken}; Path=/`]] }));
      await victim.loginJson(user.email, user.password, '?refresh=true');
      const victimToken = victim.sessionCookie()!;
      expect(victimToken).not.toBe(attackerToken);
      expect((await victim.whoami()).body.identity.id).toBe(user.id);
      expect((await victim.whoami(`ory_kratos_session=${attackerToken}`)).status).toBe(401);
    });

    it('settings without a session: HTML to the login flow, JSON 401 session_inactive', async () => {
      const b = browser();
      const html = await b.navigate('/self-service/settings/browser');
      expect(html.status).toBe(303);
      const login = new URL(html.headers.get('location')!);
      expect(`${login.origin}${login.pathname}`).toBe(`${server.registry.urls.public}self-service/login/browser`);

      const withReturn = await b.navigate(`/self-service/settings/browser?return_to=${encodeURIComponent(`${ALLOWED}/after-settings`)}`);
      expect(withReturn.status).toBe(303);
      const loginWithReturn = new URL(withReturn.headers.get('location')!);
      expect(`${loginWithReturn.origin}${loginWithReturn.pathname}`).toBe(`${server.registry.urls.public}self-service/login/browser`);
      const carried = loginWithReturn.searchParams.get('return_to');
      expect(carried).not.toBeNull();
      // Following it works (the return_to it carries is allowed) and ends on the login UI.
      const followed = await b.navigate(loginWithReturn.toString());
      expect(followed.status).toBe(303);
      expect(followed.headers.get('location')).toMatch(new RegExp(`^${UI}/login\\?flow=`));

      const json = await b.getJson('/self-service/settings/browser');
      const body = await bodyOf(json);
      expect(json.status).toBe(401);
      expectResponse('createBrowserSettingsFlow', 401, body);
      expect(body.error.id).toBe('session_inactive');
    });

    it('updates the profile with a session: success state and 1050001, HTML back to the settings UI', async () => {
      const user = await person('profile');
      const b = browser();
      await b.loginJson(user.email, user.password);

      const html = await b.startHtml('settings');
      expect(html.location).toBe(`${UI}/settings?flow=${html.id}`);
      const flow = await b.readFlow('settings', html.id);
      expect(flow.identity.id).toBe(user.id);
      expect(flow.state).toBe('show_form');
      expect(node(flow, 'traits.name.first').attributes.value).toBe('Ada');

      const res = await b.submitJson(flow.ui.action, { method: 'profile', csrf_token: csrfOf(flow), traits: { email: user.email, name: { first: 'Grace' } } });
      const body = await bodyOf(res);
      expectResponse('updateSettingsFlow', 200, body);
      expect(res.status).toBe(200);
      expect(body.state).toBe('success');
      expect(body.ui.messages).toEqual([expect.objectContaining({ id: 1050001, type: 'success' })]);
      expect(body.identity.traits.name.first).toBe('Grace');
      expect(body.continue_with).toEqual([{ action: 'redirect_browser_to', redirect_browser_to: `${UI}/settings?flow=${html.id}` }]);
      expect((await b.whoami()).body.identity.traits.name.first).toBe('Grace');

      // The same through an HTML form (dotted trait names): 303 back to the settings UI, flow in state success.
      const form = await b.submitForm(flow.ui.action, { csrf_token: csrfOf(body), method: 'profile', 'traits.email': user.email, 'traits.name.first': 'Hedy' });
      expect(form.status).toBe(303);
      expect(form.headers.get('location')).toBe(`${UI}/settings?flow=${html.id}`);
      const after = await b.readFlow('settings', html.id);
      expect(after.state).toBe('success');
      expect(messageIds(after.ui.messages)).toEqual([1050001]);
      expect(after.identity.traits.name.first).toBe('Hedy');

      // Another identity's session cannot read or submit this flow.
      const stranger = await person('stranger');
      const s = browser();
      await s.loginJson(stranger.email, stranger.password);
      const read = await s.getJson(`/self-service/settings/flows?id=${html.id}`);
      expect(read.status).toBe(403);
      expectResponse('getSettingsFlow', 403, await bodyOf(read));
    });

    it('demands a fresh login for e-mail and password changes once privileged_session_max_age has passed', async () => {
      const user = await person('stale');
      const b = browser();
      await b.loginJson(user.email, user.password);
      const flow = await b.startJson('settings');
      server.clock.advance(PRIVILEGED_MAX_AGE_MS + 1000);

      const attempts = [
        { method: 'profile', traits: { email: `changed-${user.email}`, name: { first: 'Ada' } } },
        { method: 'password', password: 'a brand new passphrase for stale' },
      ];
      for (const attempt of attempts) {
        const res = await b.submitJson(flow.ui.action, { ...attempt, csrf_token: csrfOf(flow) });
        const body = await bodyOf(res);
        expectResponse('updateSettingsFlow', 403, body);
        expect(res.status, JSON.stringify(body)).toBe(403);
        expect(body.error.id).toBe('session_refresh_required');
        const to = new URL(body.redirect_browser_to);
        expect(`${to.origin}${to.pathname}`).toBe(`${server.registry.urls.public}self-service/login/browser`);
        expect(to.searchParams.get('refresh')).toBe('true');
      }
      // A name change is not privileged and still works.
      const name = await b.submitJson(flow.ui.action, { method: 'profile', csrf_token: csrfOf(flow), traits: { email: user.email, name: { first: 'Still' } } });
      expect(name.status).toBe(200);
      expectResponse('updateSettingsFlow', 200, await bodyOf(name));
      expect((await b.whoami()).body.identity.traits.email).toBe(user.email);

      // An HTML form gets the same answer as a redirect to the refresh login, which, when followed, re-authenticates
      // and returns to this very settings flow, where the change that waited is applied without re-entering it.
      const htmlFlow = await b.readFlow('settings', (await b.startHtml('settings')).id);
      const form = await b.submitForm(htmlFlow.ui.action, { csrf_token: csrfOf(htmlFlow), method: 'password', password: 'a brand new passphrase for stale' });
      expect(form.status).toBe(303);
      const refreshUrl = new URL(form.headers.get('location')!);
      expect(`${refreshUrl.origin}${refreshUrl.pathname}`).toBe(`${server.registry.urls.public}self-service/login/browser`);
      expect(refreshUrl.searchParams.get('refresh')).toBe('true');
      expect(refreshUrl.searchParams.get('return_to')).toBe(`${server.registry.urls.public}self-service/settings?flow=${htmlFlow.id}`);
      const loginInit = await b.navigate(refreshUrl.toString());
      expect(loginInit.status, `following ${refreshUrl}: ${await loginInit.clone().text()}`).toBe(303);
      const loginId = new URL(loginInit.headers.get('location')!).searchParams.get('flow')!;
      expect(loginInit.headers.get('location')).toBe(`${UI}/login?flow=${loginId}`);
      const loginFlow = await b.readFlow('login', loginId);
      expect(messageIds(loginFlow.ui.messages)).toEqual([1010003]);
      // The refresh form knows who is re-authenticating: the identifier travels hidden and pre-filled.
      const identifier = loginFlow.ui.nodes.find((n: Json) => n.attributes.name === 'identifier');
      expect(identifier.attributes).toMatchObject({ type: 'hidden', value: user.email });
      const relogin = await b.submitForm(loginFlow.ui.action, { csrf_token: csrfOf(loginFlow), method: 'password', identifier: user.email, password: user.password });
      expect(relogin.status).toBe(303);
      const back = relogin.headers.get('location')!;
      expect(back).toBe(loginFlow.return_to);
      const resumed = await b.navigate(back);
      expect(resumed.status, await resumed.clone().text()).toBe(303);
      expect(resumed.headers.get('location')).toBe(`${UI}/settings?flow=${htmlFlow.id}`);
      const done = await b.readFlow('settings', htmlFlow.id);
      expect(done.state).toBe('success');
      expect(messageIds(done.ui.messages)).toEqual([1050001]);
      // The new password is the one that waited; the old one no longer works.
      await browser().loginJson(user.email, 'a brand new passphrase for stale');
      const old = browser();
      const oldFlow = await old.startJson('login');
      expect((await old.submitJson(oldFlow.ui.action, { method: 'password', identifier: user.email, password: user.password, csrf_token: csrfOf(oldFlow) })).status).toBe(400);
      // Resuming again applies nothing more: the pending change was used up (a JSON client sees 4010004).
      const again = await b.navigate(back);
      expect(again.status).toBe(303);
      const againJson = await b.getJson(back);
      expect(againJson.status).toBe(400);
      expect(messageIds((await bodyOf(againJson)).ui.messages)).toEqual([1050001, 4010004]);
    });

    it('ends the identity\'s other sessions on a password change but keeps the current one', async () => {
      const user = await person('rotate');
      const other = browser();
      await other.loginJson(user.email, user.password);
      const unrelated = await person('unrelated');
      const u = browser();
      await u.loginJson(unrelated.email, unrelated.password);
      // Last, so the session is still privileged (privileged_session_max_age) when the password changes.
      const b = browser();
      await b.loginJson(user.email, user.password);

      const flow = await b.startJson('settings');
      const res = await b.submitJson(flow.ui.action, { method: 'password', password: 'the rotated passphrase for rotate', csrf_token: csrfOf(flow) });
      const body = await bodyOf(res);
      expectResponse('updateSettingsFlow', res.status, body);
      expect(res.status, JSON.stringify(body)).toBe(200);
      expect(messageIds(body.ui.messages)).toEqual([1050001]);

      expect((await b.whoami()).status).toBe(200);
      expect((await other.whoami()).status).toBe(401);
      expect((await u.whoami()).status).toBe(200);
      // The new password works, the old one doesn't.
      const again = browser();
      await again.loginJson(user.email, 'the rotated passphrase for rotate');
      const old = browser();
      const oldFlow = await old.startJson('login');
      const oldRes = await old.submitJson(oldFlow.ui.action, { method: 'password', identifier: user.email, password: user.password, csrf_token: csrfOf(oldFlow) });
      expect(oldRes.status).toBe(400);
      expectResponse('updateLoginFlow', 400, await bodyOf(oldRes));
    });

    it('logs out through the logout URL: cookie cleared, session dead, default return URL, CSRF token rotated', async () => {
      const user = await person('logout');
      const b = browser();
      await b.loginJson(user.email, user.password);
      const token = b.sessionCookie()!;
      const csrfBefore = b.jar.get(csrfName);

      const res = await b.getJson('/self-service/logout/browser');
      const body = await bodyOf(res);
      expectResponse('createBrowserLogoutFlow', 200, body);
      expect(res.status).toBe(200);
      expect(body.logout_token).toMatch(/^ory_lo_/);
      const logoutUrl = new URL(body.logout_url);
      expect(`${logoutUrl.origin}${logoutUrl.pathname}`).toBe(`${server.registry.urls.public}self-service/logout`);
      expect(logoutUrl.searchParams.get('token')).toBe(body.logout_token);

      const out = await b.navigate(body.logout_url);
      expect(out.status).toBe(303);
      expect(out.headers.get('location')).toBe(LOGGED_OUT);
      const cleared = cookieHeader(out, 'ory_kratos_session');
      expect(cleared).toMatch(/^ory_kratos_session=;/);
      expect(cleared!.toLowerCase()).toMatch(/max-age=(0|-1)/);
      expect(b.sessionCookie()).toBeUndefined();
      expect(b.jar.get(csrfName)).not.toBe(csrfBefore);
      expect((await b.whoami()).status).toBe(401);
      expect((await b.whoami(`ory_kratos_session=${token}`)).status).toBe(401);

      // Logged out: no logout URL any more, and the used one doesn't work twice.
      const none = await b.getJson('/self-service/logout/browser');
      expect(none.status).toBe(401);
      expectResponse('createBrowserLogoutFlow', 401, await bodyOf(none));

      // A JSON client gets 204.
      const spa = browser();
      await spa.loginJson(user.email, user.password);
      const spaLogout = await bodyOf(await spa.getJson('/self-service/logout/browser'));
      const spaOut = await spa.getJson(spaLogout.logout_url);
      expect(spaOut.status).toBe(204);
      expect(await spaOut.text()).toBe('');
      expect((await spa.whoami()).status).toBe(401);
    });

    it('never lets logout redirect off the allow-list, and refuses a wrong or foreign logout token', async () => {
      const user = await person('logout-evil');
      const b = browser();
      await b.loginJson(user.email, user.password);

      const refused = await b.getJson(`/self-service/logout/browser?return_to=${encodeURIComponent('https://evil.example/')}`);
      expect(refused.status).toBe(400);
      const refusedBody = await bodyOf(refused);
      expectResponse('createBrowserLogoutFlow', 400, refusedBody);
      expect(refusedBody.error.id).toBe('self_service_flow_return_to_forbidden');

      const allowed = await bodyOf(await b.getJson(`/self-service/logout/browser?return_to=${encodeURIComponent(`${ALLOWED}/bye`)}`));
      expectResponse('createBrowserLogoutFlow', 200, allowed);
      expect(new URL(allowed.logout_url).searchParams.get('return_to')).toBe(`${ALLOWED}/bye`);

      // Wrong token (JSON): 403, session untouched. HTML: never a redirect to anything but the error UI.
      const wrong = new URL(allowed.logout_url);
      wrong.searchParams.set('token', `ory_lo_${'x'.repeat(48)}`);
      const wrongJson = await b.getJson(wrong.toString());
      const wrongBody = await bodyOf(wrongJson);
      expect(wrongJson.status).toBe(403);
      expectResponse('updateLogoutFlow', 403, wrongBody);
      const wrongHtml = await b.navigate(wrong.toString());
      expect(wrongHtml.status).toBe(303);
      const to = new URL(wrongHtml.headers.get('location')!);
      expect(`${to.origin}${to.pathname}`).toBe(`${UI}/error`);
      const stored = await bodyOf(await fetch(`${server.publicUrl}/self-service/errors?id=${to.searchParams.get('id')}`));
      expectResponse('getFlowError', 200, stored);
      expect(stored.error.code).toBe(403);
      expect(b.sessionCookie()).toBeDefined();
      expect((await b.whoami()).status).toBe(200);

      // Another browser's logout URL does not end this session, nor the other one, when followed with this cookie.
      const other = browser();
      await other.loginJson(user.email, user.password);
      const otherLogout = await bodyOf(await other.getJson('/self-service/logout/browser'));
      const foreign = await b.getJson(otherLogout.logout_url);
      expect(foreign.status).toBe(403);
      expectResponse('updateLogoutFlow', 403, await bodyOf(foreign));
      expect((await b.whoami()).status).toBe(200);
      expect((await other.whoami()).status).toBe(200);

      // The logout URL without the session cookie (a leaked link) ends nothing.
      const leaked = await fetch(otherLogout.logout_url, { headers: { accept: 'application/json' }, redirect: 'manual' });
      const leakedBody = await bodyOf(leaked);
      expect(leaked.status).toBe(401);
      expectResponse('updateLogoutFlow', 401, leakedBody);
      expect(leakedBody.error.id).toBe('session_inactive');
      const leakedHtml = await fetch(otherLogout.logout_url, { redirect: 'manual' });
      expect(leakedHtml.status).toBe(303);
      expect(leakedHtml.headers.get('location')).toMatch(new RegExp(`^${UI}/error\\?id=`));
      expect((await other.whoami()).status).toBe(200);

      // return_to swapped for an attacker's URL after the fact: logout happens, the redirect goes to the default.
      const evil = new URL(allowed.logout_url);
      evil.searchParams.set('return_to', 'https://evil.example/');
      const out = await b.navigate(evil.toString());
      expect(out.status).toBe(303);
      expect(out.headers.get('location')).toBe(LOGGED_OUT);
      expect((await b.whoami()).status).toBe(401);

      // The allowed return_to is honoured.
      const honoured = await bodyOf(await other.getJson(`/self-service/logout/browser?return_to=${encodeURIComponent(`${ALLOWED}/bye`)}`));
      const byeRes = await other.navigate(honoured.logout_url);
      expect(byeRes.status).toBe(303);
      expect(byeRes.headers.get('location')).toBe(`${ALLOWED}/bye`);
    });

    it('refuses hostile return_to values on every browser init endpoint and uses an allowed one after login', async () => {
      const user = await person('return-to');
      const anon = browser();
      const loggedIn = browser();
      await loggedIn.loginJson(user.email, user.password);
      const endpoints: Array<{ path: string; b: Browser; op: string }> = [
        { path: '/self-service/login/browser', b: anon, op: 'createBrowserLoginFlow' },
        { path: '/self-service/registration/browser', b: anon, op: 'createBrowserRegistrationFlow' },
        { path: '/self-service/settings/browser', b: loggedIn, op: 'createBrowserSettingsFlow' },
        { path: '/self-service/logout/browser', b: loggedIn, op: 'createBrowserLogoutFlow' },
        { path: '/self-service/login/browser', b: loggedIn, op: 'createBrowserLoginFlow' },
      ];
      for (const { path, b, op } of endpoints) {
        for (const hostile of HOSTILE_RETURN_TO) {
          const url = `${path}?return_to=${encodeURIComponent(hostile)}`;
          const json = await b.getJson(url);
          const body = await bodyOf(json);
          expect(json.status, `${url} (JSON): ${JSON.stringify(body)}`).toBe(400);
          expectResponse(op, 400, body);
          expect(body.error.id).toBe('self_service_flow_return_to_forbidden');
          if (path !== '/self-service/logout/browser') {
            // An HTML client is never sent anywhere near the hostile URL.
            // An HTML client is sent to the error UI (Kratos's error manager), never near the hostile URL.
            const html = await b.navigate(url);
            expect(html.status, `${url} (HTML)`).toBe(303);
            const location = html.headers.get('location')!;
            expect(location, `${url} (HTML)`).not.toMatch(/evil|javascript|data:/i);
            const to = new URL(location);
            expect(`${to.origin}${to.pathname}`, `${url} (HTML)`).toBe(`${UI}/error`);
            const stored = await bodyOf(await fetch(`${server.publicUrl}/self-service/errors?id=${to.searchParams.get('id')}`));
            expectResponse('getFlowError', 200, stored);
            expect(stored.error).toMatchObject({ id: 'self_service_flow_return_to_forbidden', code: 400 });
          }
        }
      }

      // Allowed: stored on the flow, the 303 target of an HTML login and the redirect_browser_to of a JSON one.
      const target = `${ALLOWED}/after/login?x=1`;
      const b = browser();
      const init = await b.startHtml('login', `?return_to=${encodeURIComponent(target)}`);
      const flow = await b.readFlow('login', init.id);
      expect(flow.return_to).toBe(target);
      const done = await b.submitForm(flow.ui.action, { csrf_token: csrfOf(flow), method: 'password', identifier: user.email, password: user.password });
      expect(done.status).toBe(303);
      expect(done.headers.get('location')).toBe(target);

      const spa = browser();
      const spaBody = await spa.loginJson(user.email, user.password, `?return_to=${encodeURIComponent(`${ALLOWED}/spa`)}`);
      expect(spaBody.continue_with).toEqual([{ action: 'redirect_browser_to', redirect_browser_to: `${ALLOWED}/spa` }]);

      // A relative return_to resolves against the default return URL's origin.
      const rel = await browser().startJson('login', `?return_to=${encodeURIComponent('/relative/path')}`);
      expect(rel.return_to).toBe('https://app.example/relative/path');
    });

    it('answers a submit of an expired browser flow with a new flow carrying 4010001 (HTML 303, JSON 410)', async () => {
      const user = await person('expired');
      const b = browser();
      const { id } = await b.startHtml('login', `?return_to=${encodeURIComponent(`${ALLOWED}/kept`)}`);
      const flow = await b.readFlow('login', id);
      await expireFlow(id);

      const expiredRead = await b.getJson(`/self-service/login/flows?id=${id}`);
      const expiredReadBody = await bodyOf(expiredRead);
      expect(expiredRead.status).toBe(410);
      expectResponse('getLoginFlow', 410, expiredReadBody);
      expect(expiredReadBody.error.id).toBe('self_service_flow_expired');

      const html = await b.submitForm(flow.ui.action, { csrf_token: csrfOf(flow), method: 'password', identifier: user.email, password: user.password });
      expect(html.status).toBe(303);
      const next = new URL(html.headers.get('location')!);
      expect(`${next.origin}${next.pathname}`).toBe(`${UI}/login`);
      const newId = next.searchParams.get('flow')!;
      expect(newId).toMatch(/^[0-9a-f-]{36}$/);
      expect(newId).not.toBe(id);
      expect(b.sessionCookie()).toBeUndefined();
      const replacement = await b.readFlow('login', newId);
      expect(messageIds(replacement.ui.messages)).toEqual([4010001]);
      expect(replacement.return_to).toBe(`${ALLOWED}/kept`);

      // The replacement works and keeps the return URL.
      const done = await b.submitForm(replacement.ui.action, { csrf_token: csrfOf(replacement), method: 'password', identifier: user.email, password: user.password });
      expect(done.status).toBe(303);
      expect(done.headers.get('location')).toBe(`${ALLOWED}/kept`);

      const spa = browser();
      const spaFlow = await spa.startJson('registration');
      await expireFlow(spaFlow.id);
      const json = await spa.submitJson(spaFlow.ui.action, { method: 'password', csrf_token: csrfOf(spaFlow), traits: { email: `late-${++counter}@example.com` }, password: 'a long and unguessable passphrase' });
      const jsonBody = await bodyOf(json);
      expect(json.status).toBe(410);
      expectResponse('updateRegistrationFlow', 410, jsonBody);
      expect(jsonBody.error.id).toBe('self_service_flow_expired');
      expect(jsonBody.use_flow_id).not.toBe(spaFlow.id);
      const fresh = await spa.readFlow('registration', jsonBody.use_flow_id);
      expect(messageIds(fresh.ui.messages)).toEqual([4040001]);
    });

    it('refuses browser cookies on an API flow', async () => {
      const user = await person('api-cookie');
      const b = browser();
      await b.loginJson(user.email, user.password);

      for (const kind of ['login', 'registration'] as const) {
        const init = await fetch(`${server.publicUrl}/self-service/${kind}/api`);
        const flow = await bodyOf(init);
        expectResponse(kind === 'login' ? 'createNativeLoginFlow' : 'createNativeRegistrationFlow', 200, flow);
        expect(flow.type).toBe('api');
        expect(node(flow, 'csrf_token').attributes.value).toBeUndefined();
        const payload = kind === 'login'
          ? { method: 'password', identifier: user.email, password: user.password }
          : { method: 'password', traits: { email: `api-cookie-${++counter}@example.com` }, password: 'a long and unguessable passphrase' };
        const res = await b.submitJson(flow.ui.action, payload);
        const body = await bodyOf(res);
        expect(res.status, JSON.stringify(body)).toBe(400);
        expectResponse(operations.update[kind], 400, body);
        expect(body.id).toBe(flow.id);
        expect(messageIds(body.ui.messages)).toEqual([4000001]);
        expect(JSON.stringify(body)).not.toContain('ory_st_');
        expect(body.session_token).toBeUndefined();
        // Just the CSRF cookie (no session) is a browser too.
        const csrfOnly = await fetch(flow.ui.action, {
          method: 'POST',
          headers: { 'content-type': 'application/json', accept: 'application/json', cookie: `${csrfName}=${b.jar.get(csrfName)}` },
          body: JSON.stringify(payload),
        });
        const csrfOnlyBody = await bodyOf(csrfOnly);
        expect(csrfOnly.status).toBe(400);
        expectResponse(operations.update[kind], 400, csrfOnlyBody);
        // An Origin header alone, too.
        const origin = await fetch(flow.ui.action, {
          method: 'POST',
          headers: { 'content-type': 'application/json', accept: 'application/json', origin: 'https://app.example' },
          body: JSON.stringify(payload),
        });
        expect(origin.status).toBe(400);
        expectResponse(operations.update[kind], 400, await bodyOf(origin));
      }
      // Nothing above registered anyone; the same API flow without browser state still works.
      const clean = await bodyOf(await fetch(`${server.publicUrl}/self-service/login/api`));
      const ok = await fetch(clean.ui.action, { method: 'POST', headers: { 'content-type': 'application/json', accept: 'application/json' }, body: JSON.stringify({ method: 'password', identifier: user.email, password: user.password }) });
      const okBody = await bodyOf(ok);
      expectResponse('updateLoginFlow', 200, okBody);
      expect(okBody.session_token).toMatch(/^ory_st_/);
      expect(await server.identityApi.listIdentities({ credentialsIdentifier: `api-cookie-${counter}@example.com` })).toHaveLength(0);
    });
  });
}
