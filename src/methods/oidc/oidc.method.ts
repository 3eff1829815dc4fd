/**
 * The `oidc` method (Kratos `strategy/oidc`): sign-in and sign-up with OpenID Connect and OAuth 2.0 providers.
 *
 * - Login and registration show one `provider` submit button per provider (group `oidc`, 1010002 / 1040002).
 * - A submit answers `redirect` to the provider's authorization endpoint with a sealed `state` (flow, flow kind,
 *   provider, a random id), a nonce and a PKCE S256 challenge. The state's id, the nonce, the PKCE verifier and the
 *   traits the form carried wait in this method's internal state of the flow (sealed at rest, never shown) — Kratos's
 *   continuity container. The flow service binds a browser flow's callback to the browser that holds its CSRF cookie.
 * - The callback (`/self-service/methods/oidc/callback/{provider}`) becomes a flow submit: the waiting state is used up
 *   whatever happens next (a replayed callback finds none), the code is exchanged and the id_token verified (issuer,
 *   audience, signature, nonce), the claims go through the provider's Jsonnet mapper.
 * - Login matches the identity by (provider id, subject) only (credential identifier `provider:subject`), never by
 *   e-mail. An unknown subject continues as a sign-up in a new registration flow; a known one in a registration flow
 *   continues as a login (Kratos converts the flows the same way).
 * - Registration: the mapper's traits (the form's traits win) are validated; a missing or invalid trait shows the
 *   traits pre-filled with a Continue button for the same provider. Addresses the mapper lists in
 *   `verified_addresses` start verified. When the new identity clashes with an existing account (an e-mail in use),
 *   nothing is created: a new login flow says so (1010016), and logging in there links the provider to that account.
 */
import type { IdentityInput, PreparedCredentials } from '../../identity/identity-service.ts';
import type { IdentityRecord } from '../../identity/identity.ts';
import type { IdentitySchemaRegistry } from '../../identity/schema/index.ts';
import { MessageId } from '../../text/ids.ts';
import { message, type UiMessage } from '../../text/message.ts';
import { submitNode, type UiNode } from '../../ui/node.ts';
import { traitMessages } from '../form-messages.ts';
import type { Capability, Json, Method, MethodContext, MethodRoute, MethodRouteAnswer, Outcome } from '../method.ts';
import { verifyIdToken } from './id-token.ts';
import { RelyingParty, toClaims, UpstreamError, type Claims, type UpstreamTokens } from './relying-party.ts';
import type { ResolvedProvider } from './providers.ts';

export const OIDC = 'oidc';
export const CALLBACK_PATH = '/self-service/methods/oidc/callback';
/** Kratos keeps the continuity container for 30 minutes. */
const PENDING_LIFESPAN_MS = 30 * 60 * 1000;

/** What the sealed `state` parameter carries. */
export interface StatePayload {
  /** Flow id, flow kind, provider id, and the id of the waiting request in the flow's internal state. */
  f: string;
  k: 'login' | 'registration' | 'settings';
  p: string;
  s: string;
}

export interface OidcMethodDeps {
  providers: ResolvedProvider[];
  /** The callback URL registered at the provider (`base_redirect_uri` or the public base URL). */
  redirectUri(provider: ResolvedProvider): string;
  /** Seals and opens the `state` parameter (secrets.cipher). */
  state: { seal(payload: StatePayload): Promise<string>; open(value: string): Promise<StatePayload | undefined> };
  /** Seals upstream tokens for the credential, bound to the identity (secrets.cipher). */
  sealToken(identityId: string, purpose: string, value: string): Promise<string>;
  /** Runs the provider's Jsonnet mapper (`std.extVar('claims')`, `std.extVar('identity')`). */
  mapClaims(provider: ResolvedProvider, claims: Claims): Promise<unknown>;
  schemas: IdentitySchemaRegistry;
  identities: {
    findByCredentialIdentifier(type: string, identifier: string): Promise<IdentityRecord | null>;
    buildNew(input: IdentityInput, prepared: PreparedCredentials, id?: string): IdentityRecord;
    /** The identity owning one of `record`'s identifiers or addresses, if any. */
    conflictingIdentity(record: IdentityRecord): Promise<IdentityRecord | null>;
  };
  /** Kratos CountActiveFirstFactorCredentials over every credential type of the identity. */
  firstFactorCount(identity: IdentityRecord): number;
  /** `selfservice.flows.registration.enabled`, read when needed. */
  registrationEnabled(): boolean;
  /** A relying party per provider (tests may pass their own). */
  relyingParty?(provider: ResolvedProvider): RelyingParty;
}

/** A request to the provider waiting for its callback. */
interface Pending {
  provider: string;
  stateId: string;
  nonce?: string;
  verifier?: string;
  traits?: Record<string, unknown>;
  issuedAt: number;
}

/** A verified sign-in carried into another flow (login ↔ registration), or into account linking. */
interface Carried {
  provider: string;
  claims: Claims;
  tokens: UpstreamTokens;
  traits?: Record<string, unknown>;
}

/** This method's internal state in a flow. */
interface OidcInternal {
  pending?: Pending;
  /** Registration lacked traits: the form continues with this provider only (Kratos's Continue button). */
  continueWith?: string;
  /** The sign-in continues here without another round trip to the provider (a converted flow). */
  resume?: Carried;
  /** Account linking: logging in to the account that owns `identifier` links this provider to it. */
  link?: Carried & { identifier: string };
}

/** Kratos oidcerr.Step: the callback step a test login's failure is recorded under, and its reason. */
type CallbackStep = 'state_validate' | 'provider_denied' | 'token_exchange' | 'id_token_verify' | 'claims_decode' | 'callback';
const STEP_REASONS: Record<CallbackStep, string> = {
  state_validate: 'state_invalid', provider_denied: 'access_denied', token_exchange: 'exchange_failed',
  id_token_verify: 'verification_failed', claims_decode: 'claims_invalid', callback: 'callback_failed',
};

const str = (v: unknown): string => (typeof v === 'string' ? v : '');
const obj = (v: unknown): Record<string, unknown> | undefined => (v && typeof v === 'object' && !Array.isArray(v) ? v as Record<string, unknown> : undefined);
const internalOf = (ctx: MethodContext): OidcInternal => (obj(ctx.internal) ?? {}) as OidcInternal;
const asJson = (value: OidcInternal): Json => JSON.parse(JSON.stringify(value)) as Json;
const generic = (reason: string): UiMessage => message(MessageId.ErrorValidationGeneric, { reason });

/** Kratos's `merge(a, b)`: b's keys, a's win (deeply for objects). */
function merge(a: Record<string, unknown> | undefined, b: Record<string, unknown>): Record<string, unknown> {
  if (!a || Object.keys(a).length === 0) return b;
  const out: Record<string, unknown> = { ...b };
  for (const [key, value] of Object.entries(a)) {
    const inner = obj(value);
    const base = obj(out[key]);
    out[key] = inner && base ? merge(inner, base) : value;
  }
  return out;
}

/**
 * `upstream_parameters` forwarded to the provider's authorization URL: Kratos's allow-list (provider.go
 * UpstreamParameters); anything else is ignored. `login_hint` is not on it: a caller's hint can steer the provider's
 * account, tenant or client choice (Kratos, HackerOne #3239672).
 */
const UPSTREAM_PARAMETERS = ['hd', 'prompt', 'auth_type', 'acr_values'] as const;

function upstreamParameters(value: unknown): Record<string, string> {
  const given = obj(value) ?? {};
  const out: Record<string, string> = {};
  for (const key of UPSTREAM_PARAMETERS) if (typeof given[key] === 'string' && given[key] !== '') out[key] = given[key];
  return out;
}

function randomToken(bytes = 32): string {
  return Buffer.from(crypto.getRandomValues(new Uint8Array(bytes))).toString('base64url');
}

export function createOidcMethod(deps: OidcMethodDeps): Method {
  const parties = new Map(deps.providers.map((p) => [p.id, deps.relyingParty?.(p) ?? new RelyingParty(p, () => deps.redirectUri(p))]));
  const providerById = (id: string) => deps.providers.find((p) => p.id === id);

  function providerNodes(label: (provider: ResolvedProvider) => UiMessage, only?: (p: ResolvedProvider) => boolean): UiNode[] {
    return deps.providers.filter((p) => !only || only(p)).map((p) => submitNode('oidc', 'provider', p.id, label(p)));
  }

  /** Starts the round trip: the authorization URL, and what waits for the callback. */
  async function redirect(ctx: MethodContext, kind: 'login' | 'registration', payload: Record<string, unknown>): Promise<Outcome> {
    const traits = obj(payload.traits);
    const values = kind === 'registration' ? { traits: traits ?? obj(ctx.flow.values.traits) ?? {} } : ctx.flow.values;
    if (ctx.flow.type !== 'browser' && !ctx.flow.tokenExchange) {
      // A native app gets the session of a browser sign-in only through Kratos's session token exchange.
      return { kind: 'rejected', values, messages: [generic('Signing in with an OpenID Connect provider in an API flow needs return_session_token_exchange_code=true (or submit the id_token).')] };
    }
    const provider = providerById(str(payload.provider));
    if (!provider) return { kind: 'rejected', values, messages: [generic(`OpenID Connect Provider "${str(payload.provider)}" is unknown or has not been configured`)] };
    return roundTrip(ctx, kind, provider, values, kind === 'registration' ? traits : undefined, upstreamParameters(payload.upstream_parameters));
  }

  /**
   * A native app signed in with the provider's SDK and submits the id_token (Kratos: `id_token`, `id_token_nonce`): it is
   * verified here instead of a round trip through the browser, then signs in or up like a callback.
   */
  async function idTokenSubmit(ctx: MethodContext, kind: 'login' | 'registration', payload: Record<string, unknown>): Promise<Outcome> {
    const traits = obj(payload.traits);
    const values = kind === 'registration' ? { traits: traits ?? obj(ctx.flow.values.traits) ?? {} } : ctx.flow.values;
    const refuse = (reason: string): Outcome => ({ kind: 'rejected', values, messages: [generic(reason)] });
    const provider = providerById(str(payload.provider));
    if (!provider) return refuse(`OpenID Connect Provider "${str(payload.provider)}" is unknown or has not been configured`);
    const check = provider.idToken;
    if (!check) return refuse(`The provider ${provider.type} does not support id_token verification`);
    let raw: Record<string, unknown>;
    try {
      raw = await verifyIdToken({
        issuer: check.issuer,
        jwksUri: async () => check.jwksUri ?? parties.get(provider.id)!.jwksUri(),
        audiences: check.audiences,
        // Kratos's NonceValidationSkipper: Google's SDKs may send none; Apple only when the device does not support nonces.
        canSkipNonce: (claims) => provider.type === 'google' || !(claims.nonce_supported === true || claims.nonce_supported === 'true'),
      }, str(payload.id_token), str(payload.id_token_nonce));
    } catch (err) {
      if (err instanceof UpstreamError) return refuse(err.message);
      throw err;
    }
    const carried: Carried = { provider: provider.id, claims: toClaims(raw, check.issuer), tokens: { id_token: str(payload.id_token) }, traits: kind === 'registration' ? traits : undefined };
    return kind === 'login' ? signIn(ctx, provider, carried, false) : signUp(ctx, provider, carried, false);
  }

  /** The authorization URL for `provider`, and the request that waits in the flow for its callback. */
  async function roundTrip(ctx: MethodContext, kind: StatePayload['k'], provider: ResolvedProvider, values: Record<string, unknown>, traits?: Record<string, unknown>, upstream?: Record<string, string>): Promise<Outcome> {
    const party = parties.get(provider.id)!;
    try {
      const pending: Pending = {
        provider: provider.id, stateId: randomToken(16), issuedAt: ctx.now.getTime(),
        // A nonce binds the id_token to this request (OpenID Connect Core 3.1.2.1); OAuth 2.0 providers have none.
        nonce: provider.kind === 'oidc' ? randomToken() : undefined,
        verifier: await party.usesPkce() ? randomToken() : undefined,
        traits,
      };
      const state = await deps.state.seal({ f: ctx.flow.id, k: kind, p: provider.id, s: pending.stateId });
      const to = await party.authorizationUrl({ state, nonce: pending.nonce, pkceVerifier: pending.verifier, forced: ctx.flow.refresh === true, upstream });
      return { kind: 'redirect', to, values, internal: asJson({ ...internalOf(ctx), pending, resume: undefined }) };
    } catch (err) {
      if (err instanceof UpstreamError) return { kind: 'rejected', values, messages: [generic(err.message)] };
      throw err;
    }
  }

  /**
   * The provider's answer. The waiting request is used up first, so nothing that follows can be replayed; a state
   * that matches no waiting request changes nothing (it may be a stale or forged one). The code is exchanged and the
   * id_token checked; `fail` outcomes keep the used-up state.
   */
  async function consume(ctx: MethodContext, input: { params: Record<string, string>; state: StatePayload }): Promise<
    { outcome: Extract<Outcome, { kind: 'rejected' }>; step: CallbackStep; reason: string } | { provider: ResolvedProvider; carried: Carried; rest: OidcInternal }
  > {
    const internal = internalOf(ctx);
    const values = ctx.flow.values;
    const pending = internal.pending;
    if (!pending || pending.stateId !== input.state.s || pending.provider !== input.state.p || input.state.f !== ctx.flow.id) {
      const reason = 'Unable to complete OpenID Connect flow because the query state parameter does not match the state parameter from the session cookie.';
      return { outcome: { kind: 'rejected', values, messages: [generic(reason)] }, step: 'state_validate', reason };
    }
    const rest: OidcInternal = { ...internal, pending: undefined };
    const fail = (reason: string, step: CallbackStep) => ({ outcome: { kind: 'rejected', values, messages: [generic(reason)], internal: asJson(rest) } satisfies Outcome, step, reason });
    if (ctx.now.getTime() - pending.issuedAt > PENDING_LIFESPAN_MS) return fail('No resumable session could be found in the HTTP Header.', 'state_validate');
    const { params } = input;
    if (params.error) {
      return fail(`Unable to complete OpenID Connect flow because the OpenID Provider returned error "${params.error}": ${params.error_description ?? ''}`, 'provider_denied');
    }
    if (!params.code) return fail('Unable to complete OpenID Connect flow because the OpenID Provider did not return the code query parameter.', 'callback');
    const provider = providerById(pending.provider);
    if (!provider) return fail(`OpenID Connect Provider "${pending.provider}" is unknown or has not been configured`, 'callback');
    let result: { claims: Claims; tokens: UpstreamTokens };
    try {
      result = await parties.get(provider.id)!.exchange(params, { state: params.state, nonce: pending.nonce, pkceVerifier: pending.verifier });
    } catch (err) {
      if (err instanceof UpstreamError) return fail(err.message, /id_token|nonce/i.test(err.message) ? 'id_token_verify' : 'token_exchange');
      throw err;
    }
    if (result.claims.sub === '') return fail('The OpenID Connect provider returned no subject.', 'claims_decode');
    return { provider, carried: { provider: provider.id, claims: result.claims, tokens: result.tokens, traits: pending.traits }, rest };
  }

  async function callback(ctx: MethodContext, kind: 'login' | 'registration', input: { params: Record<string, string>; state: StatePayload }): Promise<Outcome> {
    if (kind === 'login' && ctx.flow.test) return testCallback(ctx, input);
    const consumed = await consume(ctx, input);
    if ('outcome' in consumed) return consumed.outcome;
    const { provider, carried, rest } = consumed;
    const outcome = kind === 'login' ? await signIn(ctx, provider, carried, false) : await signUp(ctx, provider, carried, false);
    return { ...outcome, internal: asJson({ ...rest, ...(obj(outcome.internal) as OidcInternal | undefined) }) };
  }

  /**
   * An administrator's test login came back (Kratos processTestLogin): the claims go through the provider's mapper and
   * the traits through the identity schema, as a sign-up would, but nothing is looked up or stored and nobody signs
   * in. Whatever fails is recorded with its step (Kratos's `loginFlowTestStepError`), never shown as a form error.
   * The upstream tokens are left out (Kratos: a debug payload is no place for live credentials).
   */
  async function testCallback(ctx: MethodContext, input: { params: Record<string, string>; state: StatePayload }): Promise<Outcome> {
    const consumed = await consume(ctx, input);
    if ('outcome' in consumed) {
      return { kind: 'tested', debug: { error: { step: consumed.step, reason: STEP_REASONS[consumed.step], message: consumed.reason } }, internal: consumed.outcome.internal };
    }
    const { provider, carried, rest } = consumed;
    const internal = asJson(rest);
    const claims = JSON.parse(JSON.stringify(carried.claims)) as Record<string, Json>;
    const debug: Record<string, Json> = { jsonnet_mapper_url: provider.mapperUrl, id_token_claims: claims };
    const failed = (step: string, reason: string, text: string): Outcome => ({ kind: 'tested', debug: { ...debug, error: { step, reason, message: text } }, internal });
    let output: unknown;
    try {
      output = await deps.mapClaims(provider, carried.claims);
    } catch (err) {
      return failed('jsonnet_run', 'evaluation_failed', (err as Error).message);
    }
    debug.jsonnet_input = claims;
    const mapped = obj(output);
    if (!mapped) return failed('jsonnet_run', 'invalid_output', 'Jsonnet mapper did not return a JSON object.');
    debug.jsonnet_output = JSON.parse(JSON.stringify(mapped)) as Json;
    const traits = obj(obj(mapped.identity)?.traits);
    if (!traits) return failed('jsonnet_run', 'invalid_traits', 'OpenID Connect Jsonnet mapper did not return an object for key identity.traits. Please check your Jsonnet code!');
    for (const key of ['metadata_public', 'metadata_admin'] as const) {
      const value = obj(mapped.identity)?.[key];
      if (value !== undefined && value !== null && !obj(value)) return failed('jsonnet_run', `invalid_${key}`, `OpenID Connect Jsonnet mapper did not return an object for key identity.${key}.`);
    }
    const errors = deps.schemas.require(deps.schemas.defaultId).validateTraits(traits);
    if (errors.length > 0) {
      const listed = errors.map((e) => ({ path: e.pointer, message: e.message }));
      return { kind: 'tested', debug: { ...debug, schema_validation_errors: listed, error: { step: 'schema_validate', reason: 'traits_invalid', message: listed.map((e) => `${e.path}: ${e.message}`).join('; ') } }, internal };
    }
    return { kind: 'tested', debug, internal };
  }

  /** Login with verified claims: the identity with this (provider, subject), else a sign-up in a registration flow. */
  async function signIn(ctx: MethodContext, provider: ResolvedProvider, carried: Carried, converted: boolean): Promise<Outcome> {
    const values = ctx.flow.values;
    const identity = await deps.identities.findByCredentialIdentifier(OIDC, `${provider.id}:${carried.claims.sub}`);
    if (!identity) {
      if (converted) return { kind: 'rejected', values, messages: [generic('Unable to find matching OpenID Connect credentials.')] };
      // Kratos: a sign-in of an unknown account is not turned into a sign-up while registration is off.
      if (!deps.registrationEnabled()) return { kind: 'rejected', values, messages: [generic('Registration is not allowed because it was disabled.')] };
      return { kind: 'continue_in', flowKind: 'registration', carry: asJson({ resume: carried }) };
    }
    const linked = oidcProviders(identity).some((p) => p.provider === provider.id && p.subject === carried.claims.sub);
    if (!linked) return { kind: 'rejected', values, messages: [generic('Unable to find matching OpenID Connect credentials.')] };
    if (identity.state !== 'active') return { kind: 'rejected', values, messages: [message(MessageId.ErrorValidationIdentityDisabled)] };
    if (ctx.flow.refresh && ctx.identity && ctx.identity.id !== identity.id) {
      return { kind: 'rejected', values, messages: [generic('You must sign in with the same account you are currently signed in with.')] };
    }
    return { kind: 'authenticated', identityId: identity.id, method: OIDC, aal: 'aal1', provider: provider.id, identity };
  }

  /** Registration with verified claims. */
  async function signUp(ctx: MethodContext, provider: ResolvedProvider, carried: Carried, converted: boolean): Promise<Outcome> {
    const existing = await deps.identities.findByCredentialIdentifier(OIDC, `${provider.id}:${carried.claims.sub}`);
    if (existing) {
      if (converted) return { kind: 'rejected', values: ctx.flow.values, messages: [generic('An account with this OpenID Connect identity exists already.')] };
      return { kind: 'continue_in', flowKind: 'login', carry: asJson({ resume: carried }) };
    }
    let mapped: Record<string, unknown>;
    try {
      mapped = obj(obj(await deps.mapClaims(provider, carried.claims))?.identity) ?? {};
    } catch (err) {
      return { kind: 'rejected', values: ctx.flow.values, messages: [generic(`The OpenID Connect claims mapper failed: ${(err as Error).message}`)] };
    }
    const mappedTraits = obj(mapped.traits);
    if (!mappedTraits) {
      return { kind: 'rejected', values: ctx.flow.values, messages: [generic('OpenID Connect Jsonnet mapper did not return an object for key identity.traits. Please check your Jsonnet code!')] };
    }
    const traits = merge(carried.traits, mappedTraits);
    const schema = deps.schemas.require(deps.schemas.defaultId);
    const errors = schema.validateTraits(traits);
    if (errors.length > 0) {
      // Kratos: the traits the provider gave, pre-filled, and a Continue button for the same provider.
      return { kind: 'rejected', values: { traits }, fieldMessages: traitMessages(errors), internal: asJson({ continueWith: provider.id }) };
    }
    const id = crypto.randomUUID();
    const entry = await credentialEntry(id, carried);
    const verified = verifiedAddresses(mapped.verified_addresses);
    let record = deps.identities.buildNew({
      schema_id: schema.id, traits,
      metadata_public: obj(mapped.metadata_public), metadata_admin: obj(mapped.metadata_admin),
    }, { oidc: { providers: [entry] } }, id);
    record = markVerified(record, verified, ctx.now);
    const owner = await deps.identities.conflictingIdentity(record);
    if (owner) {
      // No automatic linking, whatever the provider says about the address: the user proves the existing account.
      const identifier = duplicateIdentifier(record, owner);
      return {
        kind: 'continue_in', flowKind: 'login', carry: asJson({ link: { ...carried, identifier } }),
        messages: [message(MessageId.InfoSelfServiceLoginLink, {
          duplicateIdentifier: identifier, provider: provider.label, newLoginUrl: '', duplicate_identifier: identifier, new_login_url: '',
          available_credential_types: owner.credentials.map((c) => c.type).filter((t) => t !== 'code').sort(),
          available_providers: oidcProviders(owner).map((p) => p.provider).sort(),
        })],
      };
    }
    return { kind: 'registered', identityId: record.id, method: OIDC, provider: provider.id, changes: { identity: { record, isNew: true } } };
  }

  /** A flow converted from the other kind carries the verified sign-in: it continues without another round trip. */
  async function resume(ctx: MethodContext, kind: 'login' | 'registration'): Promise<Outcome | undefined> {
    const internal = internalOf(ctx);
    if (!internal.resume) return undefined;
    const provider = providerById(internal.resume.provider);
    const rest = asJson({ ...internal, resume: undefined });
    if (!provider) return { kind: 'rejected', values: ctx.flow.values, messages: [generic('The OpenID Connect provider is no longer configured.')], internal: rest };
    const outcome = kind === 'login' ? await signIn(ctx, provider, internal.resume, true) : await signUp(ctx, provider, internal.resume, true);
    return { ...outcome, internal: outcome.internal ?? rest };
  }

  function capability(kind: 'login' | 'registration'): Capability {
    return {
      payloadSchema: `methods/oidc/${kind}.json`,
      // Kratos's provider buttons post `provider` and no `method`: the button makes the submission this method's.
      claims: (body) => typeof body.provider === 'string' && body.provider !== '',
      nodes(ctx) {
        if (ctx.flow.type !== 'browser' && !ctx.flow.tokenExchange) return { nodes: [] };
        const test = kind === 'login' ? ctx.flow.test : undefined;
        // A test login shows the provider under test alone (Kratos PopulateTestLoginFlow).
        if (test) return { nodes: providerNodes((p) => message(MessageId.InfoSelfServiceLoginWith, { provider: p.label, provider_id: p.id }), (p) => p.id === test.providerId) };
        const internal = internalOf(ctx);
        if (kind === 'registration' && internal.continueWith) {
          return { nodes: providerNodes(() => message(MessageId.InfoSelfServiceRegistrationContinue), (p) => p.id === internal.continueWith) };
        }
        if (kind === 'login') {
          // Account linking: the provider that led here is not offered again (Kratos populateAccountLinkingUI).
          const used = internal.link?.provider;
          // Re-authentication offers the providers the signed-in identity has linked, only (Kratos populateMethod for refresh).
          const mine = ctx.flow.refresh && ctx.identity ? linked(ctx.identity).map((p) => p.id) : undefined;
          return { nodes: providerNodes((p) => message(MessageId.InfoSelfServiceLoginWith, { provider: p.label, provider_id: p.id }), (p) => p.id !== used && (!mine || mine.includes(p.id))) };
        }
        return { nodes: providerNodes((p) => message(MessageId.InfoSelfServiceRegistrationWith, { provider: p.label, provider_id: p.id })) };
      },
      async submit(ctx, payload) {
        if (payload.resume === true) return (await resume(ctx, kind)) ?? { kind: 'rejected', values: ctx.flow.values, messages: [generic('There is no OpenID Connect sign-in to continue.')] };
        const cb = obj(payload.callback);
        if (cb) return callback(ctx, kind, { params: cb.params as Record<string, string>, state: cb.state as StatePayload });
        // A test login goes through the provider: an id_token would sign in without the round trip under test.
        if (ctx.flow.test && str(payload.id_token) !== '') return { kind: 'rejected', values: ctx.flow.values, messages: [generic('A test login flow goes through the OpenID Connect provider; it takes no id_token.')] };
        if (str(payload.id_token) !== '') return idTokenSubmit(ctx, kind, payload);
        return redirect(ctx, kind, payload);
      },
      exclusive: kind === 'registration' ? (internal) => Boolean((obj(internal) as OidcInternal | undefined)?.continueWith) : undefined,
    };
  }

  const callbackRoute = (path: string, method: 'GET' | 'POST'): MethodRoute => ({
    method,
    path,
    async handle(request): Promise<MethodRouteAnswer> {
      if (method === 'POST') {
        // A form post (Apple's response_mode=form_post) carries no SameSite cookie: go again as a GET (Kratos redirectToGET).
        const query = new URLSearchParams(request.query);
        for (const [key, value] of Object.entries(request.body)) if (typeof value === 'string') query.set(key, value);
        return { kind: 'redirect', status: 302, to: `${request.path}?${query.toString()}` };
      }
      const params = request.query;
      if (!params.state) return { kind: 'error', status: 400, reason: 'Unable to complete OpenID Connect flow because the OpenID Provider did not return the state query parameter.' };
      const state = await deps.state.open(params.state);
      if (!state) return { kind: 'error', status: 400, reason: 'Unable to complete OpenID Connect flow because the state parameter is invalid.' };
      if (request.params.provider !== undefined && request.params.provider !== state.p) {
        return { kind: 'error', status: 400, reason: 'Unable to complete OpenID Connect flow: provider mismatch between internal state and URL.' };
      }
      return { kind: 'submit', flowKind: state.k, flowId: state.f, payload: { method: OIDC, callback: { params, state } as unknown as Json } };
    },
  });

  /** Kratos's settings refusals (strategy_settings.go), shown as 4000001. */
  const CONNECTION_EXISTS = 'can not link unknown or already existing OpenID Connect connection';
  const UNKNOWN_CONNECTION = 'can not unlink non-existing OpenID Connect connection';
  const LAST_FIRST_FACTOR = 'can not unlink OpenID Connect connection because it is the last remaining first factor credential';

  /** Configured providers this identity has not linked yet (Kratos linkableProviders). */
  const linkable = (identity: IdentityRecord) => deps.providers.filter((p) => !oidcProviders(identity).some((l) => l.provider === p.id));
  /** Configured providers this identity has linked (Kratos linkedProviders: a provider no longer configured is left out). */
  const linked = (identity: IdentityRecord) => deps.providers.filter((p) => oidcProviders(identity).some((l) => l.provider === p.id));

  const settings: Capability = {
    payloadSchema: 'methods/oidc/settings.json',
    // Kratos's settings form names no method: the `link` / `unlink` buttons make the submission this method's.
    claims: (body) => (typeof body.link === 'string' && body.link !== '') || (typeof body.unlink === 'string' && body.unlink !== ''),
    nodes(ctx) {
      const identity = ctx.identity;
      if (!identity) return { nodes: [] };
      // Linking needs the browser's session at the callback: API flows (a native app's token) can only unlink.
      const links = ctx.flow.type === 'browser'
        ? linkable(identity).map((p) => submitNode('oidc', 'link', p.id, message(MessageId.InfoSelfServiceSettingsUpdateLinkOidc, { provider: p.label })))
        : [];
      // The last first factor is not offered for unlinking (Kratos PopulateSettingsMethod: count > 1).
      const unlinks = deps.firstFactorCount(identity) > 1
        ? linked(identity).map((p) => submitNode('oidc', 'unlink', p.id, message(MessageId.InfoSelfServiceSettingsUpdateUnlinkOidc, { provider: p.label })))
        : [];
      return { nodes: [...links, ...unlinks] };
    },
    async submit(ctx, payload) {
      const identity = ctx.identity;
      const refuse = (reason: string): Outcome => ({ kind: 'rejected', messages: [generic(reason)] });
      if (!identity) return { kind: 'rejected', messages: [message(MessageId.ErrorValidationSettingsNoStrategyFound)] };
      const cb = obj(payload.callback);
      if (cb) return linkCallback(ctx, identity, { params: cb.params as Record<string, string>, state: cb.state as StatePayload });
      const link = str(payload.link);
      const unlink = str(payload.unlink);
      if (link !== '' && unlink !== '') return refuse('it is not possible to link and unlink providers in the same request');
      if (link !== '') {
        const provider = linkable(identity).find((p) => p.id === link);
        if (!provider) return refuse(CONNECTION_EXISTS);
        if (!ctx.privileged) return { kind: 'needs_refresh' };
        if (ctx.flow.type !== 'browser') return refuse('Linking an OpenID Connect provider is supported in browser flows only.');
        return roundTrip(ctx, 'settings', provider, {}, undefined, upstreamParameters(payload.upstream_parameters));
      }
      if (unlink !== '') {
        if (!ctx.privileged) return { kind: 'needs_refresh' };
        // Kratos counts before it looks for the connection: the last first factor is refused whatever is named.
        if (deps.firstFactorCount(identity) < 2) return refuse(LAST_FIRST_FACTOR);
        if (!linked(identity).some((p) => p.id === unlink)) return refuse(UNKNOWN_CONNECTION);
        return { kind: 'updated', method: OIDC, changes: { identity: { record: removeOidcProvider(identity, unlink, ctx.now), isNew: false } } };
      }
      return { kind: 'rejected', messages: [message(MessageId.ErrorValidationSettingsNoStrategyFound)] };
    },
  };

  /** Settings: the provider's answer to a `link`; the provider joins the identity's oidc credential. */
  async function linkCallback(ctx: MethodContext, identity: IdentityRecord, input: { params: Record<string, string>; state: StatePayload }): Promise<Outcome> {
    const consumed = await consume(ctx, input);
    if ('outcome' in consumed) return consumed.outcome;
    const { provider, carried, rest } = consumed;
    const internal = asJson(rest);
    // The session aged at the provider: re-authenticate, then go to the provider again (Kratos keeps `link` for then).
    if (!ctx.privileged) return { kind: 'needs_refresh', resubmit: { method: OIDC, link: provider.id }, internal };
    if (!linkable(identity).some((p) => p.id === provider.id)) return { kind: 'rejected', messages: [generic(CONNECTION_EXISTS)], internal };
    // A subject another identity signs in with stays there (Kratos: the credential identifier is unique, 4000007).
    if (await deps.identities.findByCredentialIdentifier(OIDC, `${provider.id}:${carried.claims.sub}`)) {
      return { kind: 'rejected', messages: [message(MessageId.ErrorValidationDuplicateCredentials)], internal };
    }
    const record = addOidcCredential(identity, await credentialEntry(identity.id, carried), ctx.now);
    // Kratos SessionAddAuthenticationMethods: the session records that the provider proved this identity.
    return { kind: 'updated', method: OIDC, changes: { identity: { record, isNew: false }, sessionMethod: { method: OIDC, aal: 'aal1' } }, internal };
  }

  /** The credential's entry for a provider and subject, the upstream tokens sealed for the identity. */
  async function credentialEntry(identityId: string, carried: Carried): Promise<OidcEntry> {
    const sealed = async (purpose: string, value: string | undefined) => (value ? deps.sealToken(identityId, purpose, value) : '');
    return {
      provider: carried.provider, subject: carried.claims.sub,
      initial_id_token: await sealed('oidc-id-token', carried.tokens.id_token),
      initial_access_token: await sealed('oidc-access-token', carried.tokens.access_token),
      initial_refresh_token: await sealed('oidc-refresh-token', carried.tokens.refresh_token),
    };
  }

  return {
    id: OIDC,
    group: 'oidc',
    login: { ...capability('login'), aal: 'aal1' },
    registration: capability('registration'),
    settings,
    testsLogin: (providerId) => providerById(providerId) !== undefined,
    routes: [
      callbackRoute(`${CALLBACK_PATH}/:provider`, 'GET'),
      callbackRoute(`${CALLBACK_PATH}/:provider`, 'POST'),
      callbackRoute(CALLBACK_PATH, 'GET'),
      callbackRoute(CALLBACK_PATH, 'POST'),
    ],
    async afterLogin(ctx, identity) {
      const link = internalOf(ctx).link;
      if (!link) return undefined;
      // Only the account that owns the clashing identifier gets the provider (Kratos checks the same).
      const owns = identity.verifiableAddresses.some((a) => a.value === link.identifier)
        || identity.recoveryAddresses.some((a) => a.value === link.identifier)
        || identity.credentials.some((c) => c.identifiers.includes(link.identifier));
      if (!owns || oidcProviders(identity).some((p) => p.provider === link.provider && p.subject === link.claims.sub)) return undefined;
      const entry = await credentialEntry(identity.id, link);
      return addOidcCredential(identity, entry, ctx.now);
    },
  };
}

interface OidcEntry { provider: string; subject: string; [key: string]: unknown }

/** The providers an identity's `oidc` credential links (Kratos CredentialsOIDC). */
export function oidcProviders(identity: IdentityRecord): OidcEntry[] {
  const config = identity.credentials.find((c) => c.type === OIDC)?.config as { providers?: OidcEntry[] } | undefined;
  return (config?.providers ?? []).filter((p) => typeof p?.provider === 'string' && typeof p?.subject === 'string');
}

/** The identity without its link to `providerId`; the credential goes with its last link (as the admin API removes it). */
function removeOidcProvider(identity: IdentityRecord, providerId: string, now: Date): IdentityRecord {
  const existing = identity.credentials.find((c) => c.type === OIDC)!;
  const providers = oidcProviders(identity).filter((p) => p.provider !== providerId);
  const credentials = providers.length === 0
    ? identity.credentials.filter((c) => c !== existing)
    : identity.credentials.map((c) => (c === existing
      ? { ...c, config: { ...c.config, providers }, identifiers: providers.map((p) => `${p.provider}:${p.subject}`), updatedAt: now }
      : c));
  return { ...identity, updatedAt: now, credentials };
}

function addOidcCredential(identity: IdentityRecord, entry: OidcEntry, now: Date): IdentityRecord {
  const existing = identity.credentials.find((c) => c.type === OIDC);
  const providers = [...oidcProviders(identity), entry];
  const identifiers = providers.map((p) => `${p.provider}:${p.subject}`);
  const credential = existing
    ? { ...existing, config: { ...existing.config, providers }, identifiers, updatedAt: now }
    : { id: crypto.randomUUID(), type: OIDC as 'oidc', identifiers, config: { providers }, version: 0, createdAt: now, updatedAt: now };
  return {
    ...identity,
    updatedAt: now,
    credentials: existing ? identity.credentials.map((c) => (c === existing ? credential : c)) : [...identity.credentials, credential],
  };
}

/** The mapper's `verified_addresses` (`[{via, value}]`), e-mail addresses lower-cased as Kratos does. */
function verifiedAddresses(value: unknown): Array<{ via: string; value: string }> {
  if (!Array.isArray(value)) return [];
  return value.flatMap((entry) => {
    const e = obj(entry);
    if (!e || typeof e.via !== 'string' || typeof e.value !== 'string') return [];
    return [{ via: e.via, value: e.via === 'email' ? e.value.trim().toLowerCase() : e.value }];
  });
}

function markVerified(record: IdentityRecord, verified: Array<{ via: string; value: string }>, now: Date): IdentityRecord {
  if (verified.length === 0) return record;
  return {
    ...record,
    verifiableAddresses: record.verifiableAddresses.map((a) => (verified.some((v) => v.via === a.via && v.value === a.value)
      ? { ...a, verified: true, verifiedAt: now, status: 'completed' as const, updatedAt: now }
      : a)),
  };
}

/** The identifier or address of `record` that `owner` has too (shown in 1010016). */
function duplicateIdentifier(record: IdentityRecord, owner: IdentityRecord): string {
  const ownerValues = new Set([
    ...owner.verifiableAddresses.map((a) => a.value), ...owner.recoveryAddresses.map((a) => a.value),
    ...owner.credentials.filter((c) => c.type !== OIDC).flatMap((c) => c.identifiers),
  ]);
  const mine = [
    ...record.verifiableAddresses.map((a) => a.value), ...record.recoveryAddresses.map((a) => a.value),
    ...record.credentials.filter((c) => c.type !== OIDC).flatMap((c) => c.identifiers),
  ];
  return mine.find((v) => ownerValues.has(v)) ?? mine[0] ?? '';
}
