import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from '../../support/server.ts';
import { FAST_WORKER, startSmtpServer, type TestSmtpServer } from '../../support/smtp-server.ts';
import { expectResponse } from '../../support/openapi.ts';
import { CookieJar } from '../../support/cookie-jar.ts';

type Json = any;

describe('recovery by link, and expired codes', () => {
  let smtp: TestSmtpServer;
  let linkServer: TestServer;
  let shortCodes: TestServer;

  beforeAll(async () => {
    smtp = await startSmtpServer();
    const base = { courier: { smtp: { connection_uri: smtp.uri() }, worker: FAST_WORKER } };
    linkServer = await startTestServer('memory', { ...base, selfservice: { flows: { recovery: { use: 'link' } }, methods: { link: { enabled: true } } } });
    shortCodes = await startTestServer('memory', { ...base, selfservice: { methods: { code: { config: { lifespan: '10m' } } } } });
  });
  afterAll(async () => {
    await linkServer?.close();
    await shortCodes?.close();
    await smtp?.close();
  });

  async function mailText(address: string): Promise<string> {
    for (let i = 0; i < 100; i++) {
      const mail = smtp.mails.find((m) => m.envelope.to.includes(address));
      if (mail) return mail.parsed.text ?? '';
      await new Promise((r) => setTimeout(r, 50));
    }
    throw new Error(`no mail to ${address}`);
  }

  it('mails a single-use link that logs the browser in and opens the settings UI', async () => {
    const email = `link-${crypto.randomUUID()}@example.com`;
    await linkServer.identityApi.createIdentity({ createIdentityBody: { schema_id: 'default', traits: { email } } });
    const jar = new CookieJar();
    const flow = await (await jar.fetch(`${linkServer.publicUrl}/self-service/recovery/browser`, { headers: { accept: 'application/json' } })).json();
    expect(flow.ui.nodes.find((n: Json) => n.attributes.name === 'method').attributes.value).toBe('link');
    const csrf = flow.ui.nodes.find((n: Json) => n.attributes.name === 'csrf_token').attributes.value;
    const sent = await jar.fetch(`${linkServer.publicUrl}/self-service/recovery?flow=${flow.id}`, {
      method: 'POST', headers: { 'content-type': 'application/json', accept: 'application/json' }, body: JSON.stringify({ method: 'link', email, csrf_token: csrf }),
    });
    const sentBody = await sent.json();
    expectResponse('updateRecoveryFlow', 200, sentBody);
    expect(sentBody.ui.messages.map((m: Json) => m.id)).toEqual([1060002]);
    const link = /(https?:\/\/\S+token=[A-Za-z0-9]+)/.exec(await mailText(email))![1];
    const url = new URL(link);
    // A wrong token lands on the same flow, which says the link is invalid or used (Kratos's 4060004).
    const forged = new URL(url);
    forged.searchParams.set('token', 'x'.repeat(32));
    const wrong = await jar.fetch(`${linkServer.publicUrl}${forged.pathname}${forged.search}`);
    expect(wrong.status).toBe(303);
    expect(wrong.headers.get('location')).toContain(`flow=${flow.id}`);
    const afterWrong = await (await jar.fetch(`${linkServer.publicUrl}/self-service/recovery/flows?id=${flow.id}`, { headers: { accept: 'application/json' } })).json();
    expect(afterWrong.ui.messages.map((m: Json) => m.id)).toEqual([4060004]);
    const click = await jar.fetch(`${linkServer.publicUrl}${url.pathname}${url.search}`);
    expect(click.status).toBe(303);
    expect(click.headers.get('location')).toMatch(/\/settings\?flow=/);
    expect((await jar.fetch(`${linkServer.publicUrl}/sessions/whoami`)).status).toBe(200);
    const again = await new CookieJar().fetch(`${linkServer.publicUrl}${url.pathname}${url.search}`);
    expect(again.headers.get('location')).not.toMatch(/\/settings\?flow=/);
  });

  it('refuses an expired code with the Kratos message id', async () => {
    const email = `expiry-${crypto.randomUUID()}@example.com`;
    await shortCodes.identityApi.createIdentity({ createIdentityBody: { schema_id: 'default', traits: { email } } });
    const flow = await shortCodes.frontendApi.createNativeRecoveryFlow();
    await shortCodes.frontendApi.updateRecoveryFlow({ flow: flow.id, updateRecoveryFlowBody: { method: 'code', email } });
    const code = /\b(\d{6})\b/.exec(await mailText(email))![1];
    shortCodes.clock.advance(10 * 60_000 + 1000);
    const res = await shortCodes.frontendApi.updateRecoveryFlowRaw({ flow: flow.id, updateRecoveryFlowBody: { method: 'code', code } });
    const body = await res.raw.json();
    expectResponse('updateRecoveryFlow', 200, body);
    expect(body.state).toBe('sent_email');
    expect(body.ui.messages.map((m: Json) => m.id)).toEqual([4060006]);
  });
});
