/**
 * `npm run screenshots`: the README's pictures of the built-in UI, taken in Chromium from a real server (in-memory
 * SQLite, the UI on a free port) as a newcomer goes through it — sign-up, the signed-in home page, the mail viewer,
 * settings, sign-in. Writes docs/screenshots/*.png; run it after changing the UI.
 */
import { mkdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { launchChromium } from './chromium.ts';
import { deepMerge, startTestServer } from './server.ts';
import { builtInUiOverlay } from './builtin-ui.ts';
import { freePort } from './free-port.ts';

const OUT = fileURLToPath(new URL('../../docs/screenshots/', import.meta.url));

const port = await freePort();
const ui = `http://127.0.0.1:${port}`;
// Nothing listens on port 9: the mail stays in the outbox, where the viewer shows it.
const server = await startTestServer('memory', deepMerge(builtInUiOverlay(ui), { courier: { smtp: { connection_uri: 'smtp://127.0.0.1:9/' } } }));
const browser = await launchChromium();
try {
  mkdirSync(OUT, { recursive: true });
  const context = await browser.newContext({ viewport: { width: 760, height: 620 } });
  const page = await context.newPage();
  const shot = async (name: string) => {
    await page.screenshot({ path: `${OUT}${name}.png` });
    process.stdout.write(`docs/screenshots/${name}.png\n`);
  };
  await page.goto(`${ui}/`);
  await page.click('text=Create an account');
  await shot('sign-up');
  await page.fill('input[name="traits.email"]', 'ada@example.com');
  await page.fill('input[name="traits.name.first"]', 'Ada');
  await page.click('button[name="method"][value="profile"]');
  await page.fill('input[name="password"]', 'correct horse battery staple');
  await page.click('button[name="method"][value="password"]');
  await shot('signed-in');
  await page.goto(`${ui}/mail`);
  await shot('mail-viewer');
  await page.goto(`${ui}/`);
  await page.click('main >> text=Account settings');
  await shot('settings');
  await page.click('header >> text=Sign out');
  await page.click('text=Sign in');
  await shot('sign-in');
  await context.close();
} finally {
  await browser.close();
  await server.close();
}
