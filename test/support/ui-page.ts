/**
 * Reading the test UI (test/support/ui-server.ts) in Chromium: the navigation hops a click or a visit caused, and the
 * messages the page shows (`ui.messages`, a node's messages) with their Kratos ids.
 */
import type { Page, Request as PwRequest } from 'playwright-core';

/** One hop of a navigation chain: the request and the status/Location it was answered with. */
export interface Hop {
  method: string;
  url: string;
  status?: number;
  location?: string;
}

/**
 * Runs `action` (a click or a goto) and returns every main-frame navigation hop it caused, redirects included,
 * once the final page has loaded.
 */
export async function trace(page: Page, action: () => Promise<unknown>): Promise<Hop[]> {
  const requests: PwRequest[] = [];
  const onRequest = (request: PwRequest) => {
    if (request.isNavigationRequest() && request.frame() === page.mainFrame()) requests.push(request);
  };
  page.on('request', onRequest);
  try {
    await Promise.all([page.waitForEvent('framenavigated'), action()]);
    await page.waitForLoadState('load');
  } finally {
    page.off('request', onRequest);
  }
  const hops: Hop[] = [];
  for (const request of requests) {
    const response = await request.response();
    hops.push({ method: request.method(), url: request.url(), status: response?.status(), location: response?.headers().location });
  }
  return hops;
}

export const click = (page: Page, selector: string) => trace(page, () => page.click(selector));
export const visit = (page: Page, url: string) => trace(page, () => page.goto(url));

export interface ShownMessage {
  id: number;
  type: string;
  text: string;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  context?: any;
}

export async function shown(page: Page, selector: string): Promise<ShownMessage[]> {
  return page.$$eval(selector, (elements) => elements.map((e) => {
    const el = e as HTMLElement;
    return { id: Number(el.dataset.messageId), type: el.dataset.messageType ?? '', text: el.textContent ?? '', context: el.dataset.context ? JSON.parse(el.dataset.context) : undefined };
  }));
}
/** `ui.messages` as the UI shows them. */
export const uiMessages = (page: Page) => shown(page, '#messages .ui-message');
/** The messages of the node(s) named `name`. */
export const nodeMessages = (page: Page, name: string) => shown(page, `.node[data-node="${name}"] .node-message`);
export const ids = (messages: ShownMessage[]) => messages.map((m) => m.id);

/** `fetch()` from the page (the SPA page's `window.spa.call`: `Accept: application/json`, cookies included). */
export function spa(
  page: Page, path: string, options: { method?: string; json?: unknown; form?: Array<[string, string]> } = {},
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
): Promise<{ status: number; url: string; body: any }> {
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  return page.evaluate(([p, o]) => (window as any).spa.call(p, o), [path, options] as const);
}

/** The path and query of an absolute `ui.action` (the SPA calls it on its own origin). */
export const pathOf = (url: string) => {
  const u = new URL(url);
  return `${u.pathname}${u.search}`;
};
