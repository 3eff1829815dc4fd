/**
 * The Kratos browser behaviours Ory's self-service UIs depend on, driven in real Chromium through a UI shaped like
 * kratos-selfservice-ui-node (test/support/ui-server.ts: flows fetched server-side with the browser's cookies and
 * rendered as forms, plus an SPA page that calls idflow with the browser's own fetch()). One `it` per behaviour; each
 * asserts what Kratos does (the Kratos source file is cited next to the assertion). Details a UI doesn't strictly
 * need (exact redirect statuses, labels) are `expect.soft`, so one run reports every difference.
 *
 * One idflow server per database runs the main config (unified registration with show_verification_ui + session
 * hooks, code recovery/verification, require_verified_address on password login, a loopback HIBP range server,
 * a loopback SMTP server). Behaviours that need another config value start a variant server (and its UI) inside their
 * `it`, on the same database. Lifespans are crossed with the server's clock, never by sleeping.
 */
import { createHash } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Browser, type BrowserContext, type Page } from 'playwright-core';
import type { TestDatabase } from '../../support/databases.ts';
import { launchChromium } from '../../support/chromium.ts';
import { address, flowIdOf, inBrowser as openBrowser, startUiEnv, stopUiEnv, uiFlowUrl, type UiEnv } from '../../support/ui-env.ts';
import { click, ids, nodeMessages, pathOf, spa, uiMessages, visit } from '../../support/ui-page.ts';
import { deepMerge, type Overlay } from '../../support/server.ts';
import { FAST_WORKER, startSmtpServer, type CapturedMail, type TestSmtpServer } from '../../support/smtp-server.ts';
import { rangeHandler, sha1Upper, startRangeServer, type RangeServer } from '../../unit/methods/password/range-server.ts';
import { personSchema, schemaUrl } from '../../support/person-schema.ts';

type Json = any;

/** Browser scenarios with mails and several round trips: more than the default 30 s on a busy machine. */
const TIMEOUT = 90_000;
const PASSWORD = 'a long and unguessable passphrase';
const BREACHED = 'correct horse battery staple';
const BREACH_COUNT = 4213;
const PRIVILEGED_MAX_AGE_MS = 5 * 60_000;

/** Identity schema: one identifier (email, titled), a second required trait, booleans, an optional string, an array. */
const SCHEMA = personSchema('kratos-behaviours', {
  email: { credentials: { password: { identifier: true } }, verification: { via: 'email' }, recovery: { via: 'email' } },
  emailMinLength: 3,
  traits: {
    name: { type: 'string', title: 'Full name', minLength: 1 },
    nickname: { type: 'string', title: 'Nickname', minLength: 3 },
    tags: { type: 'array', title: 'Tags', items: { type: 'string' } },
    newsletter: { type: 'boolean', title: 'Newsletter' },
    tos: { type: 'boolean', title: 'Accept the terms of service' },
  },
  required: ['email', 'name'],
});
const SCHEMA_URL = schemaUrl(SCHEMA);

let browser: Browser;
let smtp: TestSmtpServer;
let hibp: RangeServer;

/** The browser and loopback servers of one test file (registered by describeKratosBehaviours, per file). */
function sharedServers(): void {
  beforeAll(async () => {
    browser = await launchChromium();
    smtp = await startSmtpServer();
    const { prefix, suffix } = sha1Upper(BREACHED);
    hibp = await startRangeServer(rangeHandler({ [prefix]: [`${suffix}:${BREACH_COUNT}`] }));
  });

  afterAll(async () => {
    await browser?.close();
    await smtp?.close();
    await hibp?.close();
  });
}

function overlay(ui: string): Overlay {
  return {
    // Hashing is not under test here: the cheapest bcrypt keeps the file fast on a busy machine.
    hashers: { algorithm: 'bcrypt', bcrypt: { cost: 4 } },
    identity: { default_schema_id: 'default', schemas: [{ id: 'default', url: SCHEMA_URL }] },
    courier: { smtp: { connection_uri: smtp.uri(), from_address: 'accounts@idflow.test' }, worker: FAST_WORKER },
    selfservice: {
      default_browser_return_url: `${ui}/welcome`,
      allowed_return_urls: [ui],
      methods: {
        password: { config: { haveibeenpwned_enabled: true, haveibeenpwned_host: hibp.host } },
        code: { config: { max_submissions: 5 } },
      },
      flows: {
        error: { ui_url: `${ui}/error` },
        login: { ui_url: `${ui}/login`, after: { password: { hooks: [{ hook: 'require_verified_address' }] } } },
        registration: {
          ui_url: `${ui}/registration`,
          style: 'unified',
          after: { password: { hooks: [{ hook: 'show_verification_ui' }, { hook: 'session' }] } },
        },
        settings: { ui_url: `${ui}/settings`, privileged_session_max_age: `${PRIVILEGED_MAX_AGE_MS / 1000}s` },
        recovery: { enabled: true, use: 'code', ui_url: `${ui}/recovery`, notify_unknown_recipients: true },
        verification: { enabled: true, use: 'code', ui_url: `${ui}/verification`, notify_unknown_recipients: true },
        logout: { after: { default_browser_return_url: `${ui}/logged-out` } },
      },
    },
  };
}

/** An idflow server with its UI. `pub` is idflow's public base URL with its trailing slash (as Kratos prints it). */
type Env = UiEnv;
const startEnv = (dsn: string, extra: Overlay = {}) => startUiEnv(dsn, (uiUrl) => deepMerge(overlay(uiUrl), extra));
const stopEnv = stopUiEnv;

/** An identity made through the admin API: password set, address verified or not. */
async function person(env: Env, label: string, options: { verified?: boolean } = {}): Promise<{ id: string; email: string; password: string }> {
  const email = address(label);
  const password = `${PASSWORD} of ${label}`;
  const identity = await env.server.identityApi.createIdentity({
    createIdentityBody: {
      schema_id: 'default',
      traits: { email, name: 'Test Person' },
      credentials: { password: { config: { password } } },
      verifiable_addresses: options.verified ? [{ value: email, via: 'email', verified: true, status: 'completed' }] : undefined,
    },
  });
  return { id: identity.id, email, password };
}

/** The identity as the admin API shows it (raw JSON). */
async function adminIdentity(env: Env, id: string): Promise<Json> {
  const res = await fetch(`${env.server.adminUrl}/admin/identities/${id}`);
  expect(res.status).toBe(200);
  return res.json();
}

/** Does a native password login with these credentials succeed? */
async function passwordWorks(env: Env, identifier: string, password: string): Promise<boolean> {
  const flow = await env.server.frontendApi.createNativeLoginFlow();
  const res = await fetch(`${env.server.publicUrl}/self-service/login?flow=${flow.id}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', accept: 'application/json' },
    body: JSON.stringify({ method: 'password', identifier, password }),
  });
  await res.body?.cancel();
  return res.status === 200;
}

/** Waits for the `index`-th mail (0-based) to `to`. */
async function mailTo(to: string, index = 0, timeoutMs = 20_000): Promise<CapturedMail> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const mails = smtp.mails.filter((m) => m.envelope.to.includes(to));
    if (mails.length > index) return mails[index];
    if (Date.now() > deadline) throw new Error(`no mail #${index + 1} to ${to} (got ${mails.length})`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

function codeOf(mail: CapturedMail): string {
  const code = /\b(\d{6})\b/.exec(mail.parsed.text ?? '')?.[1];
  expect(code, `a 6-digit code in: ${mail.parsed.text}`).toBeDefined();
  return code!;
}

const flowState = (page: Page) => page.getAttribute('#flow-meta', 'data-state');
/** How the UI's server-side reads of one flow were answered (`200`, or `403 security_csrf_violation` …). */
const readsOf = (env: Env, kind: string, id: string | null) =>
  env.ui.apiCalls.filter((c) => c.path === `/self-service/${kind}/flows?id=${id}`).map((c) => `${c.status}${c.error ? ` ${c.error}` : ''}`);

/** A browser flow read with the browser context's cookies (JSON), as an SPA would. */
async function readFlow(context: BrowserContext, env: Env, kind: string, id: string): Promise<Json> {
  const res = await context.request.get(`${env.pub}self-service/${kind}/flows?id=${id}`, { headers: { accept: 'application/json' } });
  expect(res.status(), `read ${kind} flow ${id}`).toBe(200);
  return res.json();
}

async function whoami(context: BrowserContext, env: Env): Promise<{ status: number; body: Json }> {
  const res = await context.request.get(`${env.pub}sessions/whoami`, { headers: { accept: 'application/json' } });
  return { status: res.status(), body: await res.json() };
}

/** `window.spa.call` on the SPA page (the browser's own fetch, tunnelled to idflow by the UI server). */
const inBrowser = (env: Env, run: (page: Page, context: BrowserContext) => Promise<void>) => openBrowser(browser, env, run);

/** Fills the unified registration form (traits + password) on the current registration page. */
async function fillRegistration(page: Page, email: string, extra: { name?: string; password?: string } = {}): Promise<void> {
  await page.fill('input[name="traits.email"]', email);
  await page.fill('input[name="traits.name"]', extra.name ?? 'Chromium Person');
  if (extra.password !== undefined || (await page.locator('input[name="password"]').count()) > 0) {
    await page.fill('input[name="password"]', extra.password ?? PASSWORD);
  }
}

/**
 * Registers the behaviours on one database. Each database has its own test file (kratos-behaviours.test.ts for
 * SQLite, kratos-behaviours-postgresql.test.ts), so the two run in parallel: together they are the suite's longest part.
 */
export function describeKratosBehaviours(db: TestDatabase): void {
  describe(`Kratos browser behaviours in Chromium through a self-service UI (${db.name})`, () => {
    sharedServers();
    let main: Env;
    let dsn: string;
    let drop: (() => Promise<void>) | undefined;
    /** A server with `extra` config (and its own UI) on the same database, for one `it`. */
    const withVariant = async (extra: Overlay, run: (env: Env) => Promise<void>) => {
      const env = await startEnv(dsn, extra);
      try {
        await run(env);
      } finally {
        await stopEnv(env);
      }
    };

    beforeAll(async () => {
      const created = await db.create();
      dsn = created.dsn;
      drop = created.drop;
      main = await startEnv(dsn);
    });
    afterAll(async () => {
      await stopEnv(main);
      await drop?.();
    });

    it('1. sign-up with show_verification_ui + session: the same browser reads the verification flow and the mailed code verifies the address', { timeout: TIMEOUT }, async () => {
      await inBrowser(main, async (page, context) => {
        const email = address('signup');
        await visit(page, `${main.pub}self-service/registration/browser`);
        expect(page.url()).toMatch(uiFlowUrl(main, 'registration'));
        await fillRegistration(page, email);
        const hops = await click(page, 'button[name="method"][value="password"]');

        // Kratos selfservice/hook/show_verification_ui.go:80 + registration/hook.go:327: an HTML browser is sent
        // (303) to the verification UI for the flow the Verifier hook created (selfservice/hook/verification.go:104).
        expect(hops[0]).toMatchObject({ method: 'POST' });
        expect.soft(hops[0].status).toBe(303);
        expect(hops[0].location).toMatch(uiFlowUrl(main, 'verification'));
        const verificationId = flowIdOf(hops[0].location)!;

        // Kratos verification/handler.go:292: the Verifier regenerated the CSRF cookie and stored that token on the
        // flow (nosurf's ctxWasSent keeps the session hook from rotating again), so the UI's server-side read with
        // the browser's cookies is a 200, not a CSRF 403 that makes the UI start a new flow.
        expect(readsOf(main, 'verification', verificationId)).toEqual(['200']);
        expect(page.url()).toBe(`${main.ui.url}/verification?flow=${verificationId}`);
        expect(await flowState(page)).toBe('sent_email');
        // Kratos verification.go: message 1080003 and a resend button named after the address's channel.
        expect.soft(ids(await uiMessages(page))).toEqual([1080003]);
        expect(await page.getAttribute('button[name="email"]', 'value')).toBe(email);
        expect.soft(await page.getAttribute('button[name="email"]', 'data-label-id')).toBe('1070008');
        // The session hook signed the browser in; hook/verification.go:194 marked the address "sent".
        const registered = await whoami(context, main);
        expect(registered.status).toBe(200);
        expect.soft(registered.body.identity.verifiable_addresses[0]).toMatchObject({ value: email, verified: false, status: 'sent' });

        const mail = await mailTo(email);
        expect(mail.parsed.subject).toMatch(/^Use code \d{6} to verify your account$/);
        await page.fill('input[name="code"]', codeOf(mail));
        await click(page, 'button[name="method"][value="code"]');

        // Kratos code/strategy_verification.go:298: passed_challenge, 1080002, address verified + completed.
        expect(flowIdOf(page.url())).toBe(verificationId);
        expect(await flowState(page)).toBe('passed_challenge');
        expect(ids(await uiMessages(page))).toEqual([1080002]);
        const { body } = await whoami(context, main);
        expect(body.identity.verifiable_addresses[0]).toMatchObject({ value: email, verified: true, status: 'completed' });
      });
    });

    it('2. a browser flow initialised by the SPA (fetch, Accept: application/json, no cookie yet) sets exactly one CSRF cookie; read back and submit work', { timeout: TIMEOUT }, async () => {
      await inBrowser(main, async (page, context) => {
        const csrfName = `csrf_token_${createHash('sha256').update(main.pub).digest('hex')}`;
        await page.goto(`${main.ui.url}/spa`);
        expect(await page.textContent('#ready')).toBe('ready');
        expect(await context.cookies()).toEqual([]);

        const initResponse = page.waitForResponse((r) => r.url().includes('/self-service/registration/browser'));
        const init = await spa(page, '/self-service/registration/browser');
        const setCookies = (await (await initResponse).headersArray()).filter((h) => h.name.toLowerCase() === 'set-cookie').map((h) => h.value);
        // Kratos: nosurf's ServeHTTP regenerates a missing cookie once (ory/nosurf handler.go; x/nosurfx
        // NosurfBaseCookieHandler): one Set-Cookie, Path=/, Max-Age one year, HttpOnly, SameSite=Lax on http.
        expect(setCookies, JSON.stringify(setCookies)).toHaveLength(1);
        expect(setCookies[0]).toMatch(new RegExp(`^${csrfName}=[A-Za-z0-9+/]{43}=;`));
        const attributes = setCookies[0].split(';').slice(1).map((a) => a.trim().toLowerCase());
        expect.soft(attributes).toEqual(expect.arrayContaining(['path=/', 'max-age=31536000', 'httponly', 'samesite=lax']));
        expect((await context.cookies()).map((c) => c.name)).toEqual([csrfName]);

        // x.SendFlowCompletedAsRedirectOrJSON: 200 with the browser flow; its csrf node holds the masked token.
        expect(init.status).toBe(200);
        expect(init.body.type).toBe('browser');
        const csrf = init.body.ui.nodes.find((n: Json) => n.attributes.name === 'csrf_token')?.attributes.value;
        expect(csrf).toHaveLength(88);

        // Reading it back with that cookie (registration/handler.go:571 VerifyToken) and submitting it.
        const readResponse = page.waitForResponse((r) => r.url().includes('/self-service/registration/flows'));
        const read = await spa(page, `/self-service/registration/flows?id=${init.body.id}`);
        expect(read.status).toBe(200);
        expect(read.body.id).toBe(init.body.id);
        expect.soft((await (await readResponse).headersArray()).filter((h) => h.name.toLowerCase() === 'set-cookie')).toEqual([]);

        const email = address('spa');
        const submitted = await spa(page, pathOf(init.body.ui.action), {
          method: 'POST',
          json: { csrf_token: csrf, method: 'password', traits: { email, name: 'Spa Person' }, password: PASSWORD },
        });
        // registration/hook.go:327: browser + JSON gets 200 {session, identity, continue_with}.
        expect(submitted.status, JSON.stringify(submitted.body)).toBe(200);
        expect(submitted.body.identity.traits.email).toBe(email);
        expect(submitted.body.session.identity.id).toBe(submitted.body.identity.id);
        expect((await whoami(context, main)).body.identity.id).toBe(submitted.body.identity.id);
      });
    });

    it('3. the mailed verification link pre-fills the code and waits for the submit; a recovery link (use: link) logs in on GET and lands on settings', { timeout: TIMEOUT }, async () => {
      const user = await person(main, 'vlink');
      await inBrowser(main, async (page) => {
        await visit(page, `${main.pub}self-service/verification/browser`);
        expect(page.url()).toMatch(uiFlowUrl(main, 'verification'));
        const flowId = flowIdOf(page.url())!;
        await page.fill('input[name="email"]', user.email);
        await click(page, 'button[name="method"][value="code"]');
        expect(await flowState(page)).toBe('sent_email');

        const mail = await mailTo(user.email);
        const code = codeOf(mail);
        // code_sender.go:411: <public>/self-service/verification?code=<c>&flow=<id>.
        const link = /(https?:\/\/\S*\/self-service\/verification\?\S+)/.exec(mail.parsed.text ?? '')?.[1];
        expect(link).toBeDefined();
        const linkUrl = new URL(link!);
        expect(`${linkUrl.origin}${linkUrl.pathname}`).toBe(`${main.pub}self-service/verification`);
        expect(Object.fromEntries(linkUrl.searchParams)).toEqual({ code, flow: flowId });
        // url.Values.Encode sorts the keys: code before flow.
        expect.soft(link).toBe(`${main.pub}self-service/verification?code=${code}&flow=${flowId}`);

        // strategy_verification.go:176 handleLinkClick: the code is put into the `code` node, nothing is consumed,
        // 303 to the verification UI; the address stays unverified until the form is submitted.
        const hops = await visit(page, link!);
        expect.soft(hops[0].status).toBe(303);
        expect(page.url()).toBe(`${main.ui.url}/verification?flow=${flowId}`);
        expect(await page.inputValue('input[name="code"]')).toBe(code);
        expect((await adminIdentity(main, user.id)).verifiable_addresses[0].verified).toBe(false);

        await click(page, 'button[name="method"][value="code"]');
        expect(await flowState(page)).toBe('passed_challenge');
        expect(ids(await uiMessages(page))).toEqual([1080002]);
        expect((await adminIdentity(main, user.id)).verifiable_addresses[0]).toMatchObject({ verified: true, status: 'completed' });
      });

      await withVariant({ selfservice: { methods: { link: { enabled: true } }, flows: { recovery: { use: 'link' } } } }, async (env) => {
        const lost = await person(env, 'rlink');
        await inBrowser(env, async (page, context) => {
          await visit(page, `${env.pub}self-service/recovery/browser`);
          expect(page.url()).toMatch(uiFlowUrl(env, 'recovery'));
          const flowId = flowIdOf(page.url())!;
          await page.fill('input[name="email"]', lost.email);
          await click(page, 'button[name="method"][value="link"]');
          expect(await flowState(page)).toBe('sent_email');

          const mail = await mailTo(lost.email);
          expect(mail.parsed.subject).toBe('Recover access to your account');
          const link = /(https?:\/\/\S*\/self-service\/recovery\?\S+)/.exec(mail.parsed.text ?? '')?.[1];
          expect(link).toMatch(new RegExp(`^${env.pub}self-service/recovery\\?flow=${flowId}&token=\\w+$`));

          // link/strategy_recovery.go:253,307: the token is used on GET, a session is issued, and the browser is
          // sent (303) to the settings UI of a new settings flow carrying 1060001.
          const hops = await visit(page, link!);
          expect.soft(hops[0].status).toBe(303);
          expect(hops[0].location).toMatch(uiFlowUrl(env, 'settings'));
          // The new settings flow carries the CSRF token the recovery just set (RegenerateToken), so the UI reads it.
          expect(readsOf(env, 'settings', flowIdOf(hops[0].location))).toEqual(['200']);
          expect(page.url()).toBe(hops[0].location);
          expect(ids(await uiMessages(page))).toContain(1060001);
          const session = await whoami(context, env);
          expect(session.status).toBe(200);
          expect(session.body.identity.id).toBe(lost.id);
          expect.soft(session.body.authentication_methods.map((m: Json) => m.method)).toEqual(['link_recovery']);
        });
      });
    });

    it('4. a boolean trait rendered as a checkbox: value "true" is stored as true, unchecked stays absent, a bare "on" is true too', { timeout: TIMEOUT }, async () => {
      await inBrowser(main, async (page, context) => {
        await visit(page, `${main.pub}self-service/registration/browser`);
        // ui/node/attributes_input.go toFormType: boolean schema paths are checkbox nodes.
        expect(await page.getAttribute('input[name="traits.newsletter"]', 'type')).toBe('checkbox');
        expect(await page.getAttribute('input[name="traits.tos"]', 'type')).toBe('checkbox');
        const email = address('checkbox');
        await fillRegistration(page, email);
        await page.check('input[name="traits.newsletter"]');
        const post = page.waitForRequest((r) => r.method() === 'POST');
        await click(page, 'button[name="method"][value="password"]');
        const sent = new URLSearchParams((await post).postData() ?? '');
        expect(sent.getAll('traits.newsletter')).toEqual(['true']);
        expect(sent.has('traits.tos')).toBe(false);

        // oryx/decoderx/http.go:444: strconv.ParseBool("true") → true; an unchecked box sends nothing → absent.
        const { status, body } = await whoami(context, main);
        expect(status).toBe(200);
        expect(body.identity.traits.newsletter).toBe(true);
        expect(body.identity.traits).not.toHaveProperty('tos');
      });

      await inBrowser(main, async (page, context) => {
        await visit(page, `${main.pub}self-service/registration/browser`);
        const flowId = flowIdOf(page.url())!;
        await visit(page, `${main.ui.url}/registration?flow=${flowId}&checkbox=plain`);
        await fillRegistration(page, address('checkbox-on'));
        await page.check('input[name="traits.newsletter"]');
        const post = page.waitForRequest((r) => r.method() === 'POST');
        await click(page, 'button[name="method"][value="password"]');
        expect(new URLSearchParams((await post).postData() ?? '').getAll('traits.newsletter')).toEqual(['on']);

        // Beyond Kratos: decoderx keeps "on" as a string (ParseErrorIgnoreConversionErrors) and the schema then refuses
        // it with 4000026; idflow reads a checkbox without a value attribute as what the user meant (src/x/decode-body.ts).
        const { status, body } = await whoami(context, main);
        expect(status).toBe(200);
        expect(body.identity.traits.newsletter).toBe(true);
      });
    });

    it('5. registration reports every field error at once on its node (4000040, 4000002), then 4000031 and 4000034 on the password', { timeout: TIMEOUT }, async () => {
      await inBrowser(main, async (page) => {
        await visit(page, `${main.pub}self-service/registration/browser`);
        const flowId = flowIdOf(page.url())!;
        await page.fill('input[name="traits.email"]', 'not-an-email');
        await page.fill('input[name="password"]', PASSWORD);
        const hops = await click(page, 'button[name="method"][value="password"]');

        // registration/error.go:93: an HTML browser is redirected with 302 Found to the same flow.
        expect.soft(hops[0].status).toBe(302);
        expect(flowIdOf(page.url())).toBe(flowId);
        // password/registration.go:89 + registration/decoder.go: one schema validation reports every violation;
        // container.go ParseError puts each on the node its pointer names.
        expect(await nodeMessages(page, 'traits.email')).toEqual([{ id: 4000040, type: 'error', text: 'Enter a valid email address', context: { value: 'not-an-email' } }]);
        expect(await nodeMessages(page, 'traits.name')).toEqual([{ id: 4000002, type: 'error', text: 'Property name is missing.', context: { property: 'name' } }]);
        expect(await uiMessages(page)).toEqual([]);
        expect(await page.inputValue('input[name="traits.email"]')).toBe('not-an-email');
        expect(await page.inputValue('input[name="password"]')).toBe('');

        // password/validator.go:185: the policy runs once the traits are valid; the first failing rule goes on
        // `password`: similar to the identifier (4000031), then breached per the HIBP range API (4000034).
        const email = address('policy');
        await fillRegistration(page, email, { password: email });
        await click(page, 'button[name="method"][value="password"]');
        expect(flowIdOf(page.url())).toBe(flowId);
        expect(await nodeMessages(page, 'traits.email')).toEqual([]);
        expect(await nodeMessages(page, 'traits.name')).toEqual([]);
        expect(await nodeMessages(page, 'password')).toEqual([{ id: 4000031, type: 'error', text: 'The password can not be used because it is too similar to the identifier.' }]);

        await fillRegistration(page, email, { password: BREACHED });
        await click(page, 'button[name="method"][value="password"]');
        expect(flowIdOf(page.url())).toBe(flowId);
        expect(await nodeMessages(page, 'password')).toEqual([{
          id: 4000034, type: 'error', text: 'The password has been found in data breaches and must no longer be used.', context: { breaches: BREACH_COUNT },
        }]);
      });
    });

    it('6. settings with a stale session: the refresh login (hidden identifier) returns to /self-service/settings?flow=<id>, which applies the pending password', { timeout: TIMEOUT }, async () => {
      const user = await person(main, 'stale', { verified: true });
      const newPassword = `${PASSWORD} renewed`;
      await inBrowser(main, async (page) => {
        await visit(page, `${main.pub}self-service/login/browser`);
        await page.fill('input[name="identifier"]', user.email);
        await page.fill('input[name="password"]', user.password);
        await click(page, 'button[name="method"][value="password"]');
        expect(page.url()).toBe(`${main.ui.url}/welcome`);

        await visit(page, `${main.pub}self-service/settings/browser`);
        expect(page.url()).toMatch(uiFlowUrl(main, 'settings'));
        const settingsId = flowIdOf(page.url())!;
        main.server.clock.advance(PRIVILEGED_MAX_AGE_MS + 60_000);

        await page.fill('#flow-password input[name="password"]', newPassword);
        const toLogin = await click(page, '#flow-password button[name="method"][value="password"]');
        // settings/error.go:98 reauthenticate: 303 to login/browser?refresh=true&return_to=<public>/self-service/
        // settings?flow=<id> (the submit URL); the password payload is paused in a continuity container.
        expect.soft(toLogin[0].status).toBe(303);
        const refresh = new URL(toLogin[0].location ?? 'http://missing.invalid/');
        expect(`${refresh.origin}${refresh.pathname}`).toBe(`${main.pub}self-service/login/browser`);
        expect(refresh.searchParams.get('refresh')).toBe('true');
        expect(refresh.searchParams.get('return_to')).toBe(`${main.pub}self-service/settings?flow=${settingsId}`);
        expect(page.url()).toMatch(uiFlowUrl(main, 'login'));

        // password/login.go:158 PopulateLoginMethodFirstFactorRefresh: the identifier is a hidden input holding the
        // identity's identifier; message 1010003.
        expect(await page.getAttribute('input[name="identifier"]', 'type')).toBe('hidden');
        expect(await page.inputValue('input[name="identifier"]')).toBe(user.email);
        expect(ids(await uiMessages(page))).toContain(1010003);
        expect.soft(await page.getAttribute('button[name="method"][value="password"]', 'data-label-id')).toBe('1010001');

        await page.fill('input[name="password"]', user.password);
        const back = await click(page, 'button[name="method"][value="password"]');
        // login/hook.go: 303 to return_to; settings/handler.go:633 + strategy_helper.go:73 resume the paused payload
        // on GET /self-service/settings?flow=<id>; settings/hook.go:187 then 303s to the settings UI with 1050001.
        expect(back.map((h) => h.url)).toContain(`${main.pub}self-service/settings?flow=${settingsId}`);
        expect(page.url()).toBe(`${main.ui.url}/settings?flow=${settingsId}`);
        expect(ids(await uiMessages(page))).toContain(1050001);
      });
      expect(await passwordWorks(main, user.email, newPassword)).toBe(true);
      expect(await passwordWorks(main, user.email, user.password)).toBe(false);
    });

    it('7. recovery by code in the UI: resend works, five wrong codes are 4060006, the sixth submission ends the flow (4000001); a mailed verification code marks the address sent', { timeout: TIMEOUT }, async () => {
      const user = await person(main, 'attempts');
      await inBrowser(main, async (page) => {
        // A manual verification send (code_sender.go:407) sets the address status to "sent".
        await visit(page, `${main.pub}self-service/verification/browser`);
        await page.fill('input[name="email"]', user.email);
        await click(page, 'button[name="method"][value="code"]');
        await mailTo(user.email, 0);
        expect.soft((await adminIdentity(main, user.id)).verifiable_addresses[0]).toMatchObject({ value: user.email, verified: false, status: 'sent' });
      });

      await inBrowser(main, async (page, context) => {
        await visit(page, `${main.pub}self-service/recovery/browser`);
        const flowId = flowIdOf(page.url())!;
        await page.fill('input[name="email"]', user.email);
        await click(page, 'button[name="method"][value="code"]');
        expect(flowIdOf(page.url())).toBe(flowId);
        expect(await flowState(page)).toBe('sent_email');
        expect(ids(await uiMessages(page))).toEqual([1060003]);
        const first = codeOf(await mailTo(user.email, 1));

        // code/strategy_recovery.go:768: the resend button (name=email, value=address) mails a new code.
        expect(await page.getAttribute('button[name="email"]', 'value')).toBe(user.email);
        await click(page, 'button[name="email"]');
        expect(flowIdOf(page.url())).toBe(flowId);
        expect(ids(await uiMessages(page))).toEqual([1060003]);
        const second = codeOf(await mailTo(user.email, 2));

        // strategy_recovery.go:354: a wrong code answers the same flow with 4060006, five times
        // (persister_code.go:43 counts every submission on the flow, max_submissions 5).
        const wrong = ['000000', '111111', '222222', '333333', '444444', '555555', '666666'].filter((c) => c !== first && c !== second);
        for (let i = 0; i < 5; i++) {
          await page.fill('input[name="code"]', wrong[i]);
          await click(page, 'button[name="method"][value="code"]');
          expect(flowIdOf(page.url()), `wrong code #${i + 1}`).toBe(flowId);
          expect(await uiMessages(page), `wrong code #${i + 1}`).toEqual([{
            id: 4060006, type: 'error', text: 'The recovery code is invalid or has already been used. Please try again.', context: undefined,
          }]);
        }

        // The sixth submission is refused whatever the code (even the valid one): a new flow with 4000001.
        await page.fill('input[name="code"]', second);
        await click(page, 'button[name="method"][value="code"]');
        expect(page.url()).toMatch(uiFlowUrl(main, 'recovery'));
        expect(flowIdOf(page.url())).not.toBe(flowId);
        const reason = 'The request was submitted too often. Please request another code.';
        expect(await uiMessages(page)).toEqual([{ id: 4000001, type: 'error', text: reason, context: { reason } }]);
        expect((await whoami(context, main)).status).toBe(401);
      });
    });

    it('8. return_to survives recovery → settings (the browser ends at return_to) and verification (the continue link is return_to)', { timeout: TIMEOUT }, async () => {
      const other = await person(main, 'returnto-v');
      const afterVerification = `${main.ui.url}/welcome?after=verification`;
      await inBrowser(main, async (page) => {
        await visit(page, `${main.pub}self-service/verification/browser?return_to=${encodeURIComponent(afterVerification)}`);
        expect(page.url()).toMatch(uiFlowUrl(main, 'verification'));
        await page.fill('input[name="email"]', other.email);
        await click(page, 'button[name="method"][value="code"]');
        await page.fill('input[name="code"]', codeOf(await mailTo(other.email, 0)));
        await click(page, 'button[name="method"][value="code"]');

        // verification/flow.go:324 ContinueURL: the anchor `continue` and the GET form both point at return_to.
        expect(await flowState(page)).toBe('passed_challenge');
        expect(await page.getAttribute('a#continue', 'href')).toBe(afterVerification);
        expect.soft(await page.getAttribute('a#continue', 'data-title-id')).toBe('1070009');
        expect(await page.getAttribute('form#flow', 'action')).toBe(afterVerification);
        expect(await page.getAttribute('form#flow', 'method')).toBe('get');
        await click(page, 'a#continue');
        expect(page.url()).toBe(afterVerification);
      });

      const user = await person(main, 'returnto');
      const afterRecovery = `${main.ui.url}/welcome?after=recovery`;
      await inBrowser(main, async (page, context) => {
        await visit(page, `${main.pub}self-service/recovery/browser?return_to=${encodeURIComponent(afterRecovery)}`);
        expect(page.url()).toMatch(uiFlowUrl(main, 'recovery'));
        expect(await page.getAttribute('#flow-meta', 'data-return-to')).toBe(afterRecovery);
        await page.fill('input[name="email"]', user.email);
        await click(page, 'button[name="method"][value="code"]');
        await page.fill('input[name="code"]', codeOf(await mailTo(user.email, 0)));
        const toSettings = await click(page, 'button[name="method"][value="code"]');

        // code/strategy_recovery.go:260 recoveryIssueSession: a settings flow that carries the recovery return_to.
        expect(toSettings[0].location).toMatch(uiFlowUrl(main, 'settings'));
        // The CSRF token was regenerated before the settings flow was made, so the browser can read that flow.
        expect(readsOf(main, 'settings', flowIdOf(toSettings[0].location))).toEqual(['200']);
        expect(page.url()).toBe(toSettings[0].location);
        expect(ids(await uiMessages(page))).toContain(1060001);
        expect(await page.getAttribute('#flow-meta', 'data-return-to')).toBe(afterRecovery);

        await page.fill('#flow-password input[name="password"]', `${PASSWORD} after recovery`);
        await click(page, '#flow-password button[name="method"][value="password"]');
        // settings/hook.go:187: after saving, the browser goes to the settings flow's return_to.
        expect(page.url()).toBe(afterRecovery);
        expect(await page.getAttribute('#identity', 'data-identity-id')).toBe(user.id);
        expect((await whoami(context, main)).body.identity.id).toBe(user.id);
      });
      expect(await passwordWorks(main, user.email, `${PASSWORD} after recovery`)).toBe(true);
    });

    it('9. the login identifier is labelled with the schema title (1070002); with login_hints an existing e-mail gets 4000028', { timeout: TIMEOUT }, async () => {
      await inBrowser(main, async (page) => {
        await visit(page, `${main.pub}self-service/login/browser`);
        expect(page.url()).toMatch(uiFlowUrl(main, 'login'));
        // login/extension_identifier_label.go GetIdentifierLabelFromSchema: one identifier path with a title.
        const label = page.locator('.node[data-node="identifier"] label');
        expect(await label.getAttribute('data-label-id')).toBe('1070002');
        expect(await label.locator('span').textContent()).toBe('Your e-mail address');
        expect(await page.getAttribute('input[name="identifier"]', 'type')).toBe('text');
        expect.soft(await page.getAttribute('input[name="identifier"]', 'autocomplete')).toBeNull();
      });

      // selfservice.flows.registration.login_hints (identity/manager.go:261 findExistingAuthMethod; the lead is
      // implementing it: idflow refuses the key until then).
      await withVariant({ selfservice: { flows: { registration: { login_hints: true } } } }, async (env) => {
        const existing = await person(env, 'hinted');
        await inBrowser(env, async (page) => {
          await visit(page, `${env.pub}self-service/registration/browser`);
          const flowId = flowIdOf(page.url())!;
          await fillRegistration(page, existing.email);
          await click(page, 'button[name="method"][value="password"]');
          expect(flowIdOf(page.url())).toBe(flowId);
          // schema/errors.go:185, text/message_validation.go:308.
          expect(await uiMessages(page)).toEqual([{
            id: 4000028,
            type: 'error',
            text: `You tried signing in with ${existing.email} which is already in use by another account. You can sign in using your password.`,
            context: expect.objectContaining({ available_credential_types: ['password'], credential_identifier_hint: existing.email }),
          }]);
        });
      });
    });

    it('10. require_verified_address: with legacy_require_verified_login_error the login form shows 4000010; without it the browser goes to a new verification flow', { timeout: TIMEOUT }, async () => {
      await withVariant({ feature_flags: { legacy_require_verified_login_error: true } }, async (env) => {
        const user = await person(env, 'legacy-unverified');
        await inBrowser(env, async (page, context) => {
          await visit(page, `${env.pub}self-service/login/browser`);
          const flowId = flowIdOf(page.url())!;
          await page.fill('input[name="identifier"]', user.email);
          await page.fill('input[name="password"]', user.password);
          const hops = await click(page, 'button[name="method"][value="password"]');
          // hook/require_verified_address.go:59 → login.ErrAddressNotVerified → login/handler.go:991: 4000010 on
          // the same login flow; no session.
          expect(hops[0].location).toMatch(uiFlowUrl(env, 'login'));
          expect(flowIdOf(page.url())).toBe(flowId);
          expect(await uiMessages(page)).toEqual([{ id: 4000010, type: 'error', text: 'Account not active yet. Did you forget to verify your email address?', context: undefined }]);
          expect((await context.cookies()).some((c) => c.name === 'ory_kratos_session')).toBe(false);
        });
      });

      const user = await person(main, 'unverified');
      await inBrowser(main, async (page, context) => {
        await visit(page, `${main.pub}self-service/login/browser`);
        await page.fill('input[name="identifier"]', user.email);
        await page.fill('input[name="password"]', user.password);
        const hops = await click(page, 'button[name="method"][value="password"]');
        // Without the flag: a post-hook verification flow (sent_email, csrf not rotated) and a 303 to its UI.
        expect.soft(hops[0].status).toBe(303);
        expect(hops[0].location).toMatch(uiFlowUrl(main, 'verification'));
        const verificationId = flowIdOf(hops[0].location)!;
        expect(readsOf(main, 'verification', verificationId)).toEqual(['200']);
        expect(page.url()).toBe(`${main.ui.url}/verification?flow=${verificationId}`);
        expect(await flowState(page)).toBe('sent_email');
        expect.soft(ids(await uiMessages(page))).toEqual([1080003]);
        expect((await context.cookies()).some((c) => c.name === 'ory_kratos_session')).toBe(false);
        expect((await mailTo(user.email)).parsed.subject).toMatch(/^Use code \d{6} to verify your account$/);
        expect((await adminIdentity(main, user.id)).verifiable_addresses[0].status).toBe('sent');
      });
    });

    it('11. the courier mails follow Kratos\'s built-in templates (recovery and verification, known and unknown addresses)', { timeout: TIMEOUT }, async () => {
      const user = await person(main, 'templates');
      const unknown = address('nobody');
      const lines = (text: string | false | undefined) => (text || '').replace(/\r\n/g, '\n').trimEnd();
      await inBrowser(main, async (page) => {
        await visit(page, `${main.pub}self-service/recovery/browser`);
        await page.fill('input[name="email"]', user.email);
        await click(page, 'button[name="method"][value="code"]');
        // courier/template/courier/builtin/templates/recovery_code/valid (ExpiresInMinutes = the code lifespan: idflow's default 15 min, Kratos's 1 h).
        const recovery = await mailTo(user.email, 0);
        const code = codeOf(recovery);
        expect(recovery.parsed.subject).toBe(`Use code ${code} to recover access to your account`);
        const recoveryBody = `Recover access to your account by entering the following code:\n\n${code}\n\nIf this was not you, do nothing. This code expires in 15 minutes.`;
        expect(lines(recovery.parsed.text)).toBe(recoveryBody);
        expect.soft(lines(recovery.parsed.html)).toBe(recoveryBody);

        await visit(page, `${main.pub}self-service/recovery/browser`);
        await page.fill('input[name="email"]', unknown);
        await click(page, 'button[name="method"][value="code"]');
        // recovery_code/invalid (notify_unknown_recipients).
        const attempted = await mailTo(unknown, 0);
        expect(attempted.parsed.subject).toBe('Account access attempted');
        expect(lines(attempted.parsed.text)).toBe('Hi,\n\nyou (or someone else) entered this email address when trying to recover access to an account.\n\n'
          + 'However, this email address is not on our database of registered users and therefore the attempt has failed.\n\n'
          + 'If this was you, check if you signed up using a different address.\n\nIf this was not you, please ignore this email.');

        await visit(page, `${main.pub}self-service/verification/browser`);
        const flowId = flowIdOf(page.url())!;
        await page.fill('input[name="email"]', user.email);
        await click(page, 'button[name="method"][value="code"]');
        // verification_code/valid: the code and the link; the HTML part comes from html/template (so `&amp;`).
        const verification = await mailTo(user.email, 1);
        const vcode = codeOf(verification);
        const url = `${main.pub}self-service/verification?code=${vcode}&flow=${flowId}`;
        expect(verification.parsed.subject).toBe(`Use code ${vcode} to verify your account`);
        const verificationText = (link: string) => `Verify your account with the following code:\n\n${vcode}\n\nor clicking the following link:\n\n${link}\n\n`
          + 'If this was not you, do nothing. This code / link expires in 15 minutes.';
        const mailedLink = /^(https?:\/\/\S+)$/m.exec(lines(verification.parsed.text))?.[1] ?? '';
        expect(Object.fromEntries(new URL(mailedLink).searchParams)).toEqual({ code: vcode, flow: flowId });
        expect(lines(verification.parsed.text)).toBe(verificationText(mailedLink));
        // The link's keys in url.Values order (code_sender.go:411).
        expect.soft(lines(verification.parsed.text)).toBe(verificationText(url));
        const htmlUrl = url.replaceAll('&', '&amp;');
        expect.soft(lines(verification.parsed.html)).toBe(`Verify your account with the following code:\n\n${vcode}\n\nor clicking the following link:\n\n`
          + `<a href="${htmlUrl}">${htmlUrl}</a>\n\nIf this was not you, do nothing. This code / link expires in 15 minutes.`);

        await visit(page, `${main.pub}self-service/verification/browser`);
        await page.fill('input[name="email"]', unknown);
        await click(page, 'button[name="method"][value="code"]');
        // verification_code/invalid (notify_unknown_recipients).
        const someone = await mailTo(unknown, 1);
        expect(someone.parsed.subject).toBe('Someone tried to verify this email address');
        expect(lines(someone.parsed.text)).toBe('Hi,\n\nsomeone asked to verify this email address, but we were unable to find an account for this address.\n\n'
          + 'If this was you, check if you signed up using a different address.\n\nIf this was not you, please ignore this email.');
      });
    });

    it('12. bodies decode as decoderx does: dotted JSON keys, "traits.tos": 1 as a boolean, empty optional form traits dropped, repeated form keys as an array', { timeout: TIMEOUT }, async () => {
      await inBrowser(main, async (page, context) => {
        await page.goto(`${main.ui.url}/spa`);
        const init = await spa(page, '/self-service/registration/browser');
        expect(init.status).toBe(200);
        const csrf = init.body.ui.nodes.find((n: Json) => n.attributes.name === 'csrf_token')?.attributes.value;
        const email = address('dotted');
        // oryx/decoderx/http.go decodeJSONForm (HTTPDecoderJSONFollowsFormFormat): the top-level object is read as
        // form values: "traits.email" is the trait, 1 on a boolean path is ParseBool("1") = true.
        const res = await spa(page, pathOf(init.body.ui.action), {
          method: 'POST',
          json: { csrf_token: csrf, method: 'password', 'traits.email': email, 'traits.name': 'Dotted Keys', 'traits.tos': 1, password: PASSWORD },
        });
        expect(res.status, JSON.stringify(res.body)).toBe(200);
        expect(res.body.identity.traits).toEqual({ email, name: 'Dotted Keys', tos: true });
        expect((await whoami(context, main)).body.identity.traits.tos).toBe(true);
      });

      await inBrowser(main, async (page, context) => {
        await visit(page, `${main.pub}self-service/registration/browser`);
        const email = address('form-decoding');
        await fillRegistration(page, email);
        await page.fill('input[name="traits.nickname"]', '');
        // A UI's "add another" control: several inputs named traits.tags.
        await page.evaluate(() => {
          const form = document.querySelector('form#flow')!;
          document.querySelectorAll('input[name="traits.tags"]').forEach((e) => e.remove());
          for (const value of ['red', 'blue']) {
            const input = document.createElement('input');
            input.name = 'traits.tags';
            input.value = value;
            form.appendChild(input);
          }
        });
        const post = page.waitForRequest((r) => r.method() === 'POST');
        await click(page, 'button[name="method"][value="password"]');
        const sent = new URLSearchParams((await post).postData() ?? '');
        expect(sent.getAll('traits.nickname')).toEqual(['']);
        expect(sent.getAll('traits.tags')).toEqual(['red', 'blue']);

        // decodeURLValues: an empty string on an optional string path is dropped (no minLength 3 error); every
        // repeated key of an array path becomes an item.
        const { status, body } = await whoami(context, main);
        expect(status).toBe(200);
        expect(body.identity.traits).not.toHaveProperty('nickname');
        expect(body.identity.traits.tags).toEqual(['red', 'blue']);
      });
    });

    it('13. registration styles: unified (one form), profile_first (traits, then credentials with hidden traits and Back, 1040009), enable_legacy_one_step as unified', { timeout: TIMEOUT }, async () => {
      // password.PopulateRegistrationMethod (unified): traits in group default, password (1070001), "Sign up" 1040001.
      const unified = async (env: Env) => inBrowser(env, async (page, context) => {
        await visit(page, `${env.pub}self-service/registration/browser`);
        expect(await page.getAttribute('input[name="traits.email"]', 'type')).toBe('email');
        expect(await page.getAttribute('input[name="traits.email"]', 'data-group')).toBe('default');
        expect(await page.getAttribute('input[name="password"]', 'type')).toBe('password');
        expect.soft(await page.getAttribute('.node[data-node="password"] label', 'data-label-id')).toBe('1070001');
        expect(await page.locator('button[name="method"][value="profile"]').count()).toBe(0);
        expect.soft(await page.getAttribute('button[name="method"][value="password"]', 'data-label-id')).toBe('1040001');
        const email = address('unified');
        await fillRegistration(page, email);
        await click(page, 'button[name="method"][value="password"]');
        const { status, body } = await whoami(context, env);
        expect(status).toBe(200);
        expect(body.identity.traits.email).toBe(email);
      });
      await unified(main);
      // driver/config/config.go:714: enable_legacy_one_step: true forces unified, whatever `style` says.
      await withVariant({ selfservice: { flows: { registration: { style: 'profile_first', enable_legacy_one_step: true } } } }, unified);

      await withVariant({ selfservice: { flows: { registration: { style: 'profile_first' } } } }, (env) => inBrowser(env, async (page, context) => {
        await visit(page, `${env.pub}self-service/registration/browser`);
        const flowId = flowIdOf(page.url())!;
        // profile/registration.go PopulateRegistrationMethodProfile: traits and method=profile "Sign up", no password.
        expect(await page.getAttribute('input[name="traits.email"]', 'type')).toBe('email');
        expect(await page.locator('input[name="password"]').count()).toBe(0);
        expect.soft(await page.getAttribute('button[name="method"][value="profile"]', 'data-label-id')).toBe('1040001');
        const email = address('profile-first');
        await fillRegistration(page, email);
        const toCredentials = await click(page, 'button[name="method"][value="profile"]');
        // :261 answers an HTML browser with 303 to the UI.
        expect.soft(toCredentials[0].status).toBe(303);

        // :261 showCredentialsSelection: traits hidden (values kept), password + method=password, Back, 1040009.
        const credentialScreen = async () => {
          expect(flowIdOf(page.url())).toBe(flowId);
          expect(await page.getAttribute('input[name="traits.email"]', 'type')).toBe('hidden');
          expect(await page.inputValue('input[name="traits.email"]')).toBe(email);
          expect(await page.locator('input[name="password"]').count()).toBe(1);
          expect(await page.locator('button[name="method"][value="profile"]').count()).toBe(0);
          expect(await page.locator('button[name="screen"][value="previous"]').count()).toBe(1);
          expect.soft(await page.getAttribute('button[name="screen"][value="previous"]', 'data-label-id')).toBe('1040008');
          expect(await uiMessages(page)).toEqual([{ id: 1040009, type: 'info', text: 'Please choose a credential to authenticate yourself with.', context: undefined }]);
        };
        await credentialScreen();

        // :222 returnToProfileForm: Back shows the traits form again with the values, without the Back node.
        const back = await click(page, 'button[name="screen"][value="previous"]');
        expect.soft(back[0].status).toBe(303);
        expect(flowIdOf(page.url())).toBe(flowId);
        expect.soft(await uiMessages(page)).toEqual([]);
        expect.soft(await page.getAttribute('input[name="traits.email"]', 'type')).toBe('email');
        expect.soft(await page.inputValue('input[name="traits.email"]')).toBe(email);
        expect.soft(await page.locator('input[name="password"]').count()).toBe(0);
        expect.soft(await page.locator('button[name="screen"]').count()).toBe(0);

        await click(page, 'button[name="method"][value="profile"]');
        await credentialScreen();
        await page.fill('input[name="password"]', PASSWORD);
        await click(page, 'button[name="method"][value="password"]');
        const { status, body } = await whoami(context, env);
        expect(status).toBe(200);
        expect(body.identity.traits).toMatchObject({ email, name: 'Chromium Person' });
      }));
    });
  });
}
