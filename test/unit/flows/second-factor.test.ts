/**
 * Second factors through the flow service on the in-memory store (no HTTP, no database): what the engine adds around
 * the TOTP and backup-code methods — the key a settings form shows is the one its next submit is checked against,
 * concurrent uses of one code let exactly one through, a step-up continues the caller's session, and the metrics.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { totpCode } from '../../support/totp.ts';
import { createHarness, kratosError, node, type Harness, type Json } from './harness.ts';

let h: Harness;
beforeAll(async () => {
  h = await createHarness({ selfservice: { methods: { totp: { enabled: true }, lookup_secret: { enabled: true } } } });
});
afterAll(async () => {
  await h?.close();
});

const secretOf = (flow: Json): string => node(flow, 'totp_secret_key')?.attributes.text.context.secret
  ?? flow.ui.nodes.find((n: Json) => n.attributes.id === 'totp_secret_key').attributes.text.context.secret;

/** A fresh time step, so a code computed now is the one the service checks. */
function nextStep(): void {
  const now = h.clock.now().getTime();
  h.clock.advance(30_000 - (now % 30_000) + 1_000);
}

async function signedIn() {
  const { email, password, identity } = await h.identity();
  const client = h.client('api');
  expect((await client.login(email, password)).status).toBe(200);
  return { client, email, password, identity };
}

async function enrol(client: ReturnType<Harness['client']>) {
  const flow = await client.flow('settings');
  const secret = secretOf(flow);
  nextStep();
  const answer = await client.submit('settings', flow.id, { method: 'totp', totp_code: await totpCode(h.clock.now(), 0, secret) });
  expect(answer.status).toBe(200);
  return { flowId: flow.id, secret };
}

describe('TOTP in settings', () => {
  it('shows the same key on every read of a flow, and again a stable new one after unlinking in that flow', async () => {
    const { client } = await signedIn();
    const flow = await client.flow('settings');
    const again = (await client.get('settings', flow.id)).body as Json;
    expect(secretOf(again)).toBe(secretOf(flow));

    nextStep();
    expect((await client.submit('settings', flow.id, { method: 'totp', totp_code: await totpCode(h.clock.now(), 0, secretOf(flow)) })).status).toBe(200);
    const unlinked = (await client.submit('settings', flow.id, { totp_unlink: 'true' })).body as Json;
    const fresh = secretOf(unlinked);
    expect(fresh).not.toBe(secretOf(flow));
    // The key shown after the unlink is the one the flow keeps: reading the flow shows it, and a code for it enrols.
    expect(secretOf((await client.get('settings', flow.id)).body as Json)).toBe(fresh);
    nextStep();
    const enrolled = await client.submit('settings', flow.id, { method: 'totp', totp_code: await totpCode(h.clock.now(), 0, fresh) });
    expect(enrolled.status).toBe(200);
    expect(node(enrolled.body as Json, 'totp_unlink')).toBeDefined();
  });

  it('adds the method to the session, which becomes aal2 and keeps its id and token', async () => {
    const { client } = await signedIn();
    const before = (await h.registry.sessions.findByToken(client.token!))!;
    await enrol(client);
    const after = (await h.registry.sessions.findByToken(client.token!))!;
    expect(after.id).toBe(before.id);
    expect(after.aal).toBe('aal2');
    expect(after.authenticationMethods.map((m) => m.method)).toEqual(['password', 'totp']);
  });
});

describe('TOTP at aal2', () => {
  async function aal1Session(email: string, password: string) {
    const client = h.client('api');
    const answer = await client.login(email, password);
    expect(answer.status).toBe(200);
    // required_aal highest_available: the password alone proves one factor; the identity is withheld.
    expect((answer.body as Json).session.identity).toBeNull();
    expect((answer.body as Json).session.authenticator_assurance_level).toBe('aal1');
    return client;
  }

  it('lets exactly one of two concurrent logins with the same code through', async () => {
    const { client, email, password } = await signedIn();
    const { secret } = await enrol(client);
    const [a, b] = [await aal1Session(email, password), await aal1Session(email, password)];
    const [flowA, flowB] = [await a.flow('login', { aal: 'aal2' }), await b.flow('login', { aal: 'aal2' })];
    nextStep();
    const code = await totpCode(h.clock.now(), 0, secret);
    const answers = await Promise.all([
      a.submit('login', flowA.id, { method: 'totp', totp_code: code }),
      b.submit('login', flowB.id, { method: 'totp', totp_code: code }),
    ]);
    expect(answers.map((x) => x.status).sort()).toEqual([200, 400]);
    const refused = answers.find((x) => x.status === 400)!.body as Json;
    expect(refused.ui.messages.map((m: Json) => m.id)).toEqual([4000008]);
  });

  it('continues the caller\'s session (a native app keeps its token) and counts the check', async () => {
    const { client, email, password } = await signedIn();
    const { secret } = await enrol(client);
    const app = await aal1Session(email, password);
    const token = app.token!;
    const before = (await h.registry.sessions.findByToken(token))!;
    const flow = await app.flow('login', { aal: 'aal2' });
    expect(flow.ui.messages.map((m: Json) => m.id)).toEqual([1010004]);
    const failures = async () => (await h.registry.metrics.registry.getSingleMetric('idflow_second_factor_checks_total')!.get()).values
      .filter((v) => v.labels.result === 'failure' && v.labels.method === 'totp').reduce((n, v) => n + v.value, 0);
    const failedBefore = await failures();
    expect((await app.submit('login', flow.id, { method: 'totp', totp_code: '000000' === await totpCode(h.clock.now(), 0, secret) ? '111111' : '000000' })).status).toBe(400);
    expect(await failures()).toBe(failedBefore + 1);
    nextStep();
    const answer = await app.submit('login', flow.id, { method: 'totp', totp_code: await totpCode(h.clock.now(), 0, secret) });
    expect(answer.status).toBe(200);
    const body = answer.body as Json;
    expect(body.session_token).toBe(token);
    expect(body.session.id).toBe(before.id);
    expect(body.session.authenticator_assurance_level).toBe('aal2');
    expect(new Date(body.session.expires_at).getTime()).toBeGreaterThan(before.expiresAt.getTime());
  });

  it('a password submitted to an aal2 flow is no strategy there (Kratos CheckAAL)', async () => {
    const { client, email, password } = await signedIn();
    await enrol(client);
    const app = await aal1Session(email, password);
    const flow = await app.flow('login', { aal: 'aal2' });
    const answer = await app.submit('login', flow.id, { method: 'password', identifier: email, password });
    expect(answer.status).toBe(400);
    expect((answer.body as Json).ui.messages.map((m: Json) => m.id)).toEqual([4010002]);
  });

  it('refuses aal2 without a session, and an unknown aal', async () => {
    expect((await kratosError(h.client('api').create('login', { aal: 'aal2' }))).id).toBe('session_aal1_required');
    expect((await kratosError(h.client('api').create('login', { aal: 'aal3' }))).status).toBe(400);
  });
});

describe('backup codes', () => {
  it('lets exactly one of two concurrent logins with the same code through', async () => {
    const { client, email, password } = await signedIn();
    const settings = await client.flow('settings');
    const shown = (await client.submit('settings', settings.id, { lookup_secret_regenerate: true })).body as Json;
    const codes: string[] = shown.ui.nodes.find((n: Json) => n.attributes.id === 'lookup_secret_codes').attributes.text.context.secrets.map((m: Json) => m.context.secret);
    expect(codes).toHaveLength(12);
    expect((await client.submit('settings', settings.id, { lookup_secret_confirm: true })).status).toBe(200);

    const apps = [h.client('api'), h.client('api')];
    for (const app of apps) expect((await app.login(email, password)).status).toBe(200);
    const flows = await Promise.all(apps.map((app) => app.flow('login', { aal: 'aal2' })));
    const answers = await Promise.all(apps.map((app, i) => app.submit('login', flows[i].id, { method: 'lookup_secret', lookup_secret: codes[0] })));
    expect(answers.map((x) => x.status).sort()).toEqual([200, 400]);
    expect((answers.find((x) => x.status === 400)!.body as Json).ui.messages.map((m: Json) => m.id)).toEqual([4000012]);
  });
});
