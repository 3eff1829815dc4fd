/**
 * One submission of a flow: restore the machine, let the submitted method interpret the payload, let the machine
 * decide, plan the after-hooks that write (verification flows, session revocations, a settings change waiting for
 * re-authentication), and commit all of it with the new snapshot in ONE transaction. A concurrent submit of the same
 * flow loses the optimistic lock and is retried from the stored snapshot.
 */
import type { FlowEvent, HooksInput, IssueSessionInput, MethodActorInput, Outcome as MachineOutcome, SessionIssued } from '../../machines/flow-types.ts';
import { KratosError, sessionVerifiedAddressRequired } from '../errors/kratos-error.ts';
import { toIdentityJson } from '../identity/identity-json.ts';
import type { IdentityRecord } from '../identity/identity.ts';
import type { Json, Outcome } from '../methods/method.ts';
import { StoreConflictError, type FlowKind, type FlowRecord, type Transaction } from '../persistence/store.ts';
import { MessageId } from '../text/ids.ts';
import { message } from '../text/message.ts';
import type { FlowAnswers } from './flow-answers.ts';
import { EXCHANGE_WINDOW_MS, hashExchangeCode, newExchangeCode } from '../session/token-exchange.ts';
import { hasSecret, NO_STRATEGY, PENDING_SETTINGS, SUBMITS, TEST, testStateOf, TOKEN_EXCHANGE, type Actor, type Attempt, type BegunHeadStart, type FlowForms, type Loaded } from './flow-forms.ts';
import type { InternalState } from './flow-internal.ts';
import type { FlowAnswer, RequestState } from './flow-request.ts';
import type { Effects, Settled } from './flow-runtime.ts';
import type { FlowServiceDeps } from './flow-deps.ts';
import { afterHooks } from './hooks.ts';
import { runPrePersistHooks } from './flow-hooks.ts';
import { sameJson } from '../x/same-json.ts';

/** The machine actor that runs a method, per flow kind and state. */
const METHOD_ACTORS = ['authenticate', 'register', 'applySettings', 'sendCode', 'checkCode'];
const MAX_ATTEMPTS = 4;

export class FlowConflictError extends KratosError {
  constructor(cause?: unknown) {
    super(409, undefined, { reason: 'The flow was changed by a concurrent request; please retry.', cause });
  }
}

export class FlowSubmission {
  readonly #d: FlowServiceDeps;
  readonly #forms: FlowForms;
  readonly #answers: FlowAnswers;

  constructor(deps: FlowServiceDeps, forms: FlowForms, answers: FlowAnswers) {
    this.#d = deps;
    this.#forms = forms;
    this.#answers = answers;
  }

  /**
   * `internal`: internal state the service sets with this submit (kept whatever the method answers); `headStart`: the
   * submitted method's, begun (first attempt only).
   */
  async run(kind: FlowKind, first: Loaded, rq: RequestState, actor: Actor, payload: Record<string, unknown>, viaLink: boolean, internal: InternalState = {}, headStart?: BegunHeadStart): Promise<FlowAnswer> {
    const method = typeof payload.method === 'string' ? payload.method : '';
    const event: FlowEvent = { type: 'method.submit', method, payload };
    // The history names a method only when it is one (a submitted `method` can be any text, of any length).
    const recordedMethod = this.#d.methods.some((m) => m.id === method) ? method : null;
    let loaded = first;
    for (let attempt = 1; ; attempt++) {
      if (attempt > 1) {
        loaded = await this.#forms.load(kind, first.record.id);
        if (loaded.settled.done) return this.#answers.retryCompleted(kind, loaded, rq, viaLink);
        // A concurrent writer moved on (another submit, a consumed single-use secret): decide again on fresh data.
        if (actor.identity) actor = { ...actor, identity: (await this.#d.store.identities.get(actor.identity.id)) ?? actor.identity };
      }
      const work = this.newAttempt(loaded);
      if (attempt === 1) work.headStart = headStart;
      Object.assign(work.internal, internal);
      if (Object.keys(internal).length > 0) loaded = { ...loaded, internal: { ...loaded.internal, ...internal } };
      const settled = await this.#d.runtime.advance(kind, loaded.record.snapshot, event, {
        effects: this.effects(kind, loaded, rq, actor, work),
        // The history keeps what the flow did; restoring and stopping the actor for this request are not part of it.
        inspect: this.#forms.inspector(kind, loaded.record, (t) => {
          if (t.event !== 'xstate.init' && t.event !== 'xstate.stop') work.transitions.push({ event: t.event, from: t.from, to: t.to, method: recordedMethod });
        }),
        failure: () => work.failure,
      }).catch((err: unknown) => {
        this.#d.metrics.flowsFailed.inc({ flow: kind, type: loaded.record.type });
        throw work.failure ?? err;
      });
      await this.afterSettle(kind, loaded, settled, rq, actor, work, payload);
      if (!settled.done) await this.keepNodeState(kind, loaded, settled, rq, actor, work);
      let record: FlowRecord;
      try {
        record = await this.commit(loaded, settled, work);
      } catch (err) {
        if (err instanceof StoreConflictError) {
          if (attempt >= MAX_ATTEMPTS) throw new FlowConflictError(err);
          continue;
        }
        throw err;
      }
      this.countSecondFactor(kind, work);
      if (work.refusal) throw work.refusal;
      const outcome = work.outcome;
      if (outcome?.kind === 'continue_in' && (kind === 'login' || kind === 'registration')) {
        return this.continueIn(record, outcome, work.methodId!, rq, actor, viaLink, work.internal[TOKEN_EXCHANGE] === true);
      }
      return this.#answers.completed(kind, { record, settled, internal: work.internal }, rq, actor, work, viaLink);
    }
  }

  /**
   * The submission goes on in a new flow of the other kind (Kratos converts OpenID Connect logins of unknown accounts
   * into sign-ups and back, and clashing sign-ups into a login that links). The new flow inherits the type, return_to
   * and request URL; it is stored, then either submitted at once for the method (`resume`) or shown with its messages.
   * The old flow was committed already: this is a second transaction, as Kratos's own conversion writes twice.
   */
  async continueIn(from: FlowRecord, outcome: Extract<Outcome, { kind: 'continue_in' }>, methodId: string, rq: RequestState, actor: Actor, viaLink: boolean, exchange: boolean): Promise<FlowAnswer> {
    const kind = outcome.flowKind;
    const { record } = await this.#forms.build(kind, from.type, rq, {
      returnTo: from.returnTo ?? undefined, requestUrl: from.requestUrl, messages: outcome.messages, session: rq.facts.session,
      internal: { [methodId]: outcome.carry, ...(exchange ? { [TOKEN_EXCHANGE]: true } : {}) }, runBeforeHooks: true,
    });
    await this.#d.store.transaction(async (tx) => {
      await tx.flows.insert(record);
      // Kratos MoveToNewFlow: a native app's token exchange follows the sign-in into the new flow.
      if (exchange) await tx.tokenExchanges.moveToFlow(from.id, record.id, this.#forms.now());
    });
    this.#d.metrics.flowsStarted.inc({ flow: kind, type: from.type });
    if (outcome.messages && outcome.messages.length > 0) {
      const ui = this.#d.urls.uiFor(kind, record.id);
      const json = (await this.#forms.render(await this.#forms.load(kind, record.id), rq, { session: actor.session, privileged: false })).json;
      return { flowType: record.type, status: 400, body: json, browserLocation: ui, cookies: rq.cookies };
    }
    const loaded = await this.#forms.load(kind, record.id);
    return this.run(kind, loaded, rq, { session: actor.session, privileged: false }, { method: methodId, resume: true }, viaLink);
  }

  /**
   * State a method's nodes keep for the flow's next step (a TOTP key shown as a QR code waits for its first code) is
   * settled with the submit, so the form the client is shown next is the one its next submit is checked against.
   */
  async keepNodeState(kind: FlowKind, loaded: Loaded, settled: Settled, rq: RequestState, actor: Actor, work: Attempt): Promise<void> {
    const identity = kind === 'settings' && work.identity ? work.identity.record : actor.identity;
    const { internal } = await this.#forms.render({ record: loaded.record, settled, internal: work.internal }, rq, { ...actor, identity });
    work.internal = internal;
  }

  newAttempt(loaded: Loaded): Attempt {
    const internal = { ...loaded.internal };
    delete internal[PENDING_SETTINGS];
    return { internal, codes: [], messages: [], followUps: [], verificationFlows: [], consumes: [], transitions: [] };
  }

  /** Second-factor metrics: a login at aal2 or an enrolment that proved a code, by method and result. */
  countSecondFactor(kind: FlowKind, work: Attempt): void {
    const outcome = work.outcome;
    if (!outcome || !work.methodId) return;
    const method = this.#d.methods.find((m) => m.id === work.methodId);
    if (kind === 'login' && method?.login?.aal === 'aal2' && (outcome.kind === 'authenticated' || outcome.kind === 'rejected')) {
      this.#d.metrics.secondFactorChecks.inc({ method: method.id, flow: kind, result: outcome.kind === 'authenticated' ? 'success' : 'failure' });
    } else if (kind === 'settings' && outcome.changes?.sessionMethod?.aal === 'aal2') {
      // A first factor proven in settings (a linked OpenID Connect provider) is no second-factor check.
      this.#d.metrics.secondFactorChecks.inc({ method: outcome.changes.sessionMethod.method, flow: kind, result: 'success' });
    }
  }

  /** The machine's effects for this attempt: every method actor runs the submitted method; sessions are issued here. */
  effects(kind: FlowKind, loaded: Loaded, rq: RequestState, actor: Actor, work: Attempt): Effects {
    const guarded = <I, O>(fn: (input: I) => Promise<O>) => async (input: I): Promise<O> => {
      try {
        return await fn(input);
      } catch (err) {
        work.failure ??= err;
        throw err;
      }
    };
    const runMethod = guarded((input: MethodActorInput) => this.runMethod(kind, loaded, rq, actor, work, input));
    // The session records the provider a social sign-in came through (Kratos CompletedLoginForWithProvider).
    const provedWith = (input: IssueSessionInput) => {
      const outcome = work.outcome;
      const provider = outcome && (outcome.kind === 'authenticated' || outcome.kind === 'registered') && outcome.method === input.method ? outcome.provider : undefined;
      return { method: input.method, aal: input.aal, ...(provider ? { provider } : {}) };
    };
    const issue = async (input: IssueSessionInput): Promise<SessionIssued> => {
      // A mitigated clash takes the road of a new sign-up, but there is no account to sign in: nothing is issued.
      if (work.clash) return { sessionId: crypto.randomUUID() };
      const issued = await this.#d.sessions.issue({ identityId: input.identityId, methods: [provedWith(input)], device: rq.facts.device });
      work.issued = issued;
      if (kind !== 'recovery') return { sessionId: issued.session.id };
      const settings = await this.#forms.recoverySettingsFlow(loaded.record, input.identityId, rq);
      work.followUps.push(settings);
      return { sessionId: issued.session.id, continueFlowId: settings.id };
    };
    const issueSession = guarded(issue);
    // Proving the caller's identity again (a second factor, a refresh) continues the caller's session (Kratos
    // ActivateSession): same id, the method joins its authentication methods. A browser's cookie gets a new token and
    // the old one dies (ASVS 7.2.4); a native app keeps its token, as Kratos's clients expect. A caller without that
    // identity's session (it expired meanwhile) simply gets a new one.
    const continueSession = guarded(async (input: IssueSessionInput): Promise<SessionIssued> => {
      const caller = rq.facts.session;
      if (!caller || caller.session.identityId !== input.identityId) return issue(input);
      const continued = await this.#d.sessions.reactivate(caller.session, provedWith(input), {
        device: rq.facts.device, rotateToken: loaded.record.type === 'browser',
      });
      work.upgraded = { session: caller.session, token: continued.token ?? caller.token, patch: continued.patch };
      return { sessionId: caller.session.id };
    });
    const runHooks = guarded((input: HooksInput) => runPrePersistHooks(this.#d, this.#forms, kind, loaded, rq, actor, work, input));
    return { ...Object.fromEntries(METHOD_ACTORS.map((name) => [name, runMethod])), issueSession, continueSession, runHooks };
  }

  async runMethod(kind: FlowKind, loaded: Loaded, rq: RequestState, actor: Actor, work: Attempt, input: MethodActorInput): Promise<MachineOutcome> {
    const found = this.#forms.capabilityFor(kind, input.method, loaded.settled.context);
    if (!found) return { kind: 'rejected', values: loaded.settled.context.values, messages: [message(NO_STRATEGY[kind])] };
    const [method, capability] = found;
    // A test login signs nobody in: no other method may take it over (Kratos: their CSRF check fails on its bearer).
    if (kind === 'login' && !method.testsLogin && testStateOf(loaded.internal)) return { kind: 'rejected', values: loaded.settled.context.values, messages: [message(NO_STRATEGY[kind])] };
    if ((kind === 'recovery' || kind === 'verification') && loaded.settled.state === 'sent_email' && hasSecret(input.payload)) {
      // Kratos counts every code submission on the flow and refuses the one after max_submissions.
      const submits = Number(work.internal[SUBMITS] ?? 0) + 1;
      work.internal[SUBMITS] = submits;
      if (submits > this.#forms.maxSubmissions()) {
        work.outcome = { kind: 'exhausted', messages: [] };
        rq.methodOutcome = 'exhausted';
        return work.outcome;
      }
    }
    const ctx = this.#forms.methodContext(kind, loaded, actor, method);
    if (work.headStart?.methodId === method.id) {
      ctx.headStart = work.headStart.headStart;
      work.headStart = undefined;
    }
    let outcome = await capability.submit(ctx, input.payload);
    rq.methodOutcome = outcome.kind;
    if (outcome.kind === 'registered' && outcome.existingAccount) {
      // The identity stays a draft: it shapes the answer, is never saved, and no session follows (see afterSettle).
      work.clash = outcome.changes?.identity?.record;
      outcome = { ...outcome, changes: { ...outcome.changes, identity: undefined } };
    }
    if (outcome.kind === 'authenticated') {
      const refusal = await this.requireVerifiedAddress(kind, loaded, rq, work, outcome);
      if (refusal) outcome = refusal;
    }
    if (outcome.kind === 'authenticated') outcome = await this.afterLogin(kind, loaded, actor, outcome);
    work.outcome = outcome;
    work.methodId = method.id;
    if (outcome.internal !== undefined) work.internal[method.id] = outcome.internal;
    if (outcome.changes?.identity) work.identity = { ...outcome.changes.identity, previous: actor.identity };
    work.codes.push(...(outcome.changes?.codes ?? []));
    work.messages.push(...(outcome.changes?.messages ?? []));
    if (outcome.changes?.consumes) work.consumes.push(outcome.changes.consumes);
    const added = outcome.changes?.sessionMethod;
    if (added && actor.session) {
      // Enrolling a second factor proved it: the session records the method and is aal2 from now on.
      work.upgraded = { session: actor.session.session, token: actor.session.token, patch: this.#d.sessions.upgrade(actor.session.session, added) };
    }
    return toMachineOutcome(outcome, loaded.settled.context);
  }

  /**
   * Methods with work waiting in this login flow for whoever logs in (OpenID Connect account linking) change the
   * identity that just proved itself; the change is committed with the login.
   */
  async afterLogin(kind: FlowKind, loaded: Loaded, actor: Actor, outcome: Extract<Outcome, { kind: 'authenticated' }>): Promise<Outcome> {
    if (kind !== 'login') return outcome;
    const waiting = this.#d.methods.filter((m) => m.afterLogin && loaded.internal[m.id] !== undefined);
    if (waiting.length === 0) return outcome;
    let identity = outcome.changes?.identity?.record ?? outcome.identity ?? (await this.#d.store.identities.get(outcome.identityId)) ?? undefined;
    let changed = false;
    for (const method of waiting) {
      if (!identity) break;
      const next = await method.afterLogin!(this.#forms.methodContext(kind, loaded, actor, method), identity);
      if (next) {
        identity = next;
        changed = true;
      }
    }
    return changed && identity ? { ...outcome, changes: { ...outcome.changes, identity: { record: identity, isNew: false } } } : outcome;
  }

  /**
   * Kratos's `require_verified_address` login hook: no session for an identity without a verified address. With
   * `feature_flags.legacy_require_verified_login_error` (password logins only) a form message; otherwise a
   * verification flow for the first address and a 403 pointing at it.
   */
  async requireVerifiedAddress(kind: FlowKind, loaded: Loaded, rq: RequestState, work: Attempt, outcome: Extract<Outcome, { kind: 'authenticated' }>): Promise<Outcome | undefined> {
    if (kind !== 'login' || !afterHooks(this.#d.config, 'login', outcome.method).includes('require_verified_address')) return undefined;
    const legacy = (this.#d.config as { feature_flags?: { legacy_require_verified_login_error?: boolean } }).feature_flags?.legacy_require_verified_login_error === true;
    if (legacy && outcome.method !== 'password') return undefined;
    const identity = outcome.identity ?? (await this.#d.store.identities.get(outcome.identityId));
    if (!identity) return undefined;
    if (identity.verifiableAddresses.some((a) => a.verified)) return undefined;
    const values = loaded.settled.context.values;
    if (legacy) return { kind: 'rejected', values, messages: [message(MessageId.ErrorValidationAddressNotVerified)] };
    const address = identity.verifiableAddresses.find((a) => a.value !== '');
    if (!address) {
      throw new KratosError(500, undefined, { reason: 'A misconfiguration prevents login. Expected to find a verification address but this identity does not have one assigned.' });
    }
    const started = await this.#forms.startVerification(loaded.record, identity, address.value, rq, loaded.record.csrfToken ?? undefined);
    work.followUps.push(started.record);
    work.codes.push({ op: 'insert', code: started.code });
    work.messages.push(started.message);
    work.identity = { record: markSent(identity, [address.value], this.#forms.now()), isNew: false };
    const url = this.#d.urls.uiFor('verification', started.record.id);
    work.refusal = sessionVerifiedAddressRequired([{ action: 'show_verification_ui', flow: { id: started.record.id, verifiable_address: address.value, url } }], url);
    return { kind: 'rejected', values };
  }

  /** Plans what a settled submit entails beyond the method's own changes (Kratos's after-hooks that write). */
  async afterSettle(kind: FlowKind, loaded: Loaded, settled: Settled, rq: RequestState, actor: Actor, work: Attempt, payload: Record<string, unknown>): Promise<void> {
    const outcome = work.outcome;
    if (!outcome) return;
    const now = this.#forms.now();
    if ((outcome.kind === 'registered' || outcome.kind === 'updated') && work.identity) {
      // The Verifier hook: a verification flow for the first new unverified address (Kratos's default), mailed now.
      const verificationOn = this.#d.config.selfservice.flows.verification.enabled === true;
      const known = new Set((work.identity.previous?.verifiableAddresses ?? []).map((a) => `${a.via}:${a.value}`));
      const fresh = work.identity.record.verifiableAddresses.filter((a) => !a.verified && a.value !== '' && !known.has(`${a.via}:${a.value}`));
      if (verificationOn && fresh.length > 0) {
        // Registration in a browser issues a session, which rotates the CSRF cookie: bind the new flow to the new token.
        const csrf = loaded.record.type === 'browser'
          ? (kind === 'registration' && work.issued ? rq.rotateCsrf() : rq.csrfToken())
          : undefined;
        const started = await this.#forms.startVerification(loaded.record, work.identity.record, fresh[0].value, rq, csrf);
        work.followUps.push(started.record);
        work.codes.push({ op: 'insert', code: started.code });
        work.messages.push(started.message);
        work.verificationFlows.push({ flowId: started.record.id, address: fresh[0].value });
        work.identity = { ...work.identity, record: markSent(work.identity.record, [fresh[0].value], now) };
      }
    }
    if (outcome.kind === 'registered' && work.clash) await this.answerClash(loaded, rq, work, work.clash);
    if (kind === 'recovery' && outcome.kind === 'challenge_passed') await this.tellRecovered(loaded, work, outcome.identityId);
    if (outcome.kind === 'updated' && work.identity && this.#d.config.session.revoke_other_sessions_on_password_change !== false) {
      const before = work.identity.previous?.credentials.find((c) => c.type === 'password')?.config.hashed_password;
      const after = work.identity.record.credentials.find((c) => c.type === 'password')?.config.hashed_password;
      if (after !== undefined && before !== after) work.revokeOthers = { identityId: work.identity.record.id, exceptSessionId: actor.session?.session.id };
    }
    const test = testStateOf(work.internal);
    if (outcome.kind === 'tested' && test) {
      // Kratos finishTestLogin: the payload is kept for the browser that went through the provider — its CSRF cookie
      // is rotated and the flow pinned to the new token, so only that browser may read or delete what was captured.
      work.internal[TEST] = { provider_id: test.provider_id, debug_payload: outcome.debug } as Json;
      if (loaded.record.type === 'browser') work.csrfToken = rq.rotateCsrf();
    }
    const destroyer = this.revokeActiveSessions(kind, work, actor);
    if (destroyer) work.revokeOthers = destroyer;
    if (work.issued && loaded.record.type === 'api' && work.internal[TOKEN_EXCHANGE] === true && (payload.callback !== undefined || payload.resume === true)) {
      // A native app's sign-in came back through the browser (Kratos MaybeRedirectAPICodeFlow): the browser takes a
      // return_to code to the app, which exchanges it with its init code for the session token.
      const returnToCode = newExchangeCode();
      work.exchange = { returnToCode, returnToCodeHash: await hashExchangeCode(returnToCode) };
    }
    if (work.issued && rq.facts.session) {
      // Re-authentication replaces the old session: a token planted before login never survives it.
      work.revokeToken = rq.facts.session.token;
    }
    // A new login rotates the CSRF token, except a re-authentication of the same identity (Kratos IssueCookie): the
    // token a paused settings change carries must still verify.
    const sameIdentity = rq.facts.session?.session.identityId === work.issued?.session.identityId;
    if (work.issued && loaded.record.type === 'browser' && !sameIdentity) rq.rotateCsrf();
    if (outcome.kind === 'needs_refresh' && loaded.record.type === 'browser' && actor.identity) {
      // Kratos's continuity container: the change waits (sealed, with the flow) until the user re-authenticated.
      work.internal[PENDING_SETTINGS] = { identityId: actor.identity.id, payload: (outcome.resubmit ?? payload) as Json } as Json;
    }
  }

  /**
   * Kratos's `revoke_active_sessions` after-hook (selfservice/hook/session_destroyer.go): a login (a step-up too) and a
   * recovery end every other session of the identity but the one they issued or continued; a settings change every
   * other but the caller's. Committed with the flow.
   */
  revokeActiveSessions(kind: FlowKind, work: Attempt, actor: Actor): Attempt['revokeOthers'] {
    if (kind !== 'login' && kind !== 'recovery' && kind !== 'settings') return undefined;
    const outcome = work.outcome;
    const method = outcome?.kind === 'authenticated' ? outcome.method : work.methodId ?? '';
    if (!afterHooks(this.#d.config, kind, method).includes('revoke_active_sessions')) return undefined;
    if (kind === 'settings') {
      if (outcome?.kind !== 'updated' || !actor.session) return undefined;
      return { identityId: actor.session.session.identityId, exceptSessionId: actor.session.session.id };
    }
    const session = work.issued?.session ?? work.upgraded?.session;
    return session ? { identityId: session.identityId, exceptSessionId: session.id } : undefined;
  }

  /**
   * A sign-up whose identifiers belong to an account, with account enumeration mitigated: what a new sign-up writes
   * and mails is done alike — a verification flow for its first address (its code mail rendered and dropped: the
   * address is the owner's, and nothing is there to verify) — and the owner gets a "someone tried to sign up with
   * your address" mail instead. The identity itself is not saved (see FlowAnswers.completed for the answer).
   */
  async answerClash(loaded: Loaded, rq: RequestState, work: Attempt, draft: IdentityRecord): Promise<void> {
    const now = this.#forms.now();
    const fresh = draft.verifiableAddresses.filter((a) => a.value !== '');
    if (this.#d.config.selfservice.flows.verification.enabled === true && fresh.length > 0) {
      const csrf = loaded.record.type === 'browser' ? rq.csrfToken() : undefined;
      const started = await this.#forms.startVerification(loaded.record, draft, fresh[0].value, rq, csrf);
      work.followUps.push(started.record);
      work.messages.push({ ...started.message, drop: true });
      work.verificationFlows.push({ flowId: started.record.id, address: fresh[0].value });
      work.clash = markSent(draft, [fresh[0].value], now);
    }
    const notice = await this.#d.identities.clashNotice(draft);
    const recipient = notice?.address ?? fresh.find((a) => a.via === 'email')?.value;
    if (!recipient) return;
    const identity = notice ? toIdentityJson(notice.owner, { schemaUrl: this.#d.schemaUrl, admin: false, credentials: false }) as unknown as Record<string, unknown> : undefined;
    // Without an owner's address to write to (the clash was a username), the mail is rendered and dropped all the same.
    work.messages.push({ templateType: 'registration_attempted', recipient, data: { identity, request_url: loaded.record.requestUrl }, drop: notice?.address === undefined });
  }

  /**
   * A recovery succeeded: the address it went through is told (idflow's `account_recovered` mail), so an owner whose
   * mailbox or code was misused learns of it — committed with the recovery itself.
   */
  async tellRecovered(loaded: Loaded, work: Attempt, identityId: string): Promise<void> {
    const address = loaded.settled.context.values.email;
    const identity = await this.#d.store.identities.get(identityId);
    if (typeof address !== 'string' || address === '' || !identity) return;
    const json = toIdentityJson(identity, { schemaUrl: this.#d.schemaUrl, admin: false, credentials: false }) as unknown as Record<string, unknown>;
    work.messages.push({ templateType: 'account_recovered', recipient: address, data: { identity: json, request_url: loaded.record.requestUrl } });
  }

  /** One transaction: the flow's new snapshot and everything the submit produced. */
  async commit(loaded: Loaded, settled: Settled, work: Attempt): Promise<FlowRecord> {
    const now = this.#forms.now();
    const next: FlowRecord = {
      ...loaded.record,
      snapshot: settled.snapshot,
      state: settled.state,
      identityId: loaded.record.identityId ?? (work.clash ? null : settled.context.identityId) ?? null,
      internal: await this.#d.internal.seal(loaded.record.id, work.internal),
      csrfToken: work.csrfToken ?? loaded.record.csrfToken,
      updatedAt: now,
    };
    return this.#d.store.transaction(async (tx) => {
      for (const consumed of work.consumes) {
        const stored = await tx.identities.lockCredentialConfig(consumed.identityId, consumed.type);
        if (!stored || !sameJson(stored, consumed.config)) throw new StoreConflictError(`the ${consumed.type} credential changed while it was being used`);
      }
      const written = await tx.flows.update(next);
      await tx.flows.appendHistory(work.transitions.map((t, position) => ({ flowId: next.id, flowVersion: loaded.record.version, position, ...t, at: now })));
      if (work.identity) await tx.identities.save(work.identity.record, work.identity.isNew);
      for (const flow of work.followUps) await tx.flows.insert(flow);
      await this.applyCodes(tx, work.codes, now);
      for (const draft of work.messages) await this.#d.courier.enqueue(tx, draft);
      if (work.issued) await tx.sessions.insert(work.issued.record);
      if (work.exchange && work.issued) {
        await tx.tokenExchanges.complete(loaded.record.id, work.exchange.returnToCodeHash, work.issued.session.id, new Date(now.getTime() + EXCHANGE_WINDOW_MS), now);
      }
      if (work.revokeOthers) await tx.sessions.deactivateAllForIdentity(work.revokeOthers.identityId, now, work.revokeOthers.exceptSessionId);
      if (work.revokeToken) await this.#d.sessions.revokeByToken(work.revokeToken, tx);
      if (work.upgraded) await tx.sessions.update(work.upgraded.session.id, work.upgraded.patch, now);
      return written;
    });
  }

  async applyCodes(tx: Transaction, codes: Attempt['codes'], now: Date): Promise<void> {
    for (const change of codes) {
      if (change.op === 'insert') {
        // Only the newest code sent to an address works, whichever flow asked for the older ones.
        await tx.codes.voidUnusedForAddress(change.code.purpose, change.code.address, now);
        await tx.codes.insert(change.code);
      }
      else if (change.op === 'update') await tx.codes.update(change.id, change.patch, now);
      else await tx.codes.voidUnusedForFlow(change.flowId, now);
    }
  }
}

/** The part of a method outcome the machine branches on (changes and internal state stay with the service). */
function toMachineOutcome(outcome: Outcome, context: { values: Record<string, unknown> }): MachineOutcome {
  const { changes: _changes, internal: _internal, ...rest } = outcome;
  if (rest.kind === 'registered') return { kind: 'registered', identityId: rest.identityId, method: rest.method };
  if (rest.kind === 'updated') return { ...rest, messages: [message(MessageId.InfoSelfServiceSettingsUpdateSuccess)] };
  if (rest.kind === 'authenticated') return { kind: 'authenticated', identityId: rest.identityId, method: rest.method, aal: rest.aal };
  // The flow keeps waiting while the browser is elsewhere (a provider), or when the submission went on in another flow.
  if (rest.kind === 'redirect') return { kind: 'rejected', values: rest.values ?? context.values };
  if (rest.kind === 'continue_in') return { kind: 'rejected', values: context.values };
  if (rest.kind === 'needs_refresh') return { kind: 'needs_refresh' };
  if (rest.kind === 'tested') return { kind: 'tested' };
  return rest as MachineOutcome;
}

/** Marks addresses whose code was just mailed as `sent`. */
function markSent(identity: IdentityRecord, values: string[], now: Date): IdentityRecord {
  return {
    ...identity,
    verifiableAddresses: identity.verifiableAddresses.map((a) => (values.includes(a.value) && a.status === 'pending' ? { ...a, status: 'sent' as const, updatedAt: now } : a)),
  };
}
