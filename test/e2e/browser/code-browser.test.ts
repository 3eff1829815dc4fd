/**
 * One-time codes in real Chromium through a self-service UI shaped like kratos-selfservice-ui-node
 * (test/support/ui-server.ts), as Kratos's Cypress `profiles/code` specs do: sign up with "Send sign up code", a
 * wrong code (4040003), "Resend code", the mailed code; log out; log in identifier-first ("Continue", then "Send sign
 * in code") with the mailed code; the session says `code`. And the code as a second factor: a password login steps up
 * at aal2 with "Send code to …". Mails go to a real SMTP server on loopback.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type BrowserContext, type Page } from 'playwright-core';
import { testDatabases } from '../../support/databases.ts';
import { useChromium } from '../../support/chromium.ts';
import { address, inBrowser as openBrowser, startUiEnv, stopUiEnv, uiFlowUrl, type UiEnv } from '../../support/ui-env.ts';
import { click, ids, uiMessages, visit } from '../../support/ui-page.ts';
import { type Overlay } from '../../support/server.ts';
import { FAST_WORKER, mailedCode as mailedCodeOf, startSmtpServer, type TestSmtpServer } from '../../support/smtp-server.ts';

type Json = any;

const TIMEOUT = 90_000;
const chromium = useChromium();

function overlay(ui: string, smtpUri: string, mode: 'passwordless' | 'mfa'): Overlay {
  return {
    courier: { smtp: { connection_uri: smtpUri, from_address: 'accounts@idflow.test' }, worker: FAST_WORKER },
    // Hashing is not under test here: the cheapest bcrypt keeps the file fast on a busy machine.
    hashers: { algorithm: 'bcrypt', bcrypt: { cost: 4 } },
    selfservice: {
      default_browser_return_url: `${ui}/welcome`,
      allowed_return_urls: [ui],
      methods: {
        password: { config: { haveibeenpwned_enabled: false } },
        code: mode === 'passwordless' ? { passwordless_enabled: true } : { mfa_enabled: true },
      },
      flows: {
        error: { ui_url: `${ui}/error` },
        login: { ui_url: `${ui}/login`, style: mode === 'passwordless' ? 'identifier_first' : 'unified' },
        registration: { ui_url: `${ui}/registration`, style: 'unified', after: { code: { hooks: [{ hook: 'session' }] } } },
        settings: { ui_url: `${ui}/settings` },
        recovery: { ui_url: `${ui}/recovery` },
        verification: { ui_url: `${ui}/verification` },
        logout: { after: { default_browser_return_url: `${ui}/logged-out` } },
      },
    },
  };
}

for (const db of testDatabases()) {
  describe(`one-time codes in Chromium (${db.name})`, () => {
    let env: UiEnv;
    let mfaEnv: UiEnv;
    let smtp: TestSmtpServer;
    const drops: Array<() => Promise<void>> = [];

    beforeAll(async () => {
      smtp = await startSmtpServer();
      const a = await db.create();
      const b = await db.create();
      drops.push(a.drop, b.drop);
      env = await startUiEnv(a.dsn, (ui) => overlay(ui, smtp.uri(), 'passwordless'));
      mfaEnv = await startUiEnv(b.dsn, (ui) => overlay(ui, smtp.uri(), 'mfa'));
    });
    afterAll(async () => {
      await stopUiEnv(env);
      await stopUiEnv(mfaEnv);
      await smtp?.close();
      for (const drop of drops) await drop();
    });

    const inBrowser = (run: (page: Page, context: BrowserContext) => Promise<void>, on: UiEnv = env) => openBrowser(chromium(), on, run);

    const mailedCode = (to: string, n: number, start: string) => mailedCodeOf(smtp, to, n, start);
    const SIGN_UP = 'Complete your account registration with the following code';
    const SIGN_IN = 'Login to your account with the following code';

    async function whoami(page: Page): Promise<Json> {
      return page.evaluate(async () => (await fetch('/sessions/whoami', { credentials: 'include', headers: { Accept: 'application/json' } })).json());
    }

    it('signs up with a mailed code (wrong code, resend), logs out, and logs in with a mailed code', async () => {
      const email = address('code-ui');
      await inBrowser(async (page, context) => {
        await visit(page, `${env.pub}self-service/registration/browser`);
        expect(page.url()).toMatch(uiFlowUrl(env, 'registration'));
        await page.fill('input[name="traits.email"]', email);
        await click(page, 'button[name="method"][value="code"]');
        expect(page.url()).toMatch(uiFlowUrl(env, 'registration'));
        expect(ids(await uiMessages(page))).toEqual([1040005]);
        expect(await page.locator('input[name="traits.email"][type="hidden"]').count()).toBe(1);
        expect(await page.locator('input[name="method"][value="code"][type="hidden"]').count()).toBe(1);
        const first = await mailedCode(email, 1, SIGN_UP);

        await page.fill('input[name="code"]', first === '000000' ? '111111' : '000000');
        await click(page, 'button[name="method"][value="code"]');
        expect(ids(await uiMessages(page))).toEqual([4040003]);

        await click(page, 'button[name="resend"][value="code"]');
        expect(ids(await uiMessages(page))).toEqual([1040005]);
        const second = await mailedCode(email, 2, SIGN_UP);
        await page.fill('input[name="code"]', second);
        await click(page, 'button[name="method"][value="code"]');
        expect(page.url()).toBe(`${env.ui.url}/welcome`);
        const session = await whoami(page);
        expect(session.authentication_methods.map((m: Json) => m.method)).toEqual(['code']);
        expect(session.identity.verifiable_addresses).toMatchObject([{ value: email, verified: true }]);

        const logout = await context.request.get(`${env.pub}self-service/logout/browser`, { headers: { accept: 'application/json' } });
        await visit(page, (await logout.json()).logout_url);
        expect(page.url()).toBe(`${env.ui.url}/logged-out`);

        // Identifier-first: the identifier alone, then the methods this identity has (a code; it has no password).
        await visit(page, `${env.pub}self-service/login/browser`);
        expect(page.url()).toMatch(uiFlowUrl(env, 'login'));
        expect(await page.locator('input[name="password"]').count()).toBe(0);
        await page.fill('input[name="identifier"]', email);
        await click(page, 'button[name="method"][value="identifier_first"]');
        expect(await page.locator('input[name="identifier"][type="hidden"]').count()).toBe(1);
        await click(page, 'button[name="method"][value="code"]');
        expect(ids(await uiMessages(page))).toEqual([1010014]);
        expect(await page.locator('input[name="password"]').count()).toBe(0);
        await page.fill('input[name="code"]', await mailedCode(email, 1, SIGN_IN));
        await click(page, 'button[name="method"][value="code"]');
        expect(page.url()).toBe(`${env.ui.url}/welcome`);
        expect((await whoami(page)).authentication_methods.map((m: Json) => m.method)).toEqual(['code']);
      });
    }, TIMEOUT);

    it('steps a password login up to aal2 with a code mailed to the identity\'s address', async () => {
      const email = address('code-mfa');
      const password = 'a long code-mfa passphrase 4711';
      const created = await fetch(`${mfaEnv.server.adminUrl}/admin/identities`, {
        method: 'POST', headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ schema_id: 'default', traits: { email }, credentials: { password: { config: { password } } } }),
      });
      expect(created.status).toBe(201);
      await inBrowser(async (page) => {
        await visit(page, `${mfaEnv.pub}self-service/login/browser`);
        await page.fill('input[name="identifier"]', email);
        await page.fill('input[name="password"]', password);
        await click(page, 'button[name="method"][value="password"]');
        // The identity has a second factor (a code address): Kratos sends the browser on to the aal2 login.
        expect(page.url()).toMatch(uiFlowUrl(mfaEnv, 'login'));
        expect(ids(await uiMessages(page))).toEqual([1010004]);
        await click(page, `button[name="address"][value="${email}"]`);
        expect(ids(await uiMessages(page))).toEqual([1010025]);
        await page.fill('input[name="code"]', await mailedCode(email, 1, SIGN_IN));
        await click(page, 'button[name="method"][value="code"]');
        expect(page.url()).toBe(`${mfaEnv.ui.url}/welcome`);
        const session = await whoami(page);
        expect(session.authenticator_assurance_level).toBe('aal2');
        expect(session.authentication_methods.map((m: Json) => m.method)).toEqual(['password', 'code']);
      }, mfaEnv);
    }, TIMEOUT);
  });
}
