/**
 * `GET /.well-known/change-password` (W3C change-password URL, Kratos getWellKnownChangePassword): a 303 to the
 * settings UI, or to the settings flow's browser start when no settings UI is configured.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from '../../support/server.ts';

describe('/.well-known/change-password', () => {
  let withUi: TestServer;
  let withoutUi: TestServer;

  beforeAll(async () => {
    withUi = await startTestServer('memory', { selfservice: { flows: { settings: { ui_url: 'http://127.0.0.1:4455/settings' } } } });
    withoutUi = await startTestServer('memory', { selfservice: { flows: { settings: { ui_url: '' } } } });
  });
  afterAll(async () => {
    await withUi?.close();
    await withoutUi?.close();
  });

  it('sends the browser to the settings UI with 303', async () => {
    const res = await fetch(`${withUi.publicUrl}/.well-known/change-password`, { redirect: 'manual' });
    expect(res.status).toBe(303);
    expect(res.headers.get('location')).toBe('http://127.0.0.1:4455/settings');
  });

  it('falls back to the settings flow\'s browser start without a settings UI', async () => {
    const res = await fetch(`${withoutUi.publicUrl}/.well-known/change-password`, { redirect: 'manual' });
    expect(res.status).toBe(303);
    expect(res.headers.get('location')).toBe(`${withoutUi.registry.urls.public}self-service/settings/browser`);
  });
});
