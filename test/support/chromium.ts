import { afterAll, beforeAll } from 'vitest';
import { existsSync } from 'node:fs';
import { chromium, type Browser } from 'playwright-core';

/** Debian's Chromium, driven by playwright-core (which cannot download its own browser here). */
export const CHROMIUM = '/usr/bin/chromium';
/** Headless, and no background traffic: this machine's network is closed. */
export const CHROMIUM_ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run', '--disable-quic'];

/** Launches Chromium or fails with what to do about it. */
export async function launchChromium(): Promise<Browser> {
  if (!existsSync(CHROMIUM)) {
    throw new Error(`Chromium is not installed at ${CHROMIUM}: run \`apt-get update && apt-get install -y chromium\`.`);
  }
  try {
    return await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS, timeout: 20_000 });
  } catch (err) {
    throw new Error(`Chromium at ${CHROMIUM} could not be started by playwright-core: ${err instanceof Error ? err.message : String(err)}`);
  }
}

/** One Chromium for a test file: launched before its tests, closed after them; call the getter inside tests. */
export function useChromium(): () => Browser {
  let browser: Browser | undefined;
  beforeAll(async () => {
    browser = await launchChromium();
  });
  afterAll(async () => {
    await browser?.close();
  });
  return () => {
    if (!browser) throw new Error('Chromium is not running (useChromium() registers it in beforeAll)');
    return browser;
  };
}
