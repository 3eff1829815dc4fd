/**
 * The flow service per flow kind, on the in-memory store with the test clock: what a Kratos client sees (status,
 * flow JSON, errors with their browser locations, cookies to set) and what is stored afterwards. The reference is
 * Kratos: where idflow differs, the test asserts Kratos's behaviour.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { FlowAnswer } from '../../../src/flows/flow-request.ts';
import type { FlowKind, Repositories, Store, Transaction } from '../../../src/persistence/store.ts';
import { maskCsrfToken, verifyCsrfToken } from '../../../src/x/csrf-token.ts';
import {
  createHarness, csrfNodeValue, kratosError, node, nodeMessageIds, PUBLIC, UI, uiMessageIds,
  type Harness, type Json, type Overlay,
} from './harness.ts';

const MINUTE = 60_000;
const PASSWORD = 'a rather long passphrase 42';

/** Verification on, the sign-up hooks of Kratos's quickstart with show_verification_ui, a short privileged age. */
const OVERLAY: Overlay = {
  selfservice: {
    flows: {
      verification: { enabled: true },
      recovery: { enabled: true },
      registration: { after: { password: { hooks: [{ hook: 'show_verification_ui' }, { hook: 'session' }] } } },
      settings: { privileged_session_max_age: '5m' },
    },
  },
};

const email = (tag = 'user') => `${tag}-${crypto.randomUUID()}@example.com`;
const body = (answer: FlowAnswer): Json => answer.body;

/** A write that fails inside the next transactions (set by a test, cleared after it). */
const fault: { repo?: keyof Repositories; method?: string } = {};

/** The store, with transactions whose `fault.repo` throws on `fault.method` (a failing write mid-commit). */
function faultable(store: Store): Store {
  const broken = (tx: Transaction): Transaction => ({
    ...tx,
    [fault.repo!]: new Proxy(tx[fault.repo!], {
      get(target, key) {
        if (key === fault.method) return async () => { throw new Error(`injected failure in ${fault.repo}.${fault.method}`); };
        const value = Reflect.get(target, key);
        return typeof value === 'function' ? value.bind(target) : value;
      },
    }),
  });
  return { ...store, transaction: <T>(fn: (tx: Transaction) => Promise<T>) => store.transaction((tx) => fn(fault.repo ? broken(tx) : tx)) };
}

// Each harness starts its own hashing workers (the slow part): one shared harness, one for other hook settings.
let h: Harness;
let alt: Harness;
beforeAll(async () => {
  [h, alt] = await Promise.all([
    createHarness(OVERLAY, { wrapStore: faultable }),
    createHarness({
      selfservice: { flows: { verification: { enabled: true }, registration: { after: { password: { hooks: [] } } } } },
      session: { revoke_other_sessions_on_password_change: false },
    }),
  ]);
});
afterAll(async () => {
  await h?.close();
  await alt?.close();
});

/** A signed-in client of `type` for a new identity. */
async function signedIn(type: 'api' | 'browser', harness = h) {
  const { identity, email: address, password } = await harness.identity(email());
  const client = harness.client(type);
  const answer = await client.login(address, password);
  expect(answer.status).toBe(200);
  expect(client.token).toMatch(/^ory_st_/);
  return { client, identity, email: address, password };
}

const storedHash = async (harness: Harness, identityId: string) =>
  (await harness.store.identities.get(identityId))!.credentials.find((c) => c.type === 'password')!.config.hashed_password as string;

describe('create', () => {
  it('an API flow issues no CSRF cookie, carries an empty csrf_token node, and points at its submit URL and UI', async () => {
    const answer = await h.client('api').create('login');
    const flow = body(answer);
    expect(answer.status).toBe(200);
    expect(answer.flowType).toBe('api');
    expect(answer.cookies).toEqual({});
    expect(flow.type).toBe('api');
    expect(flow.state).toBe('choose_method');
    expect(flow.refresh).toBe(false);
    expect(flow.ui.action).toBe(`${PUBLIC}self-service/login?flow=${flow.id}`);
    expect(flow.ui.method).toBe('POST');
    expect(node(flow, 'csrf_token').attributes.value ?? '').toBe('');
    expect(answer.browserLocation).toBe(`${UI}/login?flow=${flow.id}`);
    // Kratos derives the identifier label from the schema's only identifier field with a title.
    expect(node(flow, 'identifier').meta.label).toMatchObject({ id: 1070002, text: 'E-Mail' });
    expect(node(flow, 'method', 'submit').meta.label.id).toBe(1010022);
    expect(new Date(flow.expires_at).getTime() - new Date(flow.issued_at).getTime()).toBe(60 * MINUTE);
  });

  it('a browser flow without a CSRF cookie issues exactly one and binds the flow to it (Kratos nosurf)', async () => {
    const browser = h.client('browser');
    const answer = await browser.create('registration');
    expect(Object.keys(answer.cookies)).toEqual(['csrf']);
    const cookie = answer.cookies.csrf!;
    expect(cookie).toMatch(/^[A-Za-z0-9+/]{43}=$/);
    const value = csrfNodeValue(body(answer));
    expect(value).toMatch(/^[A-Za-z0-9+/]{86}==$/);
    expect(verifyCsrfToken(cookie, value)).toBe(true);
    // The same browser's next flow reuses its cookie: nothing to set.
    const second = await browser.create('login');
    expect(second.cookies).toEqual({});
    expect(verifyCsrfToken(cookie, csrfNodeValue(body(second)))).toBe(true);
  });

  it('a malformed CSRF cookie is replaced by one new cookie', async () => {
    const browser = h.client('browser');
    browser.csrfCookie = 'not-a-token';
    const answer = await browser.create('login');
    expect(answer.cookies.csrf).toMatch(/^[A-Za-z0-9+/]{43}=$/);
    expect(verifyCsrfToken(answer.cookies.csrf, csrfNodeValue(body(answer)))).toBe(true);
  });

  it('keeps an allowed return_to and refuses any other with 400 self_service_flow_return_to_forbidden', async () => {
    const flow = await h.client('browser').flow('login', { returnTo: `${UI}/dashboard` });
    expect(flow.return_to).toBe(`${UI}/dashboard`);
    const err = await kratosError(h.client('browser').create('login', { returnTo: 'https://evil.example/steal' }));
    expect(err.status).toBe(400);
    expect(err.id).toBe('self_service_flow_return_to_forbidden');
    expect(err.flowType).toBe('browser');
  });

  it('a caller with a session can not start login (without refresh), registration or recovery: 400 session_already_available', async () => {
    const { client } = await signedIn('api');
    for (const kind of ['login', 'registration', 'recovery'] as const) {
      const err = await kratosError(client.create(kind));
      expect(err.status, kind).toBe(400);
      expect(err.id, kind).toBe('session_already_available');
      expect(err.flowType, kind).toBe('api');
      expect(err.browserLocation, kind).toBe(`${UI}/`);
    }
    const browser = await signedIn('browser');
    const err = await kratosError(browser.client.create('login', { returnTo: `${UI}/home` }));
    expect(err.id).toBe('session_already_available');
    expect(err.browserLocation).toBe(`${UI}/home`);
  });

  it('settings without a session: 401 session_inactive; a browser is sent to the login init, return_to taken over (Kratos TakeOverReturnToParameter)', async () => {
    const api = await kratosError(h.client('api').create('settings'));
    expect(api.status).toBe(401);
    expect(api.id).toBe('session_inactive');
    expect(api.flowType).toBe('api');

    const plain = await kratosError(h.client('browser').create('settings'));
    expect(plain.status).toBe(401);
    expect(plain.flowType).toBe('browser');
    expect.soft(plain.browserLocation).toBe(`${PUBLIC}self-service/login/browser`);

    const requestUrl = `${PUBLIC}self-service/settings/browser?return_to=${encodeURIComponent(`${UI}/account`)}`;
    const withReturnTo = await kratosError(h.client('browser').create('settings', { returnTo: `${UI}/account` }, { requestUrl }));
    expect(withReturnTo.browserLocation).toBe(`${PUBLIC}self-service/login/browser?return_to=${encodeURIComponent(`${UI}/account`)}`);
  });

  it('an API settings flow refuses a session that came in a cookie', async () => {
    const { client } = await signedIn('api');
    const session = await h.registry.sessions.findByToken(client.token!);
    const err = await kratosError(h.registry.flowService.create('settings', 'api', { ...(await client.facts({}, 'settings')), session: { session: session!, token: client.token!, source: 'cookie' } }));
    expect(err.status).toBe(400);
  });

  it('a refresh login shows the session identity\'s identifier hidden, "Sign in" and message 1010003 (Kratos PopulateLoginMethodFirstFactorRefresh)', async () => {
    const { client, email: address } = await signedIn('api');
    const flow = await client.flow('login', { refresh: true });
    expect(flow.refresh).toBe(true);
    expect(uiMessageIds(flow)).toEqual([1010003]);
    const identifier = flow.ui.nodes.filter((n: Json) => n.attributes.name === 'identifier');
    expect(identifier).toHaveLength(1);
    expect(identifier[0].attributes).toMatchObject({ type: 'hidden', value: address });
    expect(identifier[0].attributes.required).toBeFalsy();
    expect(node(flow, 'password').attributes.autocomplete).toBe('current-password');
    expect(node(flow, 'method', 'submit').meta.label.id).toBe(1010001);
  });

  it('refresh without a session is a plain login', async () => {
    const flow = await h.client('api').flow('login', { refresh: true });
    expect(flow.refresh).toBe(false);
    expect(flow.ui.messages).toBeUndefined();
    expect(node(flow, 'identifier').attributes).toMatchObject({ type: 'text', required: true });
  });
});

describe('get', () => {
  it('a browser flow is read only with the CSRF cookie it was issued with; reading issues no cookie', async () => {
    const browser = h.client('browser');
    const flow = await browser.flow('login');
    const again = await browser.get('login', flow.id);
    expect(again.status).toBe(200);
    expect(body(again).id).toBe(flow.id);
    expect(again.cookies).toEqual({});

    const other = h.client('browser');
    await other.create('login');
    const stolen = await kratosError(other.get('login', flow.id));
    expect(stolen.status).toBe(403);
    expect(stolen.id).toBe('security_csrf_violation');
    const cookieless = await kratosError(h.client('browser').get('login', flow.id));
    expect(cookieless.id).toBe('security_csrf_violation');
  });

  it('an API flow is read without CSRF; an unknown id or another kind is 404', async () => {
    const flow = await h.client('api').flow('registration');
    const read = await h.client('browser').get('registration', flow.id);
    expect(read.status).toBe(200);
    expect(read.cookies).toEqual({});
    expect((await kratosError(h.client('api').get('login', flow.id))).status).toBe(404);
    expect((await kratosError(h.client('api').get('registration', crypto.randomUUID()))).status).toBe(404);
  });

  it('an expired flow answers 410 self_service_flow_expired pointing at the init endpoint', async () => {
    const browser = h.client('browser');
    const browserFlow = await browser.flow('registration');
    const apiFlow = await h.client('api').flow('registration');
    h.clock.advance(61 * MINUTE);
    const b = await kratosError(browser.get('registration', browserFlow.id));
    expect(b.status).toBe(410);
    expect(b.id).toBe('self_service_flow_expired');
    expect(b.details?.redirect_to).toBe(`${PUBLIC}self-service/registration/browser`);
    const a = await kratosError(h.client('api').get('registration', apiFlow.id));
    expect(a.status).toBe(410);
    expect(a.details?.api).toBe(`${PUBLIC}self-service/registration/api`);
  });
});

describe('submit: CSRF and callers', () => {
  it('a browser submit needs the token of the cookie the flow was issued with (masked or raw); otherwise 403 security_csrf_violation', async () => {
    const { email: address } = await h.identity(email());
    const browser = h.client('browser');
    const flow = await browser.flow('login');
    const wrong = { method: 'password', identifier: address, password: 'not the password' };

    const missing = await kratosError(browser.submit('login', flow.id, wrong, { csrfSubmitted: undefined }));
    expect(missing.status).toBe(403);
    expect(missing.id).toBe('security_csrf_violation');
    expect(missing.flowType).toBe('browser');
    const forged = await kratosError(browser.submit('login', flow.id, { ...wrong, csrf_token: maskCsrfToken(h.client('browser').csrfCookie ?? 'A'.repeat(43) + '=') }));
    expect(forged.id).toBe('security_csrf_violation');

    // Another browser, with a valid cookie and token of its own, can't submit this flow.
    const other = h.client('browser');
    await other.create('login');
    const crossed = await kratosError(other.submit('login', flow.id, wrong));
    expect(crossed.id).toBe('security_csrf_violation');

    const masked = await browser.submit('login', flow.id, { ...wrong, csrf_token: csrfNodeValue(flow) });
    expect(masked.status).toBe(400);
    expect(uiMessageIds(body(masked))).toEqual([4000006]);
    const raw = await browser.submit('login', flow.id, { ...wrong, csrf_token: browser.csrfCookie });
    expect(raw.status).toBe(400);
  });

  it('an API flow submitted with browser markers gets 4000001 on the flow and nothing happens (Kratos flow.EnsureCSRF)', async () => {
    const { email: address, password } = await h.identity(email());
    const api = h.client('api');
    const flow = await api.flow('login');
    const answer = await api.submit('login', flow.id, { method: 'password', identifier: address, password }, { browserMarkers: true });
    expect(answer.status).toBe(400);
    expect(body(answer).id).toBe(flow.id);
    expect(body(answer).state).toBe('choose_method');
    expect(uiMessageIds(body(answer))).toEqual([4000001]);
    expect(body(answer).ui.messages[0].context.reason).toMatch(/API-based flows/);
    expect(api.token).toBeUndefined();
    // The flow still works for the native app.
    const ok = await api.submit('login', flow.id, { method: 'password', identifier: address, password });
    expect(ok.status).toBe(200);
  });
});

describe('login', () => {
  it('a wrong password and an unknown identifier get the same 400 answer with 4000006, the identifier echoed, never the password', async () => {
    const { email: address } = await h.identity(email());
    const api = h.client('api');
    const answers = [];
    for (const identifier of [address, email('nobody')]) {
      const flow = await api.flow('login');
      const answer = await api.submit('login', flow.id, { method: 'password', identifier, password: 'not the password' });
      expect(answer.status).toBe(400);
      expect(body(answer).state).toBe('choose_method');
      expect(node(body(answer), 'identifier').attributes.value).toBe(identifier);
      expect(node(body(answer), 'password').attributes.value).toBeUndefined();
      answers.push(body(answer).ui.messages);
    }
    expect(answers[0]).toEqual(answers[1]);
    expect(answers[0].map((m: Json) => m.id)).toEqual([4000006]);
    expect(api.token).toBeUndefined();
  });

  it('API success: the session and its token, no continue_with items, no cookies', async () => {
    const { email: address, password, identity } = await h.identity(email());
    const api = h.client('api');
    const flow = await api.flow('login');
    const answer = await api.submit('login', flow.id, { method: 'password', identifier: address, password });
    expect(answer.status).toBe(200);
    expect(answer.cookies).toEqual({});
    const result = body(answer);
    expect(result.session_token).toMatch(/^ory_st_/);
    expect(result.session.identity.id).toBe(identity.id);
    expect(result.session.authentication_methods.map((m: Json) => m.method)).toEqual(['password']);
    expect(result.continue_with ?? []).toEqual([]);
    expect((await h.registry.sessions.findByToken(result.session_token))?.identityId).toBe(identity.id);
  });

  it('browser success: a session cookie, a new CSRF cookie, continue_with redirect_browser_to the return_to, no token', async () => {
    const { email: address, password } = await h.identity(email());
    const browser = h.client('browser');
    const flow = await browser.flow('login', { returnTo: `${UI}/welcome` });
    const before = browser.csrfCookie;
    const answer = await browser.submit('login', flow.id, { method: 'password', identifier: address, password });
    expect(answer.status).toBe(200);
    expect(body(answer).session_token).toBeUndefined();
    expect(body(answer).session.active).toBe(true);
    expect(body(answer).continue_with).toEqual([{ action: 'redirect_browser_to', redirect_browser_to: `${UI}/welcome` }]);
    expect(answer.browserLocation).toBe(`${UI}/welcome`);
    expect(answer.cookies.session?.token).toMatch(/^ory_st_/);
    expect(answer.cookies.csrf).toMatch(/^[A-Za-z0-9+/]{43}=$/);
    expect(answer.cookies.csrf).not.toBe(before);
  });

  it('a login flow submitted once a session exists (not a refresh) is refused with 4000001 and issues nothing', async () => {
    const { email: address, password } = await h.identity(email());
    const api = h.client('api');
    const flow = await api.flow('login');
    await api.login(address, password);
    const token = api.token;
    const answer = await api.submit('login', flow.id, { method: 'password', identifier: address, password });
    expect(answer.status).toBe(400);
    expect(uiMessageIds(body(answer))).toEqual([4000001]);
    expect(body(answer).ui.messages[0].context.reason).toMatch(/^A valid session was detected and thus login is not possible\./);
    expect(body(answer).session_token).toBeUndefined();
    expect(api.token).toBe(token);
  });

  it('a refresh login continues the caller\'s session under a new token (the old one dies); the same identity keeps its CSRF cookie', async () => {
    const { client: browser, email: address, password, identity } = await signedIn('browser');
    const oldToken = browser.token!;
    const before = (await h.registry.sessions.findByToken(oldToken))!;
    const csrf = browser.csrfCookie;
    const flow = await browser.flow('login', { refresh: true });
    h.clock.advance(60_000);
    const answer = await browser.submit('login', flow.id, { method: 'password', identifier: address, password });
    expect(answer.status).toBe(200);
    expect(answer.cookies.session?.token).toMatch(/^ory_st_/);
    expect(answer.cookies.session?.token).not.toBe(oldToken);
    // Kratos ActivateSession: the same session, the method appended, authenticated (and expiring) anew.
    const after = (await h.registry.sessions.findByToken(answer.cookies.session!.token))!;
    expect(after.id).toBe(before.id);
    expect(after.authenticationMethods.map((m) => m.method)).toEqual(['password', 'password']);
    expect(after.authenticatedAt.getTime()).toBeGreaterThanOrEqual(before.authenticatedAt.getTime() + 60_000);
    expect(after.expiresAt.getTime() - after.authenticatedAt.getTime()).toBe(before.expiresAt.getTime() - before.authenticatedAt.getTime());
    // Kratos IssueCookie: no CSRF rotation for the same identity (a paused settings change carries the token).
    expect(answer.cookies.csrf).toBeUndefined();
    expect(browser.csrfCookie).toBe(csrf);
    expect(await h.registry.sessions.findByToken(oldToken)).toBeNull();
    expect((await h.registry.sessions.findByToken(browser.token!))?.identityId).toBe(identity.id);
  });

  it('a refresh login as another identity replaces the session and rotates the CSRF cookie', async () => {
    const { client: browser } = await signedIn('browser');
    const oldToken = browser.token!;
    const other = await h.identity(email('other'));
    const flow = await browser.flow('login', { refresh: true });
    const answer = await browser.submit('login', flow.id, { method: 'password', identifier: other.email, password: other.password });
    expect(answer.status).toBe(200);
    expect(answer.cookies.csrf).toBeDefined();
    expect(await h.registry.sessions.findByToken(oldToken)).toBeNull();
    expect((await h.registry.sessions.findByToken(browser.token!))?.identityId).toBe(other.identity.id);
  });
});

describe('registration', () => {
  it('reports every problem at once: each trait keyword, the missing password', async () => {
    const api = h.client('api');
    const flow = await api.flow('registration');
    const answer = await api.submit('registration', flow.id, { method: 'password', traits: { email: 'ab', name: { first: 'x'.repeat(101) } } });
    expect(answer.status).toBe(400);
    const result = body(answer);
    expect(result.state).toBe('choose_method');
    expect(nodeMessageIds(result, 'traits.email').sort()).toEqual([4000003, 4000040]);
    expect(nodeMessageIds(result, 'traits.name.first')).toEqual([4000017]);
    expect(nodeMessageIds(result, 'password')).toEqual([4000002]);
    expect(node(result, 'traits.email').attributes.value).toBe('ab');
    expect(await h.store.identities.findByCredentialIdentifier('password', 'ab')).toBeNull();
  });

  it('the password policy speaks only once the traits are valid, on the password node', async () => {
    const api = h.client('api');
    const flow = await api.flow('registration');
    const answer = await api.submit('registration', flow.id, { method: 'password', traits: { email: email() }, password: 'short' });
    expect(answer.status).toBe(400);
    expect(nodeMessageIds(body(answer), 'password')).toEqual([4000032]);
    expect(nodeMessageIds(body(answer), 'traits.email')).toEqual([]);
  });

  it('a browser form error redirects with 302 (Kratos, registration only)', async () => {
    const browser = h.client('browser');
    const flow = await browser.flow('registration');
    const answer = await browser.submit('registration', flow.id, { method: 'password', traits: { email: 'not an e-mail' }, password: PASSWORD });
    expect(answer.status).toBe(400);
    expect(answer.browserStatus).toBe(302);
    expect(answer.browserLocation).toBe(`${UI}/registration?flow=${flow.id}`);
  });

  it('profile_first: the traits step answers 400 with 1040009, hidden traits and a Back button; then the password signs up', async () => {
    const api = h.client('api');
    const flow = await api.flow('registration');
    expect(node(flow, 'password')).toBeUndefined();
    expect(node(flow, 'method', 'submit').attributes.value).toBe('profile');
    const address = email();
    const step = await api.submit('registration', flow.id, { method: 'profile', traits: { email: address } });
    expect(step.status).toBe(400);
    const chosen = body(step);
    expect(uiMessageIds(chosen)).toEqual([1040009]);
    expect(node(chosen, 'traits.email').attributes).toMatchObject({ type: 'hidden', value: address });
    expect(node(chosen, 'screen').attributes).toMatchObject({ type: 'submit', value: 'previous' });
    expect(node(chosen, 'screen').meta.label.id).toBe(1040008);
    expect(node(chosen, 'password')).toBeDefined();
    const done = await api.submit('registration', flow.id, { method: 'password', traits: { email: address }, password: PASSWORD });
    expect(done.status).toBe(200);
    expect(body(done).identity.traits.email).toBe(address);
  });

  it('an e-mail that is taken: answered as a new sign-up (account enumeration mitigated), no second identity', async () => {
    const { email: address, identity } = await h.identity(email());
    const api = h.client('api');
    const flow = await api.flow('registration');
    const answer = await api.submit('registration', flow.id, { method: 'password', traits: { email: address }, password: PASSWORD });
    expect(answer.status).toBe(200);
    expect(body(answer).identity.id).not.toBe(identity.id);
    expect(body(answer).session_token).toBeUndefined();
    expect(await h.store.identities.get(body(answer).identity.id)).toBeNull();
    expect((await h.store.identities.findByCredentialIdentifier('password', address))?.id).toBe(identity.id);
  });

  it('API success: identity, session, token; continue_with [show_verification_ui (no url), set_ory_session_token]', async () => {
    const api = h.client('api');
    const flow = await api.flow('registration');
    const address = email();
    const answer = await api.submit('registration', flow.id, { method: 'password', traits: { email: address }, password: PASSWORD });
    expect(answer.status).toBe(200);
    expect(answer.cookies).toEqual({});
    const result = body(answer);
    expect(result.identity.traits.email).toBe(address);
    expect(result.identity.verifiable_addresses[0]).toMatchObject({ value: address, verified: false, status: 'sent' });
    expect(result.session.identity.id).toBe(result.identity.id);
    expect(result.session_token).toMatch(/^ory_st_/);
    expect(result.continue_with.map((c: Json) => c.action)).toEqual(['show_verification_ui', 'set_ory_session_token']);
    const show = result.continue_with[0];
    expect(show.flow.verifiable_address).toBe(address);
    expect(show.flow.url).toBeUndefined();
    expect(result.continue_with[1].ory_session_token).toBe(result.session_token);
    // The verification flow waits with the code mailed.
    const verification = body(await api.get('verification', show.flow.id));
    expect(verification.state).toBe('sent_email');
    expect.soft(uiMessageIds(verification)).toEqual([1080003]);
    expect((await h.mails(address)).map((m) => m.templateType)).toEqual(['verification_code_valid']);
  });

  it('browser success: session (no token), continue_with [redirect_browser_to, show_verification_ui], one new CSRF cookie that reads the verification flow', async () => {
    const browser = h.client('browser');
    const flow = await browser.flow('registration', { returnTo: `${UI}/welcome` });
    const oldCsrf = browser.csrfCookie!;
    const address = email();
    const answer = await browser.submit('registration', flow.id, { method: 'password', traits: { email: address }, password: PASSWORD });
    expect(answer.status).toBe(200);
    const result = body(answer);
    expect(result.session_token).toBeUndefined();
    expect(result.session.identity.traits.email).toBe(address);
    expect(result.continue_with.map((c: Json) => c.action)).toEqual(['redirect_browser_to', 'show_verification_ui']);
    expect(result.continue_with[0].redirect_browser_to).toBe(`${UI}/welcome`);
    const verificationId = result.continue_with[1].flow.id;
    expect(result.continue_with[1].flow.url).toBe(`${UI}/verification?flow=${verificationId}`);
    expect(answer.browserLocation).toBe(`${UI}/verification?flow=${verificationId}`);
    expect(answer.cookies.session?.token).toMatch(/^ory_st_/);
    expect(answer.cookies.csrf).toBeDefined();
    expect(answer.cookies.csrf).not.toBe(oldCsrf);
    // The new cookie is the one the verification flow is bound to; the old one no longer reads it.
    expect((await browser.get('verification', verificationId)).status).toBe(200);
    const stale = h.client('browser');
    stale.csrfCookie = oldCsrf;
    expect((await kratosError(stale.get('verification', verificationId))).id).toBe('security_csrf_violation');
  });

  it('submitting a finished registration flow again changes nothing (4040002)', async () => {
    const api = h.client('api');
    const flow = await api.flow('registration');
    await api.submit('registration', flow.id, { method: 'password', traits: { email: email() }, password: PASSWORD });
    const second = email();
    const again = await h.client('api').submit('registration', flow.id, { method: 'password', traits: { email: second }, password: PASSWORD });
    expect(again.status).toBe(400);
    expect(uiMessageIds(body(again))).toContain(4040002);
    expect(await h.store.identities.findByCredentialIdentifier('password', second)).toBeNull();
  });

  it('without the session and show_verification_ui hooks: the identity alone, no session, no continue_with; the Verifier still mails the code', async () => {
    for (const type of ['api', 'browser'] as const) {
      const client = alt.client(type);
      const flow = await client.flow('registration');
      const address = email();
      const answer = await client.submit('registration', flow.id, { method: 'password', traits: { email: address }, password: PASSWORD });
      expect(answer.status, type).toBe(200);
      expect(body(answer).identity.traits.email, type).toBe(address);
      expect(body(answer).session, type).toBeUndefined();
      expect(body(answer).session_token, type).toBeUndefined();
      expect(answer.cookies.session, type).toBeUndefined();
      expect((body(answer).continue_with ?? []).map((c: Json) => c.action), type).toEqual(type === 'browser' ? ['redirect_browser_to'] : []);
      expect(answer.browserLocation, type).toBe(`${UI}/`);
      const identity = await alt.store.identities.findByCredentialIdentifier('password', address);
      expect(await alt.store.sessions.listForIdentity(identity!.id, { now: alt.clock.now(), limit: 10 }), type).toEqual([]);
      expect((await alt.mails(address)).map((m) => m.templateType), type).toEqual(['verification_code_valid']);
    }
  });
});

describe('settings', () => {
  it('a password change revokes the owner\'s other sessions and keeps the caller\'s', async () => {
    const { client, email: address, password, identity } = await signedIn('api');
    const elsewhere = h.client('api');
    await elsewhere.login(address, password);
    const stranger = await signedIn('api');
    const flow = await client.flow('settings');
    expect(flow.identity.id).toBe(identity.id);
    const answer = await client.submit('settings', flow.id, { method: 'password', password: 'a completely new passphrase 7' });
    expect(answer.status).toBe(200);
    expect(body(answer).state).toBe('success');
    expect(uiMessageIds(body(answer))).toEqual([1050001]);
    expect(await h.registry.sessions.findByToken(client.token!)).not.toBeNull();
    expect(await h.registry.sessions.findByToken(elsewhere.token!)).toBeNull();
    expect(await h.registry.sessions.findByToken(stranger.client.token!)).not.toBeNull();
    expect(await h.registry.hasher.verify('a completely new passphrase 7', await storedHash(h, identity.id))).toBe(true);
  });

  it('a profile change (not a credential) keeps the other sessions; the flow stays usable after success', async () => {
    const { client, email: address, password } = await signedIn('api');
    const elsewhere = h.client('api');
    await elsewhere.login(address, password);
    const flow = await client.flow('settings');
    const answer = await client.submit('settings', flow.id, { method: 'profile', traits: { email: address, name: { first: 'Ada' } } });
    expect(answer.status).toBe(200);
    expect(body(answer).identity.traits.name.first).toBe('Ada');
    expect(await h.registry.sessions.findByToken(elsewhere.token!)).not.toBeNull();
    const again = await client.submit('settings', flow.id, { method: 'profile', traits: { email: address, name: { first: 'Grace' } } });
    expect(again.status).toBe(200);
    expect(body(again).identity.traits.name.first).toBe('Grace');
  });

  it('with revoke_other_sessions_on_password_change off, the other sessions survive a password change', async () => {
    const { client, email: address, password } = await signedIn('api', alt);
    const elsewhere = alt.client('api');
    await elsewhere.login(address, password);
    const flow = await client.flow('settings');
    expect((await client.submit('settings', flow.id, { method: 'password', password: 'a completely new passphrase 7' })).status).toBe(200);
    expect(await alt.registry.sessions.findByToken(elsewhere.token!)).not.toBeNull();
  });

  it('a flow of another identity is refused with 403 security_identity_mismatch, to read or to submit', async () => {
    const owner = await signedIn('api');
    const other = await signedIn('api');
    const flow = await owner.client.flow('settings');
    const err = await kratosError(other.client.submit('settings', flow.id, { method: 'profile', traits: { email: other.email } }));
    expect(err.status).toBe(403);
    expect(err.id).toBe('security_identity_mismatch');
    expect((await kratosError(other.client.get('settings', flow.id))).id).toBe('security_identity_mismatch');
    expect((await h.store.identities.get(owner.identity.id))!.traits).toEqual({ email: owner.email });
  });

  it('needs a refresh after privileged_session_max_age: 403 session_refresh_required back to this flow; after a refresh login the GET resumes the change (Kratos settings/error.go reauthenticate)', async () => {
    const { client: browser, identity, email: address, password } = await signedIn('browser');
    const flow = await browser.flow('settings');
    const hashBefore = await storedHash(h, identity.id);
    h.clock.advance(6 * MINUTE);
    const newPassword = 'the password after re-authentication 9';
    const err = await kratosError(browser.submit('settings', flow.id, { method: 'password', password: newPassword }));
    const resume = `${PUBLIC}self-service/settings?flow=${flow.id}`;
    const to = `${PUBLIC}self-service/login/browser?refresh=true&return_to=${encodeURIComponent(resume)}`;
    expect(err.status).toBe(403);
    expect(err.id).toBe('session_refresh_required');
    expect(err.toJSON().redirect_browser_to).toBe(to);
    expect(err.browserLocation).toBe(to);
    expect(err.flowType).toBe('browser');
    expect(await storedHash(h, identity.id)).toBe(hashBefore);
    expect(body(await browser.get('settings', flow.id)).state).toBe('show_form');

    const refresh = await browser.flow('login', { refresh: true, returnTo: resume });
    expect(node(refresh, 'identifier').attributes.value).toBe(address);
    const login = await browser.submit('login', refresh.id, { method: 'password', identifier: address, password });
    expect(login.status).toBe(200);
    expect(login.browserLocation).toBe(resume);
    expect(login.cookies.csrf).toBeUndefined();

    const resumed = await browser.openLink('settings', flow.id);
    expect(resumed.status).toBe(200);
    const result = body(resumed);
    expect(result.state).toBe('success');
    expect(uiMessageIds(result)).toEqual([1050001]);
    expect(result.continue_with).toEqual([{ action: 'redirect_browser_to', redirect_browser_to: `${UI}/settings?flow=${flow.id}` }]);
    expect(resumed.browserLocation).toBe(`${UI}/settings?flow=${flow.id}`);
    expect(await h.registry.hasher.verify(newPassword, await storedHash(h, identity.id))).toBe(true);

    // The paused change is applied once: opening the link again finds nothing to resume (4010004).
    const twice = await browser.openLink('settings', flow.id);
    expect(twice.status).toBe(400);
    expect(uiMessageIds(body(twice))).toContain(4010004);
  });

  it('an API flow gets the same 403 (the client re-submits after re-authenticating)', async () => {
    const { client } = await signedIn('api');
    const flow = await client.flow('settings');
    h.clock.advance(6 * MINUTE);
    const err = await kratosError(client.submit('settings', flow.id, { method: 'password', password: 'the password after re-authentication 9' }));
    expect(err.status).toBe(403);
    expect(err.id).toBe('session_refresh_required');
    expect(err.flowType).toBe('api');
    expect(err.toJSON().redirect_browser_to).toBe(`${PUBLIC}self-service/login/browser?refresh=true&return_to=${encodeURIComponent(`${PUBLIC}self-service/settings?flow=${flow.id}`)}`);
  });
});

describe('expiry', () => {
  const EXPIRED: Record<FlowKind, number> = { login: 4010001, registration: 4040001, settings: 4050001, recovery: 4060005, verification: 4070005 };

  it.each(Object.keys(EXPIRED) as FlowKind[])('%s: a submit after the lifespan answers 410 with use_flow_id; the new flow says why', async (kind) => {
    const browser = kind === 'settings' ? (await signedIn('browser')).client : h.client('browser');
    const flow = await browser.flow(kind);
    h.clock.advance(61 * MINUTE);
    const err = await kratosError(browser.submit(kind, flow.id, { method: 'password', identifier: 'x', password: 'y', email: 'a@example.com' }));
    expect(err.status).toBe(410);
    expect(err.id).toBe('self_service_flow_expired');
    const beside = err.toJSON();
    expect(beside.expired_at).toBe(flow.expires_at);
    const replacement = beside.use_flow_id as string;
    expect(replacement).toMatch(/^[0-9a-f-]{36}$/);
    expect(replacement).not.toBe(flow.id);
    expect(err.browserLocation).toBe(`${UI}/${kind}?flow=${replacement}`);
    const fresh = body(await browser.get(kind, replacement));
    expect(fresh.type).toBe('browser');
    expect(fresh.ui.messages.map((m: Json) => m.id)).toEqual([EXPIRED[kind]]);
    expect(fresh.ui.messages[0].context.expired_at).toBe(flow.expires_at);
    expect(new Date(fresh.expires_at).getTime()).toBeGreaterThan(h.clock.now().getTime());
  });
});

describe('recovery by code', () => {
  it('sends a code, resends one (voiding the first), and the right code signs the user in with a settings flow (API)', async () => {
    const { email: address, identity } = await h.identity(email());
    const api = h.client('api');
    const flow = await api.flow('recovery');
    expect(flow.state).toBe('choose_method');
    const sent = await api.submit('recovery', flow.id, { method: 'code', email: address });
    expect(sent.status).toBe(200);
    expect(body(sent).state).toBe('sent_email');
    expect(uiMessageIds(body(sent))).toEqual([1060003]);
    expect(node(body(sent), 'code').attributes).toMatchObject({ type: 'text', required: true });
    expect(node(body(sent), 'email', 'submit').attributes.value).toBe(address);
    const first = await h.lastCode(address);
    expect((await h.mails(address))[0].subject).toBe(`Use code ${first} to recover access to your account`);

    const resent = await api.submit('recovery', flow.id, { method: 'code', email: address });
    expect(resent.status).toBe(200);
    expect(uiMessageIds(body(resent))).toEqual([1060003]);
    const second = await h.lastCode(address);
    expect(await h.mails(address)).toHaveLength(2);
    if (first !== second) {
      const voided = await api.submit('recovery', flow.id, { method: 'code', code: first });
      expect(uiMessageIds(body(voided))).toEqual([4060006]);
    }

    // Kratos: `method` is optional on a code submission.
    const passed = await api.submit('recovery', flow.id, { code: second });
    expect(passed.status).toBe(200);
    const result = body(passed);
    expect(result.state).toBe('passed_challenge');
    expect(result.continue_with.map((c: Json) => c.action)).toEqual(['set_ory_session_token', 'show_settings_ui']);
    const token = result.continue_with[0].ory_session_token;
    const session = await h.registry.sessions.findByToken(token);
    expect(session?.identityId).toBe(identity.id);
    expect(session?.authenticationMethods.map((m) => m.method)).toEqual(['code_recovery']);
    const settingsId = result.continue_with[1].flow.id;
    expect(result.continue_with[1].flow.url).toBe(`${UI}/settings?flow=${settingsId}`);
    const settingsClient = h.client('api');
    settingsClient.token = token;
    const settings = body(await settingsClient.get('settings', settingsId));
    expect(settings.identity.id).toBe(identity.id);
    expect(uiMessageIds(settings)).toEqual([1060001]);
  });

  it('an unknown address gets the same answer and no mail', async () => {
    const api = h.client('api');
    const flow = await api.flow('recovery');
    const nobody = email('nobody');
    const answer = await api.submit('recovery', flow.id, { method: 'code', email: nobody });
    expect(answer.status).toBe(200);
    expect(body(answer).state).toBe('sent_email');
    expect(uiMessageIds(body(answer))).toEqual([1060003]);
    expect(await h.mails(nobody)).toEqual([]);
  });

  it('wrong codes: 4060006 five times on the same flow, then the 6th submission (even the right code) replaces the flow with 4000001', async () => {
    const { email: address } = await h.identity(email());
    const api = h.client('api');
    const flow = await api.flow('recovery');
    await api.submit('recovery', flow.id, { method: 'code', email: address });
    const code = await h.lastCode(address);
    const wrong = code === '000000' ? '111111' : '000000';
    for (let i = 1; i <= 5; i++) {
      const answer = await api.submit('recovery', flow.id, { method: 'code', code: wrong });
      expect(answer.status, `attempt ${i}`).toBe(200);
      expect(body(answer).id, `attempt ${i}`).toBe(flow.id);
      expect(body(answer).state).toBe('sent_email');
      expect(uiMessageIds(body(answer)), `attempt ${i}`).toEqual([4060006]);
    }
    const sixth = await api.submit('recovery', flow.id, { method: 'code', code });
    const replaced = body(sixth);
    expect(replaced.id).not.toBe(flow.id);
    expect(replaced.state).toBe('choose_method');
    expect(replaced.ui.messages).toEqual([{
      id: 4000001, type: 'error', text: 'The request was submitted too often. Please request another code.',
      context: { reason: 'The request was submitted too often. Please request another code.' },
    }]);
    expect(api.token).toBeUndefined();
  });

  it('the count of code submissions belongs to the flow: a resend (even to another address) does not reset it', async () => {
    const first = await h.identity(email());
    const second = await h.identity(email());
    const api = h.client('api');
    const flow = await api.flow('recovery');
    const wrongFor = async (address: string) => ((await h.lastCode(address)) === '000000' ? '111111' : '000000');
    await api.submit('recovery', flow.id, { method: 'code', email: first.email });
    for (let i = 0; i < 3; i++) await api.submit('recovery', flow.id, { method: 'code', code: await wrongFor(first.email) });
    // The second address has failed only twice when its right code comes: only the flow's count can refuse it.
    await api.submit('recovery', flow.id, { method: 'code', email: second.email });
    for (let i = 0; i < 2; i++) await api.submit('recovery', flow.id, { method: 'code', code: await wrongFor(second.email) });
    const sixth = await api.submit('recovery', flow.id, { method: 'code', code: await h.lastCode(second.email) });
    expect(body(sixth).id).not.toBe(flow.id);
    expect(uiMessageIds(body(sixth))).toEqual([4000001]);
    expect(api.token).toBeUndefined();
  });

  it('a browser recovery ends with 422 browser_location_change_required to the settings UI, a session cookie and a new CSRF cookie', async () => {
    const { email: address, identity } = await h.identity(email());
    const browser = h.client('browser');
    const flow = await browser.flow('recovery');
    await browser.submit('recovery', flow.id, { method: 'code', email: address });
    const before = browser.csrfCookie;
    const answer = await browser.submit('recovery', flow.id, { method: 'code', code: await h.lastCode(address) });
    expect(answer.status).toBe(422);
    const error = body(answer);
    expect(error.error.id).toBe('browser_location_change_required');
    expect(error.redirect_browser_to).toMatch(new RegExp(`^${UI}/settings\\?flow=[0-9a-f-]{36}$`));
    expect(answer.browserLocation).toBe(error.redirect_browser_to);
    expect(answer.cookies.csrf).toBeDefined();
    expect(answer.cookies.csrf).not.toBe(before);
    expect((await h.registry.sessions.findByToken(answer.cookies.session!.token))?.identityId).toBe(identity.id);
    const settingsId = new URL(error.redirect_browser_to).searchParams.get('flow')!;
    const settings = await browser.get('settings', settingsId);
    expect(body(settings).identity.id).toBe(identity.id);
  });

  it('a recovery link with ?code= is refused: codes are entered with POST only', async () => {
    const { email: address } = await h.identity(email());
    const browser = h.client('browser');
    const flow = await browser.flow('recovery');
    await browser.submit('recovery', flow.id, { method: 'code', email: address });
    const err = await kratosError(browser.openLink('recovery', flow.id, { code: await h.lastCode(address) }));
    expect(err.status).toBe(400);
    expect(err.reason).toBe('Unable to decode body because HTTP Request Method was "GET" but only [POST] are supported.');
  });
});

describe('verification by code', () => {
  it('sends and resends a code (address status sent); the right code verifies the address and shows the continue link', async () => {
    const { email: address, identity } = await h.identity(email());
    const api = h.client('api');
    const flow = await api.flow('verification', { returnTo: `${UI}/verified` });
    const sent = await api.submit('verification', flow.id, { method: 'code', email: address });
    expect(sent.status).toBe(200);
    expect(body(sent).state).toBe('sent_email');
    expect(uiMessageIds(body(sent))).toEqual([1080003]);
    expect.soft((await h.store.identities.get(identity.id))!.verifiableAddresses[0].status).toBe('sent');
    const first = await h.lastCode(address);
    const resent = await api.submit('verification', flow.id, { method: 'code', email: address });
    expect(resent.status).toBe(200);
    expect(uiMessageIds(body(resent))).toEqual([1080003]);
    expect((await h.mails(address)).map((m) => m.templateType)).toEqual(['verification_code_valid', 'verification_code_valid']);
    const code = await h.lastCode(address);
    if (code !== first) {
      const voided = await api.submit('verification', flow.id, { method: 'code', code: first });
      expect(uiMessageIds(body(voided))).toEqual([4070006]);
    }

    const passed = await api.submit('verification', flow.id, { method: 'code', code });
    expect(passed.status).toBe(200);
    const result = body(passed);
    expect(result.state).toBe('passed_challenge');
    expect(uiMessageIds(result)).toEqual([1080002]);
    expect(result.ui.method).toBe('GET');
    expect(result.ui.action).toBe(`${UI}/verified`);
    expect(result.ui.nodes.find((n: Json) => n.attributes.id === 'continue')).toMatchObject({ type: 'a', attributes: { href: `${UI}/verified`, node_type: 'a' } });
    const stored = (await h.store.identities.get(identity.id))!.verifiableAddresses[0];
    expect(stored).toMatchObject({ verified: true, status: 'completed' });
    expect(stored.verifiedAt).not.toBeNull();
  });

  it('wrong codes: 4070006 five times, then the 6th submission answers 410 self_service_flow_replaced; the new flow carries 4000001', async () => {
    const { email: address } = await h.identity(email());
    const api = h.client('api');
    const flow = await api.flow('verification');
    await api.submit('verification', flow.id, { method: 'code', email: address });
    const code = await h.lastCode(address);
    const wrong = code === '000000' ? '111111' : '000000';
    for (let i = 1; i <= 5; i++) {
      const answer = await api.submit('verification', flow.id, { method: 'code', code: wrong });
      expect(answer.status, `attempt ${i}`).toBe(200);
      expect(uiMessageIds(body(answer)), `attempt ${i}`).toEqual([4070006]);
    }
    const err = await kratosError(api.submit('verification', flow.id, { method: 'code', code }));
    expect(err.status).toBe(410);
    expect(err.id).toBe('self_service_flow_replaced');
    expect(err.message).toBe('self-service flow replaced');
    const replacement = err.toJSON().use_flow_id as string;
    expect(replacement).not.toBe(flow.id);
    const fresh = body(await api.get('verification', replacement));
    expect(fresh.state).toBe('choose_method');
    expect(uiMessageIds(fresh)).toEqual([4000001]);
  });

  it('the mailed link (?code=) pre-fills the code, rebinds the flow to the browser opening it, and does not consume the code', async () => {
    const browser = h.client('browser');
    const registration = await browser.flow('registration');
    const address = email();
    const signedUp = await browser.submit('registration', registration.id, { method: 'password', traits: { email: address }, password: PASSWORD });
    const verificationId = body(signedUp).continue_with[1].flow.id;
    const mail = (await h.mails(address)).at(-1)!;
    const link = new URL(/http:\/\/idflow\.test\/self-service\/verification\?[^\s<"]+/.exec(mail.body)![0]);
    expect(link.searchParams.get('flow')).toBe(verificationId);
    const code = link.searchParams.get('code')!;
    expect(code).toMatch(/^\d{6}$/);

    // Another browser (the mail app's) opens the link.
    const mailApp = h.client('browser');
    const opened = await mailApp.openLink('verification', verificationId, { code });
    expect(opened.status).toBe(303);
    expect(opened.browserLocation).toBe(`${UI}/verification?flow=${verificationId}`);
    expect(opened.cookies.csrf).toBeDefined();
    const prefilled = body(await mailApp.get('verification', verificationId));
    expect(prefilled.state).toBe('sent_email');
    expect(node(prefilled, 'code').attributes.value).toBe(code);
    // The code still works: the user submits the pre-filled form.
    const passed = await mailApp.submit('verification', verificationId, { method: 'code', code });
    expect(body(passed).state).toBe('passed_challenge');
    const identity = await h.store.identities.findByCredentialIdentifier('password', address);
    expect(identity!.verifiableAddresses[0].verified).toBe(true);
  });
});

describe('admin recovery (issueRecovery)', () => {
  it('an API flow in sent_email whose secret is the code; nothing is mailed; the code passes once', async () => {
    const { identity, email: address } = await h.identity(email());
    const expiresAt = new Date(h.clock.now().getTime() + 10 * MINUTE);
    const issued = await h.registry.flowService.issueRecovery({ identity, address, kind: 'code', flowType: 'api', expiresAt });
    expect(issued.secret).toMatch(/^\d{6}$/);
    const api = h.client('api');
    const flow = body(await api.get('recovery', issued.flowId));
    expect(flow.state).toBe('sent_email');
    expect(flow.expires_at).toBe(expiresAt.toISOString());
    expect(await h.mails(address)).toEqual([]);
    const passed = await api.submit('recovery', issued.flowId, { method: 'code', code: issued.secret });
    expect(body(passed).state).toBe('passed_challenge');
    expect((await h.registry.sessions.findByToken(body(passed).continue_with[0].ory_session_token))?.identityId).toBe(identity.id);
  });

  it('the admin code stops working when its expires_in has passed', async () => {
    const { identity, email: address } = await h.identity(email());
    const issued = await h.registry.flowService.issueRecovery({ identity, address, kind: 'code', flowType: 'api', expiresAt: new Date(h.clock.now().getTime() + 10 * MINUTE) });
    h.clock.advance(11 * MINUTE);
    const err = await kratosError(h.client('api').submit('recovery', issued.flowId, { method: 'code', code: issued.secret }));
    expect(err.status).toBe(410);
    expect(err.id).toBe('self_service_flow_expired');
  });

  it('a browser flow (the admin API\'s default) can be opened and completed by the browser the user brings (Kratos skips its CSRF check)', async () => {
    const { identity, email: address } = await h.identity(email());
    const issued = await h.registry.flowService.issueRecovery({ identity, address, kind: 'code', flowType: 'browser', expiresAt: new Date(h.clock.now().getTime() + 10 * MINUTE) });
    const browser = h.client('browser');
    await browser.create('login');
    const opened = await browser.openLink('recovery', issued.flowId);
    expect(opened.browserLocation).toBe(`${UI}/recovery?flow=${issued.flowId}`);
    const flow = await browser.get('recovery', issued.flowId);
    expect(body(flow).state).toBe('sent_email');
    const passed = await browser.submit('recovery', issued.flowId, { method: 'code', code: issued.secret });
    expect(passed.status).toBe(422);
    expect(passed.cookies.session).toBeDefined();
  });
});

describe('one transaction per submit', () => {
  afterEach(() => {
    delete fault.repo;
    delete fault.method;
  });

  it('a registration whose session write fails leaves no identity, no session, no mail and the flow unchanged', async () => {
    const api = h.client('api');
    const flow = await api.flow('registration');
    const stored = await h.store.flows.get(flow.id);
    const address = email();
    Object.assign(fault, { repo: 'sessions', method: 'insert' });
    await expect(api.submit('registration', flow.id, { method: 'password', traits: { email: address }, password: PASSWORD })).rejects.toThrow(/injected failure/);
    expect(await h.store.identities.findByCredentialIdentifier('password', address)).toBeNull();
    expect(await h.store.identities.findIdByAddress('verifiable', 'email', address)).toBeUndefined();
    expect(await h.mails(address)).toEqual([]);
    expect(await h.store.flows.get(flow.id)).toEqual(stored);
    expect(api.token).toBeUndefined();
  });

  it('a password change whose session revocation fails keeps the old password and every session', async () => {
    const { client, identity, email: address, password } = await signedIn('api');
    const elsewhere = h.client('api');
    await elsewhere.login(address, password);
    const flow = await client.flow('settings');
    const hash = await storedHash(h, identity.id);
    const stored = await h.store.flows.get(flow.id);
    Object.assign(fault, { repo: 'sessions', method: 'deactivateAllForIdentity' });
    await expect(client.submit('settings', flow.id, { method: 'password', password: 'a completely new passphrase 7' })).rejects.toThrow(/injected failure/);
    expect(await storedHash(h, identity.id)).toBe(hash);
    expect(await h.registry.sessions.findByToken(elsewhere.token!)).not.toBeNull();
    expect(await h.store.flows.get(flow.id)).toEqual(stored);
  });

  it('concurrent submits of one registration flow create exactly one identity and one session', async () => {
    const api = h.client('api');
    const flow = await api.flow('registration');
    const addresses = [email('a'), email('b'), email('c')];
    const answers = await Promise.all(addresses.map((address) => h.client('api').submit('registration', flow.id, { method: 'password', traits: { email: address }, password: PASSWORD })));
    expect(answers.map((a) => a.status).sort()).toEqual([200, 400, 400]);
    const created = (await Promise.all(addresses.map((a) => h.store.identities.findByCredentialIdentifier('password', a)))).filter((x) => x !== null);
    expect(created).toHaveLength(1);
    const winner = answers.find((a) => a.status === 200)!;
    expect(body(winner).identity.id).toBe(created[0]!.id);
    expect(await h.store.sessions.listForIdentity(created[0]!.id, { now: h.clock.now(), limit: 10 })).toHaveLength(1);
    expect(body(await api.get('registration', flow.id)).state).toBe('passed_challenge');
  });
});
