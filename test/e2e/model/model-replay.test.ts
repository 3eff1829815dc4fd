/**
 * The model-based paths of every flow machine, replayed against the real HTTP server: each client event becomes
 * the HTTP request a Kratos client would send, and the response must show what the real machine, stepped
 * through the same events, predicts (state, ui messages, node messages, success bodies).
 */
import { parseDuration } from '../../../src/x/duration.ts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AnyMachineSnapshot } from 'xstate';
import { testDatabases } from '../../support/databases.ts';
import { startTestServer, type TestServer } from '../../support/server.ts';
import { expectResponse } from '../../support/openapi.ts';
import { FLOW_MODELS } from '../../support/flow-models.ts';
import { plainActionBody, testLoginProvider } from '../../support/model-actions.ts';
import { startOpenIdProvider, type TestOpenIdProvider } from '../../support/oidc-provider.ts';
import { CookieJar } from '../../support/cookie-jar.ts';
import { testTotpUrl, totpCode, wrongTotpCode } from '../../support/totp.ts';
import { FAST_WORKER, startSmtpServer, type TestSmtpServer } from '../../support/smtp-server.ts';
import { HOOK_REFUSALS, HookReceiver, modelHook, modelHookFlows } from '../../support/hook-receiver.ts';
import { coveringPaths, generatePaths, measureCoverage, openFlow, stepAction, topState, type MachineModelSpec } from '../../support/machine-model.ts';

type Json = any;
type FlowKind = 'login' | 'registration' | 'settings' | 'recovery' | 'verification';

interface PathRun {
  email: string;
  password: string;
  token?: string;
  flowId?: string;
  server: TestServer;
  counter: number;
  /** Recovery/verification: the address the flow's code went to, mails expected there, an admin-issued code. */
  address?: string;
  mailsTo: Record<string, number>;
  issuedCode?: string;
  /** A test login: the browser going through the provider, and the flow's CSRF bearer. */
  browser?: CookieJar;
  bearer?: string;
}

const OPERATION: Record<FlowKind, string> = {
  login: 'updateLoginFlow', registration: 'updateRegistrationFlow', settings: 'updateSettingsFlow',
  recovery: 'updateRecoveryFlow', verification: 'updateVerificationFlow',
};

for (const db of testDatabases()) {
  describe(`model-based paths over HTTP (${db.name})`, () => {
    let withHook: TestServer;
    let withoutHook: TestServer;
    /** Login at aal2: TOTP and the code as second factors (a code is a first factor on the other two). */
    let secondFactors: TestServer;
    /** Test logins of an OpenID Connect provider (the real test OP). */
    let tester: TestServer;
    let op: TestOpenIdProvider;
    let smtp: TestSmtpServer;
    const drops: Array<() => Promise<void>> = [];
    /** Web hooks before saving (login, registration, settings): pass, unless a refusal action armed the receiver. */
    const receiver = new HookReceiver();

    beforeAll(async () => {
      smtp = await startSmtpServer();
      const base = await receiver.listen();
      const overlay = {
        // The models are Kratos's machines: a sign-up with a taken e-mail is refused (4000007), not mitigated.
        security: { account_enumeration: { mitigate: false } },
        courier: { smtp: { connection_uri: smtp.uri() }, worker: FAST_WORKER },
        selfservice: { methods: { password: { config: { haveibeenpwned_enabled: false } } } },
      };
      const a = await db.create();
      const b = await db.create();
      const c = await db.create();
      const d = await db.create();
      drops.push(a.drop, b.drop, c.drop, d.drop);
      op = await startOpenIdProvider();
      tester = await startTestServer(d.dsn, {
        ...overlay,
        selfservice: { ...overlay.selfservice, methods: { ...overlay.selfservice.methods, oidc: { enabled: true, config: { providers: [testLoginProvider(op.issuer)] } } } },
      });
      const provider = testLoginProvider(op.issuer);
      await op.start([{ client_id: provider.client_id, client_secret: provider.client_secret, redirect_uris: [`${tester.publicUrl.replace(/\/?$/, '/')}self-service/methods/oidc/callback/op1`] }]);
      const passwordless = { ...overlay.selfservice.methods, code: { passwordless_enabled: true } };
      withHook = await startTestServer(a.dsn, {
        ...overlay,
        selfservice: {
          ...overlay.selfservice,
          flows: {
            verification: { enabled: true },
            ...modelHookFlows(base),
          },
          methods: { ...passwordless, lookup_secret: { enabled: true } },
        },
      });
      withoutHook = await startTestServer(b.dsn, {
        ...overlay,
        selfservice: { methods: passwordless, flows: { registration: { after: { password: { hooks: [] }, code: { hooks: [] } } } } },
      });
      secondFactors = await startTestServer(c.dsn, {
        ...overlay,
        selfservice: {
          ...overlay.selfservice,
          methods: { ...overlay.selfservice.methods, totp: { enabled: true }, code: { mfa_enabled: true } },
          flows: { login: { after: { hooks: [modelHook(base, 'login')] } } },
        },
      });
    });
    afterAll(async () => {
      await withHook?.close();
      await withoutHook?.close();
      await secondFactors?.close();
      await tester?.close();
      await op?.close();
      await smtp?.close();
      await receiver.close();
      for (const drop of drops) await drop();
    });

    const post = (run: PathRun, kind: FlowKind, body: Record<string, unknown>) =>
      fetch(`${run.server.publicUrl}/self-service/${kind}?flow=${run.flowId}`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', accept: 'application/json', ...(run.token ? { 'x-session-token': run.token } : {}) },
        body: JSON.stringify(body),
      });

    async function createIdentity(server: TestServer, email: string, password: string) {
      await server.identityApi.createIdentity({ createIdentityBody: { schema_id: 'default', traits: { email }, credentials: { password: { config: { password } } } } });
    }

    /** Opens the flow over HTTP the way the model's opening event says. */
    async function open(kind: FlowKind, opening: string, run: PathRun): Promise<void> {
      if (kind === 'login' && opening === 'browser test login') {
        run.server = tester;
        const res = await fetch(`${tester.adminUrl.replace(/\/?$/, '/')}admin/test-login-flows`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ provider_id: 'op1' }) });
        const flow = await res.json();
        expectResponse('createTestLoginFlow', res.status, flow);
        expect(res.status).toBe(201);
        run.flowId = flow.id;
        run.bearer = flow.ui.nodes.find((n: Json) => n.attributes.name === 'csrf_token').attributes.value;
        return;
      }
      if (kind === 'registration' && opening === 'without session hook') run.server = withoutHook;
      if (kind === 'settings') {
        await createIdentity(run.server, run.email, run.password);
        const login = await run.server.frontendApi.updateLoginFlow({
          flow: (await run.server.frontendApi.createNativeLoginFlow()).id,
          updateLoginFlowBody: { method: 'password', identifier: run.email, password: run.password },
        });
        run.token = login.session_token;
      }
      if (kind === 'login' && opening.startsWith('api at aal2')) {
        // An identity with an authenticator app (and a code address) logs in with its password (aal1), then steps up.
        run.server = secondFactors;
        await run.server.identityApi.createIdentity({
          createIdentityBody: {
            schema_id: 'default', traits: { email: run.email },
            credentials: { password: { config: { password: run.password } }, totp: { config: { totp_url: testTotpUrl(run.email) } } },
          },
        });
        const login = await run.server.frontendApi.updateLoginFlow({
          flow: (await run.server.frontendApi.createNativeLoginFlow()).id,
          updateLoginFlowBody: { method: 'password', identifier: run.email, password: run.password },
        });
        expect(login.session.authenticator_assurance_level).toBe('aal1');
        run.token = login.session_token;
      }
      if (kind === 'recovery' || kind === 'verification') await createIdentity(run.server, run.email, run.password);
      const aal = opening.startsWith('api at aal2') ? '?aal=aal2' : '';
      const res = await fetch(`${run.server.publicUrl}/self-service/${kind}/api${aal}`, { headers: run.token ? { 'x-session-token': run.token } : {} });
      expect(res.status).toBe(200);
      const flow = await res.json();
      run.flowId = flow.id;
    }

    /** The newest code mailed to `address` once `count` mails have arrived there. */
    async function mailedCode(address: string, count: number): Promise<string> {
      const mails = await smtp.waitForMails(0).then(async () => {
        for (let i = 0; i < 200; i++) {
          const to = smtp.mails.filter((m) => m.envelope.to.includes(address));
          if (to.length >= count) return to;
          await new Promise((r) => setTimeout(r, 25));
        }
        throw new Error(`expected ${count} mails to ${address}`);
      });
      return /\b(\d{6})\b/.exec(mails[count - 1].parsed.text ?? '')![1];
    }

    const sendCode = (run: PathRun, kind: FlowKind, address: string, known: boolean) => {
      run.address = address;
      run.issuedCode = undefined;
      if (known) run.mailsTo[address] = (run.mailsTo[address] ?? 0) + 1;
      return post(run, kind, { method: 'code', email: address });
    };

    /** Performs a model client action over HTTP. */
    async function act(kind: FlowKind, refusalOrAction: string, run: PathRun): Promise<Response> {
      run.counter++;
      const action = HOOK_REFUSALS[refusalOrAction] ?? refusalOrAction;
      if (action !== refusalOrAction) receiver.refuseNext();
      const plain = plainActionBody(kind, action, run);
      if (plain) return post(run, kind, plain);
      if (kind === 'recovery' || kind === 'verification') {
        switch (action) {
          case 'submit a known address':
            return sendCode(run, kind, run.email, true);
          case 'submit an unknown address':
            return sendCode(run, kind, `nobody-${crypto.randomUUID()}@example.com`, false);
          case 'ask for a new code':
            return sendCode(run, kind, run.address!, run.address === run.email);
          case 'a code is issued out of band': {
            if (kind === 'recovery') {
              const identity = (await run.server.identityApi.listIdentities({ credentialsIdentifier: run.email }))[0];
              const issued = await run.server.identityApi.createRecoveryCodeForIdentity({ createRecoveryCodeForIdentityBody: { identity_id: identity.id, flow_type: 'api' } });
              run.flowId = new URL(issued.recovery_link).searchParams.get('flow')!;
              run.address = run.email;
              run.issuedCode = issued.recovery_code;
              return fetch(`${run.server.publicUrl}/self-service/recovery/flows?id=${run.flowId}`);
            }
            // Verification: signing up with verification on starts a flow with the code already mailed.
            run.email = `model-${crypto.randomUUID()}@example.com`;
            const registration = await run.server.frontendApi.createNativeRegistrationFlow();
            const registered = await run.server.frontendApi.updateRegistrationFlow({ flow: registration.id, updateRegistrationFlowBody: { method: 'password', traits: { email: run.email }, password: run.password } });
            const show = registered.continue_with?.find((c) => c.action === 'show_verification_ui') as { flow: { id: string } };
            run.flowId = show.flow.id;
            run.address = run.email;
            run.mailsTo[run.email] = 1;
            return fetch(`${run.server.publicUrl}/self-service/verification/flows?id=${run.flowId}`);
          }
          case 'submit a wrong code':
            return post(run, kind, { method: 'code', code: '000000' === (await lastCode(run)) ? '111111' : '000000' });
          case 'use up the attempts with wrong codes': {
            // Kratos counts every code submission on the flow; the one after max_submissions (5) starts a new flow.
            let res: Response | undefined;
            for (let i = 0; i < 7; i++) {
              res = await post(run, kind, { method: 'code', code: '000000' === (await lastCode(run)) ? '111111' : '000000' });
              const body = await res.clone().json();
              if (res.status === 410 || body.id !== run.flowId) break;
              expect(body.ui.messages.map((m: Json) => m.id)).toEqual([kind === 'recovery' ? 4060006 : 4070006]);
            }
            // This address is locked for the code lifespan now: later steps use a fresh known address.
            run.email = `model-${crypto.randomUUID()}@example.com`;
            await createIdentity(run.server, run.email, run.password);
            return res!;
          }
          case 'submit the mailed code':
            return post(run, kind, { method: 'code', code: run.issuedCode ?? (await mailedCode(run.address!, run.mailsTo[run.address!])) });
          default:
            throw new Error(`no HTTP action for ${kind}:${action}`);
        }
      }
      const codeMail = () => {
        run.address = run.email;
        run.mailsTo[run.email] = (run.mailsTo[run.email] ?? 0) + 1;
      };
      switch (`${kind}:${action}`) {
        case 'login:complete the test login at the provider': {
          // A browser submits the button with the flow's bearer, logs in at the provider and comes back.
          run.browser = new CookieJar();
          const sub = `model-${run.counter}-${crypto.randomUUID()}`;
          op.setClaims(sub, { email: run.email });
          const submitted = await run.browser.fetch(`${run.server.publicUrl}/self-service/login?flow=${run.flowId}`, {
            method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: new URLSearchParams({ csrf_token: run.bearer!, provider: 'op1' }).toString(),
          });
          expect(submitted.status).toBe(303);
          const callbackUrl = await op.authorize(run.browser, submitted.headers.get('location')!, { login: sub });
          return run.browser.fetch(callbackUrl.toString());
        }
        case 'login:ask for a login code':
          codeMail();
          return post(run, kind, { method: 'code', identifier: run.email });
        case 'login:ask for a second-factor code':
          codeMail();
          return post(run, kind, { address: run.email });
        case 'login:ask for the code again':
          codeMail();
          return post(run, kind, { method: 'code', identifier: run.email, resend: 'code' });
        case 'login:submit a wrong login code':
          return post(run, kind, { method: 'code', identifier: run.email, code: '000000' === (await lastCode(run)) ? '111111' : '000000' });
        case 'login:submit the login code':
          return post(run, kind, { method: 'code', identifier: run.email, code: await lastCode(run) });
        case 'registration:ask for a sign-up code':
          codeMail();
          return post(run, kind, { method: 'code', traits: { email: run.email } });
        case 'registration:ask for the sign-up code again':
          codeMail();
          return post(run, kind, { method: 'code', resend: 'code', traits: { email: run.email } });
        case 'registration:submit a wrong sign-up code':
          return post(run, kind, { method: 'code', traits: { email: run.email }, code: '000000' === (await lastCode(run)) ? '111111' : '000000' });
        case 'registration:go back from the code form':
          return post(run, kind, { method: 'profile', screen: 'credential-selection', traits: { email: run.email } });
        case 'registration:submit the sign-up code':
          return post(run, kind, { method: 'code', traits: { email: run.email }, code: await lastCode(run) });
        case 'login:submit the authenticator code':
          return post(run, kind, { method: 'totp', totp_code: await totpCode(run.server.clock.now()) });
        case 'login:submit a wrong authenticator code':
          return post(run, kind, { method: 'totp', totp_code: await wrongTotpCode(run.server.clock.now()) });
        case 'registration:submit password for a taken e-mail': {
          const taken = `taken-${crypto.randomUUID()}@example.com`;
          await createIdentity(run.server, taken, 'some other passphrase');
          return post(run, kind, { method: 'password', traits: { email: taken }, password: run.password });
        }
        case 'settings:change the password with an old login': {
          // The login gets older than privileged_session_max_age: the change waits for a re-authentication.
          run.server.clock.advance(parseDuration(run.server.registry.config.selfservice.flows.settings.privileged_session_max_age) + 60_000);
          const res = await post(run, kind, { method: 'password', password: `not applied ${run.counter}` });
          // Re-authenticate (refresh login) so later steps of the path have a privileged session again.
          const refresh = await fetch(`${run.server.publicUrl}/self-service/login/api?refresh=true`, { headers: { 'x-session-token': run.token! } }).then((r) => r.json());
          const login = await run.server.frontendApi.updateLoginFlow({
            flow: refresh.id, xSessionToken: run.token, updateLoginFlowBody: { method: 'password', identifier: run.email, password: run.password },
          });
          run.token = login.session_token;
          return res;
        }
        default:
          throw new Error(`no HTTP action for ${kind}:${action}`);
      }
    }

    async function lastCode(run: PathRun): Promise<string | undefined> {
      if (run.issuedCode) return run.issuedCode;
      const count = run.address ? run.mailsTo[run.address] ?? 0 : 0;
      return count > 0 ? mailedCode(run.address!, count) : undefined;
    }

    /** The HTTP answer must show what the machine predicts. */
    async function check(kind: FlowKind, res: Response, predicted: AnyMachineSnapshot, run: PathRun, where: string, action: string): Promise<void> {
      const body = res.status === 303 ? undefined : await res.json();
      if (action === 'use up the attempts with wrong codes') {
        // The flow is replaced: recovery answers with the new flow, verification with 410 naming it.
        if (kind === 'verification') {
          expect(res.status, where).toBe(410);
          expect(body.error.id, where).toBe('self_service_flow_replaced');
          run.flowId = body.use_flow_id;
          const fresh = await fetch(`${run.server.publicUrl}/self-service/verification/flows?id=${run.flowId}`).then((r) => r.json());
          expect(fresh.ui.messages.map((m: Json) => m.id), where).toEqual([4000001]);
          return;
        }
        expectResponse(OPERATION[kind], res.status, body);
        expect(res.status, where).toBe(200);
        expect(body.id, where).not.toBe(run.flowId);
        expect(body.state, where).toBe('choose_method');
        expect(body.ui.messages.map((m: Json) => m.id), where).toEqual([4000001]);
        run.flowId = body.id;
        return;
      }
      if (action === 'complete the test login at the provider') {
        // The provider's answer is recorded; the browser goes to the results page, signed in nowhere.
        expect(res.status, where).toBe(303);
        expect(res.headers.get('location'), where).toContain(`/session/test-oidc?flow=${run.flowId}`);
        expect(run.browser!.get('ory_kratos_session'), where).toBeUndefined();
        const read = await run.browser!.fetch(`${run.server.publicUrl}/self-service/login/flows?id=${run.flowId}`, { headers: { accept: 'application/json' } });
        const stored = await read.json();
        expectResponse('getLoginFlow', read.status, stored);
        expect(stored.state, where).toBe(topState(predicted));
        expect(stored.test_context.debug_payload.jsonnet_output.identity.traits.email, where).toBe(run.email);
        return;
      }
      if (action === 'change the password with an old login') {
        expect(res.status, where).toBe(403);
        expect(body.error.id, where).toBe('session_refresh_required');
        expect(body.redirect_browser_to, where).toContain('/self-service/login/browser?refresh=true');
        const stored = await fetch(`${run.server.publicUrl}/self-service/settings/flows?id=${run.flowId}`, { headers: { 'x-session-token': run.token! } }).then((r) => r.json());
        expect(stored.state, where).toBe(topState(predicted));
        return;
      }
      expectResponse(OPERATION[kind], res.status, body);
      const state = topState(predicted);
      const ctx = predicted.context as { messages: Array<{ id: number }>; fieldMessages: Record<string, Array<{ id: number }>>; sessionAfter: string[]; active?: string };
      if ((kind === 'recovery' || kind === 'verification')) {
        const formProblem = Object.keys(ctx.fieldMessages).length > 0;
        expect(res.status, where).toBe(formProblem ? 400 : 200);
        expect(body.state, where).toBe(state);
        expect((body.ui.messages ?? []).map((m: Json) => m.id), where).toEqual(ctx.messages.map((m) => m.id));
        for (const [name, messages] of Object.entries(ctx.fieldMessages)) {
          const node = body.ui.nodes.find((n: Json) => n.attributes.name === name);
          expect(node?.messages.map((m: Json) => m.id), `${where}: node ${name}`).toEqual(messages.map((m) => m.id));
        }
        if (kind === 'recovery' && state === 'passed_challenge') {
          expect(body.continue_with.map((c: Json) => c.action), where).toEqual(['set_ory_session_token', 'show_settings_ui']);
        }
        return;
      }
      if (state === 'passed_challenge') {
        expect(res.status, where).toBe(200);
        if (kind === 'login') expect(body.session_token, where).toMatch(/^ory_st_/);
        if (kind === 'login' && action === 'submit the authenticator code') {
          // The step-up continues the session the password opened: a native app keeps its token, now aal2.
          expect(body.session_token, where).toBe(run.token);
          expect(body.session.authenticator_assurance_level, where).toBe('aal2');
        }
        if (kind === 'registration') {
          expect(body.identity.traits.email, where).toBe(run.email);
          expect(Boolean(body.session_token), where).toBe(ctx.sessionAfter.includes(ctx.active ?? ''));
        }
        const stored = await fetch(`${run.server.publicUrl}/self-service/${kind}/flows?id=${run.flowId}`).then((r) => r.json());
        expect(stored.state, where).toBe('passed_challenge');
        return;
      }
      // A method's own next screen (new backup codes) is no error.
      expect(res.status, where).toBe(state === 'success' || action === 'generate backup codes' ? 200 : 400);
      expect(body.state, where).toBe(state);
      expect((body.ui.messages ?? []).map((m: Json) => m.id), where).toEqual(ctx.messages.map((m) => m.id));
      for (const [name, messages] of Object.entries(ctx.fieldMessages)) {
        const node = body.ui.nodes.find((n: Json) => n.attributes.name === name);
        expect(node?.messages.map((m: Json) => m.id), `${where}: node ${name}`).toEqual(messages.map((m) => m.id));
      }
    }

    for (const [kind, spec] of Object.entries(FLOW_MODELS).filter(([k]) => k in OPERATION) as Array<[FlowKind, MachineModelSpec]>) {
      // The covering subset, plus the shorter generated paths (up to 15) for variety of client behaviour.
      const all = generatePaths(spec);
      const covering = coveringPaths(spec, all);
      const short = all.filter((p) => p.events.length <= 4 && !covering.includes(p)).slice(0, 15);
      const paths = [...covering, ...short];

      it(`${kind}: ${paths.length} generated paths cover every state and transition and pass over HTTP`, async () => {
        const report = measureCoverage(spec, paths).report();
        console.log(`${kind} (${db.name}): ${paths.length} paths replayed over HTTP; states ${report.states}, transitions ${report.transitions}`);
        expect(report.complete).toBe(true);
        for (const path of paths) {
          const run: PathRun = { email: `model-${crypto.randomUUID()}@example.com`, password: 'the model passphrase 1', server: withHook, counter: 0, mailsTo: {} };
          let snapshot: AnyMachineSnapshot | undefined;
          for (const event of path.events) {
            const where = `${path.description} @ ${event}`;
            if (event.startsWith('open:')) {
              snapshot = openFlow(spec, event.slice(5));
              await open(kind, event.slice(5), run);
              if (kind === 'login' && !event.startsWith('open:api at aal2')) await createIdentity(run.server, run.email, run.password);
              continue;
            }
            snapshot = stepAction(spec, snapshot!, event);
            const res = await act(kind, event, run).catch((err: Error) => {
              throw new Error(`${where}: ${err.message}`);
            });
            // An out-of-band code is read back with GET (there is no submit): it must show the issued flow.
            await check(kind, event === 'a code is issued out of band' ? new Response(await res.text(), { status: 200 }) : res, snapshot, run, where, event);
          }
        }
      }, 120_000);
    }
  });
}
