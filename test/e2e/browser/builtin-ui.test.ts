/**
 * idflow's own self-service UI (`serve.ui`, on in the built-in config) in real Chromium, as a newcomer uses it: sign
 * up, read the verification code in the development mail viewer (`/mail`), verify, change the password, sign out,
 * sign in, recover the account by code, and the error page — every page reached by following links, nothing typed
 * into the address bar except the start page. Also: the forms work with JavaScript off, every visible input has a
 * label, and `/mail` does not exist without --dev.
 */
import { createServer as createHttpServer } from 'node:http';
import { createUiApp } from '../../../src/http/ui/ui-app.ts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { BrowserContext, Page } from 'playwright-core';
import { testDatabases } from '../../support/databases.ts';
import { useChromium } from '../../support/chromium.ts';
import { deepMerge, startTestServer, type TestServer } from '../../support/server.ts';
import { builtInUiOverlay } from '../../support/builtin-ui.ts';
import { freePort } from '../../support/free-port.ts';
import { FAST_WORKER, startSmtpServer, type TestSmtpServer } from '../../support/smtp-server.ts';

const TIMEOUT = 120_000;
const chromium = useChromium();

for (const db of testDatabases()) {
  describe(`the built-in self-service UI (${db.name})`, () => {
    let server: TestServer;
    let smtp: TestSmtpServer;
    let ui = '';
    let drop: (() => Promise<void>) | undefined;

    beforeAll(async () => {
      smtp = await startSmtpServer();
      const created = await db.create();
      drop = created.drop;
      const port = await freePort();
      ui = `http://127.0.0.1:${port}`;
      server = await startTestServer(created.dsn, deepMerge(builtInUiOverlay(ui), {
        courier: { smtp: { connection_uri: smtp.uri() }, worker: FAST_WORKER },
        // Hashing is not under test here: the cheapest bcrypt keeps the file fast on a busy machine.
        hashers: { algorithm: 'bcrypt', bcrypt: { cost: 4 } },
      }));
      expect(server.uiUrl).toBe(ui);
    });
    afterAll(async () => {
      await server?.close();
      await smtp?.close();
      await drop?.();
    });

    async function inBrowser(run: (page: Page, context: BrowserContext) => Promise<void>, options: { javaScriptEnabled?: boolean } = {}): Promise<void> {
      const context = await chromium().newContext({ javaScriptEnabled: options.javaScriptEnabled ?? true });
      context.setDefaultTimeout(15_000);
      try {
        await run(await context.newPage(), context);
      } catch (err) {
        const page = context.pages()[0];
        throw new Error(`${(err as Error).message}\n  page: ${page?.url()}\n  html: ${(await page?.content().catch(() => ''))?.slice(0, 3000)}`, { cause: err });
      } finally {
        await context.close();
      }
    }

    /** The newest six-digit code mailed to `to`, read from the development mail viewer in a second tab. */
    async function codeFromMailViewer(context: BrowserContext, to: string, count: number): Promise<string> {
      const viewer = await context.newPage();
      try {
        for (let i = 0; i < 200; i++) {
          await viewer.goto(`${ui}/mail`);
          const rows = await viewer.locator('tr.mail', { hasText: to }).allInnerTexts();
          if (rows.length >= count) return /\b(\d{6})\b/.exec(rows[0])![1];
          await new Promise((resolve) => setTimeout(resolve, 50));
        }
        throw new Error(`expected ${count} mails to ${to} in the viewer`);
      } finally {
        await viewer.close();
      }
    }

    const messageIds = (page: Page) => page.locator('#messages [data-message-id]').evaluateAll((els) => els.map((el) => Number((el as HTMLElement).dataset.messageId)));

    it('takes a newcomer from sign-up to recovery by following its own links', async () => {
      const email = `newcomer-${crypto.randomUUID().slice(0, 8)}@example.com`;
      await inBrowser(async (page, context) => {
        await page.goto(`${ui}/`);
        expect(await page.locator('main').innerText()).toContain('You are not signed in.');

        // Sign up (profile first: the traits, then the password).
        await page.click('text=Create an account');
        expect(page.url()).toMatch(new RegExp(`^${ui}/registration\\?flow=`));
        await page.fill('input[name="traits.email"]', email);
        await page.fill('input[name="traits.name.first"]', 'Ada');
        await page.click('button[name="method"][value="profile"]');
        await page.fill('input[name="password"]', 'a first long passphrase 1');
        await page.click('button[name="method"][value="password"]');
        expect(page.url()).toBe(`${ui}/`);
        expect(await page.locator('#signed-in-as').innerText()).toContain(email);
        expect(await page.locator('main').innerText()).toContain('is not verified yet');

        // Verify the address with the code from the mail viewer.
        await page.click('main >> text=Verify it');
        await page.fill('input[name="email"]', email);
        await page.click('button[name="method"][value="code"]');
        expect(await messageIds(page)).toEqual([1080003]);
        // The sign-up's own verification mail came first; this flow's code is the second.
        await page.fill('input[name="code"]', await codeFromMailViewer(context, email, 2));
        await page.click('button[name="method"][value="code"]');
        expect(await messageIds(page)).toEqual([1080002]);
        await page.goto(`${ui}/`);
        expect(await page.locator('main').innerText()).not.toContain('is not verified yet');

        // Change the password in the settings.
        await page.click('main >> text=Account settings');
        expect(await page.locator('#group-password').innerText()).toBe('Password');
        await page.fill('#flow-password input[name="password"]', 'a second long passphrase 2');
        await page.click('#flow-password button[name="method"][value="password"]');
        expect(await messageIds(page)).toEqual([1050001]);

        // Sign out, then in with the new password.
        await page.click('header >> text=Sign out');
        expect(page.url()).toBe(`${ui}/`);
        expect(await page.locator('main').innerText()).toContain('You are not signed in.');
        await page.click('main >> text=Sign in');
        await page.fill('input[name="identifier"]', email);
        await page.fill('input[name="password"]', 'a second long passphrase 2');
        await page.click('button[name="method"][value="password"]');
        expect(await page.locator('#signed-in-as').innerText()).toContain(email);
        await page.click('header >> text=Sign out');

        // Recover the account by code; recovery continues in the settings with a fresh password.
        await page.click('main >> text=Recover your account');
        await page.fill('input[name="email"]', email);
        await page.click('button[name="method"][value="code"]');
        await page.fill('input[name="code"]', await codeFromMailViewer(context, email, 3));
        await page.click('button[name="method"][value="code"]');
        expect(page.url()).toMatch(new RegExp(`^${ui}/settings\\?flow=`));
        expect(await messageIds(page)).toEqual([1060001]);
        await page.fill('#flow-password input[name="password"]', 'a third long passphrase 3');
        await page.click('#flow-password button[name="method"][value="password"]');
        expect(await messageIds(page)).toEqual([1050001]);

        // Every visible input is labelled; the page says its language.
        const unlabelled = await page.locator('input:not([type=hidden])').evaluateAll((els) => els.filter((el) => (el as HTMLInputElement).labels?.length === 0).length);
        expect(unlabelled).toBe(0);
        expect(await page.getAttribute('html', 'lang')).toBe('en');
      });
    }, TIMEOUT);

    it('has no mail viewer without --dev', async () => {
      const app = createUiApp({ ...server.registry, config: { ...server.registry.config, dev: false } });
      const http = createHttpServer(app);
      await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve));
      try {
        const base = `http://127.0.0.1:${(http.address() as { port: number }).port}`;
        expect((await fetch(`${base}/mail`)).status).toBe(404);
        expect((await fetch(`${ui}/mail`)).status).toBe(200);
        expect(await (await fetch(`${base}/`)).text()).not.toContain('/mail');
      } finally {
        await new Promise((resolve) => http.close(resolve));
      }
    });

    it('works with JavaScript off, starts a new flow for a stale one, and shows errors', async () => {
      await inBrowser(async (page) => {
        await page.goto(`${ui}/registration`);
        // Valid to the browser's own check (JavaScript is off, the form still submits), not to idflow's.
        await page.fill('input[name="traits.email"]', 'a..b@example.com');
        await page.click('button[name="method"][value="profile"]');
        expect(await page.locator('[data-message-id="4000040"]').count()).toBe(1);
        expect(await page.getAttribute('input[name="traits.email"]', 'aria-invalid')).toBe('true');

        await page.goto(`${ui}/login?flow=${crypto.randomUUID()}`);
        expect(page.url()).toMatch(new RegExp(`^${ui}/login\\?flow=`));
        expect(await page.locator('input[name="identifier"]').count()).toBe(1);

        await page.goto(`${ui}/error?id=${crypto.randomUUID()}`);
        expect(await page.locator('#error-message').innerText()).toBeTruthy();
      }, { javaScriptEnabled: false });
    }, TIMEOUT);
  });
}
