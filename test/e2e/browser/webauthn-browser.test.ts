/**
 * Security keys and passkeys in real Chromium through a self-service UI shaped like kratos-selfservice-ui-node
 * (test/support/ui-server.ts): the UI renders the flow's trigger nodes as `<button type="button">` wired to their
 * `onclickTrigger` after load, and the `webauthn_script` node as `<script src integrity crossorigin async>`, so the
 * webauthn.js idflow serves is loaded cross-origin (SRI + CORS) and runs the ceremonies against the DevTools virtual
 * authenticator (CDP `WebAuthn.*`), which answers as a real key would. Every step is a click a user would make.
 * Spec: /tmp/helpers/kratos-webauthn.md §3, §6 (the Cypress specs mfa/webauthn.spec.ts, passwordless/flows.spec.ts,
 * passkey/flows.spec.ts); the Kratos file is cited next to an assertion.
 *
 * WebAuthn needs a secure context and an RP ID that is a domain: `http://localhost` is both, `127.0.0.1` is neither a
 * valid RP ID. So the browser only ever sees `localhost`: the UI (listening on 127.0.0.1, which Chromium reaches as
 * localhost) is addressed as `http://localhost:<ui port>`, and idflow gets `serve.public.base_url =
 * http://localhost:<public port>` on a port picked before it starts — the cookies idflow sets must be `localhost`
 * cookies, or the UI (which forwards the browser's cookies to idflow) would never see them. `rp.id` is `localhost`
 * and `rp.origins` the UI's origin.
 *
 * Three idflow servers per database, on the same database: MFA security keys (`webauthn.passwordless: false`),
 * passwordless security keys (`passwordless: true`), passkeys. Time is never slept for.
 */
import { createHash } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type BrowserContext, type CDPSession, type Page } from 'playwright-core';
import { testDatabases } from '../../support/databases.ts';
import { useChromium } from '../../support/chromium.ts';
import { address, flowIdOf, inBrowser as openBrowser, startUiEnv, stopUiEnv, UUID, type UiEnv } from '../../support/ui-env.ts';
import { click, ids, nodeMessages, trace, uiMessages, visit, type Hop } from '../../support/ui-page.ts';
import { type Overlay } from '../../support/server.ts';
import { personSchema, schemaUrl } from '../../support/person-schema.ts';
import { freePort } from '../../support/free-port.ts';

type Json = any;

/** Several ceremonies, logins and settings round trips per scenario in a real browser. */
const TIMEOUT = 60_000;
const PASSWORD = 'a long and unguessable passphrase';
const RP_NAME = 'idflow';
const SCRIPT_PATH = '.well-known/ory/webauthn.js';

const SCHEMA = personSchema('webauthn-browser', {
  email: { credentials: { password: { identifier: true }, webauthn: { identifier: true }, passkey: { display_name: true } } },
  emailMinLength: 3,
  traits: { name: { type: 'string', title: 'Full name' } },
});
const SCHEMA_URL = schemaUrl(SCHEMA);

const chromium = useChromium();

/** `http://127.0.0.1:<port>` → `http://localhost:<port>` (the same listener, reached by a name WebAuthn accepts). */
const viaLocalhost = (url: string) => {
  const u = new URL(url);
  u.hostname = 'localhost';
  return u.toString().replace(/\/$/, '');
};

type Variant = 'mfa' | 'passwordless' | 'passkey';

function overlay(ui: string, publicPort: number, variant: Variant): Overlay {
  const rp = { id: 'localhost', display_name: RP_NAME, origins: [ui] };
  const methods: Overlay = variant === 'passkey'
    ? { passkey: { enabled: true, config: { rp } } }
    : { webauthn: { enabled: true, config: { passwordless: variant === 'passwordless', rp } } };
  return {
    serve: { public: { port: publicPort, base_url: `http://localhost:${publicPort}/` } },
    // Hashing is not under test here: the cheapest bcrypt keeps the file fast on a busy machine.
    hashers: { algorithm: 'bcrypt', bcrypt: { cost: 4 } },
    identity: { default_schema_id: 'default', schemas: [{ id: 'default', url: SCHEMA_URL }] },
    selfservice: {
      default_browser_return_url: `${ui}/welcome`,
      allowed_return_urls: [ui],
      methods: { password: { config: { haveibeenpwned_enabled: false } }, ...methods },
      flows: {
        error: { ui_url: `${ui}/error` },
        login: { ui_url: `${ui}/login` },
        registration: {
          ui_url: `${ui}/registration`,
          // One form with the traits and every method (Kratos's legacy one-step, as the Cypress profiles use).
          style: 'unified',
          after: {
            password: { hooks: [{ hook: 'session' }] },
            webauthn: { hooks: [{ hook: 'session' }] },
            passkey: { hooks: [{ hook: 'session' }] },
          },
        },
        settings: { ui_url: `${ui}/settings` },
        recovery: { ui_url: `${ui}/recovery` },
        verification: { ui_url: `${ui}/verification` },
        logout: { after: { default_browser_return_url: `${ui}/logged-out` } },
      },
    },
  };
}

/** An idflow server with its UI, both as the browser sees them: `ui` and `pub` (trailing slash) on `localhost`. */
interface Env {
  base: UiEnv;
  ui: string;
  pub: string;
  /** idflow's public listener as the test process reaches it (127.0.0.1). */
  direct: string;
  admin: string;
}

async function startEnv(dsn: string, variant: Variant): Promise<Env> {
  for (let attempt = 1; ; attempt++) {
    const publicPort = await freePort();
    let ui = '';
    try {
      const base = await startUiEnv(dsn, (uiUrl) => {
        ui = viaLocalhost(uiUrl);
        return overlay(ui, publicPort, variant);
      });
      return { base, ui, pub: base.pub, direct: base.server.publicUrl, admin: base.server.adminUrl };
    } catch (err) {
      // The port was free a moment ago; someone else may have taken it since.
      if ((err as { code?: string }).code !== 'EADDRINUSE' || attempt >= 3) throw err;
    }
  }
}

const uiFlowUrl = (env: Env, kind: string) => new RegExp(`^${env.ui}/${kind}\\?flow=(${UUID})$`);
const count = (page: Page, selector: string) => page.locator(selector).count();

interface Person {
  id: string;
  email: string;
  password: string;
}

/** An identity made through the admin API with a password. */
async function person(env: Env, label: string): Promise<Person> {
  const email = address(label);
  const password = `${PASSWORD} of ${label}`;
  const res = await fetch(`${env.admin}/admin/identities`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', accept: 'application/json' },
    body: JSON.stringify({ schema_id: 'default', traits: { email, name: 'Test Person' }, credentials: { password: { config: { password } } } }),
  });
  const body = await res.json();
  expect(res.status, JSON.stringify(body)).toBe(201);
  return { id: body.id, email, password };
}

async function adminIdentity(env: Env, id: string): Promise<Json> {
  const res = await fetch(`${env.admin}/admin/identities/${id}?include_credential=webauthn&include_credential=passkey`);
  expect(res.status).toBe(200);
  return res.json();
}

/** `/sessions/whoami` fetched by the page itself (same origin: the UI server tunnels `/sessions/*` to idflow). */
async function pageWhoami(page: Page): Promise<{ status: number; body: Json }> {
  return page.evaluate(async () => {
    const res = await fetch('/sessions/whoami', { credentials: 'include', headers: { Accept: 'application/json' } });
    return { status: res.status, body: await res.json() };
  });
}
const amr = (session: Json) => session.authentication_methods.map((m: Json) => [m.method, m.aal]);

/** The session on the page: 200, this identity, this AAL and these `[method, aal]` entries. */
async function expectSession(page: Page, identityId: string | undefined, aal: string, methods: string[][]): Promise<Json> {
  const who = await pageWhoami(page);
  expect(who.status, JSON.stringify(who.body)).toBe(200);
  if (identityId) expect(who.body.identity.id).toBe(identityId);
  expect(who.body.authenticator_assurance_level).toBe(aal);
  expect(amr(who.body)).toEqual(methods);
  return who.body;
}

// ---------------------------------------------------------------------------------------------------------------
// The virtual authenticator and the ceremonies

interface VirtualCredential {
  credentialId: string;
  isResidentCredential: boolean;
  rpId?: string;
  userHandle?: string;
  signCount: number;
  userName?: string;
  userDisplayName?: string;
}

interface Authenticator {
  cdp: CDPSession;
  id: string;
  credentials(): Promise<VirtualCredential[]>;
}

/** A CTAP2 virtual authenticator (resident keys, user verification, presence simulated) on this page. */
async function addAuthenticator(context: BrowserContext, page: Page, transport: 'usb' | 'internal'): Promise<Authenticator> {
  const cdp = await context.newCDPSession(page);
  await cdp.send('WebAuthn.enable');
  const { authenticatorId } = await cdp.send('WebAuthn.addVirtualAuthenticator', {
    options: { protocol: 'ctap2', transport, hasResidentKey: true, hasUserVerification: true, isUserVerified: true, automaticPresenceSimulation: true },
  });
  return {
    cdp,
    id: authenticatorId,
    credentials: async () => (await cdp.send('WebAuthn.getCredentials', { authenticatorId })).credentials as VirtualCredential[],
  };
}

/** What went wrong in the page: webauthn.js reports failures with alert() (WebAuthn) or console.error (passkeys). */
function watch(page: Page): string[] {
  const seen: string[] = [];
  page.on('dialog', (dialog) => {
    seen.push(`alert: ${dialog.message()}`);
    dialog.dismiss().catch(() => {});
  });
  page.on('console', (msg) => {
    if (msg.type() === 'error' || msg.type() === 'warning') seen.push(`console.${msg.type()}: ${msg.text()}`);
  });
  page.on('pageerror', (err) => seen.push(`pageerror: ${err.message}`));
  return seen;
}

/** The cross-origin webauthn.js ran (SRI and CORS passed): it publishes its functions and sets the flag. */
async function scriptReady(page: Page): Promise<void> {
  await page.waitForFunction(() => (window as any).__oryWebAuthnInitialized === true, undefined, { timeout: 5000 });
}

/**
 * Clicks a trigger button the way a user does and follows the navigation webauthn.js causes (the ceremony, then
 * `form.submit()`): the hops and the form body it posted.
 */
async function ceremony(page: Page, selector: string, problems: string[]): Promise<{ hops: Hop[]; sent: URLSearchParams }> {
  await scriptReady(page);
  const seenBefore = problems.length;
  const posted = page.waitForRequest((r) => r.method() === 'POST' && r.isNavigationRequest(), { timeout: 10_000 });
  posted.catch(() => {});
  let hops: Hop[];
  try {
    hops = await trace(page, () => page.click(selector));
  } catch (err) {
    throw new Error(`clicking ${selector} did not submit the form; the page said: ${JSON.stringify(problems.slice(seenBefore))}`, { cause: err });
  }
  return { hops, sent: new URLSearchParams((await posted).postData() ?? '') };
}

interface WebauthnCall {
  mediation: string;
  outcome: 'pending' | 'resolved' | 'rejected';
}

/**
 * Logs every `navigator.credentials.get` the page makes (its mediation and how it ended) in sessionStorage, so the
 * log survives the form submit that follows a ceremony (the UI pages share one origin). Observes, changes nothing.
 */
async function recordWebauthnCalls(page: Page): Promise<void> {
  await page.addInitScript(() => {
    const key = 'webauthn-calls';
    const read = (): Array<{ mediation: string; outcome: string }> => JSON.parse(sessionStorage.getItem(key) ?? '[]');
    const original = navigator.credentials.get.bind(navigator.credentials);
    navigator.credentials.get = (options?: CredentialRequestOptions) => {
      const index = read().length;
      const update = (outcome: string) => {
        const calls = read();
        if (calls[index]) calls[index].outcome = outcome;
        sessionStorage.setItem(key, JSON.stringify(calls));
      };
      sessionStorage.setItem(key, JSON.stringify([...read(), { mediation: options?.mediation ?? 'modal', outcome: 'pending' }]));
      return original(options).then((credential) => {
        update('resolved');
        return credential;
      }, (err: unknown) => {
        update('rejected');
        throw err;
      });
    };
    (window as any).webauthnCallsIn = (storage: Storage) => JSON.parse(storage.getItem(key) ?? '[]');
  });
}
/** The log `recordWebauthnCalls` keeps (evaluated in the page). */
declare function webauthnCallsIn(storage: Storage): WebauthnCall[];

const b64url = (bytes: Buffer) => bytes.toString('base64url');
const hexOf = (b64: string) => Buffer.from(b64, 'base64').toString('hex');

interface ServedScript {
  contentType: string | null;
  allowOrigin: string | null;
  integrity: string;
}
const servedScripts = new Map<string, Promise<ServedScript>>();

/** `GET <public>/.well-known/ory/webauthn.js` as a cross-origin page asks for it (fetched once per server). */
function servedScript(env: Env): Promise<ServedScript> {
  let served = servedScripts.get(env.pub);
  if (!served) {
    served = (async () => {
      const res = await fetch(`${env.direct}/${SCRIPT_PATH}`, { headers: { origin: env.ui } });
      expect(res.status).toBe(200);
      const bytes = Buffer.from(await res.arrayBuffer());
      return {
        contentType: res.headers.get('content-type'),
        allowOrigin: res.headers.get('access-control-allow-origin'),
        integrity: `sha512-${createHash('sha512').update(bytes).digest('base64')}`,
      };
    })();
    servedScripts.set(env.pub, served);
  }
  return served;
}

/** The script route's headers (x/webauthnx/handler.go:48-53; passkey_login_test.go:79-83 asserts the exact type). */
async function expectScriptRoute(env: Env): Promise<void> {
  const served = await servedScript(env);
  expect.soft(served.contentType).toBe('text/javascript; charset=UTF-8');
  // Loaded with crossorigin="anonymous" from the UI's origin: without this header the browser would not run it.
  expect(served.allowOrigin).toBe('*');
}

/**
 * The `webauthn_script` node as the UI rendered it (the idflow URL, SRI over the bytes served, crossorigin, async),
 * and Chromium ran it: a script failing its CORS check or its integrity is not executed, so the published functions
 * prove both passed.
 */
async function expectScriptTag(env: Env, page: Page): Promise<void> {
  const script = page.locator('script#webauthn_script');
  expect(await script.count()).toBe(1);
  expect(await script.getAttribute('src')).toBe(`${env.pub}${SCRIPT_PATH}`);
  expect(await script.getAttribute('crossorigin')).toBe('anonymous');
  expect(await script.getAttribute('async')).not.toBeNull();
  expect(await script.getAttribute('integrity')).toBe((await servedScript(env)).integrity);
  await scriptReady(page);
  expect(await page.evaluate(() => ['oryWebAuthnLogin', 'oryWebAuthnRegistration', 'oryPasskeyLogin', 'oryPasskeyRegistration', 'oryPasskeySettingsRegistration', 'oryPasskeyLoginAutocompleteInit']
    .filter((name) => typeof (window as any)[name] !== 'function'))).toEqual([]);
}

/** A trigger button: `type="button"`, wired to `onclickTrigger`, labelled; returns its value (options JSON or ""). */
async function expectTrigger(page: Page, selector: string, trigger: string, labelId: number, text: string): Promise<string> {
  const button = page.locator(selector);
  expect(await button.count(), selector).toBe(1);
  expect(await button.getAttribute('type')).toBe('button');
  expect(await button.getAttribute('data-onclick-trigger')).toBe(trigger);
  expect.soft(await button.getAttribute('data-label-id')).toBe(String(labelId));
  expect.soft((await button.textContent())?.trim()).toBe(text);
  expect(await button.isVisible()).toBe(true);
  return (await button.getAttribute('value')) ?? '';
}

// ---------------------------------------------------------------------------------------------------------------
// Flows through the UI

const inBrowser = (env: Env, run: (page: Page, context: BrowserContext, problems: string[]) => Promise<void>) =>
  openBrowser(chromium(), env.base, async (page, context) => {
    const problems = watch(page);
    try {
      await run(page, context, problems);
    } catch (err) {
      throw new Error(`${err instanceof Error ? err.message : String(err)}\n  page problems: ${JSON.stringify(problems)}`, { cause: err });
    }
  });

async function openFlow(env: Env, page: Page, kind: string, query = ''): Promise<string> {
  await visit(page, `${env.pub}self-service/${kind}/browser${query}`);
  expect(page.url()).toMatch(uiFlowUrl(env, kind));
  return flowIdOf(page.url())!;
}

/** The password step of a login through the login page; returns the hops of the submit. */
async function passwordLogin(env: Env, page: Page, user: Person): Promise<{ flowId: string; hops: Hop[] }> {
  const flowId = await openFlow(env, page, 'login');
  await page.fill('input[name="identifier"]', user.email);
  await page.fill('input[name="password"]', user.password);
  return { flowId, hops: await click(page, 'button[name="method"][value="password"]') };
}

/** Logs out through the logout URL `/self-service/logout/browser` hands out; the browser ends on /logged-out. */
async function logout(env: Env, page: Page, context: BrowserContext): Promise<void> {
  const res = await context.request.get(`${env.pub}self-service/logout/browser`, { headers: { accept: 'application/json' } });
  expect(res.status(), await res.text()).toBe(200);
  const { logout_url: logoutUrl } = await res.json();
  await visit(page, logoutUrl);
  expect(page.url()).toBe(`${env.ui}/logged-out`);
  expect((await context.cookies()).some((c) => c.name === 'ory_kratos_session')).toBe(false);
}

const SAVED = [{ id: 1050001, type: 'success', text: 'Your changes have been saved!' }];

for (const db of testDatabases()) {
  describe(`security keys and passkeys in Chromium through a self-service UI (${db.name})`, () => {
    let mfa: Env;
    let passwordless: Env;
    let passkey: Env;
    let drop: (() => Promise<void>) | undefined;

    beforeAll(async () => {
      const created = await db.create();
      drop = created.drop;
      // The first server migrates the database; the other two only open it.
      mfa = await startEnv(created.dsn, 'mfa');
      [passwordless, passkey] = await Promise.all([startEnv(created.dsn, 'passwordless'), startEnv(created.dsn, 'passkey')]);
    });
    afterAll(async () => {
      for (const env of [mfa, passwordless, passkey]) await stopUiEnv(env?.base);
      await drop?.();
    });

    it('1. MFA security key: added in settings (1050001, webauthn_remove), then password login → aal2 page (1010004) → "Sign in with a hardware key" → aal2 [password, webauthn]; then removed', { timeout: TIMEOUT }, async () => {
      const env = mfa;
      const user = await person(env, 'mfa-key');
      await inBrowser(env, async (page, context, problems) => {
        const key = await addAuthenticator(context, page, 'usb');
        const { hops } = await passwordLogin(env, page, user);
        expect(hops[0].location).toBe(`${env.ui}/welcome`);
        expect(page.url()).toBe(`${env.ui}/welcome`);
        await expectSession(page, user.id, 'aal1', [['password', 'aal1']]);

        // Settings: webauthn/settings.go:348 — displayname (1050013), webauthn_register, trigger (1050012), script.
        const settingsId = await openFlow(env, page, 'settings');
        await expectScriptTag(env, page);
        await expectScriptRoute(env);
        const form = '#flow-webauthn';
        expect(await count(page, `${form} button[name="webauthn_remove"]`)).toBe(0);
        expect.soft(await page.getAttribute(`${form} .node[data-node="webauthn_register_displayname"] label`, 'data-label-id')).toBe('1050013');
        expect(await count(page, `${form} input[name="webauthn_register"][type="hidden"]`)).toBe(1);
        const creation = JSON.parse(await expectTrigger(page, `${form} button[name="webauthn_register_trigger"]`, 'oryWebAuthnRegistration', 1050012, 'Add security key'));
        expect(creation.publicKey.rp).toEqual({ name: RP_NAME, id: 'localhost' });
        expect(creation.publicKey.authenticatorSelection).toEqual({ userVerification: 'discouraged' });
        expect(creation.publicKey.excludeCredentials).toBeUndefined();
        // Settings: the user handle is the identity id's 16 bytes (settings.go:357).
        expect(Buffer.from(creation.publicKey.user.id, 'base64url').toString('hex')).toBe(user.id.replaceAll('-', ''));

        // mfa/webauthn.spec.ts:265-270: without a name the key is refused (settings.go: the schema requires the name
        // once webauthn_register is set): 4000002 on webauthn_register_displayname, nothing linked.
        const unnamed = await ceremony(page, `${form} button[name="webauthn_register_trigger"]`, problems);
        expect(unnamed.sent.get('webauthn_register')).toMatch(/^\{.*"attestationObject"/);
        expect(unnamed.sent.get('webauthn_register_displayname')).toBe('');
        expect.soft(unnamed.hops[0].status).toBe(303);
        expect(page.url()).toBe(`${env.ui}/settings?flow=${settingsId}`);
        expect((await nodeMessages(page, 'webauthn_register_displayname')).map(({ id, type, text }) => ({ id, type, text })))
          .toEqual([{ id: 4000002, type: 'error', text: 'Property webauthn_register_displayname is missing.' }]);
        expect(await uiMessages(page)).toEqual([]);
        expect(await count(page, `${form} button[name="webauthn_remove"]`)).toBe(0);
        expect((await adminIdentity(env, user.id)).credentials.webauthn).toBeUndefined();
        // The authenticator did make a credential; it is linked to nothing.
        const orphans = (await key.credentials()).map((c) => c.credentialId);
        expect(orphans).toHaveLength(1);

        await page.fill(`${form} input[name="webauthn_register_displayname"]`, 'My USB key');
        const added = await ceremony(page, `${form} button[name="webauthn_register_trigger"]`, problems);
        // webauthn.js submits the trigger's form with the credential in webauthn_register and no `method`.
        expect(added.sent.get('webauthn_register')).toMatch(/^\{.*"attestationObject"/);
        expect(added.sent.get('webauthn_register_displayname')).toBe('My USB key');
        expect(added.sent.has('method')).toBe(false);
        expect(added.hops[0]).toMatchObject({ method: 'POST', url: `${env.pub}self-service/settings?flow=${settingsId}` });
        expect.soft(added.hops[0].status).toBe(303);
        expect(page.url()).toBe(`${env.ui}/settings?flow=${settingsId}`);
        expect(await uiMessages(page)).toEqual(SAVED);

        const stored = (await key.credentials()).filter((c) => !orphans.includes(c.credentialId));
        expect(stored).toHaveLength(1);
        expect(stored[0].rpId).toBe('localhost');
        const keyHex = hexOf(stored[0].credentialId);
        // 1050018 Remove security key "<name>" with {display_name, added_at, added_at_unix}; an MFA key is removable.
        const remove = page.locator(`${form} button[name="webauthn_remove"]`);
        expect(await remove.count()).toBe(1);
        expect(await remove.getAttribute('value')).toBe(keyHex);
        expect(await remove.isDisabled()).toBe(false);
        expect.soft(await remove.getAttribute('data-label-id')).toBe('1050018');
        expect.soft((await remove.textContent())?.trim()).toBe('Remove security key "My USB key"');
        // The new challenge excludes the stored key (settings.go:367).
        const again = JSON.parse((await page.getAttribute(`${form} button[name="webauthn_register_trigger"]`, 'value'))!);
        expect(again.publicKey.excludeCredentials).toEqual([{ type: 'public-key', id: b64url(Buffer.from(stored[0].credentialId, 'base64')) }]);
        expect(again.publicKey.challenge).not.toBe(creation.publicKey.challenge);
        // settings.go:318: the session gains {webauthn, aal2}.
        await expectSession(page, user.id, 'aal2', [['password', 'aal1'], ['webauthn', 'aal2']]);
        const identity = await adminIdentity(env, user.id);
        expect(identity.credentials.webauthn.identifiers).toEqual([user.email]);
        expect(identity.credentials.webauthn.config.credentials).toHaveLength(1);
        expect(identity.credentials.webauthn.config.credentials[0]).toMatchObject({ display_name: 'My USB key', is_passwordless: false, id: stored[0].credentialId });

        // Log out, log in with the password: the identity has a second factor → the aal2 login page.
        await logout(env, page, context);
        const first = await passwordLogin(env, page, user);
        expect(first.hops[0].location).toBe(`${env.pub}self-service/login/browser?aal=aal2`);
        expect(page.url()).toMatch(uiFlowUrl(env, 'login'));
        const aal2FlowId = flowIdOf(page.url())!;
        expect(aal2FlowId).not.toBe(first.flowId);
        expect(await uiMessages(page)).toEqual([{ id: 1010004, type: 'info', text: 'Please complete the second authentication challenge.' }]);
        expect(await count(page, 'input[name="password"]')).toBe(0);
        // login.go:56 (snapshot …mfa-case=webauthn_payload_is_set…): identifier hidden, webauthn_login, script, trigger.
        expect(await page.getAttribute('input[name="identifier"]', 'type')).toBe('hidden');
        expect(await page.inputValue('input[name="identifier"]')).toBe(user.email);
        expect(await count(page, 'input[name="webauthn_login"][type="hidden"]')).toBe(1);
        await expectScriptTag(env, page);
        const assertion = JSON.parse(await expectTrigger(page, 'button[name="webauthn_login_trigger"]', 'oryWebAuthnLogin', 1010008, 'Sign in with a hardware key'));
        expect(assertion.publicKey).toMatchObject({ rpId: 'localhost', userVerification: 'discouraged', allowCredentials: [{ type: 'public-key', id: b64url(Buffer.from(stored[0].credentialId, 'base64')) }] });
        const halfway = await pageWhoami(page);
        expect(halfway.status).toBe(403);
        expect(halfway.body.error.id).toBe('session_aal2_required');

        const signed = await ceremony(page, 'button[name="webauthn_login_trigger"]', problems);
        expect(signed.sent.get('webauthn_login')).toMatch(/^\{.*"signature"/);
        expect(signed.sent.get('identifier')).toBe(user.email);
        expect(signed.sent.has('method')).toBe(false);
        expect(signed.hops[0]).toMatchObject({ method: 'POST', url: `${env.pub}self-service/login?flow=${aal2FlowId}` });
        expect.soft(signed.hops[0].status).toBe(303);
        expect(page.url()).toBe(`${env.ui}/welcome`);
        expect(await page.getAttribute('#identity', 'data-identity-id')).toBe(user.id);
        await expectSession(page, user.id, 'aal2', [['password', 'aal1'], ['webauthn', 'aal2']]);
        const used = (await key.credentials()).find((c) => c.credentialId === stored[0].credentialId);
        expect(used?.signCount).toBeGreaterThan(stored[0].signCount);

        // Remove the key in settings: 1050001, no webauthn_remove any more, the credential is gone.
        const removeId = await openFlow(env, page, 'settings');
        await click(page, `${form} button[name="webauthn_remove"][value="${keyHex}"]`);
        expect(page.url()).toBe(`${env.ui}/settings?flow=${removeId}`);
        expect(await uiMessages(page)).toEqual(SAVED);
        expect(await count(page, 'button[name="webauthn_remove"]')).toBe(0);
        expect(await count(page, `${form} button[name="webauthn_register_trigger"]`)).toBe(1);
        expect((await adminIdentity(env, user.id)).credentials.webauthn).toBeUndefined();
        // Removal changes no AMR (settings.go:190).
        await expectSession(page, user.id, 'aal2', [['password', 'aal1'], ['webauthn', 'aal2']]);
        // mfa/webauthn.spec.ts:315-325: an aal2 refresh login offers no key any more, with 1010003.
        await openFlow(env, page, 'login', '?aal=aal2&refresh=true');
        expect(await count(page, 'button[name="webauthn_login_trigger"]')).toBe(0);
        expect(ids(await uiMessages(page))).toContain(1010003);
      });
    });

    it('2. passwordless security key: sign-up with "Sign up with security key" → aal1 [webauthn]; identifier + "Sign in with a hardware key" → 1010012 and "Continue" without a password field → aal1 [webauthn]', { timeout: TIMEOUT }, async () => {
      const env = passwordless;
      const email = address('passwordless');
      await inBrowser(env, async (page, context, problems) => {
        const key = await addAuthenticator(context, page, 'usb');
        // registration.go:234 (snapshot TestRegistration-case=webauthn_button_exists-browser): displayname (1050013),
        // webauthn_register, trigger "Sign up with security key" (1040004), script — beside the password.
        const registrationId = await openFlow(env, page, 'registration');
        await expectScriptTag(env, page);
        await expectScriptRoute(env);
        expect.soft(await page.getAttribute('.node[data-node="webauthn_register_displayname"] label', 'data-label-id')).toBe('1050013');
        const creation = JSON.parse(await expectTrigger(page, 'button[name="webauthn_register_trigger"]', 'oryWebAuthnRegistration', 1040004, 'Sign up with security key'));
        expect(creation.publicKey.rp).toEqual({ name: RP_NAME, id: 'localhost' });
        expect(creation.publicKey.user).toMatchObject({ name: RP_NAME, displayName: RP_NAME });
        expect(await count(page, 'input[name="password"]')).toBe(1);

        await page.fill('input[name="traits.email"]', email);
        await page.fill('input[name="traits.name"]', 'Passwordless Person');
        await page.fill('input[name="webauthn_register_displayname"]', 'My passwordless key');
        const registered = await ceremony(page, 'button[name="webauthn_register_trigger"]', problems);
        expect(registered.sent.get('webauthn_register')).toMatch(/^\{.*"attestationObject"/);
        expect(registered.sent.get('traits.email')).toBe(email);
        expect(registered.sent.has('method')).toBe(false);
        expect(registered.hops[0]).toMatchObject({ method: 'POST', url: `${env.pub}self-service/registration?flow=${registrationId}` });
        expect.soft(registered.hops[0].status).toBe(303);
        expect(page.url()).toBe(`${env.ui}/welcome`);
        // passwordless/flows.spec.ts:9-30: aal1, ["webauthn"], traits stored.
        const session = await expectSession(page, undefined, 'aal1', [['webauthn', 'aal1']]);
        expect(session.identity.traits).toEqual({ email, name: 'Passwordless Person' });
        const identity = await adminIdentity(env, session.identity.id);
        expect(Object.keys(identity.credentials).sort()).toEqual(['webauthn']);
        expect(identity.credentials.webauthn.identifiers).toEqual([email]);
        expect(identity.credentials.webauthn.config.credentials[0]).toMatchObject({ display_name: 'My passwordless key', is_passwordless: true });
        const stored = await key.credentials();
        expect(stored).toHaveLength(1);
        expect(identity.credentials.webauthn.config.credentials[0].id).toBe(stored[0].credentialId);

        // passwordless/flows.spec.ts:188-193: the only key (the only first factor) can't be removed.
        await openFlow(env, page, 'settings');
        const remove = page.locator('#flow-webauthn button[name="webauthn_remove"]');
        expect(await remove.count()).toBe(1);
        expect(await remove.isDisabled()).toBe(true);

        await logout(env, page, context);
        // login.go:351 step 0: identifier (autocomplete "username webauthn") and a plain submit method=webauthn (1010008).
        const loginId = await openFlow(env, page, 'login');
        expect(await page.getAttribute('input[name="identifier"]', 'autocomplete')).toBe('username webauthn');
        const submit = page.locator('button[name="method"][value="webauthn"]');
        expect(await submit.count()).toBe(1);
        expect(await submit.getAttribute('type')).toBe('submit');
        expect.soft(await submit.getAttribute('data-label-id')).toBe('1010008');
        expect.soft((await submit.textContent())?.trim()).toBe('Sign in with a hardware key');
        expect(await count(page, 'button[name="webauthn_login_trigger"]')).toBe(0);
        await page.fill('input[name="identifier"]', email);
        const step1 = await click(page, 'button[name="method"][value="webauthn"]');
        // login.go:194-249: 303 back to the same flow, 1010012, identifier hidden, "Continue" (1010013), no password.
        expect.soft(step1[0].status).toBe(303);
        expect(step1[0].location).toBe(`${env.ui}/login?flow=${loginId}`);
        expect(page.url()).toBe(`${env.ui}/login?flow=${loginId}`);
        expect(await uiMessages(page)).toEqual([{ id: 1010012, type: 'info', text: 'Prepare your WebAuthn device (e.g. security key, biometrics scanner, ...) and press continue.' }]);
        expect(await count(page, 'input[name="password"]')).toBe(0);
        expect(await count(page, 'button[name="method"]')).toBe(0);
        expect(await page.getAttribute('input[name="identifier"]', 'type')).toBe('hidden');
        expect(await page.inputValue('input[name="identifier"]')).toBe(email);
        const assertion = JSON.parse(await expectTrigger(page, 'button[name="webauthn_login_trigger"]', 'oryWebAuthnLogin', 1010013, 'Continue'));
        expect(assertion.publicKey).toMatchObject({ rpId: 'localhost', userVerification: 'discouraged', timeout: 120000, allowCredentials: [{ type: 'public-key', id: b64url(Buffer.from(stored[0].credentialId, 'base64')) }] });

        const signed = await ceremony(page, 'button[name="webauthn_login_trigger"]', problems);
        expect(signed.sent.get('identifier')).toBe(email);
        expect(signed.sent.get('webauthn_login')).toMatch(/^\{.*"signature"/);
        expect(signed.hops[0]).toMatchObject({ method: 'POST', url: `${env.pub}self-service/login?flow=${loginId}` });
        expect(page.url()).toBe(`${env.ui}/welcome`);
        await expectSession(page, session.identity.id, 'aal1', [['webauthn', 'aal1']]);
      });
    });

    it('3. passkey: sign-up with "Sign up with passkey" (the e-mail names it) → aal1 [passkey]; "Sign in with passkey" with no identifier typed → aal1 [passkey]; the only passkey can\'t be removed', { timeout: TIMEOUT }, async () => {
      const env = passkey;
      const email = address('passkey');
      await inBrowser(env, async (page, context, problems) => {
        const key = await addAuthenticator(context, page, 'internal');
        await recordWebauthnCalls(page);
        // passkey_registration.go:223 (snapshot TestRegistration-case=passkey_button_exists-browser).
        const registrationId = await openFlow(env, page, 'registration');
        await expectScriptTag(env, page);
        await expectScriptRoute(env);
        expect(await expectTrigger(page, 'button[name="passkey_register_trigger"]', 'oryPasskeyRegistration', 1040007, 'Sign up with passkey')).toBe('');
        expect(await count(page, 'input[name="passkey_register"][type="hidden"]')).toBe(1);
        const createData = JSON.parse(await page.inputValue('input[name="passkey_create_data"]'));
        expect(createData.displayNameFieldName).toBe('traits.email');
        expect(createData.credentialOptions.publicKey.rp).toEqual({ name: RP_NAME, id: 'localhost' });
        expect(createData.credentialOptions.publicKey.authenticatorSelection).toEqual({ requireResidentKey: true, residentKey: 'required', userVerification: 'preferred' });

        await page.fill('input[name="traits.email"]', email);
        await page.fill('input[name="traits.name"]', 'Passkey Person');
        const registered = await ceremony(page, 'button[name="passkey_register_trigger"]', problems);
        expect(registered.sent.get('passkey_register')).toMatch(/^\{.*"attestationObject"/);
        expect(registered.sent.has('method')).toBe(false);
        expect(registered.hops[0]).toMatchObject({ method: 'POST', url: `${env.pub}self-service/registration?flow=${registrationId}` });
        expect.soft(registered.hops[0].status).toBe(303);
        expect(page.url()).toBe(`${env.ui}/welcome`);
        // passkey/flows.spec.ts:9-32: aal1, ["passkey"].
        const session = await expectSession(page, undefined, 'aal1', [['passkey', 'aal1']]);
        expect(session.identity.traits).toEqual({ email, name: 'Passkey Person' });
        const stored = await key.credentials();
        expect(stored).toHaveLength(1);
        expect(stored[0]).toMatchObject({ rpId: 'localhost', isResidentCredential: true });
        // webauthn.js names the passkey after the display-name field (the e-mail).
        if (stored[0].userName !== undefined) expect(stored[0].userName).toBe(email);
        // passkey_registration.go: the identifier is the 64-character user handle the authenticator stored.
        const handle = Buffer.from(stored[0].userHandle ?? '', 'base64').toString('utf8');
        expect(handle).toMatch(/^[A-Za-z0-9]{64}$/);
        const identity = await adminIdentity(env, session.identity.id);
        expect(Object.keys(identity.credentials).sort()).toEqual(['passkey']);
        expect(identity.credentials.passkey.identifiers).toEqual([handle]);
        expect(identity.credentials.passkey.config.credentials[0]).toMatchObject({ id: stored[0].credentialId, is_passwordless: true });

        await logout(env, page, context);
        // The login page starts the autocomplete ceremony on load (passkey_login's onloadTrigger,
        // oryPasskeyLoginAutocompleteInit: a conditional `credentials.get`), which the virtual authenticator answers
        // at once while it simulates presence. To sign in by the button, as a user who does not pick the passkey from
        // the autofill list, presence is off while the page loads: the conditional request then waits, and the
        // button's modal request (which aborts it) is answered once presence is back on.
        await key.cdp.send('WebAuthn.setAutomaticPresenceSimulation', { authenticatorId: key.id, enabled: false });
        // passkey_login.go:44 (snapshot …passkey_button_exists): identifier, script, trigger (1010021), passkey_login
        // (onload: autocomplete), passkey_challenge — a discoverable challenge (no allowCredentials).
        const loginId = await openFlow(env, page, 'login');
        await expectScriptTag(env, page);
        await page.waitForFunction(() => webauthnCallsIn(sessionStorage).some((c) => c.mediation === 'conditional'), undefined, { timeout: 5000 });
        expect(page.url()).toBe(`${env.ui}/login?flow=${loginId}`);
        await key.cdp.send('WebAuthn.setAutomaticPresenceSimulation', { authenticatorId: key.id, enabled: true });
        expect(await expectTrigger(page, 'button[name="passkey_login_trigger"]', 'oryPasskeyLogin', 1010021, 'Sign in with passkey')).toBe('');
        expect(await page.getAttribute('input[name="passkey_login"]', 'data-onload-trigger')).toBe('oryPasskeyLoginAutocompleteInit');
        const challenge = JSON.parse(await page.inputValue('input[name="passkey_challenge"]'));
        expect(challenge.publicKey.rpId).toBe('localhost');
        expect(challenge.publicKey.allowCredentials).toBeUndefined();
        expect(await page.inputValue('input[name="identifier"]')).toBe('');

        const signed = await ceremony(page, 'button[name="passkey_login_trigger"]', problems);
        expect(signed.sent.get('passkey_login')).toMatch(/^\{.*"userHandle"/);
        expect(signed.sent.get('identifier')).toBe('');
        expect(signed.hops[0]).toMatchObject({ method: 'POST', url: `${env.pub}self-service/login?flow=${loginId}` });
        expect.soft(signed.hops[0].status).toBe(303);
        expect(page.url()).toBe(`${env.ui}/welcome`);
        await expectSession(page, session.identity.id, 'aal1', [['passkey', 'aal1']]);
        // The autocomplete request was aborted by the button's, which signed in.
        expect(await page.evaluate(() => webauthnCallsIn(sessionStorage))).toEqual([
          { mediation: 'conditional', outcome: 'rejected' },
          { mediation: 'modal', outcome: 'resolved' },
        ]);

        // passkey/flows.spec.ts:192-198: the only credential's passkey_remove is disabled; "Add passkey" is offered.
        await openFlow(env, page, 'settings');
        const remove = page.locator('#flow-passkey button[name="passkey_remove"]');
        expect(await remove.count()).toBe(1);
        expect(await remove.isDisabled()).toBe(true);
        expect(await remove.getAttribute('value')).toBe(hexOf(stored[0].credentialId));
        expect.soft(await remove.getAttribute('data-label-id')).toBe('1050020');
        await expectTrigger(page, '#flow-passkey button[name="passkey_register_trigger"]', 'oryPasskeySettingsRegistration', 1050019, 'Add passkey');
        expect(await nodeMessages(page, 'passkey_remove')).toEqual([]);

        // Playwright identifier_first/passkeys.login.spec.ts: with presence simulated, the autocomplete ceremony
        // started on load signs in without a click.
        await logout(env, page, context);
        await page.evaluate(() => sessionStorage.clear());
        const posted = page.waitForRequest((r) => r.method() === 'POST' && r.isNavigationRequest());
        await page.goto(`${env.pub}self-service/login/browser`);
        const autoPost = await posted;
        expect(autoPost.url()).toMatch(new RegExp(`^${env.pub}self-service/login\\?flow=${UUID}$`));
        expect(new URLSearchParams(autoPost.postData() ?? '').get('passkey_login')).toMatch(/^\{.*"userHandle"/);
        await page.waitForURL(`${env.ui}/welcome`);
        await expectSession(page, session.identity.id, 'aal1', [['passkey', 'aal1']]);
        expect(await page.evaluate(() => webauthnCallsIn(sessionStorage))).toEqual([{ mediation: 'conditional', outcome: 'resolved' }]);
      });
    });
  });
}
