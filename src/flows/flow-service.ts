/**
 * The transport-neutral flow service: create, read and submit for every self-service flow kind. A request walks
 * adapter → this service → machine → method → store and back:
 *
 *   load the flow → check who may act on it (CSRF, owner, session, expiry) → decode the payload → restore the machine
 *   → the method interprets the submission into an outcome → the machine decides → after-hooks plan follow-ups
 *   (verification flows, session revocations, pending re-authentication) → ONE transaction writes the snapshot, the
 *   identity, codes, courier messages, sessions and follow-up flows → web hooks → the answer.
 *
 * Nothing is written before that transaction, nothing after it; a concurrent submit of the same flow loses the
 * optimistic lock and is retried from the stored snapshot, so exactly one takes effect.
 */
import { badRequest, forbidden, KratosError, notFound, securityCsrfViolation, selfServiceFlowDisabled, sessionAal1Required, selfServiceFlowExpired } from '../errors/kratos-error.ts';
import type { UiMessage } from '../../machines/flow-types.ts';
import type { IdentityRecord } from '../identity/identity.ts';
import type { Aal } from '../methods/method.ts';
import { StoreConflictError, type FlowKind, type FlowRecord, type FlowType } from '../persistence/store.ts';
import { MessageId } from '../text/ids.ts';
import { message } from '../text/message.ts';
import { verifyCsrfToken } from '../x/csrf-token.ts';
import { FlowAnswers } from './flow-answers.ts';
import type { CreateOptions, FlowServiceDeps, SubmitInput } from './flow-deps.ts';
import { FlowForms, hasSecret, NO_STRATEGY, PENDING_SETTINGS, PREFILL, TEST, testStateOf, TOKEN_EXCHANGE, UNBOUND, type BegunHeadStart, type Loaded, type TestState } from './flow-forms.ts';
import type { InternalState } from './flow-internal.ts';
import { timingSafeEqualString } from '../x/random.ts';
import { startTokenExchange } from '../session/token-exchange.ts';
import { RequestState, type FlowAnswer, type RequestFacts } from './flow-request.ts';
import { FlowSubmission } from './flow-submission.ts';
import { guardRequestFor, guardResultOf } from './flow-guard.ts';

export { FlowConflictError } from './flow-submission.ts';

export type { CreateOptions, FlowServiceDeps, SubmitInput } from './flow-deps.ts';

/** Kratos bounds `provider_id` of a test login (test_handler.go maxProviderIDLength). */
const MAX_PROVIDER_ID_LENGTH = 255;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
/** Kratos's answer when a captured test login is read or deleted by another browser than the one that captured it. */
const TEST_CSRF_REASON = 'missing or invalid CSRF token';

/** Kratos: `aal` is case-insensitive; aal1 when absent; anything but aal1/aal2 is a 400. */
function parseRequestedAal(aal: string | undefined): Aal {
  const value = (aal ?? '').toLowerCase();
  if (value === '' || value === 'aal1') return 'aal1';
  if (value === 'aal2') return 'aal2';
  throw new KratosError(400, undefined, { reason: `Unable to parse AuthenticationMethod Assurance Level (AAL): expected one of [aal1, aal2] but got ${value}` });
}

export class FlowService {
  readonly #d: FlowServiceDeps;
  readonly #forms: FlowForms;
  readonly #answers: FlowAnswers;
  readonly #submission: FlowSubmission;

  constructor(deps: FlowServiceDeps) {
    this.#d = deps;
    this.#forms = new FlowForms(deps);
    this.#answers = new FlowAnswers(deps, this.#forms);
    this.#submission = new FlowSubmission(deps, this.#forms, this.#answers);
  }

  create(kind: FlowKind, type: FlowType, facts: RequestFacts, options: CreateOptions = {}): Promise<FlowAnswer> {
    return withFlowType(() => type, () => this.#create(kind, type, facts, options));
  }

  get(kind: FlowKind, id: string, facts: RequestFacts): Promise<FlowAnswer> {
    const seen: { type?: FlowType } = {};
    return withFlowType(() => seen.type, () => this.#get(kind, id, facts, seen));
  }

  /** Submits a flow (POST, or GET for mailed links and settings resuming after re-authentication). */
  submit(kind: FlowKind, id: string, facts: RequestFacts, input: SubmitInput): Promise<FlowAnswer> {
    const seen: { type?: FlowType } = {};
    return withFlowType(() => (input.viaLink || input.callback ? 'browser' : seen.type), () => this.#submit(kind, id, facts, input, seen));
  }

  async #create(kind: FlowKind, type: FlowType, facts: RequestFacts, options: CreateOptions): Promise<FlowAnswer> {
    const rq = new RequestState(facts);
    const { config } = this.#d;
    if (kind === 'registration' && config.selfservice.flows.registration.enabled === false) {
      throw selfServiceFlowDisabled('Registration is not allowed because it was disabled.');
    }
    if ((kind === 'recovery' || kind === 'verification') && config.selfservice.flows[kind].enabled !== true) {
      throw selfServiceFlowDisabled(`The ${kind} flow is not enabled.`);
    }
    const returnTo = options.returnTo ? this.#d.returnTo().resolve(options.returnTo) : undefined;
    const current = facts.session;
    let identity: IdentityRecord | undefined;
    let refresh = false;
    let requestedAal: Aal = 'aal1';
    const messages: UiMessage[] = [];
    if (kind === 'login') {
      requestedAal = parseRequestedAal(options.aal);
      if (requestedAal === 'aal2' && !current) throw sessionAal1Required();
      // Kratos: refresh without a session is a plain login.
      refresh = options.refresh === true && current !== undefined;
      const stepUp = requestedAal === 'aal2' && current !== undefined && current.session.aal !== 'aal2';
      if (current && !refresh && !stepUp) throw this.#answers.alreadyAuthenticated('login', returnTo, 'A valid session was detected and thus login is not possible. Did you forget to set `?refresh=true`?');
      if (current) identity = (await this.#d.store.identities.get(current.session.identityId)) ?? undefined;
      if (refresh) messages.push(message(MessageId.InfoSelfServiceLoginReAuth));
      if (stepUp) messages.push(message(MessageId.InfoSelfServiceLoginMFA));
    } else if (kind === 'registration' && current) {
      throw this.#answers.alreadyAuthenticated('registration', returnTo, 'A valid session was detected and thus registration is not possible.');
    } else if (kind === 'recovery' && current) {
      throw this.#answers.alreadyAuthenticated('recovery', returnTo, 'A valid session was detected and thus recovery is not possible.');
    } else if (kind === 'settings') {
      // Kratos (TakeOverReturnToParameter): the login carries on only the request's own return_to.
      identity = await this.#forms.settingsOwner(type, facts, { loginReturnTo: options.returnTo });
      // Kratos returns to this very request (WithRequestURL) only when it carried a return_to, and only for browsers.
      this.#forms.requireSettingsAal(identity, current!, type === 'browser' && options.returnTo ? facts.requestUrl : undefined);
    }
    // Kratos: only API login and registration flows hand out an exchange code.
    const exchange = options.returnSessionTokenExchangeCode === true && type === 'api' && (kind === 'login' || kind === 'registration');
    const { record, settled, json } = await this.#forms.build(kind, type, rq, {
      returnTo, refresh, requestedAal, identity, messages: messages.length > 0 ? messages : undefined, requestUrl: facts.requestUrl, session: current, runBeforeHooks: true,
      internal: exchange ? { [TOKEN_EXCHANGE]: true } : undefined,
    });
    let body: Record<string, unknown> = json;
    if (exchange) {
      const started = await startTokenExchange(record, this.#forms.now());
      await this.#d.store.transaction(async (tx) => {
        await tx.flows.insert(record);
        await tx.tokenExchanges.insert(started.record);
      });
      body = { ...json, session_token_exchange_code: started.initCode };
    } else {
      await this.#d.store.flows.insert(record);
    }
    this.#d.metrics.flowsStarted.inc({ flow: kind, type });
    void settled;
    return { flowType: type, status: 200, body, browserLocation: this.#d.urls.uiFor(kind, record.id), cookies: rq.cookies };
  }

  async #get(kind: FlowKind, id: string, facts: RequestFacts, seen: { type?: FlowType }): Promise<FlowAnswer> {
    const rq = new RequestState(facts);
    const loaded = await this.#forms.load(kind, id);
    const { record } = loaded;
    seen.type = record.type;
    const test = kind === 'login' ? testStateOf(loaded.internal) : undefined;
    if (test) {
      // Kratos getLoginFlow: a test login not yet captured is public (no PII; its bearer never was in a cookie), a
      // captured one only for the browser that went through the provider.
      if (test.debug_payload !== undefined && !this.#forms.sameBrowser(record, facts)) throw forbidden(TEST_CSRF_REASON);
    } else if (record.type === 'browser' && !this.#forms.sameBrowser(record, facts)) throw securityCsrfViolation();
    const actor = kind === 'settings' ? await this.#forms.settingsActor(record, facts, this.#d.urls.uiFor('settings', record.id)) : await this.#forms.actorFor(kind, record, facts);
    if (record.expiresAt.getTime() < this.#forms.now().getTime()) {
      throw selfServiceFlowExpired({
        reason: 'The self-service flow has expired.',
        details: record.type === 'browser'
          ? { redirect_to: this.#d.urls.init(kind, 'browser') }
          : { api: this.#d.urls.init(kind, 'api') },
      });
    }
    const json = (await this.#forms.render(loaded, rq, actor)).json;
    return { flowType: record.type, status: 200, body: json, browserLocation: this.#d.urls.uiFor(kind, record.id), cookies: rq.cookies };
  }

  async #submit(kind: FlowKind, id: string, facts: RequestFacts, input: SubmitInput, seen: { type?: FlowType }): Promise<FlowAnswer> {
    const rq = new RequestState(facts);
    const loading = this.#forms.load(kind, id);
    const headStart = this.#headStart(kind, input);
    const loaded = await loading;
    const { record } = loaded;
    seen.type = record.type;
    // Links and method callbacks arrive as browser navigations: they are answered with redirects.
    const viaLink = input.viaLink === true || input.callback === true;
    const test = kind === 'login' ? testStateOf(loaded.internal) : undefined;
    /** Internal state this submit sets: a test login remembers the browser it sends to the provider. */
    let binding: InternalState = {};

    if (input.viaLink) {
      const early = await this.#linkShortcuts(kind, loaded, rq, input.body);
      if (early) return early;
    } else if (input.callback && test) {
      // Kratos finishTestLogin: a test login captured already sends the browser to its results again, changing nothing.
      if (test.debug_payload !== undefined) return { flowType: 'browser', status: 303, body: undefined, browserLocation: this.#answers.testResultsUrl(record.id), cookies: rq.cookies };
      // The browser that submitted the test login is the one the provider may send back (Kratos: its continuity cookie).
      if (!facts.csrfCookie || !test.browser || !verifyCsrfToken(facts.csrfCookie, test.browser)) {
        return this.#answers.flowAnswer(kind, loaded, rq, await this.#forms.actorFor(kind, record, facts), 400, [
          message(MessageId.ErrorValidationGeneric, { reason: 'No resumable session could be found in the HTTP Header.' }),
        ]);
      }
    } else if (input.callback) {
      // A callback (an OpenID Connect provider sending the browser back) carries the flow's state, bound to the flow by
      // the method; a browser flow is also bound to the browser that started it, by its CSRF cookie (Kratos: the
      // continuity cookie), so a state that leaks cannot finish the flow in another browser.
      if (record.type === 'browser' && !this.#forms.sameBrowser(record, facts)) {
        return this.#answers.flowAnswer(kind, loaded, rq, await this.#forms.actorFor(kind, record, facts), 400, [
          message(MessageId.ErrorValidationGeneric, { reason: 'No resumable session could be found in the HTTP Header.' }),
        ]);
      }
    } else if (test && test.debug_payload === undefined) {
      // Kratos (oidc Login): a test login's form carries the flow's own bearer, compared in constant time; no cookie is
      // behind it. The browser submitting it is the one the provider's callback must come back to.
      if (!record.csrfToken || !facts.csrfSubmitted || !timingSafeEqualString(facts.csrfSubmitted, record.csrfToken)) throw securityCsrfViolation();
      binding = { [TEST]: { ...test, browser: rq.csrfToken() } as TestState as never };
    } else if (record.type === 'browser') {
      if (!facts.csrfCookie || !verifyCsrfToken(facts.csrfCookie, facts.csrfSubmitted) || !verifyCsrfToken(facts.csrfCookie, record.csrfToken)) throw securityCsrfViolation();
    } else if (facts.browserMarkers) {
      const reason = 'API-based flows must not include cookies or an Origin header; use the browser flow for browsers.';
      // Kratos raises this inside the strategy: a message on the flow (settings: the error itself).
      if (kind === 'settings') throw new KratosError(400, undefined, { reason });
      return this.#answers.flowAnswer(kind, loaded, rq, await this.#forms.actorFor(kind, record, facts), 400, [message(MessageId.ErrorValidationGeneric, { reason })]);
    }

    if (record.expiresAt.getTime() < this.#forms.now().getTime()) return this.#answers.expired(kind, loaded, rq, viaLink);
    if (loaded.settled.done || ((kind === 'recovery' || kind === 'verification') && loaded.settled.state === 'passed_challenge')) {
      return this.#answers.retryCompleted(kind, loaded, rq, viaLink);
    }
    const actor = kind === 'settings' ? await this.#forms.settingsActor(record, facts, this.#d.urls.action('settings', record.id)) : await this.#forms.actorFor(kind, record, facts);
    if (kind === 'registration' && facts.session) {
      throw this.#answers.alreadyAuthenticated('registration', undefined, 'A valid session was detected and thus registration is not possible.', this.#d.config.selfservice.default_browser_return_url);
    }
    if (kind === 'login' && loaded.settled.context.requestedAal === 'aal2' && !facts.session) throw sessionAal1Required();
    if (kind === 'login' && facts.session && !loaded.settled.context.refresh && !(loaded.settled.context.requestedAal === 'aal2' && facts.session.session.aal !== 'aal2')) {
      const answer = await this.#answers.flowAnswer(kind, loaded, rq, actor, 400, [message(MessageId.ErrorValidationGeneric, { reason: 'A valid session was detected and thus login is not possible.' })]);
      return { ...answer, browserLocation: record.returnTo ?? this.#d.urls.after('login') };
    }

    let payload = input.body;
    if (input.callback) {
      payload = input.body;
    } else if (kind === 'settings' && input.viaLink) {
      // GET /self-service/settings?flow= after re-authentication: apply the change that waited for it.
      const pending = loaded.internal[PENDING_SETTINGS] as { identityId: string; payload: Record<string, unknown> } | undefined;
      if (!pending || pending.identityId !== actor.identity?.id) {
        return this.#answers.flowAnswer(kind, loaded, rq, actor, 400, [message(NO_STRATEGY.settings)]);
      }
      payload = pending.payload;
    } else {
      payload = this.#forms.decode(kind, loaded, input);
      // A code or link token names its own method when the body leaves it out (Kratos's code strategy defaults to
      // itself when a code is present; a link token bypasses the method check).
      if ((kind === 'recovery' || kind === 'verification') && typeof payload.method !== 'string' && hasSecret(payload)) {
        payload = { ...payload, method: typeof payload.token === 'string' && payload.token !== '' ? 'link' : 'code' };
      }
      // Profile-first's Back button carries only `screen=previous` (Kratos's profile strategy takes it).
      if (kind === 'registration' && typeof payload.method !== 'string' && payload.screen === 'previous') payload = { ...payload, method: 'profile' };
    }
    if (!input.callback) {
      // Only a method's own route submits a callback, and only the service resumes a converted flow.
      const { callback: _callback, resume: _resume, ...rest } = payload;
      payload = rest;
    }
    // Rate limits and the lockout apply before the method sees the payload; the method's outcome settles the count.
    const limited = guardRequestFor({
      kind, payload, ip: facts.device.ip, identityId: facts.session?.session.identityId ?? record.identityId ?? undefined, callback: viaLink,
      signUpIdentifier: kind === 'registration' ? this.#signUpIdentifier(payload) : undefined,
      sentTo: this.#sentTo(loaded),
    });
    const ticket = limited ? await this.#d.guard.begin(limited) : undefined;
    try {
      const begun = headStart && payload.method === headStart.methodId ? headStart : undefined;
      if (begun) await begun.headStart.begin();
      return await this.#submission.run(kind, loaded, rq, actor, payload, viaLink, binding, begun);
    } finally {
      await ticket?.settle(guardResultOf(rq.methodOutcome));
    }
  }

  /**
   * The submitted method's head start on a form or JSON submission naming it (see HeadStart), made before the flow is
   * read; it begins only once the submission passed the flow's checks and the guard.
   */
  #headStart(kind: FlowKind, input: SubmitInput): BegunHeadStart | undefined {
    if (input.viaLink || input.callback || typeof input.body.method !== 'string') return undefined;
    const [method, capability] = this.#forms.capabilityFor(kind, input.body.method) ?? [];
    const headStart = capability?.headStart?.(input.body);
    return method && headStart ? { methodId: method.id, headStart } : undefined;
  }

  /** The identifier a sign-up names first (its traits' credential identifiers, then its addresses), if any. */
  #signUpIdentifier(payload: Record<string, unknown>): string | undefined {
    const traits = payload.traits ?? undefined;
    if (!traits || typeof traits !== 'object') return undefined;
    try {
      const extracted = this.#d.schemas.require(this.#d.schemas.defaultId).extract(traits);
      return extracted.identifiers.password[0] ?? extracted.identifiers.code[0]?.value ?? extracted.identifiers.webauthn[0]
        ?? extracted.verifiableAddresses[0]?.value ?? extracted.recoveryAddresses[0]?.value;
    } catch {
      return undefined; // Traits the schema can not read: the method refuses them; the per-client limit still counts.
    }
  }

  /** The address a recovery, verification or sign-up-by-code flow sent its code to (kept in the flow's values). */
  #sentTo(loaded: Loaded): string | undefined {
    const values = loaded.settled.context.values;
    if (typeof values.email === 'string' && values.email !== '') return values.email;
    if (loaded.record.kind !== 'registration' || loaded.settled.state !== 'sent_email') return undefined;
    return this.#signUpIdentifier(values);
  }

  /**
   * GETs that arrive from links: a bare flow link opens the UI; a verification code pre-fills the form and waits
   * for the user's submit (Kratos does not consume a code on GET); link tokens are consumed; settings resume.
   */
  async #linkShortcuts(kind: FlowKind, loaded: Loaded, rq: RequestState, query: Record<string, unknown>): Promise<FlowAnswer | undefined> {
    const { record } = loaded;
    const code = typeof query.code === 'string' && query.code !== '' ? query.code : undefined;
    const token = typeof query.token === 'string' && query.token !== '' ? query.token : undefined;
    if (kind === 'settings') return undefined;
    if (!code && !token) {
      if (loaded.internal[UNBOUND] === true) await this.#bindToBrowser(loaded, rq, { [UNBOUND]: null });
      return { flowType: 'browser', status: 303, body: undefined, browserLocation: this.#d.urls.uiFor(kind, record.id), cookies: rq.cookies };
    }
    if (code && kind === 'recovery') {
      throw new KratosError(400, undefined, { reason: 'Unable to decode body because HTTP Request Method was "GET" but only [POST] are supported.' });
    }
    if (code && record.expiresAt.getTime() >= this.#forms.now().getTime() && loaded.settled.state === 'sent_email') {
      // The browser opening the link may be another one: rebind the flow to its (new) CSRF token, as Kratos does.
      await this.#bindToBrowser(loaded, rq, { [PREFILL]: { code } }, true);
      return { flowType: 'browser', status: 303, body: undefined, browserLocation: this.#d.urls.uiFor(kind, record.id), cookies: rq.cookies };
    }
    return undefined;
  }

  /**
   * An administrator's recovery code or link (`POST /admin/recovery/code|link`): a recovery flow already in
   * `sent_email` with the secret issued, stored in one transaction. Returns the flow id and the secret.
   */
  async issueRecovery(input: { identity: IdentityRecord; address: string; kind: 'code' | 'link'; flowType: FlowType; returnTo?: string; expiresAt: Date }): Promise<{ flowId: string; secret: string }> {
    const rq = new RequestState({ browserMarkers: false, device: {}, requestUrl: this.#d.urls.init('recovery', input.flowType), hook: { method: 'POST', url: '', headers: {} } });
    const { record } = await this.#forms.build('recovery', input.flowType, rq, {
      requestUrl: this.#d.urls.init('recovery', input.flowType), returnTo: input.returnTo, expiresAt: input.expiresAt,
      // No browser holds this flow's CSRF token: the first one to open the link the administrator handed out is bound
      // to it (Kratos skips the CSRF check for admin-issued flows altogether).
      csrfToken: input.flowType === 'browser' ? rq.csrfToken() : undefined,
      internal: input.flowType === 'browser' ? { [UNBOUND]: true } : undefined,
      events: [{ type: 'challenge.issued', values: { email: input.address } }],
    });
    const issued = await this.#d.challengeIssuer.issue({ purpose: 'recovery', kind: input.kind, flowId: record.id, identity: input.identity, address: input.address, now: this.#forms.now(), expiresAt: input.expiresAt });
    await this.#d.store.transaction(async (tx) => {
      await tx.flows.insert(record);
      await tx.codes.voidUnusedForAddress(issued.code.purpose, issued.code.address, this.#forms.now());
      await tx.codes.insert(issued.code);
    });
    this.#d.metrics.flowsStarted.inc({ flow: 'recovery', type: input.flowType });
    return { flowId: record.id, secret: issued.secret };
  }

  /**
   * Binds a browser flow to the CSRF token of the browser opening it (a new one when `rotate`), with internal state
   * changes (`null` removes a key). A concurrent change of the flow wins: the link then simply opens the UI.
   */
  async #bindToBrowser(loaded: Loaded, rq: RequestState, changes: Record<string, unknown>, rotate = false): Promise<void> {
    const { record } = loaded;
    const internal = { ...loaded.internal };
    for (const [key, value] of Object.entries(changes)) {
      if (value === null) delete internal[key];
      else internal[key] = value as never;
    }
    const next: FlowRecord = {
      ...record,
      csrfToken: record.type === 'browser' ? (rotate ? rq.rotateCsrf() : rq.csrfToken()) : record.csrfToken,
      internal: await this.#d.internal.seal(record.id, internal),
      updatedAt: this.#forms.now(),
    };
    try {
      await this.#d.store.flows.update(next);
    } catch (err) {
      if (!(err instanceof StoreConflictError)) throw err;
    }
  }

  /**
   * `POST /admin/test-login-flows` (Kratos adminCreateTestLoginFlow): a browser login flow that tests one OpenID
   * Connect provider — its form shows that provider alone and carries a CSRF bearer of its own (no browser holds the
   * flow's token), it is a refresh so a session in the administrator's browser does not end it early, and the
   * provider's answer is recorded instead of signing anyone in. `body` is the request's JSON, unchecked.
   */
  async createTestLogin(body: unknown, requestUrl: string): Promise<Record<string, unknown>> {
    const providerId = body && typeof body === 'object' && !Array.isArray(body) ? (body as { provider_id?: unknown }).provider_id ?? '' : undefined;
    if (typeof providerId !== 'string') throw badRequest('could not parse request body');
    if (providerId === '') throw badRequest('provider_id is required');
    if (providerId.length > MAX_PROVIDER_ID_LENGTH) throw badRequest(`provider_id must be at most ${MAX_PROVIDER_ID_LENGTH} characters`);
    const tester = this.#d.methods.find((m) => m.login && m.testsLogin);
    if (!tester) throw new KratosError(500, undefined, { reason: 'OIDC strategy is not registered; test login flows cannot be created' });
    if (!tester.testsLogin!(providerId)) throw notFound(`OpenID Connect provider ${JSON.stringify(providerId)} is not configured`);
    const rq = new RequestState({ browserMarkers: false, device: {}, requestUrl, hook: { method: 'POST', url: requestUrl, headers: {} } });
    const { record, json } = await this.#forms.build('login', 'browser', rq, {
      requestUrl, refresh: true, csrfToken: crypto.randomUUID(), internal: { [TEST]: { provider_id: providerId } },
    });
    await this.#d.store.flows.insert(record);
    this.#d.metrics.flowsStarted.inc({ flow: 'login', type: 'browser' });
    return json;
  }

  /**
   * `DELETE /self-service/login/test?id=` (Kratos deleteTestLoginFlow): a test login not yet captured may be deleted
   * by anyone who knows its id; a captured one only by the browser that captured it. Other flows are not found.
   */
  async deleteTestLogin(id: string, facts: RequestFacts): Promise<void> {
    if (!UUID.test(id)) throw badRequest('invalid flow id');
    const record = await this.#d.store.flows.get(id);
    const test = record?.kind === 'login' ? testStateOf(await this.#d.internal.open(record.id, record.internal)) : undefined;
    if (!record || !test) throw notFound();
    if (test.debug_payload !== undefined && !this.#forms.sameBrowser(record, facts)) throw forbidden(TEST_CSRF_REASON);
    const deleted = await this.#d.store.transaction((tx) => tx.flows.delete(record.id));
    if (!deleted) throw notFound();
  }

  /** Stores an error for the browser's error UI (`GET /self-service/errors?id=`); returns where to send the browser. */
  async recordError(error: KratosError, csrfCookie: string | undefined): Promise<string> {
    const now = this.#forms.now();
    const id = crypto.randomUUID();
    await this.#d.store.errors.insert({ id, error: error.toJSON().error, csrfToken: csrfCookie ?? null, seenAt: null, createdAt: now, updatedAt: now });
    const url = new URL(this.#d.urls.ui('error'));
    url.searchParams.set('id', id);
    return url.toString();
  }
}

/** Errors leave the service knowing the type of their flow, so the adapter can show HTML browsers a page. */
async function withFlowType<T>(type: () => FlowType | undefined, run: () => Promise<T>): Promise<T> {
  try {
    return await run();
  } catch (err) {
    if (err instanceof KratosError && err.flowType === undefined) err.flowType = type();
    throw err;
  }
}
