/**
 * Second factors in real Chromium through a self-service UI shaped like kratos-selfservice-ui-node
 * (test/support/ui-server.ts): TOTP enrolment in settings (QR code image, secret text, code), the step-up to aal2
 * after a password login (Kratos: 303 to /self-service/login/browser?aal=aal2, then the UI's 2FA screen), the SPA
 * variant of that step-up (422 browser_location_change_required), and backup codes (lookup secrets): generate,
 * confirm, then use one at the aal2 login. Spec: Kratos's strategy/totp, strategy/lookup, login/hook.go and
 * session/manager_http.go (the Kratos file is cited next to the assertion).
 *
 * One idflow server per database, totp + lookup_secret enabled, `session.whoami.required_aal` and
 * `selfservice.flows.settings.required_aal` left at `highest_available`. Time is moved with the server's clock (TOTP
 * steps), never by sleeping.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type BrowserContext, type Page } from 'playwright-core';
import { testDatabases } from '../../support/databases.ts';
import { useChromium } from '../../support/chromium.ts';
import { address, flowIdOf, inBrowser as openBrowser, startUiEnv, stopUiEnv, uiFlowUrl, type UiEnv } from '../../support/ui-env.ts';
import { click, ids, nodeMessages, pathOf, spa, uiMessages, visit, type Hop } from '../../support/ui-page.ts';
import { type Overlay } from '../../support/server.ts';
import { TEST_TOTP_SECRET, testTotpUrl, totpCode, wrongTotpCode } from '../../support/totp.ts';
import { personSchema, schemaUrl } from '../../support/person-schema.ts';

type Json = any;

/** Several logins, settings round trips and logouts per scenario, in a real browser: more than the default 30 s. */
const TIMEOUT = 90_000;
const PASSWORD = 'a long and unguessable passphrase';
const TOTP_STEP_MS = 30_000;

const SCHEMA = personSchema('mfa-browser', {
  email: { credentials: { password: { identifier: true }, totp: { account_name: true } } },
  emailMinLength: 3,
  traits: { name: { type: 'string', title: 'Full name' } },
});
const SCHEMA_URL = schemaUrl(SCHEMA);

const chromium = useChromium();

function overlay(ui: string): Overlay {
  return {
    // Hashing is not under test here: the cheapest bcrypt keeps the file fast on a busy machine.
    hashers: { algorithm: 'bcrypt', bcrypt: { cost: 4 } },
    identity: { default_schema_id: 'default', schemas: [{ id: 'default', url: SCHEMA_URL }] },
    selfservice: {
      default_browser_return_url: `${ui}/welcome`,
      allowed_return_urls: [ui],
      methods: {
        password: { config: { haveibeenpwned_enabled: false } },
        totp: { enabled: true, config: { issuer: 'idflow-mfa-test' } },
        lookup_secret: { enabled: true },
      },
      flows: {
        error: { ui_url: `${ui}/error` },
        login: { ui_url: `${ui}/login` },
        registration: { ui_url: `${ui}/registration` },
        settings: { ui_url: `${ui}/settings` },
        recovery: { ui_url: `${ui}/recovery` },
        verification: { ui_url: `${ui}/verification` },
        logout: { after: { default_browser_return_url: `${ui}/logged-out` } },
      },
    },
  };
}

/** An idflow server with its UI. `pub` is idflow's public base URL with its trailing slash (as Kratos prints it). */
type Env = UiEnv;
const startEnv = (dsn: string) => startUiEnv(dsn, overlay);
const stopEnv = stopUiEnv;

interface Person {
  id: string;
  email: string;
  password: string;
}

/** An identity made through the admin API with a password (and, optionally, imported credentials). */
async function person(env: Env, label: string, credentials: Json = {}): Promise<Person> {
  const email = address(label);
  const password = `${PASSWORD} of ${label}`;
  const res = await fetch(`${env.server.adminUrl}/admin/identities`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', accept: 'application/json' },
    body: JSON.stringify({ schema_id: 'default', traits: { email, name: 'Test Person' }, credentials: { password: { config: { password } }, ...credentials } }),
  });
  const body = await res.json();
  expect(res.status, JSON.stringify(body)).toBe(201);
  return { id: body.id, email, password };
}

const count = (page: Page, selector: string) => page.locator(selector).count();

/** `/sessions/whoami` fetched by the page itself (same origin: the UI server tunnels `/sessions/*` to idflow). */
async function pageWhoami(page: Page): Promise<{ status: number; body: Json }> {
  return page.evaluate(async () => {
    const res = await fetch('/sessions/whoami', { credentials: 'include', headers: { Accept: 'application/json' } });
    return { status: res.status, body: await res.json() };
  });
}

const inBrowser = (env: Env, run: (page: Page, context: BrowserContext) => Promise<void>) => openBrowser(chromium(), env, run);
const csrfOf = (flow: Json): string => flow.ui.nodes.find((n: Json) => n.attributes.name === 'csrf_token')?.attributes.value;

/** The password step of a login through the login page; returns the hops of the submit. */
async function passwordLogin(env: Env, page: Page, user: Person): Promise<{ firstFlowId: string; hops: Hop[] }> {
  await visit(page, `${env.pub}self-service/login/browser`);
  expect(page.url()).toMatch(uiFlowUrl(env, 'login'));
  const firstFlowId = flowIdOf(page.url())!;
  await page.fill('input[name="identifier"]', user.email);
  await page.fill('input[name="password"]', user.password);
  return { firstFlowId, hops: await click(page, 'button[name="method"][value="password"]') };
}

/** Logs out through the logout URL `/self-service/logout/browser` hands out; the browser ends on /logged-out. */
async function logout(env: Env, page: Page, context: BrowserContext): Promise<void> {
  const res = await context.request.get(`${env.pub}self-service/logout/browser`, { headers: { accept: 'application/json' } });
  expect(res.status(), await res.text()).toBe(200);
  const { logout_url: logoutUrl } = await res.json();
  await visit(page, logoutUrl);
  expect(page.url()).toBe(`${env.ui.url}/logged-out`);
  expect((await context.cookies()).some((c) => c.name === 'ory_kratos_session')).toBe(false);
}

/** Opens the settings UI of a new settings flow. */
async function openSettings(env: Env, page: Page): Promise<string> {
  await visit(page, `${env.pub}self-service/settings/browser`);
  expect(page.url()).toMatch(uiFlowUrl(env, 'settings'));
  return flowIdOf(page.url())!;
}

/**
 * TOTP enrolment on the settings page (the browser must be logged in at aal1 without a second factor): checks the
 * QR image and the secret, enters the code for the shown secret, and returns the secret and the code entered.
 */
async function enrolTotp(env: Env, page: Page): Promise<{ secret: string; code: string }> {
  const settingsId = await openSettings(env, page);
  // totp/settings.go:259 PopulateSettingsMethod → nodes.go: img totp_qr (data:image/png;base64, 256×256, 1050005),
  // text totp_secret_key (1050006 = the secret, label 1050017), input totp_code (1070006), submit method=totp (1070003).
  const qr = page.locator('#flow-totp img#totp_qr');
  expect(await qr.count()).toBe(1);
  expect(await qr.getAttribute('src')).toMatch(/^data:image\/png;base64,[A-Za-z0-9+/]+=*$/);
  await page.waitForFunction(() => {
    const img = document.querySelector<HTMLImageElement>('#totp_qr');
    return img !== null && img.complete;
  });
  // Chromium decoded the PNG: a broken image is `complete` with naturalWidth 0.
  const natural = await qr.evaluate((img: HTMLImageElement) => ({ w: img.naturalWidth, h: img.naturalHeight }));
  expect(natural).toEqual({ w: 256, h: 256 });
  expect(await qr.isVisible()).toBe(true);
  expect.soft(await qr.getAttribute('data-label-id')).toBe('1050005');

  const secretNode = page.locator('#flow-totp #totp_secret_key');
  expect(await secretNode.isVisible()).toBe(true);
  expect.soft(await secretNode.getAttribute('data-text-id')).toBe('1050006');
  expect.soft(await secretNode.getAttribute('data-label-id')).toBe('1050017');
  const secret = ((await secretNode.textContent()) ?? '').trim();
  // generator.go: 20 random bytes, base32 without padding.
  expect(secret).toMatch(/^[A-Z2-7]{32}$/);
  expect(await count(page, '#flow-totp input[name="totp_code"]')).toBe(1);
  expect.soft(await page.getAttribute('#flow-totp .node[data-node="totp_code"] label', 'data-label-id')).toBe('1070006');
  expect.soft(await page.getAttribute('#flow-totp button[name="method"][value="totp"]', 'data-label-id')).toBe('1070003');
  expect(await count(page, 'button[name="totp_unlink"]')).toBe(0);

  const code = await totpCode(env.server.clock.now(), 0, secret);
  await page.fill('#flow-totp input[name="totp_code"]', code);
  const saved = await click(page, '#flow-totp button[name="method"][value="totp"]');
  // settings/hook.go:187 PostSettingsHook: browser → 303 to the settings UI ?flow= (the default return_to), with
  // 1050001 (success) and a UI rebuilt from a new flow: only the unlink button (totp/nodes.go:38).
  expect.soft(saved[0].status).toBe(303);
  expect(saved[0].location).toMatch(uiFlowUrl(env, 'settings'));
  expect(page.url()).toBe(`${env.ui.url}/settings?flow=${settingsId}`);
  expect(await uiMessages(page)).toEqual([{ id: 1050001, type: 'success', text: 'Your changes have been saved!' }]);
  const unlink = page.locator('#flow-totp button[name="totp_unlink"]');
  expect(await unlink.count()).toBe(1);
  expect(await unlink.isVisible()).toBe(true);
  expect(await unlink.getAttribute('value')).toBe('true');
  expect.soft(await unlink.getAttribute('data-label-id')).toBe('1050004');
  expect.soft((await unlink.textContent())?.trim()).toBe('Unlink TOTP Authenticator App');
  expect(await count(page, '#totp_qr')).toBe(0);
  expect(await count(page, '#totp_secret_key')).toBe(0);
  expect(await count(page, 'input[name="totp_code"]')).toBe(0);
  return { secret, code };
}

/**
 * The password step of a login for an identity with a second factor (whoami required_aal highest_available):
 * login/hook.go:341 → 303 to /self-service/login/browser?aal=aal2 (no return_to: the first flow had none), which
 * creates an aal2 flow and sends the browser to the login UI ?flow=.
 */
async function expectStepUp(env: Env, page: Page, user: Person): Promise<string> {
  const { firstFlowId, hops } = await passwordLogin(env, page, user);
  expect.soft(hops[0].status).toBe(303);
  expect(hops[0].location).toBe(`${env.pub}self-service/login/browser?aal=aal2`);
  expect(hops.map((h) => h.url)).toContain(`${env.pub}self-service/login/browser?aal=aal2`);
  expect(page.url()).toMatch(uiFlowUrl(env, 'login'));
  const aal2FlowId = flowIdOf(page.url())!;
  expect(aal2FlowId).not.toBe(firstFlowId);
  // login/handler.go:285: 1010004 on an aal2 flow over an aal1 session; handler.go:257 only AAL2 hydrators run,
  // so no identifier and no password.
  expect(await uiMessages(page)).toEqual([{ id: 1010004, type: 'info', text: 'Please complete the second authentication challenge.' }]);
  expect(await count(page, 'input[name="password"]')).toBe(0);
  expect(await count(page, 'input[name="identifier"]')).toBe(0);
  expect(await count(page, 'button[name="method"][value="password"]')).toBe(0);
  return aal2FlowId;
}

for (const db of testDatabases()) {
  describe(`second factors in Chromium through a self-service UI (${db.name})`, () => {
    let env: Env;
    let drop: (() => Promise<void>) | undefined;

    beforeAll(async () => {
      const created = await db.create();
      drop = created.drop;
      env = await startEnv(created.dsn);
    });
    afterAll(async () => {
      await stopEnv(env);
      await drop?.();
    });

    it('1+2. TOTP: enrolment through the settings form (QR image, secret, code → 1050001, unlink), then log out, password login → aal2 page (1010004), wrong code 4000008, right code → return URL at aal2', { timeout: TIMEOUT }, async () => {
      const user = await person(env, 'totp');
      await inBrowser(env, async (page, context) => {
        const { hops } = await passwordLogin(env, page, user);
        expect(hops[0].location).toBe(`${env.ui.url}/welcome`);
        expect(page.url()).toBe(`${env.ui.url}/welcome`);
        expect((await pageWhoami(page)).body.authenticator_assurance_level).toBe('aal1');

        const { secret, code: enrolmentCode } = await enrolTotp(env, page);
        // totp/settings.go:216 SessionAddAuthenticationMethods: the enrolling session gains {totp, aal2}.
        const enrolled = await pageWhoami(page);
        expect(enrolled.status, JSON.stringify(enrolled.body)).toBe(200);
        expect(enrolled.body.authenticator_assurance_level).toBe('aal2');
        expect(enrolled.body.authentication_methods.map((m: Json) => m.method)).toEqual(['password', 'totp']);
        // totp/settings.go:194: the key stored is the one shown (its secret is what the app computes codes from).
        const stored = await fetch(`${env.server.adminUrl}/admin/identities/${user.id}`).then((r) => r.json());
        expect(stored.credentials.totp).toMatchObject({ type: 'totp', identifiers: [user.id] });

        await logout(env, page, context);
        const aal2FlowId = await expectStepUp(env, page, user);
        // totp/login.go:28: totp_code (1010006) and method=totp "Use Authenticator" (1010009).
        expect(await count(page, 'input[name="totp_code"]')).toBe(1);
        expect(await page.inputValue('input[name="totp_code"]')).toBe('');
        expect.soft(await page.getAttribute('.node[data-node="totp_code"] label', 'data-label-id')).toBe('1010006');
        expect(await count(page, 'button[name="method"][value="totp"]')).toBe(1);
        expect.soft(await page.getAttribute('button[name="method"][value="totp"]', 'data-label-id')).toBe('1010009');
        expect(await count(page, 'input[name="lookup_secret"]')).toBe(0);
        // The session exists at aal1 but whoami (highest_available) refuses it: session/handler.go:238.
        const halfway = await pageWhoami(page);
        expect(halfway.status).toBe(403);
        expect(halfway.body.error.id).toBe('session_aal2_required');
        expect(halfway.body.redirect_browser_to).toBe(`${env.pub}self-service/login/browser?aal=aal2`);

        // totp/login.go:133: a wrong code → 4000008 at "#/" (flow-level; the error handler resets 1010004), value
        // cleared, browser 303 back to the same flow's UI.
        await page.fill('input[name="totp_code"]', await wrongTotpCode(env.server.clock.now(), secret));
        const wrong = await click(page, 'button[name="method"][value="totp"]');
        expect.soft(wrong[0].status).toBe(303);
        expect(wrong[0].location).toBe(`${env.ui.url}/login?flow=${aal2FlowId}`);
        expect(page.url()).toBe(`${env.ui.url}/login?flow=${aal2FlowId}`);
        expect(await uiMessages(page)).toEqual([{ id: 4000008, type: 'error', text: 'The provided authentication code is invalid, please try again.' }]);
        expect(await nodeMessages(page, 'totp_code')).toEqual([]);
        expect(await page.inputValue('input[name="totp_code"]')).toBe('');
        expect((await pageWhoami(page)).status).toBe(403);

        // Beyond Kratos (which has no replay protection): the enrolment code's time step is spent.
        await page.fill('input[name="totp_code"]', enrolmentCode);
        await click(page, 'button[name="method"][value="totp"]');
        expect(page.url()).toBe(`${env.ui.url}/login?flow=${aal2FlowId}`);
        expect(ids(await uiMessages(page))).toEqual([4000008]);

        // A new time step: the app's code for it logs in. login/hook.go: 303 to the default return URL.
        env.server.clock.advance(TOTP_STEP_MS);
        await page.fill('input[name="totp_code"]', await totpCode(env.server.clock.now(), 0, secret));
        const done = await click(page, 'button[name="method"][value="totp"]');
        expect.soft(done[0].status).toBe(303);
        expect(done[0].location).toBe(`${env.ui.url}/welcome`);
        expect(page.url()).toBe(`${env.ui.url}/welcome`);
        expect(await page.getAttribute('#identity', 'data-identity-id')).toBe(user.id);
        const after = await pageWhoami(page);
        expect(after.status, JSON.stringify(after.body)).toBe(200);
        expect(after.body.identity.id).toBe(user.id);
        expect(after.body.authenticator_assurance_level).toBe('aal2');
        // login/handler.go:974: the AMR is appended to the same session.
        expect(after.body.authentication_methods.map((m: Json) => [m.method, m.aal])).toEqual([['password', 'aal1'], ['totp', 'aal2']]);
      });
    });

    it('3. SPA: a browser-flow password login sent by the page\'s fetch() (Accept: application/json) for a TOTP identity is 422 browser_location_change_required → /self-service/login/browser?aal=aal2; that flow then takes the code', { timeout: TIMEOUT }, async () => {
      const user = await person(env, 'spa-totp', { totp: { config: { totp_url: testTotpUrl('spa@example.com') } } });
      await inBrowser(env, async (page, context) => {
        await page.goto(`${env.ui.url}/spa`);
        expect(await page.textContent('#ready')).toBe('ready');
        const init = await spa(page, '/self-service/login/browser');
        expect(init.status).toBe(200);
        expect(init.body.requested_aal).toBe('aal1');
        const submitted = await spa(page, pathOf(init.body.ui.action), {
          method: 'POST',
          json: { csrf_token: csrfOf(init.body), method: 'password', identifier: user.email, password: user.password },
        });
        // login/hook.go:285 + flow/error.go:168: the cookie is set (aal1), then 422 with redirect_browser_to.
        const target = `${env.pub}self-service/login/browser?aal=aal2`;
        expect(submitted.status, JSON.stringify(submitted.body)).toBe(422);
        expect(submitted.body).toEqual({
          error: {
            id: 'browser_location_change_required',
            code: 422,
            status: 'Unprocessable Entity',
            reason: `In order to complete this flow please redirect the browser to: ${target}`,
            message: 'browser location change required',
          },
          redirect_browser_to: target,
        });
        expect((await context.cookies()).some((c) => c.name === 'ory_kratos_session')).toBe(true);
        const halfway = await spa(page, '/sessions/whoami');
        expect(halfway.status).toBe(403);
        expect(halfway.body.error.id).toBe('session_aal2_required');

        // The SPA follows redirect_browser_to (as its own fetch): an aal2 browser flow with the TOTP nodes.
        const aal2 = await spa(page, pathOf(submitted.body.redirect_browser_to));
        expect(aal2.status, JSON.stringify(aal2.body)).toBe(200);
        expect(aal2.body.requested_aal).toBe('aal2');
        expect(ids(aal2.body.ui.messages)).toEqual([1010004]);
        expect(aal2.body.ui.nodes.map((n: Json) => n.attributes.name).filter(Boolean)).toEqual(['csrf_token', 'totp_code', 'method']);
        const code = await totpCode(env.server.clock.now(), 0, TEST_TOTP_SECRET);
        const done = await spa(page, pathOf(aal2.body.ui.action), {
          method: 'POST',
          json: { csrf_token: csrfOf(aal2.body), method: 'totp', totp_code: code },
        });
        // login/hook.go (SPA): 200 {session, continue_with: redirect_browser_to}, no token.
        expect(done.status, JSON.stringify(done.body)).toBe(200);
        expect(done.body.session.authenticator_assurance_level).toBe('aal2');
        expect(done.body.session_token ?? null).toBeNull();
        expect.soft(done.body.continue_with).toEqual([{ action: 'redirect_browser_to', redirect_browser_to: `${env.ui.url}/welcome` }]);
        const who = await spa(page, '/sessions/whoami');
        expect(who.status).toBe(200);
        expect(who.body.authenticator_assurance_level).toBe('aal2');
      });
    });

    it('4. lookup secrets: "Generate new backup recovery codes" (a form without method) shows 12 codes, Confirm saves them; after logout a backup code at the aal2 page logs in, and a used one is refused (4000012)', { timeout: TIMEOUT }, async () => {
      const user = await person(env, 'lookup');
      await inBrowser(env, async (page, context) => {
        await passwordLogin(env, page, user);
        expect(page.url()).toBe(`${env.ui.url}/welcome`);

        const settingsId = await openSettings(env, page);
        // lookup/settings.go:345: no codes yet → only lookup_secret_regenerate (1050008), no method field.
        const regenerate = page.locator('#flow-lookup_secret button[name="lookup_secret_regenerate"]');
        expect(await regenerate.count()).toBe(1);
        expect(await regenerate.getAttribute('value')).toBe('true');
        expect.soft(await regenerate.getAttribute('data-label-id')).toBe('1050008');
        expect.soft((await regenerate.textContent())?.trim()).toBe('Generate new backup recovery codes');
        expect(await count(page, '#flow-lookup_secret [name="method"]')).toBe(0);
        expect(await count(page, '#flow-lookup_secret button[name="lookup_secret_reveal"]')).toBe(0);

        const post = page.waitForRequest((r) => r.method() === 'POST');
        const generated = await click(page, '#flow-lookup_secret button[name="lookup_secret_regenerate"]');
        const sent = new URLSearchParams((await post).postData() ?? '');
        expect(sent.get('lookup_secret_regenerate')).toBe('true');
        expect(sent.has('method')).toBe(false);
        // settings/error.go:216 ErrStrategyAsksToReturnToUI: 303 to the same flow's UI, no success state/message.
        expect.soft(generated[0].status).toBe(303);
        expect(page.url()).toBe(`${env.ui.url}/settings?flow=${settingsId}`);
        expect(await uiMessages(page)).toEqual([]);
        // lookup/settings.go:256: the codes text node (1050015, label 1050010) and lookup_secret_confirm (1050011).
        const codesNode = page.locator('#flow-lookup_secret #lookup_secret_codes');
        expect(await codesNode.isVisible()).toBe(true);
        expect.soft(await codesNode.getAttribute('data-text-id')).toBe('1050015');
        expect.soft(await codesNode.getAttribute('data-label-id')).toBe('1050010');
        const codes = ((await codesNode.textContent()) ?? '').split(', ');
        expect(codes).toHaveLength(12);
        for (const code of codes) expect(code).toMatch(/^[a-z0-9]{8}$/);
        expect(new Set(codes).size).toBe(12);
        expect(await count(page, '#flow-lookup_secret button[name="lookup_secret_regenerate"]')).toBe(0);
        const confirm = page.locator('#flow-lookup_secret button[name="lookup_secret_confirm"]');
        expect(await confirm.count()).toBe(1);
        expect.soft(await confirm.getAttribute('data-label-id')).toBe('1050011');

        const confirmed = await click(page, '#flow-lookup_secret button[name="lookup_secret_confirm"]');
        // lookup/settings.go:282 → settings/hook.go: 303 to the settings UI, 1050001, UI rebuilt: reveal + disable.
        expect.soft(confirmed[0].status).toBe(303);
        expect(page.url()).toBe(`${env.ui.url}/settings?flow=${settingsId}`);
        expect(await uiMessages(page)).toEqual([{ id: 1050001, type: 'success', text: 'Your changes have been saved!' }]);
        expect(await count(page, '#flow-lookup_secret button[name="lookup_secret_reveal"]')).toBe(1);
        expect(await count(page, '#flow-lookup_secret button[name="lookup_secret_disable"]')).toBe(1);
        expect(await count(page, '#lookup_secret_codes')).toBe(0);
        expect(await count(page, 'button[name="lookup_secret_confirm"]')).toBe(0);
        // The confirming session gains {lookup_secret, aal2}.
        const saved = await pageWhoami(page);
        expect(saved.status, JSON.stringify(saved.body)).toBe(200);
        expect(saved.body.authenticator_assurance_level).toBe('aal2');

        await logout(env, page, context);
        const aal2FlowId = await expectStepUp(env, page, user);
        // lookup/login.go:29: lookup_secret (1010007) and method=lookup_secret "Use backup recovery code" (1010010);
        // no TOTP nodes (none enrolled).
        expect(await count(page, 'input[name="lookup_secret"]')).toBe(1);
        expect.soft(await page.getAttribute('.node[data-node="lookup_secret"] label', 'data-label-id')).toBe('1010007');
        const use = page.locator('button[name="method"][value="lookup_secret"]');
        expect(await use.count()).toBe(1);
        expect.soft(await use.getAttribute('data-label-id')).toBe('1010010');
        expect.soft((await use.textContent())?.trim()).toBe('Use backup recovery code');
        expect(await count(page, 'input[name="totp_code"]')).toBe(0);

        await page.fill('input[name="lookup_secret"]', codes[0]);
        const done = await click(page, 'button[name="method"][value="lookup_secret"]');
        expect.soft(done[0].status).toBe(303);
        expect(done[0].location).toBe(`${env.ui.url}/welcome`);
        expect(page.url()).toBe(`${env.ui.url}/welcome`);
        const after = await pageWhoami(page);
        expect(after.status, JSON.stringify(after.body)).toBe(200);
        expect(after.body.identity.id).toBe(user.id);
        expect(after.body.authenticator_assurance_level).toBe('aal2');
        expect(after.body.authentication_methods.map((m: Json) => [m.method, m.aal])).toEqual([['password', 'aal1'], ['lookup_secret', 'aal2']]);

        // The same code again: 4000012 (lookup/login.go:133), value cleared; another code works.
        await logout(env, page, context);
        const again = await expectStepUp(env, page, user);
        expect(again).not.toBe(aal2FlowId);
        await page.fill('input[name="lookup_secret"]', codes[0]);
        await click(page, 'button[name="method"][value="lookup_secret"]');
        expect(page.url()).toBe(`${env.ui.url}/login?flow=${again}`);
        expect(await uiMessages(page)).toEqual([{ id: 4000012, type: 'error', text: 'This backup recovery code has already been used.' }]);
        expect(await page.inputValue('input[name="lookup_secret"]')).toBe('');
        await page.fill('input[name="lookup_secret"]', codes[1]);
        await click(page, 'button[name="method"][value="lookup_secret"]');
        expect(page.url()).toBe(`${env.ui.url}/welcome`);
        expect((await pageWhoami(page)).body.authenticator_assurance_level).toBe('aal2');
      });
    });
  });
}
