/**
 * An idflow test server with the test UI in front of it (test/support/ui-server.ts), for browser tests: the UI's URL
 * goes into the server's config (`overlayFor`), the server's public URL into the UI. Plus the small helpers every
 * such test needs.
 */
import { randomUUID } from 'node:crypto';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { startTestServer, type Overlay, type TestServer } from './server.ts';
import { startUiServer, type UiServer } from './ui-server.ts';

export interface UiEnv {
  server: TestServer;
  ui: UiServer;
  /** The server's public base URL. */
  pub: string;
}

export const UUID = '[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}';

export async function startUiEnv(dsn: string, overlayFor: (uiUrl: string) => Overlay): Promise<UiEnv> {
  const ui = await startUiServer();
  try {
    const server = await startTestServer(dsn, overlayFor(ui.url));
    ui.setPublicUrl(server.publicUrl);
    return { server, ui, pub: server.registry.urls.public };
  } catch (err) {
    await ui.close();
    throw err;
  }
}

export async function stopUiEnv(env: UiEnv | undefined): Promise<void> {
  await env?.server.close();
  await env?.ui.close();
}

/** A fresh e-mail address. */
export const address = (label: string) => `${label}-${randomUUID().slice(0, 8)}@example.com`;
/** The `flow` query parameter of a URL. */
export const flowIdOf = (url: string | undefined) => (url ? new URL(url).searchParams.get('flow') : null);
/** Matches the UI's page of a flow of this kind, capturing its id. */
export const uiFlowUrl = (env: UiEnv, kind: string) => new RegExp(`^${env.ui.url}/${kind}\\?flow=(${UUID})$`);

/** A fresh browser context for one scenario; failures report where the browser was and what the UI did. */
export async function inBrowser(browser: Browser, env: UiEnv, run: (page: Page, context: BrowserContext) => Promise<void>): Promise<void> {
  const context = await browser.newContext();
  context.setDefaultTimeout(15_000);
  const page = await context.newPage();
  const uiSeen = env.ui.requests.length;
  const apiSeen = env.ui.apiCalls.length;
  try {
    await run(page, context);
  } catch (err) {
    const html = (await page.content().catch(() => '')).slice(0, 4000);
    const calls = env.ui.apiCalls.slice(apiSeen).map((c) => `${c.path} -> ${c.status}${c.error ? ` ${c.error}` : ''}`).join(', ');
    throw new Error(`${err instanceof Error ? err.message : String(err)}\n  page: ${page.url()}\n  ui requests: ${env.ui.requests.slice(uiSeen).join(', ')}\n  ui api calls: ${calls}\n  html: ${html}`, { cause: err });
  } finally {
    await context.close();
  }
}
