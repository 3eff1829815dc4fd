import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Browser, type BrowserContext, type Page } from 'playwright-core';
import { testDatabases } from '../../support/databases.ts';
import { launchChromium } from '../../support/chromium.ts';
import { startTestServer, type TestServer } from '../../support/server.ts';
import { startUiServer, type UiServer } from '../../support/ui-server.ts';
import { expectResponse } from '../../support/openapi.ts';

const STYLES = ['profile_first', 'unified'] as const;

let browser: Browser;

beforeAll(async () => {
  browser = await launchChromium();
});

afterAll(async () => {
  await browser?.close();
});

function overlay(ui: string, style: (typeof STYLES)[number]) {
  return {
    // Hashing is not under test here: the cheapest bcrypt keeps the file fast on a busy machine.
    hashers: { algorithm: 'bcrypt', bcrypt: { cost: 4 } },
    selfservice: {
      default_browser_return_url: `${ui}/welcome`,
      allowed_return_urls: [ui],
      methods: { password: { config: { haveibeenpwned_enabled: false } } },
      flows: {
        error: { ui_url: `${ui}/error` },
        login: { ui_url: `${ui}/login` },
        registration: { ui_url: `${ui}/registration`, style },
        settings: { ui_url: `${ui}/settings` },
        logout: { after: { default_browser_return_url: `${ui}/logged-out` } },
      },
    },
  };
}

/** Clicks a submit button and waits for the navigation chain (POST -> 303 -> UI page) to settle. */
async function submit(page: Page, selector: string): Promise<void> {
  await Promise.all([page.waitForEvent('framenavigated'), page.click(selector)]);
  await page.waitForLoadState('load');
}

/** whoami with the browser context's cookies (APIRequestContext shares the context's cookie store). */
async function whoami(context: BrowserContext, publicUrl: string): Promise<{ status: number; body: any }> {
  const res = await context.request.get(`${publicUrl}/sessions/whoami`, { headers: { accept: 'application/json' } });
  const body = await res.json();
  expectResponse('toSession', res.status(), body);
  return { status: res.status(), body };
}

const flowIdOf = (url: string) => new URL(url).searchParams.get('flow');

// Every database gets the default (profile_first) registration; the unified style is a rendering variant, storage
// has nothing to do with it, so it runs on the first database only (keeps the file under ~30 s).
const RUNS = testDatabases().flatMap((db, i) => (i === 0 ? STYLES : STYLES.slice(0, 1)).map((style) => ({ db, style })));

for (const { db, style } of RUNS) {
  describe(`a real browser (Chromium) through a self-service UI (${db.name}, registration style ${style})`, () => {
    let server: TestServer;
    let ui: UiServer;
    let drop: () => Promise<void>;

    beforeAll(async () => {
      const created = await db.create();
      drop = created.drop;
      ui = await startUiServer();
      server = await startTestServer(created.dsn, overlay(ui.url, style));
      ui.setPublicUrl(server.publicUrl);
    });
    afterAll(async () => {
      await server?.close();
      await ui?.close();
      await drop?.();
    });

    it('signs up through the UI forms, is logged in, edits the profile, logs out and logs in again', async () => {
      const context = await browser.newContext();
      context.setDefaultTimeout(10_000);
      const page = await context.newPage();
      try {
        const email = `chromium-${style}-${db.name}@example.com`;
        const password = 'a long and unguessable passphrase';
        const publicUrl = server.publicUrl;

        // Registration: idflow's init endpoint sends the browser to the UI, which renders the flow as a form.
        await page.goto(`${publicUrl}/self-service/registration/browser`);
        expect(page.url()).toMatch(new RegExp(`^${ui.url}/registration\\?flow=[0-9a-f-]{36}$`));
        const flowId = flowIdOf(page.url());
        const csrfCookie = (await context.cookies(publicUrl)).find((c) => c.name.startsWith('csrf_token_'));
        expect(csrfCookie).toMatchObject({ httpOnly: true, sameSite: 'Lax', secure: false, path: '/' });
        expect(await page.getAttribute('form#flow', 'action')).toBe(`${server.registry.urls.public}self-service/registration?flow=${flowId}`);
        expect((await page.getAttribute('input[name="csrf_token"]', 'value'))?.length).toBe(88);

        await page.fill('input[name="traits.email"]', email);
        if (style === 'profile_first') {
          // First screen: traits only, submitted with method=profile; the second screen asks for the password.
          expect(await page.locator('input[name="password"]').count()).toBe(0);
          await submit(page, 'button[name="method"][value="profile"]');
          expect(flowIdOf(page.url())).toBe(flowId);
          expect(await page.getAttribute('input[name="traits.email"]', 'type')).toBe('hidden');
          expect(await page.getAttribute('input[name="traits.email"]', 'value')).toBe(email);
        }
        // A password that is too short comes back on the same flow with the message on the password field.
        await page.fill('input[name="password"]', 'short');
        await submit(page, 'button[name="method"][value="password"]');
        expect(flowIdOf(page.url())).toBe(flowId);
        expect(await page.locator('.node-message[data-message-id="4000032"]').count()).toBe(1);
        await page.fill('input[name="password"]', password);
        await submit(page, 'button[name="method"][value="password"]');

        // Signed up and signed in: the UI's server-side whoami (forwarded cookies) knows the identity.
        expect(page.url()).toBe(`${ui.url}/welcome`);
        expect(await page.textContent('#welcome')).toBe('welcome');
        expect(await page.textContent('#identity')).toBe(email);
        const identityId = await page.getAttribute('#identity', 'data-identity-id');
        const session = (await context.cookies(publicUrl)).find((c) => c.name === 'ory_kratos_session');
        expect(session).toMatchObject({ httpOnly: true, sameSite: 'Lax', secure: false });
        expect(await page.evaluate(() => document.cookie)).not.toContain('ory_kratos_session');
        const first = await whoami(context, publicUrl);
        expect(first.status).toBe(200);
        expect(first.body.identity.id).toBe(identityId);
        expect(first.body.identity.traits.email).toBe(email);

        // Settings through the UI: a profile change ends on the settings page with the success message.
        await page.goto(`${publicUrl}/self-service/settings/browser`);
        expect(page.url()).toMatch(new RegExp(`^${ui.url}/settings\\?flow=`));
        expect(await page.locator('form').count()).toBe(2);
        await page.fill('#flow-profile input[name="traits.name.first"]', 'Chromium');
        await submit(page, '#flow-profile button[name="method"][value="profile"]');
        expect(page.url()).toMatch(new RegExp(`^${ui.url}/settings\\?flow=`));
        expect(await page.locator('.ui-message[data-message-id="1050001"]').count()).toBe(1);
        expect((await whoami(context, publicUrl)).body.identity.traits.name.first).toBe('Chromium');

        // Log out through the logout URL the UI rendered.
        await page.goto(`${ui.url}/welcome`);
        const logoutHref = await page.getAttribute('#logout', 'href');
        expect(logoutHref).toMatch(new RegExp(`^${server.registry.urls.public}self-service/logout\\?token=ory_lo_`));
        await Promise.all([page.waitForURL(`${ui.url}/logged-out`), page.click('#logout')]);
        expect(await page.textContent('#logged-out')).toBe('signed out');
        expect((await context.cookies(publicUrl)).some((c) => c.name === 'ory_kratos_session')).toBe(false);
        expect((await whoami(context, publicUrl)).status).toBe(401);
        await page.goto(`${ui.url}/welcome`);
        expect(await page.locator('#anonymous').count()).toBe(1);

        // Log in again through the login form; a wrong password is shown first.
        await page.goto(`${publicUrl}/self-service/login/browser`);
        expect(page.url()).toMatch(new RegExp(`^${ui.url}/login\\?flow=`));
        const loginId = flowIdOf(page.url());
        await page.fill('input[name="identifier"]', email);
        await page.fill('input[name="password"]', 'not the right passphrase');
        await submit(page, 'button[name="method"][value="password"]');
        expect(flowIdOf(page.url())).toBe(loginId);
        expect(await page.locator('.ui-message[data-message-id="4000006"]').count()).toBe(1);
        expect(await page.getAttribute('input[name="identifier"]', 'value')).toBe(email);
        await page.fill('input[name="password"]', password);
        await submit(page, 'button[name="method"][value="password"]');
        expect(page.url()).toBe(`${ui.url}/welcome`);
        expect(await page.getAttribute('#identity', 'data-identity-id')).toBe(identityId);
        const second = await whoami(context, publicUrl);
        expect(second.status).toBe(200);
        expect(second.body.identity.id).toBe(identityId);
        expect(second.body.id).not.toBe(first.body.id);

        // Logged in, the login init endpoint sends the browser straight to the return URL.
        await page.goto(`${publicUrl}/self-service/login/browser`);
        expect(page.url()).toBe(`${ui.url}/welcome`);
      } catch (err) {
        throw new Error(`${err instanceof Error ? err.message : String(err)}\n  page: ${page.url()}\n  ui requests: ${ui.requests.join(', ')}\n  html: ${(await page.content().catch(() => '')).slice(0, 2000)}`, { cause: err });
      } finally {
        await context.close();
      }
    });
  });
}
