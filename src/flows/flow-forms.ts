/**
 * The flow service's building blocks: loading a flow with its internal state, who is acting on it, which methods it
 * shows and which takes a submission, the flow JSON, new flows (first snapshot, nodes, internal state) and body
 * decoding. Shared by the service, the submission and the answers.
 */
import type { FlowContext, FlowEvent, FlowInput, UiMessage } from '../../machines/flow-types.ts';
import { createFlowInspector, type TransitionRecord } from '../../observability/flow-inspector.ts';
import { KratosError, sessionAal2Required, sessionInactive, securityIdentityMismatch } from '../errors/kratos-error.ts';
import { requestContext } from '../hooks/web-hooks.ts';
import { toIdentityJson } from '../identity/identity-json.ts';
import type { IdentityRecord } from '../identity/identity.ts';
import type { Capability, Changes, HeadStart, Json, Method, MethodContext, Outcome } from '../methods/method.ts';
import type { FlowKind, FlowRecord, FlowType, SessionPatch } from '../persistence/store.ts';
import type { SessionView } from '../session/session.ts';
import { credentialKinds, satisfiesAal } from '../session/aal.ts';
import type { IssuedSession } from '../session/session-service.ts';
import { MessageId } from '../text/ids.ts';
import type { MessageId as MessageIdValue } from '../text/ids.ts';
import { message } from '../text/message.ts';
import { nodeKey, type UiNode } from '../ui/node.ts';
import { maskCsrfToken, verifyCsrfToken } from '../x/csrf-token.ts';
import { decodeBody } from '../x/decode-body.ts';
import { payloadSchemaJson } from '../x/body-validator.ts';
import { parseDuration } from '../x/duration.ts';
import type { InternalState } from './flow-internal.ts';
import { projectFlow } from './flow-json.ts';
import type { CallerSession, RequestFacts, RequestState } from './flow-request.ts';
import type { FlowServiceDeps, SubmitInput } from './flow-deps.ts';
import type { Settled } from './flow-runtime.ts';
import { afterHooks } from './hooks.ts';
import { IDENTIFIED_SCREEN, IDENTIFIER_FIRST, identifiedHint } from '../methods/identifier-first/identifier-first.method.ts';

export const NO_STRATEGY: Record<FlowKind, MessageIdValue> = {
  login: MessageId.ErrorValidationLoginNoStrategyFound,
  registration: MessageId.ErrorValidationRegistrationNoStrategyFound,
  settings: MessageId.ErrorValidationSettingsNoStrategyFound,
  recovery: MessageId.ErrorValidationRecoveryNoStrategyFound,
  verification: MessageId.ErrorValidationVerificationNoStrategyFound,
};

/** Internal keys of the flow service itself (methods' slices are keyed by method id). */
export const PENDING_SETTINGS = '$pending_settings';
export const PREFILL = '$prefill';
/** An API flow whose session the app gets by a token exchange (the row is in session_token_exchanges). */
export const TOKEN_EXCHANGE = '$token_exchange';
export const SUBMITS = '$code_submits';
/** An administrator's browser recovery flow, bound to no browser until its link is first opened. */
export const UNBOUND = '$unbound';
/**
 * An administrator's dry-run test login (Kratos's `test_context`, kept in its internal context): the provider under
 * test, the CSRF token of the browser that went to the provider (its callback must come back there), and once the
 * provider answered the debug payload. Sealed with the flow: the payload holds the provider's claims.
 */
export const TEST = '$test';

export interface TestState {
  provider_id: string;
  browser?: string;
  debug_payload?: Json;
}

/** The test login state of a flow, when it is one. */
export function testStateOf(internal: InternalState): TestState | undefined {
  const test = internal[TEST] as unknown as TestState | undefined;
  return test && typeof test === 'object' && typeof test.provider_id === 'string' ? test : undefined;
}
/** The `$id` the identity schema is known by while decoding bodies. */
const IDENTITY_DOCUMENT = 'https://idflow.dev/schemas/identity-traits.json';

/** A stored flow, its settled machine view and its (unsealed) internal state. */
export type Loaded = { record: FlowRecord; settled: Settled; internal: InternalState };

/** The caller, as the service sees it for one flow. */
export interface Actor {
  session?: CallerSession;
  identity?: IdentityRecord;
  privileged: boolean;
}

/** A head start the submitted method made on this submission (see HeadStart), begun. */
export interface BegunHeadStart { methodId: string; headStart: HeadStart }

/** What one attempt of a submit produced besides the snapshot; committed together. */
export interface Attempt {
  /** The first attempt's head start, until the method it belongs to runs (a retry reads everything afresh). */
  headStart?: BegunHeadStart;
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
  /** The caller's session gained a factor (aal2 step-up, refresh at aal2, a second factor enrolled): same id and token. */
  upgraded?: { session: SessionView; token: string; patch: SessionPatch };
  /** Single-use secrets consumed: the commit checks each credential is still as read (see Changes.consumes). */
  consumes: NonNullable<Changes['consumes']>[];
  verificationFlows: Array<{ flowId: string; address: string }>;
  /** The machine's transitions in this attempt (the flow's history), with the method submitted. */
  transitions: Array<{ event: string; from: string; to: string; method: string | null }>;
  /** require_verified_address refused the login: commit the verification flow, answer with this error. */
  refusal?: KratosError;
  /** A native app's token exchange completes with this submit: the return_to code (its hash is committed). */
  exchange?: { returnToCode: string; returnToCodeHash: string };
  /** The machine ran the hooks that come before saving (its `running_hooks` step). */
  hooksRan?: boolean;
  /**
   * A mitigated sign-up whose identifiers belong to an account: the identity it would have been (never saved; it
   * shapes the answer); no session is issued and the account's owner is told.
   */
  clash?: IdentityRecord;
  /** The flow is bound to this CSRF token from now on (a test login that captured its payload). */
  csrfToken?: string;
}

export class FlowForms {
  readonly #d: FlowServiceDeps;
  readonly #payloadSchemaCache = new Map<string, object>();
  #identityDoc: object | undefined;

  constructor(deps: FlowServiceDeps) {
    this.#d = deps;
  }

  async load(kind: FlowKind, id: string): Promise<Loaded> {
    const record = await this.#d.store.flows.get(id);
    if (!record || record.kind !== kind) throw new KratosError(404, undefined, { reason: 'The flow could not be found.' });
    return { record, settled: this.#d.runtime.view(kind, record.snapshot), internal: await this.#d.internal.open(record.id, record.internal) };
  }

  /** A pasted flow URL leaks nothing: reading a browser flow needs the CSRF cookie it was issued with. */
  sameBrowser(record: FlowRecord, facts: RequestFacts): boolean {
    return Boolean(facts.csrfCookie && record.csrfToken && verifyCsrfToken(facts.csrfCookie, record.csrfToken));
  }

  async settingsOwner(type: FlowType, facts: RequestFacts, options: { loginReturnTo?: string } = {}): Promise<IdentityRecord> {
    const current = facts.session;
    if (!current) {
      const login = this.#d.urls.endpoint('self-service/login/browser', { return_to: options.loginReturnTo });
      throw sessionInactive('No valid session credentials found in the request.', { browserLocation: type === 'browser' ? login : undefined });
    }
    if (type === 'api' && current.source === 'cookie') {
      throw new KratosError(400, undefined, { reason: 'API-based settings flows need the session token in the X-Session-Token header.' });
    }
    const identity = await this.#d.store.identities.get(current.session.identityId);
    if (!identity) throw sessionInactive('The session identity no longer exists.');
    return identity;
  }

  /**
   * The settings flow's owner acting on it. `aalReturnTo`: where the aal2 login returns when the session must step up
   * first (reading the flow: its UI; submitting: the submit URL).
   */
  async settingsActor(record: FlowRecord, facts: RequestFacts, aalReturnTo: string): Promise<Actor> {
    const identity = await this.settingsOwner(record.type, facts);
    if (identity.id !== record.identityId) {
      throw securityIdentityMismatch();
    }
    this.requireSettingsAal(identity, facts.session!, aalReturnTo);
    const maxAge = parseDuration(this.#d.config.selfservice.flows.settings.privileged_session_max_age);
    const privileged = this.now().getTime() - facts.session!.session.authenticatedAt.getTime() <= maxAge;
    return { session: facts.session, identity, privileged };
  }

  /**
   * `selfservice.flows.settings.required_aal`: with `highest_available` an aal1 session of an identity that has a
   * second factor must step up before it may see or change settings (403 `session_aal2_required`, browsers are sent
   * to the aal2 login). Recovery never bypasses this: its session is aal1.
   */
  requireSettingsAal(identity: IdentityRecord, current: CallerSession, returnTo: string | undefined): void {
    const required = this.#d.config.selfservice.flows.settings.required_aal;
    if (satisfiesAal(current.session.aal, required, credentialKinds(identity.credentials), this.#d.secondFactors)) return;
    throw sessionAal2Required(this.#d.urls.endpoint('self-service/login/browser', { aal: 'aal2', return_to: returnTo }));
  }

  /** Login with refresh or at aal2 acts on the session's identity (its methods show that identity's credentials). */
  async actorFor(kind: FlowKind, record: FlowRecord, facts: RequestFacts): Promise<Actor> {
    const context = kind === 'login' ? this.#d.runtime.view(kind, record.snapshot).context : undefined;
    const known = context !== undefined && (context.refresh || context.requestedAal === 'aal2');
    const identity = known && facts.session ? (await this.#d.store.identities.get(facts.session.session.identityId)) ?? undefined : undefined;
    return { session: facts.session, identity, privileged: false };
  }

  /** Methods showing nodes in this flow, in display order; a login flow shows the factors of its AAL only. */
  shownMethods(kind: FlowKind, context: FlowContext, internal?: InternalState): Method[] {
    const all = this.#d.methods.filter((m) => m[kind] && (kind !== 'login' || m.login!.aal === context.requestedAal));
    // A test login is the tested method's alone (Kratos's test flow UI holds the provider's button only).
    if (kind === 'login' && internal && testStateOf(internal)) return all.filter((m) => m.testsLogin);
    const identifierFirst = this.identifierFirst(kind, context);
    if (identifierFirst === 'identify') return all.filter((m) => m.id === IDENTIFIER_FIRST || m.id === 'passkey');
    if (identifierFirst === 'identified') {
      // The identity's own methods (all of them under enumeration mitigation), the identifier travelling hidden.
      const known = identifiedHint(internal?.[IDENTIFIER_FIRST])?.methods;
      return all.filter((m) => m.id === IDENTIFIER_FIRST || !known || known.includes(m.id));
    }
    // A login method's own screen (passwordless WebAuthn after the identifier) shows that method alone.
    if (kind === 'login' && context.screen) return all.filter((m) => m.id === context.screen);
    // Sign-up by code, once the code is sent: the traits (hidden) and the code form.
    if (kind === 'registration' && context.screen === 'code') return all.filter((m) => m.id === 'profile' || m.id === 'code');
    // A method that holds the form alone (an OpenID Connect sign-up lacking traits): the traits and that method.
    const exclusive = kind === 'registration' ? all.find((m) => m.registration!.exclusive?.(internal?.[m.id] as Json | undefined)) : undefined;
    if (exclusive) return all.filter((m) => m.id === 'profile' || m === exclusive);
    if (kind !== 'registration' || this.#d.config.selfservice.flows.registration.style === 'unified') return all;
    // Profile-first: the traits alone first; the credentials once they were accepted (or were just tried).
    const credentialStep = context.screen === 'credential-selection' || (context.active !== undefined && context.active !== 'profile');
    return credentialStep ? all : all.filter((m) => m.id === 'profile');
  }

  /** Ids of the methods offering a flow kind. */
  shownMethodIds(kind: FlowKind): string[] {
    return this.#d.methods.filter((m) => m[kind]).map((m) => m.id);
  }

  /**
   * Identifier-first login (`selfservice.flows.login.style`): `identify` on its first screen, `identified` once the
   * identifier is known; undefined for other flows and for refresh or aal2 logins (their identity is known).
   */
  identifierFirst(kind: FlowKind, context: FlowContext): 'identify' | 'identified' | undefined {
    if (kind !== 'login' || this.#d.config.selfservice.flows.login.style !== 'identifier_first') return undefined;
    if (context.refresh || context.requestedAal !== 'aal1') return undefined;
    if (context.screen === IDENTIFIED_SCREEN) return 'identified';
    return context.screen === undefined ? 'identify' : undefined;
  }

  /** The method taking a submission of `methodId`; a login flow takes only the factors of its AAL (Kratos CheckAAL). */
  capabilityFor(kind: FlowKind, methodId: string, context?: FlowContext): [Method, Capability] | undefined {
    const candidates = this.#d.methods.filter((m) => m[kind] && (kind !== 'login' || !context || m.login!.aal === context.requestedAal));
    if (kind === 'registration' && methodId === 'profile' && this.#d.config.selfservice.flows.registration.style === 'unified') return undefined;
    const exact = candidates.find((m) => m.id === methodId);
    if (exact) return [exact, exact[kind]!];
    const accepting = candidates.find((m) => m[kind]!.accepts?.(methodId));
    return accepting ? [accepting, accepting[kind]!] : undefined;
  }

  methodContext(kind: FlowKind, loaded: Loaded, actor: Actor, method: Method): MethodContext {
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
        tokenExchange: loaded.internal[TOKEN_EXCHANGE] === true,
        ...(kind === 'login' && testStateOf(loaded.internal) ? { test: { providerId: testStateOf(loaded.internal)!.provider_id } } : {}),
        values: { ...context.values, ...prefill },
        fieldMessages: context.fieldMessages,
      },
      internal: loaded.internal[method.id],
      identity: actor.identity,
      session: actor.session?.session,
      privileged: actor.privileged,
      now: this.now(),
    };
  }

  /** Every shown method's nodes and the flow JSON; methods may return new internal state (kept by the caller). */
  async render(loaded: Loaded, rq: RequestState, actor: Actor, extra: { continueWith?: unknown[] } = {}): Promise<{ json: Record<string, unknown>; internal: InternalState }> {
    const { record, settled } = loaded;
    const kind = record.kind;
    const internal = { ...loaded.internal };
    const nodes: UiNode[] = [];
    // On identifier-first screens the identifier is the identifier-first method's; other methods' inputs for it go.
    const ownIdentifier = this.identifierFirst(kind, settled.context) !== undefined;
    for (const method of this.shownMethods(kind, settled.context, loaded.internal)) {
      const result = await method[kind]!.nodes(this.methodContext(kind, loaded, actor, method));
      for (const node of result.nodes) {
        if (ownIdentifier && node.group === 'default' && node.attributes.node_type === 'input' && node.attributes.name === 'identifier') continue;
        upsertShared(nodes, node);
      }
      if (result.internal !== undefined) internal[method.id] = result.internal;
    }
    const passedVerification = kind === 'verification' && settled.state === 'passed_challenge';
    const continueTo = record.returnTo ?? this.#d.urls.after('verification');
    const test = kind === 'login' ? testStateOf(internal) : undefined;
    // A test login's form carries the flow's own CSRF bearer (Kratos: the admin-minted token, no cookie behind it).
    const testBearer = test && test.debug_payload === undefined ? record.csrfToken ?? undefined : undefined;
    const json = projectFlow({
      flow: record,
      state: settled.state,
      context: settled.context,
      nodes,
      action: passedVerification ? continueTo : this.#d.urls.action(kind, record.id),
      method: passedVerification ? 'GET' : 'POST',
      csrfValue: testBearer ?? (record.type === 'browser' ? maskCsrfToken(record.csrfToken ?? rq.csrfToken()) : undefined),
      testContext: test ? { provider_id: test.provider_id, ...(test.debug_payload !== undefined ? { debug_payload: test.debug_payload } : {}) } : undefined,
      identity: kind === 'settings' && actor.identity ? toIdentityJson(actor.identity, { schemaUrl: this.#d.schemaUrl, admin: false, credentials: false }) : undefined,
      continueWith: extra.continueWith,
    });
    return { json, internal };
  }

  /** Builds a new flow (nothing stored): first snapshot, nodes, internal state; before-hooks see it first. */
  async build(kind: FlowKind, type: FlowType, rq: RequestState, options: {
    returnTo?: string; refresh?: boolean; requestedAal?: 'aal1' | 'aal2'; identity?: IdentityRecord; messages?: UiMessage[]; requestUrl: string; session?: CallerSession;
    events?: FlowEvent[]; csrfToken?: string; expiresAt?: Date; runBeforeHooks?: boolean; internal?: InternalState;
  }): Promise<{ record: FlowRecord; settled: Settled; json: Record<string, unknown> }> {
    const now = this.now();
    const id = crypto.randomUUID();
    const identityId = kind === 'settings' ? options.identity?.id : undefined;
    // A refresh or aal2 login is bound to the caller's identity: proving it again continues the caller's session.
    const boundIdentity = kind === 'login' && (options.refresh || options.requestedAal === 'aal2') ? options.identity?.id : identityId;
    const input: FlowInput = {
      flowId: id, flowType: type, identityId: boundIdentity, schemaId: this.#d.schemas.defaultId, refresh: options.refresh, requestedAal: options.requestedAal ?? 'aal1',
      messages: options.messages,
      sessionAfter: kind === 'registration' ? this.shownMethodIds('registration').filter((id) => afterHooks(this.#d.config, 'registration', id).includes('session')) : undefined,
      hooksBeforeSave: kind === 'login' || kind === 'registration' || kind === 'settings'
        ? this.shownMethodIds(kind).filter((id) => this.#d.webHooks.hasPrePersist(kind, id))
        : undefined,
    };
    const settled = this.#d.runtime.start(kind, input, { events: options.events, inspect: this.inspector(kind, { id, type }) });
    const lifespan = parseDuration(this.#d.config.selfservice.flows[kind]?.lifespan ?? '1h');
    const record: FlowRecord = {
      id, kind, type, state: settled.state, requestUrl: options.requestUrl, returnTo: options.returnTo ?? null,
      csrfToken: type === 'browser' ? options.csrfToken ?? rq.csrfToken() : null, identityId: identityId ?? null,
      snapshot: settled.snapshot, internal: null, issuedAt: now, expiresAt: options.expiresAt ?? new Date(now.getTime() + lifespan),
      createdAt: now, updatedAt: now, version: 1,
    };
    const actor: Actor = { session: options.session, identity: options.identity, privileged: false };
    const rendered = await this.render({ record, settled, internal: options.internal ?? {} }, rq, actor);
    record.internal = await this.#d.internal.seal(id, rendered.internal);
    if (options.runBeforeHooks && this.#d.webHooks.hasBefore(kind)) {
      // Kratos runs before-hooks on the new flow before storing it: a failing hook leaves no flow behind.
      await this.#d.webHooks.runBefore(kind, { flow: rendered.json, ...requestContext(rq.facts.hook, this.#d.webHooks.headerAllowlist) });
    }
    return { record, settled, json: rendered.json };
  }

  /** A verification flow already in `sent_email` for `address`, with its code and mail (nothing stored). */
  async startVerification(parent: FlowRecord, identity: IdentityRecord, address: string, rq: RequestState, csrfToken?: string) {
    const use = this.#d.config.selfservice.flows.verification.use ?? 'code';
    // Kratos's Verifier hook: the flow opens in sent_email saying the code (or link) was sent.
    const sent = message(use === 'code' ? MessageId.InfoSelfServiceVerificationEmailWithCodeSent : MessageId.InfoSelfServiceVerificationEmailSent);
    const { record } = await this.build('verification', parent.type, rq, {
      requestUrl: parent.requestUrl, returnTo: parent.returnTo ?? undefined, csrfToken,
      events: [{ type: 'challenge.issued', values: { email: address }, messages: [sent] }],
    });
    const issued = await this.#d.challengeIssuer.issue({ purpose: 'verification', kind: use, flowId: record.id, identity, address, now: this.now(), requestUrl: parent.requestUrl });
    this.#d.metrics.flowsStarted.inc({ flow: 'verification', type: parent.type });
    return { record, code: issued.code, message: issued.message };
  }

  /** Recovery hands over to a settings flow of the recovered identity, privileged for a while (message 1060001). */
  async recoverySettingsFlow(recovery: FlowRecord, identityId: string, rq: RequestState): Promise<FlowRecord> {
    const now = this.now();
    const privilegedUntil = new Date(now.getTime() + parseDuration(this.#d.config.selfservice.flows.settings.privileged_session_max_age));
    const recovered = message(MessageId.InfoSelfServiceRecoverySuccessful, {
      privileged_session_expires_at: privilegedUntil.toISOString(), privileged_session_expires_at_unix: Math.floor(privilegedUntil.getTime() / 1000),
    }, { now });
    const identity = (await this.#d.store.identities.get(identityId)) ?? undefined;
    const csrf = recovery.type === 'browser' ? rq.rotateCsrf() : undefined;
    const { record } = await this.build('settings', recovery.type, rq, {
      requestUrl: this.#d.urls.init('settings', recovery.type), returnTo: recovery.returnTo ?? this.#d.urls.afterConfigured('recovery'),
      identity, messages: [recovered], csrfToken: csrf,
    });
    this.#d.metrics.flowsStarted.inc({ flow: 'settings', type: recovery.type });
    return record;
  }

  decode(kind: FlowKind, loaded: Loaded, input: SubmitInput): Record<string, unknown> {
    const context = loaded.settled.context;
    // A form may carry `method` twice (the code form's hidden input and its button): Go's form Get takes the first.
    const raw = Array.isArray(input.body.method) ? input.body.method[0] : input.body.method;
    const named = typeof raw === 'string' ? raw : '';
    const claimed = named === '' ? this.shownMethods(kind, context, loaded.internal).find((m) => m[kind]!.claims?.(input.body))?.id : undefined;
    const methodId = claimed ?? named;
    const found = this.capabilityFor(kind, methodId, context) ?? this.capabilityFor(kind, this.shownMethods(kind, context, loaded.internal)[0]?.id ?? '', context);
    const schemaPath = found?.[1].payloadSchema;
    const schema = schemaPath ? this.#payloadSchema(schemaPath) : undefined;
    const decoded = decodeBody(input.body, { source: input.source === 'json' ? 'json' : 'form', schema, documents: [this.#identityDocument()] });
    return claimed ? { ...decoded, method: claimed } : decoded;
  }

  maxSubmissions(): number {
    return this.#d.config.selfservice.methods.code.config?.max_submissions ?? 5;
  }

  /** The inspection hook of a flow's actor (metrics, spans); `listener` also sees each transition (the flow's history). */
  inspector(kind: FlowKind, record: { id: string; type: string; state?: string }, listener?: (t: TransitionRecord) => void) {
    return createFlowInspector(this.#d.metrics, kind, { flowId: record.id, flowType: record.type, fromState: record.state }, listener);
  }

  now(): Date {
    return this.#d.clock.now();
  }

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

  #identityDocument(): object {
    return (this.#identityDoc ??= { ...this.#d.schemas.require(this.#d.schemas.defaultId).raw, $id: IDENTITY_DOCUMENT });
  }
}

/**
 * Adds a method's node to the form. Some nodes are shared by methods — inputs of the `default` group (the `identifier`
 * password, passkeys and passwordless WebAuthn all ask for) and scripts (`webauthn_script` of security keys and
 * passkeys): a later method's replaces an earlier one in place, as Kratos upserts them. Every other node is appended.
 */
function upsertShared(nodes: UiNode[], node: UiNode): void {
  const shared = (n: UiNode) => (n.group === 'default' && n.attributes.node_type === 'input') || n.attributes.node_type === 'script';
  if (shared(node)) {
    const at = nodes.findIndex((n) => shared(n) && n.attributes.node_type === node.attributes.node_type && nodeKey(n) === nodeKey(node));
    if (at >= 0) {
      nodes[at] = node;
      return;
    }
  }
  nodes.push(node);
}

export function hasSecret(payload: Record<string, unknown>): boolean {
  return (typeof payload.code === 'string' && payload.code !== '') || (typeof payload.token === 'string' && payload.token !== '');
}
