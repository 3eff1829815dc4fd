/**
 * One-time codes in real Chromium through a self-service UI shaped like kratos-selfservice-ui-node
 * (test/support/ui-server.ts), as Kratos's Cypress `profiles/code` specs do: sign up with "Send sign up code", a
 * wrong code (4040003), "Resend code", the mailed code; log out; log in with "Send sign in code" and the mailed code;
 * the session says `code`. Mails go to a real SMTP server on loopback.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type BrowserContext, type Page } from 'playwright-core';
import { testDatabases } from '../../support/databases.ts';
import { useChromium } from '../../support/chromium.ts';
import { address, inBrowser as openBrowser, startUiEnv, stopUiEnv, uiFlowUrl, type UiEnv } from '../../support/ui-env.ts';
import { click, ids, uiMessages, visit } from '../../support/ui-page.ts';
import { type Overlay } from '../../support/server.ts';
import { FAST_WORKER, startSmtpServer, type TestSmtpServer } from '../../support/smtp-server.ts';

type Json = any;

const TIMEOUT = 90_000;
const chromium = useChromium();

function overlay(ui: string, smtpUri: string): Overlay {
  return {
    courier: { smtp: { connection_uri: smtpUri, from_address: 'accounts@idflow.test' }, worker: FAST_WORKER },
    selfservice: {
      default_browser_return_url: `${ui}/welcome`,
      allowed_return_urls: [ui],
      methods: { password: { config: { haveibeenpwned_enabled: false } }, code: { passwordless_enabled: true } },
      flows: {
        error: { ui_url: `${ui}/error` },
        login: { ui_url: `${ui}/login` },
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
    let smtp: TestSmtpServer;
    let drop: (() => Promise<void>) | undefined;

    beforeAll(async () => {
      smtp = await startSmtpServer();
      const created = await db.create();
      drop = created.drop;
      env = await startUiEnv(created.dsn, (ui) => overlay(ui, smtp.uri()));
    });
    afterAll(async () => {
      await stopUiEnv(env);
      await smtp?.close();
      await drop?.();
    });

    const inBrowser = (run: (page: Page, context: BrowserContext) => Promise<void>) => openBrowser(chromium(), env, run);

    async function mailedCode(to: string, n: number, start: string): Promise<string> {
      for (let i = 0; i < 400; i++) {
        const mails = smtp.mails.filter((m) => m.envelope.to.includes(to) && (m.parsed.text ?? '').startsWith(start));
        if (mails.length >= n) return /\b(\d{6})\b/.exec(mails[n - 1].parsed.text ?? '')![1];
        await new Promise((r) => setTimeout(r, 25));
      }
      throw new Error(`expected ${n} mails to ${to}`);
    }
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

        await visit(page, `${env.pub}self-service/login/browser`);
        expect(page.url()).toMatch(uiFlowUrl(env, 'login'));
        await page.fill('input[name="identifier"]', email);
        await click(page, 'button[name="method"][value="code"]');
        expect(ids(await uiMessages(page))).toEqual([1010014]);
        expect(await page.locator('input[name="password"]').count()).toBe(0);
        await page.fill('input[name="code"]', await mailedCode(email, 1, SIGN_IN));
        await click(page, 'button[name="method"][value="code"]');
        expect(page.url()).toBe(`${env.ui.url}/welcome`);
        expect((await whoami(page)).authentication_methods.map((m: Json) => m.method)).toEqual(['code']);
      });
    }, TIMEOUT);
  });
}
