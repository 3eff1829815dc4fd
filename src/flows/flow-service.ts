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
import { fromPromise, type AnyActorLogic } from 'xstate';
import type { Config } from '../../config/types.ts';
import type { FlowContext, FlowEvent, FlowInput, IssueSessionInput, MethodActorInput, Outcome as MachineOutcome, SessionIssued, UiMessage } from '../../machines/flow-types.ts';
import type { Metrics } from '../../observability/metrics.ts';
import { createFlowInspector } from '../../observability/flow-inspector.ts';
import type { Courier } from '../courier/courier.ts';
import { KratosError } from '../errors/kratos-error.ts';
import type { WebHooks } from '../hooks/web-hooks.ts';
import { requestContext } from '../hooks/web-hooks.ts';
import type { IdentityService } from '../identity/identity-service.ts';
import { toIdentityJson } from '../identity/identity-json.ts';
import type { IdentityRecord } from '../identity/identity.ts';
import type { IdentitySchemaRegistry } from '../identity/schema/index.ts';
import type { ChallengeIssuer } from '../methods/code/challenge.method.ts';
import type { Capability, Changes, Json, Method, MethodContext, Outcome } from '../methods/method.ts';
import { StoreConflictError, type FlowKind, type FlowRecord, type FlowType, type Store, type Transaction } from '../persistence/store.ts';
import type { IssuedSession, SessionService } from '../session/session-service.ts';
import { toSessionJson } from '../session/session-json.ts';
import { MessageId } from '../text/ids.ts';
import type { MessageId as MessageIdValue } from '../text/ids.ts';
import { message } from '../text/message.ts';
import type { Clock } from '../x/clock.ts';
import { maskCsrfToken, verifyCsrfToken } from '../x/csrf-token.ts';
import { decodeBody } from '../x/decode-body.ts';
import { payloadSchemaJson } from '../x/body-validator.ts';
import { parseDuration } from '../x/duration.ts';
import type { ReturnToValidator } from '../x/return-to.ts';
import type { InternalSealer, InternalState } from './flow-internal.ts';
import { projectFlow } from './flow-json.ts';
import { RequestState, type CallerSession, type FlowAnswer, type RequestFacts } from './flow-request.ts';
import type { FlowRuntime, Settled } from './flow-runtime.ts';
import type { FlowUrls } from './flow-urls.ts';
import { afterHooks } from './hooks.ts';

export interface FlowServiceDeps {
  config: Config;
  store: Store;
  clock: Clock;
  runtime: FlowRuntime;
  /** Enabled methods in display order (recovery/verification: the configured `use` method). */
  methods: Method[];
  challengeIssuer: ChallengeIssuer;
  sessions: SessionService;
  identities: IdentityService;
  courier: Pick<Courier, 'enqueue'>;
  webHooks: WebHooks;
  schemas: IdentitySchemaRegistry;
  metrics: Metrics;
  urls: FlowUrls;
  returnTo: () => ReturnToValidator;
  internal: InternalSealer;
  schemaUrl: (schemaId: string) => string;
}

export interface CreateOptions {
  returnTo?: string;
  refresh?: boolean;
  aal?: string;
}

export interface SubmitInput {
  /** The body as parsed (JSON object, or the form/query as key → value(s)). */
  body: Record<string, unknown>;
  source: 'json' | 'form' | 'query';
  /** A link from a mail or an API answer opened with GET (recovery/verification/settings resume). */
  viaLink?: boolean;
}

const EXPIRED: Record<FlowKind, MessageIdValue> = {
  login: MessageId.ErrorValidationLoginFlowExpired,
  registration: MessageId.ErrorValidationRegistrationFlowExpired,
  settings: MessageId.ErrorValidationSettingsFlowExpired,
  recovery: MessageId.ErrorValidationRecoveryFlowExpired,
  verification: MessageId.ErrorValidationVerificationFlowExpired,
};
const RETRY_SUCCESS: Record<FlowKind, MessageIdValue> = {
  login: MessageId.ErrorValidationLoginRetrySuccess,
  registration: MessageId.ErrorValidateionRegistrationRetrySuccess,
  settings: MessageId.ErrorValidationSettingsFlowExpired,
  recovery: MessageId.ErrorValidationRecoveryRetrySuccess,
  verification: MessageId.ErrorValidationVerificationRetrySuccess,
};
const NO_STRATEGY: Record<FlowKind, MessageIdValue> = {
  login: MessageId.ErrorValidationLoginNoStrategyFound,
  registration: MessageId.ErrorValidationRegistrationNoStrategyFound,
  settings: MessageId.ErrorValidationSettingsNoStrategyFound,
  recovery: MessageId.ErrorValidationRecoveryNoStrategyFound,
  verification: MessageId.ErrorValidationVerificationNoStrategyFound,
};
/** The machine actor that runs a method, per flow kind and state. */
const METHOD_ACTORS = ['authenticate', 'register', 'applySettings', 'sendCode', 'checkCode'];
const MAX_ATTEMPTS = 4;
/** Internal keys of the service itself (methods' slices are keyed by method id). */
const PENDING_SETTINGS = '$pending_settings';
const PREFILL = '$prefill';
const SUBMITS = '$code_submits';
/** The `$id` the identity schema is known by while decoding bodies. */
const IDENTITY_DOCUMENT = 'https://idflow.dev/schemas/identity-traits.json';

export class FlowConflictError extends KratosError {
  constructor(cause?: unknown) {
    super(409, undefined, { reason: 'The flow was changed by a concurrent request; please retry.', cause });
  }
}

/** The caller, as the service sees it for one flow. */
interface Actor {
  session?: CallerSession;
  identity?: IdentityRecord;
  privileged: boolean;
}

/** What one attempt of a submit produced besides the snapshot; committed together. */
interface Attempt {
  outcome?: Outcome;
  methodId?: string;
  failure?: unknown;
  internal: InternalState;
  identity?: { record: IdentityRecord; isNew: boolean; previous?: IdentityRecord };
  codes: NonNullable<Changes['codes']>;
  messages: NonNullable<Changes['messages']>;
  issued?: IssuedSession;
  followUps: FlowRecord[];
  revokeOthers?: { identityId: string; exceptSessionId?: string };
  revokeToken?: string;
  verificationFlows: Array<{ flowId: string; address: string }>;
  /** require_verified_address refused the login: commit the verification flow, answer with this error. */
  refusal?: KratosError;
}

type Loaded = { record: FlowRecord; settled: Settled; internal: InternalState };

export class FlowService {
  readonly #d: FlowServiceDeps;

  constructor(deps: FlowServiceDeps) {
    this.#d = deps;
  }

  // ------------------------------------------------------------------------------------------------ create

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
    return withFlowType(() => (input.viaLink ? 'browser' : seen.type), () => this.#submit(kind, id, facts, input, seen));
  }

  async #create(kind: FlowKind, type: FlowType, facts: RequestFacts, options: CreateOptions): Promise<FlowAnswer> {
    const rq = new RequestState(facts);
    const { config } = this.#d;
    if (kind === 'registration' && config.selfservice.flows.registration.enabled === false) {
      throw new KratosError(400, 'self_service_flow_disabled', { reason: 'Registration is not allowed because it was disabled.' });
    }
    if ((kind === 'recovery' || kind === 'verification') && config.selfservice.flows[kind].enabled !== true) {
      throw new KratosError(400, 'self_service_flow_disabled', { reason: `The ${kind} flow is not enabled.` });
    }
    const returnTo = options.returnTo ? this.#d.returnTo().resolve(options.returnTo) : undefined;
    const current = facts.session;
    let identity: IdentityRecord | undefined;
    let refresh = false;
    if (kind === 'login') {
      if (options.aal === 'aal2') {
        if (!current) throw new KratosError(401, 'session_aal1_required', { reason: 'You can not requested a higher AAL (AAL2/AAL3) without an active session.' });
        throw new KratosError(400, undefined, { reason: 'No second authentication factor is available for this account.' });
      }
      // Kratos: refresh without a session is a plain login.
      refresh = options.refresh === true && current !== undefined;
      if (current && !refresh) throw this.#alreadyAuthenticated('login', returnTo, 'A valid session was detected and thus login is not possible. Did you forget to set `?refresh=true`?');
      if (refresh) identity = (await this.#d.store.identities.get(current!.session.identityId)) ?? undefined;
    } else if (kind === 'registration' && current) {
      throw this.#alreadyAuthenticated('registration', returnTo, 'A valid session was detected and thus registration is not possible.');
    } else if (kind === 'recovery' && current) {
      throw this.#alreadyAuthenticated('recovery', returnTo, 'A valid session was detected and thus recovery is not possible.');
    } else if (kind === 'settings') {
      identity = await this.#settingsOwner(type, facts, { loginReturnTo: facts.requestUrl });
    }
    const messages = refresh ? [message(MessageId.InfoSelfServiceLoginReAuth)] : undefined;
    const { record, settled, json } = await this.#build(kind, type, rq, {
      returnTo, refresh, identity, messages, requestUrl: facts.requestUrl, session: current, runBeforeHooks: true,
    });
    await this.#d.store.flows.insert(record);
    this.#d.metrics.flowsStarted.inc({ flow: kind, type });
    void settled;
    return { flowType: type, status: 200, body: json, browserLocation: this.#d.urls.uiFor(kind, record.id), cookies: rq.cookies };
  }

  // ------------------------------------------------------------------------------------------------ get

  async #get(kind: FlowKind, id: string, facts: RequestFacts, seen: { type?: FlowType }): Promise<FlowAnswer> {
    const rq = new RequestState(facts);
    const loaded = await this.#load(kind, id);
    const { record } = loaded;
    seen.type = record.type;
    if (record.type === 'browser' && !this.#sameBrowser(record, facts)) throw csrfViolation();
    const actor = kind === 'settings' ? await this.#settingsActor(record, facts) : await this.#actorFor(kind, record, facts);
    if (record.expiresAt.getTime() < this.#now().getTime()) {
      throw new KratosError(410, 'self_service_flow_expired', {
        reason: 'The self-service flow has expired.',
        details: record.type === 'browser'
          ? { redirect_to: this.#d.urls.init(kind, 'browser') }
          : { api: this.#d.urls.init(kind, 'api') },
      });
    }
    const json = (await this.#render(loaded, rq, actor)).json;
    return { flowType: record.type, status: 200, body: json, browserLocation: this.#d.urls.uiFor(kind, record.id), cookies: rq.cookies };
  }

  // ------------------------------------------------------------------------------------------------ submit

  async #submit(kind: FlowKind, id: string, facts: RequestFacts, input: SubmitInput, seen: { type?: FlowType }): Promise<FlowAnswer> {
    const rq = new RequestState(facts);
    const loaded = await this.#load(kind, id);
    const { record } = loaded;
    seen.type = record.type;
    const viaLink = input.viaLink === true;

    if (viaLink) {
      const early = await this.#linkShortcuts(kind, loaded, rq, input.body);
      if (early) return early;
    } else if (record.type === 'browser') {
      if (!facts.csrfCookie || !verifyCsrfToken(facts.csrfCookie, facts.csrfSubmitted) || !verifyCsrfToken(facts.csrfCookie, record.csrfToken)) throw csrfViolation();
    } else if (facts.browserMarkers) {
      const reason = 'API-based flows must not include cookies or an Origin header; use the browser flow for browsers.';
      // Kratos raises this inside the strategy: a message on the flow (settings: the error itself).
      if (kind === 'settings') throw new KratosError(400, undefined, { reason });
      return this.#flowAnswer(kind, loaded, rq, await this.#actorFor(kind, record, facts), 400, [message(MessageId.ErrorValidationGeneric, { reason })]);
    }

    if (record.expiresAt.getTime() < this.#now().getTime()) return this.#expired(kind, loaded, rq, viaLink);
    if (loaded.settled.done || ((kind === 'recovery' || kind === 'verification') && loaded.settled.state === 'passed_challenge')) {
      return this.#retryCompleted(kind, loaded, rq, viaLink);
    }
    const actor = kind === 'settings' ? await this.#settingsActor(record, facts) : await this.#actorFor(kind, record, facts);
    if (kind === 'registration' && facts.session) {
      throw this.#alreadyAuthenticated('registration', undefined, 'A valid session was detected and thus registration is not possible.', this.#d.config.selfservice.default_browser_return_url);
    }
    if (kind === 'login' && facts.session && !loaded.settled.context.refresh) {
      const answer = await this.#flowAnswer(kind, loaded, rq, actor, 400, [message(MessageId.ErrorValidationGeneric, { reason: 'A valid session was detected and thus login is not possible.' })]);
      return { ...answer, browserLocation: record.returnTo ?? this.#d.urls.after('login') };
    }

    let payload = input.body;
    if (kind === 'settings' && viaLink) {
      // GET /self-service/settings?flow= after re-authentication: apply the change that waited for it.
      const pending = loaded.internal[PENDING_SETTINGS] as { identityId: string; payload: Record<string, unknown> } | undefined;
      if (!pending || pending.identityId !== actor.identity?.id) {
        return this.#flowAnswer(kind, loaded, rq, actor, 400, [message(NO_STRATEGY.settings)]);
      }
      payload = pending.payload;
    } else {
      payload = this.#decode(kind, loaded, input);
      // A code or link token names its own method when the body leaves it out (Kratos's code strategy defaults to
      // itself when a code is present; a link token bypasses the method check).
      if ((kind === 'recovery' || kind === 'verification') && typeof payload.method !== 'string' && hasSecret(payload)) {
        payload = { ...payload, method: typeof payload.token === 'string' && payload.token !== '' ? 'link' : 'code' };
      }
    }
    return this.#run(kind, loaded, rq, actor, payload, viaLink);
  }

  // ------------------------------------------------------------------------------------------------ the run

  async #run(kind: FlowKind, first: Loaded, rq: RequestState, actor: Actor, payload: Record<string, unknown>, viaLink: boolean): Promise<FlowAnswer> {
    const method = typeof payload.method === 'string' ? payload.method : '';
    const event: FlowEvent = { type: 'method.submit', method, payload };
    let loaded = first;
    for (let attempt = 1; ; attempt++) {
      if (attempt > 1) {
        loaded = await this.#load(kind, first.record.id);
        if (loaded.settled.done) return this.#retryCompleted(kind, loaded, rq, viaLink);
        if (kind === 'settings' && actor.identity) actor = { ...actor, identity: (await this.#d.store.identities.get(actor.identity.id)) ?? actor.identity };
      }
      const work = this.#newAttempt(loaded);
      const settled = await this.#d.runtime.advance(kind, loaded.record.snapshot, event, {
        actors: this.#actors(kind, loaded, rq, actor, work),
        inspect: this.#inspector(kind, loaded.record),
        failure: () => work.failure,
      }).catch((err: unknown) => {
        this.#d.metrics.flowsFailed.inc({ flow: kind, type: loaded.record.type });
        throw work.failure ?? err;
      });
      await this.#afterSettle(kind, loaded, settled, rq, actor, work, payload);
      let record: FlowRecord;
      try {
        record = await this.#commit(loaded, settled, work);
      } catch (err) {
        if (err instanceof StoreConflictError) {
          if (attempt >= MAX_ATTEMPTS) throw new FlowConflictError(err);
          continue;
        }
        throw err;
      }
      if (work.refusal) throw work.refusal;
      return this.#answer(kind, { record, settled, internal: work.internal }, rq, actor, work, viaLink);
    }
  }

  #newAttempt(loaded: Loaded): Attempt {
    const internal = { ...loaded.internal };
    delete internal[PENDING_SETTINGS];
    return { internal, codes: [], messages: [], followUps: [], verificationFlows: [] };
  }

  /** The machine's effects for this attempt: every method actor runs the submitted method; sessions are issued here. */
  #actors(kind: FlowKind, loaded: Loaded, rq: RequestState, actor: Actor, work: Attempt): Record<string, AnyActorLogic> {
    const guarded = <I, O>(fn: (input: I) => Promise<O>) => fromPromise<O, I>(async ({ input }) => {
      try {
        return await fn(input);
      } catch (err) {
        work.failure ??= err;
        throw err;
      }
    });
    const runMethod = guarded((input: MethodActorInput) => this.#runMethod(kind, loaded, rq, actor, work, input));
    const issueSession = guarded(async (input: IssueSessionInput): Promise<SessionIssued> => {
      const issued = await this.#d.sessions.issue({ identityId: input.identityId, methods: [{ method: input.method, aal: input.aal }], device: rq.facts.device });
      work.issued = issued;
      if (kind !== 'recovery') return { sessionId: issued.session.id };
      const settings = await this.#recoverySettingsFlow(loaded.record, input.identityId, rq);
      work.followUps.push(settings);
      return { sessionId: issued.session.id, continueFlowId: settings.id };
    });
    return { ...Object.fromEntries(METHOD_ACTORS.map((name) => [name, runMethod])), issueSession };
  }

  async #runMethod(kind: FlowKind, loaded: Loaded, rq: RequestState, actor: Actor, work: Attempt, input: MethodActorInput): Promise<MachineOutcome> {
    const found = this.#capabilityFor(kind, loaded.settled.context, input.method);
    if (!found) return { kind: 'rejected', values: loaded.settled.context.values, messages: [message(NO_STRATEGY[kind])] };
    const [method, capability] = found;
    if ((kind === 'recovery' || kind === 'verification') && loaded.settled.state === 'sent_email' && hasSecret(input.payload)) {
      // Kratos counts every code submission on the flow and refuses the one after max_submissions.
      const submits = Number(work.internal[SUBMITS] ?? 0) + 1;
      work.internal[SUBMITS] = submits;
      if (submits > this.#maxSubmissions()) {
        work.outcome = { kind: 'exhausted', messages: [] };
        return work.outcome;
      }
    }
    const ctx = this.#methodContext(kind, loaded, actor, method);
    let outcome = await capability.submit(ctx, input.payload);
    if (outcome.kind === 'authenticated') {
      const refusal = await this.#requireVerifiedAddress(kind, loaded, rq, work, outcome);
      if (refusal) outcome = refusal;
    }
    work.outcome = outcome;
    work.methodId = method.id;
    if (outcome.internal !== undefined) work.internal[method.id] = outcome.internal;
    if (outcome.changes?.identity) work.identity = { ...outcome.changes.identity, previous: actor.identity };
    work.codes.push(...(outcome.changes?.codes ?? []));
    work.messages.push(...(outcome.changes?.messages ?? []));
    return toMachineOutcome(outcome);
  }

  /**
   * Kratos's `require_verified_address` login hook: no session for an identity without a verified address. With
   * `feature_flags.legacy_require_verified_login_error` (password logins only) a form message; otherwise a
   * verification flow for the first address and a 403 pointing at it.
   */
  async #requireVerifiedAddress(kind: FlowKind, loaded: Loaded, rq: RequestState, work: Attempt, outcome: Extract<Outcome, { kind: 'authenticated' }>): Promise<Outcome | undefined> {
    if (kind !== 'login' || !afterHooks(this.#d.config, 'login', outcome.method).includes('require_verified_address')) return undefined;
    const legacy = (this.#d.config as { feature_flags?: { legacy_require_verified_login_error?: boolean } }).feature_flags?.legacy_require_verified_login_error === true;
    if (legacy && outcome.method !== 'password') return undefined;
    const identity = await this.#d.store.identities.get(outcome.identityId);
    if (!identity) return undefined;
    if (identity.verifiableAddresses.some((a) => a.verified)) return undefined;
    const values = loaded.settled.context.values;
    if (legacy) return { kind: 'rejected', values, messages: [message(MessageId.ErrorValidationAddressNotVerified)] };
    const address = identity.verifiableAddresses.find((a) => a.value !== '');
    if (!address) {
      throw new KratosError(500, undefined, { reason: 'A misconfiguration prevents login. Expected to find a verification address but this identity does not have one assigned.' });
    }
    const started = await this.#startVerification(loaded.record, identity, address.value, rq, loaded.record.csrfToken ?? undefined);
    work.followUps.push(started.record);
    work.codes.push({ op: 'insert', code: started.code });
    work.messages.push(started.message);
    work.identity = { record: markSent(identity, [address.value], this.#now()), isNew: false };
    const url = this.#d.urls.uiFor('verification', started.record.id);
    work.refusal = new KratosError(400, 'session_verified_address_required', {
      reason: 'Your account\'s email or phone address are not verified yet. Please check your email or phone inbox or re-request verification.',
      message: 'your email or phone address is not yet verified',
      details: { continue_with: [{ action: 'show_verification_ui', flow: { id: started.record.id, verifiable_address: address.value, url } }] },
      httpStatus: 403,
      browserLocation: url,
    });
    return { kind: 'rejected', values };
  }

  /** Plans what a settled submit entails beyond the method's own changes (Kratos's after-hooks that write). */
  async #afterSettle(kind: FlowKind, loaded: Loaded, settled: Settled, rq: RequestState, actor: Actor, work: Attempt, payload: Record<string, unknown>): Promise<void> {
    const outcome = work.outcome;
    if (!outcome) return;
    const now = this.#now();
    if ((outcome.kind === 'registered' || outcome.kind === 'updated') && work.identity) {
      // The Verifier hook: a verification flow for the first new unverified address (Kratos's default), mailed now.
      const verificationOn = this.#d.config.selfservice.flows.verification.enabled === true;
      const known = new Set((work.identity.previous?.verifiableAddresses ?? []).map((a) => `${a.via}:${a.value}`));
      const fresh = work.identity.record.verifiableAddresses.filter((a) => !a.verified && a.value !== '' && !known.has(`${a.via}:${a.value}`));
      if (verificationOn && fresh.length > 0) {
        // Registration in a browser issues a session, which rotates the CSRF cookie: bind the new flow to the new token.
        const csrf = loaded.record.type === 'browser'
          ? (kind === 'registration' && settled.context.issueSession ? rq.rotateCsrf() : rq.csrfToken())
          : undefined;
        const started = await this.#startVerification(loaded.record, work.identity.record, fresh[0].value, rq, csrf);
        work.followUps.push(started.record);
        work.codes.push({ op: 'insert', code: started.code });
        work.messages.push(started.message);
        work.verificationFlows.push({ flowId: started.record.id, address: fresh[0].value });
        work.identity = { ...work.identity, record: markSent(work.identity.record, [fresh[0].value], now) };
      }
    }
    if (outcome.kind === 'updated' && work.identity && this.#d.config.session.revoke_other_sessions_on_password_change !== false) {
      const before = work.identity.previous?.credentials.find((c) => c.type === 'password')?.config.hashed_password;
      const after = work.identity.record.credentials.find((c) => c.type === 'password')?.config.hashed_password;
      if (after !== undefined && before !== after) work.revokeOthers = { identityId: work.identity.record.id, exceptSessionId: actor.session?.session.id };
    }
    if (work.issued && rq.facts.session) {
      // Re-authentication replaces the old session: a token planted before login never survives it.
      work.revokeToken = rq.facts.session.token;
    }
    // A new login rotates the CSRF token, except a re-authentication of the same identity (Kratos IssueCookie): the
    // token a paused settings change carries must still verify.
    const sameIdentity = rq.facts.session?.session.identityId === work.issued?.session.identityId;
    if (work.issued && loaded.record.type === 'browser' && work.verificationFlows.length === 0 && !sameIdentity) rq.rotateCsrf();
    if (outcome.kind === 'needs_refresh' && loaded.record.type === 'browser' && actor.identity) {
      // Kratos's continuity container: the change waits (sealed, with the flow) until the user re-authenticated.
      work.internal[PENDING_SETTINGS] = { identityId: actor.identity.id, payload: payload as Json } as Json;
    }
  }

  /** One transaction: the flow's new snapshot and everything the submit produced. */
  async #commit(loaded: Loaded, settled: Settled, work: Attempt): Promise<FlowRecord> {
    const now = this.#now();
    const next: FlowRecord = {
      ...loaded.record,
      snapshot: settled.snapshot,
      state: settled.state,
      identityId: loaded.record.identityId ?? settled.context.identityId ?? null,
      internal: await this.#d.internal.seal(loaded.record.id, work.internal),
      updatedAt: now,
    };
    return this.#d.store.transaction(async (tx) => {
      const written = await tx.flows.update(next);
      if (work.identity) await tx.identities.save(work.identity.record, work.identity.isNew);
      for (const flow of work.followUps) await tx.flows.insert(flow);
      await this.#applyCodes(tx, work.codes, now);
      for (const draft of work.messages) await this.#d.courier.enqueue(tx, draft);
      if (work.issued) await tx.sessions.insert(work.issued.record);
      if (work.revokeOthers) await tx.sessions.deactivateAllForIdentity(work.revokeOthers.identityId, now, work.revokeOthers.exceptSessionId);
      if (work.revokeToken) await this.#d.sessions.revokeByToken(work.revokeToken, tx);
      return written;
    });
  }

  async #applyCodes(tx: Transaction, codes: Attempt['codes'], now: Date): Promise<void> {
    for (const change of codes) {
      if (change.op === 'insert') await tx.codes.insert(change.code);
      else if (change.op === 'update') await tx.codes.update(change.id, change.patch, now);
      else await tx.codes.voidUnusedForFlow(change.flowId, now);
    }
  }

  // ------------------------------------------------------------------------------------------------ answers

  async #answer(kind: FlowKind, loaded: Loaded, rq: RequestState, actor: Actor, work: Attempt, viaLink: boolean): Promise<FlowAnswer> {
    const { record, settled } = loaded;
    const outcome = work.outcome;
    if (outcome?.kind === 'exhausted') return this.#replaceExhausted(kind, loaded, rq);
    if (outcome?.kind === 'needs_refresh') throw this.#refreshRequired(record);
    const completed = settled.done
      || (kind === 'settings' && outcome?.kind === 'updated')
      || ((kind === 'recovery' || kind === 'verification') && settled.state === 'passed_challenge');
    if (!completed) {
      const formProblem = Object.keys(settled.context.fieldMessages).length > 0;
      const status = kind === 'recovery' || kind === 'verification' ? (formProblem ? 400 : 200) : 400;
      const answer = await this.#flowAnswer(kind, loaded, rq, actor, status);
      // Kratos redirects registration form errors with 302 (every other flow 303).
      return kind === 'registration' ? { ...answer, browserStatus: 302 } : answer;
    }
    this.#d.metrics.flowsCompleted.inc({ flow: kind, type: record.type });
    const identityId = settled.context.identityId ?? record.identityId ?? undefined;
    let identity: IdentityRecord | undefined = work.identity?.record;
    const loadIdentity = async () => (identity ??= identityId ? (await this.#d.store.identities.get(identityId)) ?? undefined : undefined);
    if (this.#d.webHooks.has(kind, settled.context.active)) {
      const subject = await loadIdentity();
      const flowJson = (await this.#render(loaded, rq, { ...actor, identity: kind === 'settings' ? subject : actor.identity })).json;
      const session = work.issued && subject ? toSessionJson({ ...work.issued.session, identity: subject }, { includeIdentity: true, schemaUrl: this.#d.schemaUrl }) : undefined;
      await this.#d.webHooks.runAfter(kind, settled.context.active, {
        flow: flowJson,
        ...(subject ? { identity: toIdentityJson(subject, { schemaUrl: this.#d.schemaUrl, admin: false, credentials: false }) } : {}),
        ...(session ? { session } : {}),
        ...requestContext(rq.facts.hook, this.#d.webHooks.headerAllowlist),
      });
    }
    if (work.issued && record.type === 'browser') rq.cookies.session = { token: work.issued.token, expiresAt: work.issued.session.expiresAt };
    const returnTo = record.returnTo ?? this.#d.urls.after(kind, settled.context.active);
    const verification = work.verificationFlows.map((v) => ({
      action: 'show_verification_ui',
      flow: { id: v.flowId, verifiable_address: v.address, ...(record.type === 'browser' ? { url: this.#d.urls.uiFor('verification', v.flowId) } : {}) },
    }));

    if (kind === 'settings') {
      const subject = await loadIdentity();
      // Kratos: the flow's return_to, else the configured after-settings URL, else the settings UI again.
      const settingsTo = record.returnTo ?? this.#d.urls.afterConfigured('settings', settled.context.active) ?? this.#d.urls.uiFor('settings', record.id);
      const continueWith = [
        ...(record.type === 'browser' ? [{ action: 'redirect_browser_to', redirect_browser_to: settingsTo }] : []),
        ...verification,
      ];
      const json = (await this.#render(loaded, rq, { ...actor, identity: subject }, { continueWith: continueWith.length > 0 ? continueWith : undefined })).json;
      return { flowType: record.type, status: 200, body: json, browserLocation: settingsTo, cookies: rq.cookies };
    }
    if (kind === 'recovery') {
      const settingsUrl = this.#d.urls.uiFor('settings', settled.context.continueFlowId!);
      if (record.type === 'browser' || viaLink) {
        const error = new KratosError(422, 'browser_location_change_required', {
          reason: 'In order to complete this flow please redirect the browser to: ' + settingsUrl,
          message: 'browser location change required',
          beside: { redirect_browser_to: settingsUrl },
        });
        return { flowType: 'browser', status: 422, body: error.toJSON(), browserLocation: settingsUrl, cookies: rq.cookies };
      }
      const continueWith = [
        ...(work.issued ? [{ action: 'set_ory_session_token', ory_session_token: work.issued.token }] : []),
        { action: 'show_settings_ui', flow: { id: settled.context.continueFlowId, url: settingsUrl } },
      ];
      const json = (await this.#render(loaded, rq, actor, { continueWith })).json;
      return { flowType: record.type, status: 200, body: json, cookies: rq.cookies };
    }
    if (kind === 'verification') {
      const json = (await this.#render(loaded, rq, actor)).json;
      return { flowType: record.type, status: 200, body: json, browserLocation: this.#d.urls.uiFor('verification', record.id), cookies: rq.cookies };
    }

    const subject = await loadIdentity();
    const session = work.issued && subject ? toSessionJson({ ...work.issued.session, identity: subject }, { includeIdentity: true, schemaUrl: this.#d.schemaUrl }) : undefined;
    const token = record.type === 'api' && work.issued ? work.issued.token : undefined;
    if (kind === 'login') {
      const continueWith = record.type === 'browser' ? [{ action: 'redirect_browser_to', redirect_browser_to: returnTo }] : [];
      return {
        flowType: record.type, status: 200, body: { session, ...(token ? { session_token: token } : {}), continue_with: continueWith },
        browserLocation: returnTo, cookies: rq.cookies,
      };
    }
    // Registration (Kratos's continue_with order: browser [redirect, verification], API [verification, token]).
    const showVerification = afterHooks(this.#d.config, 'registration', settled.context.active ?? 'password').includes('show_verification_ui');
    const shownVerification = showVerification ? verification : [];
    const continueWith = record.type === 'browser'
      ? [{ action: 'redirect_browser_to', redirect_browser_to: returnTo }, ...shownVerification]
      : [...shownVerification, ...(token ? [{ action: 'set_ory_session_token', ory_session_token: token }] : [])];
    const browserLocation = shownVerification.length > 0 ? this.#d.urls.uiFor('verification', work.verificationFlows[0].flowId) : returnTo;
    return {
      flowType: record.type,
      status: 200,
      body: {
        identity: subject ? toIdentityJson(subject, { schemaUrl: this.#d.schemaUrl, admin: false, credentials: false }) : undefined,
        ...(session ? { session } : {}),
        ...(token ? { session_token: token } : {}),
        continue_with: continueWith,
      },
      browserLocation,
      cookies: rq.cookies,
    };
  }

  /** The flow as it stands (a form to show again): JSON clients get `status` and the flow, browsers its UI. */
  async #flowAnswer(kind: FlowKind, loaded: Loaded, rq: RequestState, actor: Actor, status: number, extra?: UiMessage[]): Promise<FlowAnswer> {
    const shown = extra ? { ...loaded, settled: { ...loaded.settled, context: { ...loaded.settled.context, messages: [...loaded.settled.context.messages, ...extra] } } } : loaded;
    const json = (await this.#render(shown, rq, actor)).json;
    return { flowType: loaded.record.type, status, body: json, browserLocation: this.#d.urls.uiFor(kind, loaded.record.id), cookies: rq.cookies };
  }

  #refreshRequired(record: FlowRecord): KratosError {
    // Back to this very submit URL: the GET there applies the change that waited (Kratos `reauthenticate`).
    const resume = this.#d.urls.endpoint('self-service/settings', { flow: record.id });
    const to = this.#d.urls.endpoint('self-service/login/browser', { refresh: 'true', return_to: resume });
    return new KratosError(403, 'session_refresh_required', {
      reason: 'The login session is too old and thus not allowed to update these fields. Please re-authenticate.',
      beside: { redirect_browser_to: to },
      browserLocation: to,
    });
  }

  #alreadyAuthenticated(kind: 'login' | 'registration' | 'recovery', returnTo: string | undefined, reason: string, browserDefault?: string): KratosError {
    return new KratosError(400, 'session_already_available', { reason, browserLocation: returnTo ?? browserDefault ?? this.#d.urls.after(kind) });
  }

  /** An expired flow: a replacement with Kratos's "expired" message; JSON clients get 410 pointing at it. */
  async #expired(kind: FlowKind, loaded: Loaded, rq: RequestState, viaLink: boolean): Promise<FlowAnswer> {
    const { record } = loaded;
    this.#d.metrics.flowsExpired.inc({ flow: kind, type: record.type });
    const now = this.#now();
    const expiredMessage = message(EXPIRED[kind], { expired_at: record.expiresAt.toISOString(), expired_at_unix: Math.floor(record.expiresAt.getTime() / 1000) }, { now });
    const fresh = await this.#replacement(kind, record, rq, [expiredMessage]);
    const location = this.#d.urls.uiFor(kind, fresh.id);
    if (viaLink) return { flowType: 'browser', status: 303, body: undefined, browserLocation: location, cookies: rq.cookies };
    throw new KratosError(410, 'self_service_flow_expired', {
      reason: `The self-service flow expired ${((now.getTime() - record.expiresAt.getTime()) / 60000).toFixed(2)} minutes ago, initialize a new one.`,
      beside: { expired_at: record.expiresAt.toISOString(), since: (now.getTime() - record.expiresAt.getTime()) * 1_000_000, use_flow_id: fresh.id },
      browserLocation: location,
    });
  }

  /** A submit to a finished flow. Recovery/verification start over with Kratos's message; others show the flow. */
  async #retryCompleted(kind: FlowKind, loaded: Loaded, rq: RequestState, viaLink: boolean): Promise<FlowAnswer> {
    const done = message(RETRY_SUCCESS[kind]);
    if (kind === 'recovery' || kind === 'verification') {
      const fresh = await this.#replacement(kind, loaded.record, rq, [done]);
      const location = this.#d.urls.uiFor(kind, fresh.id);
      if (viaLink) return { flowType: 'browser', status: 303, body: undefined, browserLocation: location, cookies: rq.cookies };
      const json = (await this.#render({ record: fresh, settled: this.#d.runtime.view(kind, fresh.snapshot), internal: {} }, rq, { privileged: false })).json;
      return { flowType: loaded.record.type, status: 200, body: json, browserLocation: location, cookies: rq.cookies };
    }
    return this.#flowAnswer(kind, loaded, rq, { privileged: false }, 400, [done]);
  }

  /**
   * Too many code submissions: Kratos leaves the flow and starts a new one with 4000001; verification answers JSON
   * clients 410 `self_service_flow_replaced`, recovery sends them to the new flow.
   */
  async #replaceExhausted(kind: FlowKind, loaded: Loaded, rq: RequestState): Promise<FlowAnswer> {
    const reason = 'The request was submitted too often. Please request another code.';
    const fresh = await this.#replacement(kind, loaded.record, rq, [message(MessageId.ErrorValidationGeneric, { reason })]);
    const location = this.#d.urls.uiFor(kind, fresh.id);
    if (kind === 'verification') {
      throw new KratosError(410, 'self_service_flow_replaced', {
        reason: 'An error occured, please retry the flow.', message: 'self-service flow replaced', beside: { use_flow_id: fresh.id }, browserLocation: location,
      });
    }
    const json = (await this.#render({ record: fresh, settled: this.#d.runtime.view(kind, fresh.snapshot), internal: {} }, rq, { privileged: false })).json;
    return { flowType: loaded.record.type, status: 200, body: json, browserLocation: location, cookies: rq.cookies };
  }

  /** A new flow in place of `old` (same type, return_to and request URL), with `messages`; stored at once. */
  async #replacement(kind: FlowKind, old: FlowRecord, rq: RequestState, messages: UiMessage[]): Promise<FlowRecord> {
    const identity = old.identityId && kind === 'settings' ? (await this.#d.store.identities.get(old.identityId)) ?? undefined : undefined;
    const { record } = await this.#build(kind, old.type, rq, {
      returnTo: old.returnTo ?? undefined, identity, messages, requestUrl: old.requestUrl, session: rq.facts.session, runBeforeHooks: true,
    });
    await this.#d.store.flows.insert(record);
    this.#d.metrics.flowsStarted.inc({ flow: kind, type: old.type });
    return record;
  }

  // ------------------------------------------------------------------------------------------------ links

  /**
   * GETs that arrive from links: a bare flow link opens the UI; a verification code pre-fills the form and waits
   * for the user's submit (Kratos does not consume a code on GET); link tokens are consumed; settings resume.
   */
  async #linkShortcuts(kind: FlowKind, loaded: Loaded, rq: RequestState, query: Record<string, unknown>): Promise<FlowAnswer | undefined> {
    const { record } = loaded;
    const code = typeof query.code === 'string' && query.code !== '' ? query.code : undefined;
    const token = typeof query.token === 'string' && query.token !== '' ? query.token : undefined;
    if (kind === 'settings') return undefined;
    if (!code && !token) return { flowType: 'browser', status: 303, body: undefined, browserLocation: this.#d.urls.uiFor(kind, record.id), cookies: rq.cookies };
    if (code && kind === 'recovery') {
      throw new KratosError(400, undefined, { reason: 'Unable to decode body because HTTP Request Method was "GET" but only [POST] are supported.' });
    }
    if (code && record.expiresAt.getTime() >= this.#now().getTime() && loaded.settled.state === 'sent_email') {
      // The browser opening the link may be another one: rebind the flow to its (new) CSRF token, as Kratos does.
      const internal = { ...loaded.internal, [PREFILL]: { code } };
      const next: FlowRecord = {
        ...record,
        csrfToken: record.type === 'browser' ? rq.rotateCsrf() : record.csrfToken,
        internal: await this.#d.internal.seal(record.id, internal),
        updatedAt: this.#now(),
      };
      try {
        await this.#d.store.flows.update(next);
      } catch (err) {
        if (!(err instanceof StoreConflictError)) throw err;
      }
      return { flowType: 'browser', status: 303, body: undefined, browserLocation: this.#d.urls.uiFor(kind, record.id), cookies: rq.cookies };
    }
    return undefined;
  }

  // ------------------------------------------------------------------------------------------------ building blocks

  async #load(kind: FlowKind, id: string): Promise<Loaded> {
    const record = await this.#d.store.flows.get(id);
    if (!record || record.kind !== kind) throw new KratosError(404, undefined, { reason: 'The flow could not be found.' });
    return { record, settled: this.#d.runtime.view(kind, record.snapshot), internal: await this.#d.internal.open(record.id, record.internal) };
  }

  /** A pasted flow URL leaks nothing: reading a browser flow needs the CSRF cookie it was issued with. */
  #sameBrowser(record: FlowRecord, facts: RequestFacts): boolean {
    return Boolean(facts.csrfCookie && record.csrfToken && verifyCsrfToken(facts.csrfCookie, record.csrfToken));
  }

  async #settingsOwner(type: FlowType, facts: RequestFacts, options: { loginReturnTo?: string } = {}): Promise<IdentityRecord> {
    const current = facts.session;
    if (!current) {
      const login = this.#d.urls.endpoint('self-service/login/browser', { return_to: options.loginReturnTo });
      throw new KratosError(401, 'session_inactive', { reason: 'No valid session credentials found in the request.', browserLocation: type === 'browser' ? login : undefined });
    }
    if (type === 'api' && current.source === 'cookie') {
      throw new KratosError(400, undefined, { reason: 'API-based settings flows need the session token in the X-Session-Token header.' });
    }
    const identity = await this.#d.store.identities.get(current.session.identityId);
    if (!identity) throw new KratosError(401, 'session_inactive', { reason: 'The session identity no longer exists.' });
    return identity;
  }

  async #settingsActor(record: FlowRecord, facts: RequestFacts): Promise<Actor> {
    const identity = await this.#settingsOwner(record.type, facts, { loginReturnTo: this.#d.urls.init('settings', 'browser') });
    if (identity.id !== record.identityId) {
      throw new KratosError(403, 'security_identity_mismatch', { reason: 'The flow was interrupted because the session does not belong to the flow\'s identity.' });
    }
    const maxAge = parseDuration(this.#d.config.selfservice.flows.settings.privileged_session_max_age);
    const privileged = this.#now().getTime() - facts.session!.session.authenticatedAt.getTime() <= maxAge;
    return { session: facts.session, identity, privileged };
  }

  async #actorFor(kind: FlowKind, record: FlowRecord, facts: RequestFacts): Promise<Actor> {
    const refresh = kind === 'login' && this.#d.runtime.view(kind, record.snapshot).context.refresh;
    const identity = refresh && facts.session ? (await this.#d.store.identities.get(facts.session.session.identityId)) ?? undefined : undefined;
    return { session: facts.session, identity, privileged: false };
  }

  /** Methods showing nodes in this flow, in display order. */
  #shownMethods(kind: FlowKind, context: FlowContext): Method[] {
    const all = this.#d.methods.filter((m) => m[kind]);
    if (kind !== 'registration' || this.#d.config.selfservice.flows.registration.style === 'unified') return all;
    // Profile-first: the traits alone first; the credentials once they were accepted (or were just tried).
    const credentialStep = context.screen === 'credential-selection' || (context.active !== undefined && context.active !== 'profile');
    return credentialStep ? all : all.filter((m) => m.id === 'profile');
  }

  #capabilityFor(kind: FlowKind, context: FlowContext, methodId: string): [Method, Capability] | undefined {
    const candidates = this.#d.methods.filter((m) => m[kind]);
    if (kind === 'registration' && methodId === 'profile' && this.#d.config.selfservice.flows.registration.style === 'unified') return undefined;
    const exact = candidates.find((m) => m.id === methodId);
    if (exact) return [exact, exact[kind]!];
    const accepting = candidates.find((m) => m[kind]!.accepts?.(methodId));
    return accepting ? [accepting, accepting[kind]!] : undefined;
  }

  #methodContext(kind: FlowKind, loaded: Loaded, actor: Actor, method: Method): MethodContext {
    const { record, settled } = loaded;
    const context = settled.context;
    const prefill = (loaded.internal[PREFILL] ?? {}) as Record<string, unknown>;
    return {
      flow: {
        id: record.id,
        kind,
        type: record.type,
        state: settled.state,
        active: context.active,
        refresh: context.refresh,
        requestedAal: context.requestedAal,
        continueTo: record.returnTo ?? this.#d.urls.after(kind),
        screen: context.screen,
        values: { ...context.values, ...prefill },
        fieldMessages: context.fieldMessages,
      },
      internal: loaded.internal[method.id],
      identity: actor.identity,
      session: actor.session?.session,
      privileged: actor.privileged,
      now: this.#now(),
    };
  }

  /** Every shown method's nodes and the flow JSON; methods may return new internal state (kept by the caller). */
  async #render(loaded: Loaded, rq: RequestState, actor: Actor, extra: { continueWith?: unknown[] } = {}): Promise<{ json: Record<string, unknown>; internal: InternalState }> {
    const { record, settled } = loaded;
    const kind = record.kind;
    const internal = { ...loaded.internal };
    const nodes = [];
    for (const method of this.#shownMethods(kind, settled.context)) {
      const result = await method[kind]!.nodes(this.#methodContext(kind, loaded, actor, method));
      nodes.push(...result.nodes);
      if (result.internal !== undefined) internal[method.id] = result.internal;
    }
    const passedVerification = kind === 'verification' && settled.state === 'passed_challenge';
    const continueTo = record.returnTo ?? this.#d.urls.after('verification');
    const json = projectFlow({
      flow: record,
      state: settled.state,
      context: settled.context,
      nodes,
      action: passedVerification ? continueTo : this.#d.urls.action(kind, record.id),
      method: passedVerification ? 'GET' : 'POST',
      csrfValue: record.type === 'browser' ? maskCsrfToken(record.csrfToken ?? rq.csrfToken()) : undefined,
      identity: kind === 'settings' && actor.identity ? toIdentityJson(actor.identity, { schemaUrl: this.#d.schemaUrl, admin: false, credentials: false }) : undefined,
      continueWith: extra.continueWith,
    });
    return { json, internal };
  }

  /** Builds a new flow (nothing stored): first snapshot, nodes, internal state; before-hooks see it first. */
  async #build(kind: FlowKind, type: FlowType, rq: RequestState, options: {
    returnTo?: string; refresh?: boolean; identity?: IdentityRecord; messages?: UiMessage[]; requestUrl: string; session?: CallerSession;
    events?: FlowEvent[]; csrfToken?: string; expiresAt?: Date; runBeforeHooks?: boolean;
  }): Promise<{ record: FlowRecord; settled: Settled; json: Record<string, unknown> }> {
    const now = this.#now();
    const id = crypto.randomUUID();
    const identityId = kind === 'settings' ? options.identity?.id : undefined;
    const input: FlowInput = {
      flowId: id, flowType: type, identityId, schemaId: this.#d.schemas.defaultId, refresh: options.refresh, requestedAal: 'aal1',
      messages: options.messages, issueSession: kind === 'registration' && afterHooks(this.#d.config, 'registration', 'password').includes('session'),
    };
    const settled = this.#d.runtime.start(kind, input, { events: options.events, inspect: this.#inspector(kind, { id, type }) });
    const lifespan = parseDuration(this.#d.config.selfservice.flows[kind]?.lifespan ?? '1h');
    const record: FlowRecord = {
      id, kind, type, state: settled.state, requestUrl: options.requestUrl, returnTo: options.returnTo ?? null,
      csrfToken: type === 'browser' ? options.csrfToken ?? rq.csrfToken() : null, identityId: identityId ?? null,
      snapshot: settled.snapshot, internal: null, issuedAt: now, expiresAt: options.expiresAt ?? new Date(now.getTime() + lifespan),
      createdAt: now, updatedAt: now, version: 1,
    };
    const actor: Actor = { session: options.session, identity: options.identity, privileged: false };
    const rendered = await this.#render({ record, settled, internal: {} }, rq, actor);
    record.internal = await this.#d.internal.seal(id, rendered.internal);
    if (options.runBeforeHooks && this.#d.webHooks.hasBefore(kind)) {
      // Kratos runs before-hooks on the new flow before storing it: a failing hook leaves no flow behind.
      await this.#d.webHooks.runBefore(kind, { flow: rendered.json, ...requestContext(rq.facts.hook, this.#d.webHooks.headerAllowlist) });
    }
    return { record, settled, json: rendered.json };
  }

  /** A verification flow already in `sent_email` for `address`, with its code and mail (nothing stored). */
  async #startVerification(parent: FlowRecord, identity: IdentityRecord, address: string, rq: RequestState, csrfToken?: string) {
    const { record } = await this.#build('verification', parent.type, rq, {
      requestUrl: parent.requestUrl, returnTo: parent.returnTo ?? undefined, csrfToken, events: [{ type: 'challenge.issued', values: { email: address } }],
    });
    const use = this.#d.config.selfservice.flows.verification.use ?? 'code';
    const issued = await this.#d.challengeIssuer.issue({ purpose: 'verification', kind: use, flowId: record.id, identity, address, now: this.#now(), requestUrl: parent.requestUrl });
    this.#d.metrics.flowsStarted.inc({ flow: 'verification', type: parent.type });
    return { record, code: issued.code, message: issued.message };
  }

  /** Recovery hands over to a settings flow of the recovered identity, privileged for a while (message 1060001). */
  async #recoverySettingsFlow(recovery: FlowRecord, identityId: string, rq: RequestState): Promise<FlowRecord> {
    const now = this.#now();
    const privilegedUntil = new Date(now.getTime() + parseDuration(this.#d.config.selfservice.flows.settings.privileged_session_max_age));
    const recovered = message(MessageId.InfoSelfServiceRecoverySuccessful, {
      privileged_session_expires_at: privilegedUntil.toISOString(), privileged_session_expires_at_unix: Math.floor(privilegedUntil.getTime() / 1000),
    }, { now });
    const identity = (await this.#d.store.identities.get(identityId)) ?? undefined;
    const csrf = recovery.type === 'browser' ? rq.rotateCsrf() : undefined;
    const { record } = await this.#build('settings', recovery.type, rq, {
      requestUrl: this.#d.urls.init('settings', recovery.type), returnTo: recovery.returnTo ?? this.#d.urls.afterConfigured('recovery'),
      identity, messages: [recovered], csrfToken: csrf,
    });
    this.#d.metrics.flowsStarted.inc({ flow: 'settings', type: recovery.type });
    return record;
  }

  /**
   * An administrator's recovery code or link (`POST /admin/recovery/code|link`): a recovery flow already in
   * `sent_email` with the secret issued, stored in one transaction. Returns the flow id and the secret.
   */
  async issueRecovery(input: { identity: IdentityRecord; address: string; kind: 'code' | 'link'; flowType: FlowType; returnTo?: string; expiresAt: Date }): Promise<{ flowId: string; secret: string }> {
    const rq = new RequestState({ browserMarkers: false, device: {}, requestUrl: this.#d.urls.init('recovery', input.flowType), hook: { method: 'POST', url: '', headers: {} } });
    const { record } = await this.#build('recovery', input.flowType, rq, {
      requestUrl: this.#d.urls.init('recovery', input.flowType), returnTo: input.returnTo, expiresAt: input.expiresAt,
      // An admin-issued browser flow is bound to no browser yet: whoever opens the link gets a fresh binding.
      csrfToken: input.flowType === 'browser' ? rq.csrfToken() : undefined,
      events: [{ type: 'challenge.issued', values: { email: input.address } }],
    });
    const issued = await this.#d.challengeIssuer.issue({ purpose: 'recovery', kind: input.kind, flowId: record.id, identity: input.identity, address: input.address, now: this.#now(), expiresAt: input.expiresAt });
    await this.#d.store.transaction(async (tx) => {
      await tx.flows.insert(record);
      await tx.codes.insert(issued.code);
    });
    this.#d.metrics.flowsStarted.inc({ flow: 'recovery', type: input.flowType });
    return { flowId: record.id, secret: issued.secret };
  }

  /** Stores an error for the browser's error UI (`GET /self-service/errors?id=`); returns where to send the browser. */
  async recordError(error: KratosError, csrfCookie: string | undefined): Promise<string> {
    const now = this.#now();
    const id = crypto.randomUUID();
    await this.#d.store.errors.insert({ id, error: error.toJSON().error, csrfToken: csrfCookie ?? null, seenAt: null, createdAt: now, updatedAt: now });
    const url = new URL(this.#d.urls.ui('error'));
    url.searchParams.set('id', id);
    return url.toString();
  }

  #decode(kind: FlowKind, loaded: Loaded, input: SubmitInput): Record<string, unknown> {
    const methodId = typeof input.body.method === 'string' ? input.body.method : '';
    const found = this.#capabilityFor(kind, loaded.settled.context, methodId) ?? this.#capabilityFor(kind, loaded.settled.context, this.#shownMethods(kind, loaded.settled.context)[0]?.id ?? '');
    const schemaPath = found?.[1].payloadSchema;
    const schema = schemaPath ? this.#payloadSchema(schemaPath) : undefined;
    return decodeBody(input.body, { source: input.source === 'json' ? 'json' : 'form', schema, documents: [this.#identityDocument()] });
  }

  #payloadSchemaCache = new Map<string, object>();
  /**
   * A method's payload schema whose `traits` refer to the identity schema's (Kratos `$ref`s them), so a form is typed
   * by the identity schema: booleans, numbers, arrays from repeated keys.
   */
  #payloadSchema(path: string): object {
    let schema = this.#payloadSchemaCache.get(path);
    if (!schema) {
      const base = payloadSchemaJson(path) as { properties?: Record<string, unknown> };
      schema = base.properties && 'traits' in base.properties
        ? { ...base, properties: { ...base.properties, traits: { $ref: `${IDENTITY_DOCUMENT}#/properties/traits` } } }
        : base;
      this.#payloadSchemaCache.set(path, schema);
    }
    return schema;
  }

  #identityDoc: object | undefined;
  #identityDocument(): object {
    return (this.#identityDoc ??= { ...this.#d.schemas.require(this.#d.schemas.defaultId).raw, $id: IDENTITY_DOCUMENT });
  }

  #maxSubmissions(): number {
    return this.#d.config.selfservice.methods.code.config?.max_submissions ?? 5;
  }

  #inspector(kind: FlowKind, record: { id: string; type: string; state?: string }) {
    return createFlowInspector(this.#d.metrics, kind, { flowId: record.id, flowType: record.type, fromState: record.state });
  }

  #now(): Date {
    return this.#d.clock.now();
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

function csrfViolation(): KratosError {
  return new KratosError(403, 'security_csrf_violation', {
    reason: 'Please retry the flow and optionally clear your cookies. The request was rejected to protect you from Cross-Site-Request-Forgery (CSRF) which could cause account takeover, leaking personal information, and other serious security issues.',
    message: 'the request was rejected to protect you from Cross-Site-Request-Forgery',
    details: {
      docs: 'https://www.ory.sh/kratos/docs/debug/csrf',
      hint: 'The anti-CSRF cookie was found but the CSRF token was not included in the HTTP request body (csrf_token) nor in the HTTP Header (X-CSRF-Token).',
      reject_reason: 'The HTTP Cookie Header was set and a CSRF token was sent but they do not match. We recommend deleting all cookies for this domain and retrying the flow.',
    },
  });
}

function hasSecret(payload: Record<string, unknown>): boolean {
  return (typeof payload.code === 'string' && payload.code !== '') || (typeof payload.token === 'string' && payload.token !== '');
}

/** The part of a method outcome the machine branches on (changes and internal state stay with the service). */
function toMachineOutcome(outcome: Outcome): MachineOutcome {
  const { changes: _changes, internal: _internal, ...rest } = outcome;
  if (rest.kind === 'updated') return { ...rest, messages: [message(MessageId.InfoSelfServiceSettingsUpdateSuccess)] };
  if (rest.kind === 'authenticated') return { kind: 'authenticated', identityId: rest.identityId, method: rest.method, aal: rest.aal };
  return rest as MachineOutcome;
}

/** Marks addresses whose code was just mailed as `sent`. */
function markSent(identity: IdentityRecord, values: string[], now: Date): IdentityRecord {
  return {
    ...identity,
    verifiableAddresses: identity.verifiableAddresses.map((a) => (values.includes(a.value) && a.status === 'pending' ? { ...a, status: 'sent' as const, updatedAt: now } : a)),
  };
}

