/**
 * OpenID Connect in real Chromium through the Ory-shaped test UI (test/support/ui-server.ts) and a real
 * `oidc-provider` on loopback: sign up with the provider (its own login and consent pages), sign out, sign in again
 * with the same subject. The provider's pages are oidc-provider's development interactions (HTML forms).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Page } from 'playwright-core';
import { testDatabases } from '../../support/databases.ts';
import { useChromium } from '../../support/chromium.ts';
import { startOpenIdProvider, type TestOpenIdProvider } from '../../support/oidc-provider.ts';
import { inBrowser as openBrowser, startUiEnv, stopUiEnv, uiFlowUrl, type UiEnv } from '../../support/ui-env.ts';
import { click, visit } from '../../support/ui-page.ts';
import { schemaUrl } from '../../support/person-schema.ts';
import { SCHEMA, WEBSITE, mapperUrl } from '../flows/oidc-fixture.ts';
import { jsonnetMissing } from '../../support/jsonnet.ts';

type Json = any;
const TIMEOUT = 90_000;
const chromium = useChromium();

for (const db of testDatabases()) {
  describe.skipIf(jsonnetMissing)(`OpenID Connect in Chromium (${db.name})`, () => {
    let env: UiEnv;
    let op: TestOpenIdProvider;
    let drop: (() => Promise<void>) | undefined;

    beforeAll(async () => {
      op = await startOpenIdProvider();
      const created = await db.create();
      drop = created.drop;
      env = await startUiEnv(created.dsn, (ui) => ({
        identity: { default_schema_id: 'oidc', schemas: [{ id: 'oidc', url: schemaUrl(SCHEMA) }] },
        selfservice: {
          default_browser_return_url: `${ui}/welcome`,
          allowed_return_urls: [ui],
          methods: {
            password: { config: { haveibeenpwned_enabled: false } },
            oidc: {
              enabled: true,
              config: {
                providers: [{
                  id: 'op1', provider: 'generic', label: 'Test OP', client_id: 'browser-client', client_secret: 'browser-secret-0123456789',
                  issuer_url: op.issuer, mapper_url: mapperUrl, scope: ['email', 'profile'],
                }],
              },
            },
          },
          flows: {
            error: { ui_url: `${ui}/error` },
            login: { ui_url: `${ui}/login` },
            registration: { ui_url: `${ui}/registration`, style: 'unified', after: { oidc: { hooks: [{ hook: 'session' }] } } },
            settings: { ui_url: `${ui}/settings` },
            logout: { after: { default_browser_return_url: `${ui}/logged-out` } },
          },
        },
      }));
      await op.start([{ client_id: 'browser-client', client_secret: 'browser-secret-0123456789', redirect_uris: [`${env.pub}self-service/methods/oidc/callback/op1`] }]);
    });
    afterAll(async () => {
      await stopUiEnv(env);
      await op?.close();
      await drop?.();
    });

    /** The provider's own pages: its login form (when it asks who logs in), then its consent form. */
    async function atProvider(page: Page, sub: string): Promise<void> {
      for (let step = 0; step < 4 && page.url().startsWith(op.issuer); step++) {
        const prompt = await page.locator('input[name="prompt"]').getAttribute('value');
        if (prompt === 'login') {
          await page.fill('input[name="login"]', sub);
          await page.fill('input[name="password"]', 'anything');
        }
        // Each form answers with redirects to the next prompt or back to idflow.
        await Promise.all([page.waitForNavigation(), page.click('form button[type="submit"]')]);
        await page.waitForLoadState('load');
      }
    }

    const whoami = (page: Page): Promise<{ status: number; body: Json }> => page.evaluate(async () => {
      const res = await fetch('/sessions/whoami', { credentials: 'include', headers: { Accept: 'application/json' } });
      return { status: res.status, body: await res.json() };
    });

    it('signs up with the provider in a real browser, signs out, and signs in again as the same subject', async () => {
      const sub = `browser-${crypto.randomUUID().slice(0, 8)}`;
      op.setClaims(sub, { email: `${sub}@example.org`, email_verified: true, website: WEBSITE });
      await openBrowser(chromium(), env, async (page, context) => {
        await visit(page, `${env.pub}self-service/registration/browser`);
        expect(page.url()).toMatch(uiFlowUrl(env, 'registration'));
        const button = page.locator('button[name="provider"][value="op1"]');
        expect(await button.innerText()).toContain('Test OP');
        await button.click();
        await page.waitForURL((url) => url.toString().startsWith(op.issuer));
        await atProvider(page, sub);
        await page.waitForURL(`${env.ui.url}/welcome`);
        const first = await whoami(page);
        expect(first.status).toBe(200);
        expect(first.body.identity.traits).toMatchObject({ email: `${sub}@example.org`, website: WEBSITE });
        expect(first.body.identity.verifiable_addresses).toMatchObject([{ value: `${sub}@example.org`, verified: true }]);
        expect(first.body.authentication_methods.map((m: Json) => m.method)).toEqual(['oidc']);

        const logout = await context.request.get(`${env.pub}self-service/logout/browser`, { headers: { accept: 'application/json' } });
        await visit(page, (await logout.json()).logout_url);
        expect(page.url()).toBe(`${env.ui.url}/logged-out`);

        await visit(page, `${env.pub}self-service/login/browser`);
        expect(page.url()).toMatch(uiFlowUrl(env, 'login'));
        await click(page, 'button[name="provider"][value="op1"]');
        await atProvider(page, sub);
        await page.waitForURL(`${env.ui.url}/welcome`);
        const again = await whoami(page);
        expect(again.body.identity.id).toBe(first.body.identity.id);
        expect(again.body.id).not.toBe(first.body.id);
      });
    }, TIMEOUT);
  });
}
