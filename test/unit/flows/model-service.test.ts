/**
 * The model-based paths of every flow machine (test/support/flow-models.ts), replayed in-process against the flow
 * service on the in-memory store: each client event becomes the call a Kratos client's request would make, and the
 * answer must show what the real machine, stepped through the same events, predicts (state, ui messages, node
 * messages, success bodies). The same paths as test/e2e/model/model-replay.test.ts replays over HTTP, without a
 * server or a database.
 */
import { plainActionBody, testLoginProvider } from '../../support/model-actions.ts';
import { startOpenIdProvider, type TestOpenIdProvider } from '../../support/oidc-provider.ts';
import { CookieJar } from '../../support/cookie-jar.ts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AnyMachineSnapshot } from 'xstate';
import { KratosError } from '../../../src/errors/kratos-error.ts';
import type { FlowAnswer } from '../../../src/flows/flow-request.ts';
import type { FlowKind } from '../../../src/persistence/store.ts';
import { parseDuration } from '../../../src/x/duration.ts';
import { FLOW_MODELS } from '../../support/flow-models.ts';
import { testTotpUrl, totpCode, wrongTotpCode } from '../../support/totp.ts';
import { coveringPaths, generatePaths, measureCoverage, openFlow, stepAction, topState, type MachineModelSpec } from '../../support/machine-model.ts';
import { createHarness, PUBLIC, type Client, type Harness, type Json } from './harness.ts';
import { HOOK_REFUSALS, HookReceiver, modelHook, modelHookFlows } from '../../support/hook-receiver.ts';

/** What one client action produced: the flow service's answer, or the error it threw. */
type Result = { answer: FlowAnswer; error?: undefined } | { answer?: undefined; error: KratosError };

interface PathRun {
  harness: Harness;
  client: Client;
  email: string;
  password: string;
  flowId?: string;
  counter: number;
  /** Recovery/verification: the address the flow's code went to, an admin-issued code. */
  address?: string;
  issuedCode?: string;
  /** A test login: the flow's CSRF bearer. */
  bearer?: string;
}

const PASSWORD = 'the model passphrase 1';
const freshEmail = () => `model-${crypto.randomUUID()}@example.com`;

let withHook: Harness;
let withoutHook: Harness;
/** Login at aal2: TOTP and the code as second factors (a code is a first factor on the other two). */
let secondFactors: Harness;
/** Test logins of an OpenID Connect provider (the real test OP on loopback). */
let tester: Harness;
let op: TestOpenIdProvider;
/** Web hooks before saving (login, registration, settings): pass, unless a refusal action armed the receiver. */
const receiver = new HookReceiver();
beforeAll(async () => {
  const base = await receiver.listen();
  op = await startOpenIdProvider();
  const provider = testLoginProvider(op.issuer);
  await op.start([{ client_id: provider.client_id, client_secret: provider.client_secret, redirect_uris: [`${PUBLIC}self-service/methods/oidc/callback/op1`] }]);
  // The models are Kratos's machines: a sign-up with a taken e-mail is refused (4000007), not mitigated.
  const kratosAnswers = { account_enumeration: { mitigate: false } };
  [withHook, withoutHook, secondFactors, tester] = await Promise.all([
    createHarness({
      security: kratosAnswers,
      selfservice: {
        flows: {
          verification: { enabled: true },
          recovery: { enabled: true },
          ...modelHookFlows(base),
        },
        methods: { lookup_secret: { enabled: true }, code: { passwordless_enabled: true } },
      },
    }),
    createHarness({
      security: kratosAnswers,
      selfservice: { methods: { code: { passwordless_enabled: true } }, flows: { registration: { after: { password: { hooks: [] }, code: { hooks: [] } } } } },
    }),
    createHarness({ selfservice: { methods: { totp: { enabled: true }, code: { mfa_enabled: true } }, flows: { login: { after: { hooks: [modelHook(base, 'login')] } } } } }),
    createHarness({ selfservice: { methods: { oidc: { enabled: true, config: { providers: [provider] } } } } }),
  ]);
});
afterAll(async () => {
  await withHook?.close();
  await withoutHook?.close();
  await secondFactors?.close();
  await tester?.close();
  await op?.close();
  await receiver.close();
});

async function attempt(call: () => Promise<FlowAnswer>): Promise<Result> {
  try {
    return { answer: await call() };
  } catch (err) {
    if (err instanceof KratosError) return { error: err };
    throw err;
  }
}

const createIdentity = (harness: Harness, email: string, password: string) => harness.identity(email, password);

/** Opens the flow in-process the way the model's opening event says. */
async function open(kind: FlowKind, opening: string, run: PathRun): Promise<void> {
  if (kind === 'login' && opening === 'browser test login') {
    run.harness = tester;
    run.client = tester.client('browser');
    const flow = await tester.registry.flowService.createTestLogin({ provider_id: 'op1' }, `${PUBLIC}admin/test-login-flows`) as Json;
    run.flowId = flow.id;
    run.bearer = flow.ui.nodes.find((n: Json) => n.attributes.name === 'csrf_token').attributes.value;
    return;
  }
  if (kind === 'registration' && opening === 'without session hook') {
    run.harness = withoutHook;
    run.client = withoutHook.client('api');
  }
  if (kind === 'settings') {
    await createIdentity(run.harness, run.email, run.password);
    expect((await run.client.login(run.email, run.password)).status).toBe(200);
  }
  if (kind === 'login' && opening.startsWith('api at aal2')) {
    // An identity with an authenticator app (and a code address) logs in with its password (aal1), then steps up.
    run.harness = secondFactors;
    run.client = secondFactors.client('api');
    await run.harness.registry.identities.create({
      schema_id: 'default', traits: { email: run.email },
      credentials: { password: { config: { password: run.password } }, totp: { config: { totp_url: testTotpUrl(run.email) } } },
    });
    const first = await run.client.login(run.email, run.password);
    expect(first.status).toBe(200);
    expect((first.body as Json).session.authenticator_assurance_level).toBe('aal1');
    run.flowId = (await run.client.flow('login', { aal: 'aal2' })).id;
    return;
  }
  if (kind === 'recovery' || kind === 'verification' || kind === 'login') await createIdentity(run.harness, run.email, run.password);
  run.flowId = (await run.client.flow(kind)).id;
}

const post = (run: PathRun, kind: FlowKind, body: Record<string, unknown>) => attempt(() => run.client.submit(kind, run.flowId!, body));

const sendCode = (run: PathRun, kind: FlowKind, address: string) => {
  run.address = address;
  run.issuedCode = undefined;
  return post(run, kind, { method: 'code', email: address });
};

async function lastCode(run: PathRun): Promise<string | undefined> {
  if (run.issuedCode) return run.issuedCode;
  if (!run.address || (await run.harness.mails(run.address)).length === 0) return undefined;
  return run.harness.lastCode(run.address);
}

const wrongCode = async (run: PathRun) => ((await lastCode(run)) === '000000' ? '111111' : '000000');

/** Performs a model client action through the flow service. */
async function act(kind: FlowKind, refusalOrAction: string, run: PathRun): Promise<Result> {
  run.counter++;
  const action = HOOK_REFUSALS[refusalOrAction] ?? refusalOrAction;
  if (action !== refusalOrAction) receiver.refuseNext();
  const { harness, client } = run;
  const plain = plainActionBody(kind, action, run);
  if (plain) return post(run, kind, plain);
  if (kind === 'recovery' || kind === 'verification') {
    switch (action) {
      case 'submit a known address':
        return sendCode(run, kind, run.email);
      case 'submit an unknown address':
        return sendCode(run, kind, `nobody-${crypto.randomUUID()}@example.com`);
      case 'ask for a new code':
        return sendCode(run, kind, run.address!);
      case 'a code is issued out of band': {
        if (kind === 'recovery') {
          const identity = (await harness.store.identities.findByCredentialIdentifier('password', run.email))!;
          const issued = await harness.registry.flowService.issueRecovery({
            identity, address: run.email, kind: 'code', flowType: 'api', expiresAt: new Date(harness.clock.now().getTime() + 60 * 60_000),
          });
          run.flowId = issued.flowId;
          run.address = run.email;
          run.issuedCode = issued.secret;
          return attempt(() => client.get('recovery', run.flowId!));
        }
        // Verification: signing up with verification on starts a flow with the code already mailed.
        run.email = freshEmail();
        const signUp = harness.client('api');
        const registration = await signUp.flow('registration');
        const registered = await signUp.submit('registration', registration.id, { method: 'password', traits: { email: run.email }, password: run.password });
        const show = (registered.body as Json).continue_with.find((c: Json) => c.action === 'show_verification_ui');
        run.flowId = show.flow.id;
        run.address = run.email;
        return attempt(() => client.get('verification', run.flowId!));
      }
      case 'submit a wrong code':
        return post(run, kind, { method: 'code', code: await wrongCode(run) });
      case 'use up the attempts with wrong codes': {
        // Kratos counts every code submission on the flow; the one after max_submissions (5) starts a new flow.
        let result: Result | undefined;
        for (let i = 0; i < 7; i++) {
          result = await post(run, kind, { method: 'code', code: await wrongCode(run) });
          if (result.error || (result.answer.body as Json).id !== run.flowId) break;
          expect((result.answer.body as Json).ui.messages.map((m: Json) => m.id)).toEqual([kind === 'recovery' ? 4060006 : 4070006]);
        }
        // This address is locked for the code lifespan now: later steps use a fresh known address.
        run.email = freshEmail();
        await createIdentity(harness, run.email, run.password);
        return result!;
      }
      case 'submit the mailed code':
        return post(run, kind, { method: 'code', code: run.issuedCode ?? (await harness.lastCode(run.address!)) });
      default:
        throw new Error(`no in-process action for ${kind}:${action}`);
    }
  }
  const mailed = () => {
    run.address = run.email;
    run.issuedCode = undefined;
  };
  switch (`${kind}:${action}`) {
    case 'login:complete the test login at the provider': {
      // The browser submits the button with the flow's bearer, logs in at the provider, and the callback route answers.
      const sub = `model-${run.counter}-${crypto.randomUUID()}`;
      op.setClaims(sub, { email: run.email });
      const submitted = await client.submit('login', run.flowId!, { csrf_token: run.bearer, provider: 'op1' });
      expect(submitted.status).toBe(422);
      const callbackUrl = await op.authorize(new CookieJar(), submitted.browserLocation!, { login: sub });
      const route = harness.registry.methods.flatMap((m) => m.routes ?? []).find((r) => r.method === 'GET' && r.path.endsWith('/:provider'))!;
      const routed = await route.handle({ path: callbackUrl.pathname, params: { provider: 'op1' }, query: Object.fromEntries(callbackUrl.searchParams), body: {} });
      if (routed.kind !== 'submit') throw new Error(`callback answered ${routed.kind}`);
      return attempt(() => client.submit(routed.flowKind, routed.flowId, routed.payload, {}, { callback: true }));
    }
    case 'login:ask for a login code':
      mailed();
      return post(run, kind, { method: 'code', identifier: run.email });
    case 'login:ask for a second-factor code':
      mailed();
      return post(run, kind, { address: run.email });
    case 'login:ask for the code again':
      return post(run, kind, { method: 'code', identifier: run.email, resend: 'code' });
    case 'login:submit a wrong login code':
      return post(run, kind, { method: 'code', identifier: run.email, code: await wrongCode(run) });
    case 'login:submit the login code':
      return post(run, kind, { method: 'code', identifier: run.email, code: await harness.lastCode(run.email) });
    case 'registration:ask for a sign-up code':
      mailed();
      return post(run, kind, { method: 'code', traits: { email: run.email } });
    case 'registration:ask for the sign-up code again':
      return post(run, kind, { method: 'code', resend: 'code', traits: { email: run.email } });
    case 'registration:submit a wrong sign-up code':
      return post(run, kind, { method: 'code', traits: { email: run.email }, code: await wrongCode(run) });
    case 'registration:go back from the code form':
      return post(run, kind, { method: 'profile', screen: 'credential-selection', traits: { email: run.email } });
    case 'registration:submit the sign-up code':
      return post(run, kind, { method: 'code', traits: { email: run.email }, code: await harness.lastCode(run.email) });
    case 'login:submit the authenticator code':
      return post(run, kind, { method: 'totp', totp_code: await totpCode(harness.clock.now()) });
    case 'login:submit a wrong authenticator code':
      return post(run, kind, { method: 'totp', totp_code: await wrongTotpCode(harness.clock.now()) });
    case 'registration:submit password for a taken e-mail': {
      const taken = freshEmail();
      await createIdentity(harness, taken, 'some other passphrase');
      return post(run, kind, { method: 'password', traits: { email: taken }, password: run.password });
    }
    case 'settings:change the password with an old login': {
      // The login gets older than privileged_session_max_age: the change waits for a re-authentication.
      harness.clock.advance(parseDuration(harness.registry.config.selfservice.flows.settings.privileged_session_max_age) + 60_000);
      const result = await post(run, kind, { method: 'password', password: `not applied ${run.counter}` });
      // Re-authenticate (refresh login) so later steps of the path have a privileged session again.
      const refreshed = await client.login(run.email, run.password, { refresh: true });
      expect(refreshed.status).toBe(200);
      return result;
    }
    default:
      throw new Error(`no in-process action for ${kind}:${action}`);
  }
}

/** The answer must show what the machine predicts. */
async function check(kind: FlowKind, result: Result, predicted: AnyMachineSnapshot, run: PathRun, where: string, action: string): Promise<void> {
  const { client } = run;
  if (action === 'use up the attempts with wrong codes') {
    // The flow is replaced: recovery answers with the new flow, verification with 410 naming it.
    if (kind === 'verification') {
      expect(result.error?.status, where).toBe(410);
      expect(result.error?.id, where).toBe('self_service_flow_replaced');
      run.flowId = result.error!.toJSON().use_flow_id as string;
      const fresh = (await client.get('verification', run.flowId)).body as Json;
      expect(fresh.ui.messages.map((m: Json) => m.id), where).toEqual([4000001]);
      return;
    }
    expect(result.error, where).toBeUndefined();
    const body = result.answer!.body as Json;
    expect(result.answer!.status, where).toBe(200);
    expect(body.id, where).not.toBe(run.flowId);
    expect(body.state, where).toBe('choose_method');
    expect(body.ui.messages.map((m: Json) => m.id), where).toEqual([4000001]);
    run.flowId = body.id;
    return;
  }
  if (action === 'complete the test login at the provider') {
    // The provider's answer is recorded; the browser goes to the results page, signed in nowhere.
    expect(result.error, where).toBeUndefined();
    expect(result.answer!.status, where).toBe(303);
    expect(result.answer!.browserLocation, where).toBe(`${new URL(PUBLIC).origin}/session/test-oidc?flow=${run.flowId}`);
    expect(client.token, where).toBeUndefined();
    const stored = (await client.get('login', run.flowId!)).body as Json;
    expect(stored.state, where).toBe(topState(predicted));
    expect(stored.test_context.debug_payload.jsonnet_output.identity.traits.email, where).toBe(run.email);
    return;
  }
  if (action === 'change the password with an old login') {
    expect(result.error?.status, where).toBe(403);
    expect(result.error?.id, where).toBe('session_refresh_required');
    expect(result.error?.toJSON().redirect_browser_to, where).toContain('/self-service/login/browser?refresh=true');
    const stored = (await client.get('settings', run.flowId!)).body as Json;
    expect(stored.state, where).toBe(topState(predicted));
    return;
  }
  expect(result.error, `${where}: ${result.error?.reason ?? ''}`).toBeUndefined();
  const { status } = result.answer!;
  const body = result.answer!.body as Json;
  const state = topState(predicted);
  const ctx = predicted.context as { messages: Array<{ id: number }>; fieldMessages: Record<string, Array<{ id: number }>>; sessionAfter: string[]; active?: string };
  const expectMessages = () => {
    expect((body.ui.messages ?? []).map((m: Json) => m.id), where).toEqual(ctx.messages.map((m) => m.id));
    for (const [name, messages] of Object.entries(ctx.fieldMessages)) {
      const node = body.ui.nodes.find((n: Json) => n.attributes.name === name);
      expect(node?.messages.map((m: Json) => m.id), `${where}: node ${name}`).toEqual(messages.map((m) => m.id));
    }
  };
  if (kind === 'recovery' || kind === 'verification') {
    const formProblem = Object.keys(ctx.fieldMessages).length > 0;
    expect(status, where).toBe(formProblem ? 400 : 200);
    expect(body.state, where).toBe(state);
    expectMessages();
    if (kind === 'recovery' && state === 'passed_challenge') {
      expect(body.continue_with.map((c: Json) => c.action), where).toEqual(['set_ory_session_token', 'show_settings_ui']);
    }
    return;
  }
  if (state === 'passed_challenge') {
    expect(status, where).toBe(200);
    if (kind === 'login') expect(body.session_token, where).toMatch(/^ory_st_/);
    if (kind === 'login' && action === 'submit the authenticator code') {
      // The step-up continues the session the password opened (a native app keeps its token), now aal2.
      expect(body.session.authenticator_assurance_level, where).toBe('aal2');
      expect(body.session.authentication_methods.map((m: Json) => m.method), where).toEqual(['password', 'totp']);
    }
    if (kind === 'registration') {
      expect(body.identity.traits.email, where).toBe(run.email);
      expect(Boolean(body.session_token), where).toBe(ctx.sessionAfter.includes(ctx.active ?? ''));
    }
    const stored = (await client.get(kind, run.flowId!)).body as Json;
    expect(stored.state, where).toBe('passed_challenge');
    return;
  }
  // A method's own next screen (new backup codes) is no error.
  expect(status, where).toBe(state === 'success' || action === 'generate backup codes' ? 200 : 400);
  expect(body.state, where).toBe(state);
  expectMessages();
}

describe('model-based paths, in-process on the memory store', () => {
  for (const [kind, spec] of Object.entries(FLOW_MODELS) as Array<[FlowKind, MachineModelSpec]>) {
    // As over HTTP: the covering subset, plus the shorter generated paths (up to 15) for variety of client behaviour.
    const all = generatePaths(spec);
    const covering = coveringPaths(spec, all);
    const short = all.filter((p) => p.events.length <= 4 && !covering.includes(p)).slice(0, 15);
    const paths = [...covering, ...short];

    it(`${kind}: ${paths.length} generated paths cover every state and transition and pass through the flow service`, async () => {
      const report = measureCoverage(spec, paths).report();
      expect(report.missingStates).toEqual([]);
      expect(report.missingTransitions).toEqual([]);
      expect(report.complete).toBe(true);
      for (const path of paths) {
        const run: PathRun = { harness: withHook, client: withHook.client('api'), email: freshEmail(), password: PASSWORD, counter: 0 };
        let snapshot: AnyMachineSnapshot | undefined;
        for (const event of path.events) {
          const where = `${path.description} @ ${event}`;
          if (event.startsWith('open:')) {
            snapshot = openFlow(spec, event.slice(5));
            await open(kind, event.slice(5), run);
            continue;
          }
          snapshot = stepAction(spec, snapshot!, event);
          const result = await act(kind, event, run).catch((err: Error) => {
            throw new Error(`${where}: ${err.message}`);
          });
          await check(kind, result, snapshot, run, where, event);
        }
      }
    });
  }
});
