/**
 * The method interface, shaped like Kratos's strategies (`selfservice/strategy/*` implement one interface per flow
 * kind): a method adds its nodes to a flow and interprets a submission into an outcome. It never sees the request
 * or the response, never writes to the database and never throws to steer the flow — everything it wants written
 * comes back in the outcome's `changes`, which the flow service commits in the flow's one transaction.
 *
 * Adding a method: a folder under src/methods/ whose factory returns a `Method`, registered in src/registry.ts.
 */
import type { UiMessage } from '../../machines/flow-types.ts';
import type { IdentityRecord } from '../identity/identity.ts';
import type { MessageDraft } from '../courier/courier.ts';
import type { SessionView } from '../session/session.ts';
import type { UiNode, UiNodeGroup } from '../ui/node.ts';
import type { CodeRecord } from './code/code-record.ts';

export type FlowKind = 'login' | 'registration' | 'settings' | 'recovery' | 'verification';
export type FlowType = 'api' | 'browser';
export type Aal = 'aal1' | 'aal2';
export type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

/** What a method sees of the flow it works on (read-only). */
export interface MethodFlowView {
  id: string;
  kind: FlowKind;
  type: FlowType;
  /** Top-level machine state (`choose_method`, `sent_email`, `passed_challenge`, `show_form`, `success`). */
  state: string;
  /** The method last submitted (Kratos `active`). */
  active?: string;
  refresh: boolean;
  requestedAal: Aal;
  /** Where the flow continues when it is done (its return_to, or the configured default). */
  continueTo: string;
  /** The form's step: registration's profile-first screen, or a login method's own screen (its id). */
  screen?: string;
  /** An API flow created with `return_session_token_exchange_code=true`: it may go through a browser. */
  tokenExchange?: boolean;
  /**
   * An administrator's dry-run test login (Kratos's test login flow, `POST /admin/test-login-flows`) of this
   * provider: the provider's answer is recorded, nobody signs in and nothing is stored for an identity.
   */
  test?: { providerId: string };
  /** Non-secret values echoed into the form (traits, identifier, the address a code went to). */
  values: Record<string, unknown>;
  /** Messages attached to nodes, by node name. */
  fieldMessages: Record<string, UiMessage[]>;
}

export interface MethodContext {
  flow: MethodFlowView;
  /** This method's own internal state in this flow (challenges, pending secrets); never shown to clients. */
  internal: Json | undefined;
  /** Settings: the flow's owner. Login with refresh / at aal2: the session's identity. */
  identity?: IdentityRecord;
  /** The caller's session, when there is one. */
  session?: SessionView;
  /** Settings: the session is recent enough to change credentials and addresses (privileged_session_max_age). */
  privileged: boolean;
  now: Date;
  /** Submit only: the head start this method's `headStart` made for the submission, begun (see HeadStart). */
  headStart?: HeadStart;
}

/**
 * Work a method begins for a submission while the flow is still being read and checked (optional, see
 * Capability.headStart). Made from the raw body before anything is known of the flow, so until `begin` it may only
 * read: the submission may yet be refused (an unknown or expired flow, a failed CSRF check, the rate limit), and is
 * then thrown away. `begin` is called once the submission passed all of that, right before the flow's machine runs
 * it: from there it may start the expensive part (the password hash), and resolves once that is under way, so that
 * the machine's own work runs beside it. `submit` uses it only when it was made from the very values it is given, and
 * otherwise does the work itself.
 */
export interface HeadStart {
  begin(): Promise<void>;
}

export interface NodesResult {
  nodes: UiNode[];
  /** New internal state for this method (persisted when the flow is created or a submit settles). */
  internal?: Json;
}

/** Writes an outcome asks for; the flow service commits them with the flow in one transaction. */
export interface Changes {
  identity?: { record: IdentityRecord; isNew: boolean };
  codes?: CodeChange[];
  messages?: MessageDraft[];
  /**
   * Settings: appends this authentication method to the caller's session — enrolling a second factor proves it
   * (Kratos `SessionAddAuthenticationMethods`: authenticated_at is now, the AAL is recomputed).
   */
  sessionMethod?: { method: string; aal: Aal };
  /**
   * A single-use secret was consumed (a TOTP time step, a backup code): the commit goes ahead only while this
   * credential's stored config is still the one the method read; otherwise the submit is retried on fresh data, so
   * two concurrent submits of the same secret never both succeed.
   */
  consumes?: { identityId: string; type: string; config: Record<string, unknown> };
}

export type CodeChange =
  | { op: 'insert'; code: CodeRecord }
  | { op: 'update'; id: string; patch: Partial<Pick<CodeRecord, 'failedAttempts' | 'usedAt'>> }
  /** Marks the flow's unused codes used (a new code voids the earlier ones). */
  | { op: 'void_flow'; flowId: string };

interface OutcomeBase {
  changes?: Changes;
  /** Replaces this method's internal state. */
  internal?: Json;
}

/** What a submission amounts to; the flow's machine branches on `kind`. */
export type Outcome = OutcomeBase & (
  /** Shown to the user again with these messages (wrong password, invalid trait, unknown code ...). */
  | { kind: 'rejected'; values?: Record<string, unknown>; fieldMessages?: Record<string, UiMessage[]>; messages?: UiMessage[] }
  /**
   * Registration's profile-first step moved to another screen (`credential-selection`); login: the method shows a
   * screen of its own, named by its id, and the flow shows that method alone (passwordless WebAuthn after the
   * identifier); settings: the method shows a screen of its own with nothing saved (new backup codes to confirm) —
   * Kratos's `ErrStrategyAsksToReturnToUI`. A login method's screen sends JSON clients to the UI (422
   * `browser_location_change_required`) unless `asForm`: then the flow is answered as a form (400), as identifier-first's.
   */
  | { kind: 'next_screen'; screen?: string; values?: Record<string, unknown>; messages?: UiMessage[]; asForm?: boolean }
  /**
   * Login: this identity proved this factor. `identity`: the identity as the method read it, when it did (the answer
   * shows it without reading it again).
   */
  | { kind: 'authenticated'; identityId: string; method: string; aal: Aal; provider?: string; identity?: IdentityRecord }
  /**
   * Registration: a new identity (also in `changes.identity`). `existingAccount`: its identifiers belong to an account
   * already and enumeration is mitigated — nothing is created, the service answers as for a new sign-up (the record in
   * `changes.identity` shapes that answer and is never saved) and tells the account's owner.
   */
  | { kind: 'registered'; identityId: string; method: string; provider?: string; existingAccount?: boolean }
  /** Settings: the identity changed (in `changes.identity`). */
  | { kind: 'updated'; method: string; values?: Record<string, unknown> }
  /** Recovery/verification: a code or link was mailed. */
  | { kind: 'code_sent'; values?: Record<string, unknown>; messages?: UiMessage[] }
  /** Recovery/verification: the right code or link. */
  | { kind: 'challenge_passed'; identityId: string; method: string; messages?: UiMessage[] }
  /**
   * Login: a test login's round trip ended; `debug` is what it found (Kratos's `loginFlowTestDebugPayload`: claims,
   * the mapper's input and output, schema errors, or the step that failed). No identity, no session.
   */
  | { kind: 'tested'; debug: Json }
  /** Too many wrong codes: the flow must start over. */
  | { kind: 'exhausted'; messages: UiMessage[] }
  /**
   * Settings: the change needs a recent login; it is kept and applied after re-authentication — the submitted payload,
   * or `resubmit` when that can not be applied twice (an OpenID Connect callback: the provider is asked again).
   */
  | { kind: 'needs_refresh'; resubmit?: Record<string, Json> }
  /**
   * The browser must go elsewhere to go on (an OpenID Connect provider's authorization endpoint); the flow keeps waiting
   * with `values` (Kratos answers 303, or 422 `browser_location_change_required` to JSON clients).
   */
  | { kind: 'redirect'; to: string; values?: Record<string, unknown> }
  /**
   * The submission goes on in a new flow of another kind (Kratos converts an OpenID Connect login of an unknown
   * account into a sign-up, and back; a sign-up that clashes with an account into a login that links it). The new
   * flow gets `messages`, and `carry` as this method's internal state; without messages the service submits it at once
   * with `{method, resume: true}`, otherwise the browser is sent to it.
   */
  | { kind: 'continue_in'; flowKind: 'login' | 'registration'; carry: Json; messages?: UiMessage[] }
);

export interface Capability {
  /** The method's nodes for this flow in its current state. Deterministic given `ctx.internal`. */
  nodes(ctx: MethodContext): NodesResult | Promise<NodesResult>;
  /** Interprets a submission (already decoded; secrets included). Never throws for a user error. */
  submit(ctx: MethodContext, payload: Record<string, unknown>): Promise<Outcome>;
  /** The payload's JSON schema, `schemas/<path>`: the body decoder types a form by it (traits merged in). */
  payloadSchema?: string;
  /** Whether this method takes submissions whose `method` names another id (recovery by link accepts codes). */
  accepts?(method: string): boolean;
  /**
   * Whether a submission that names no `method` is this method's, judged by its own fields in the raw body (Kratos:
   * `totp_unlink`, the `lookup_secret_*` buttons force their method).
   */
  claims?(body: Record<string, unknown>): boolean;
  /**
   * Registration: while this returns true for the method's internal state, the form shows the traits and this method
   * alone (an OpenID Connect sign-up that lacks traits continues with its provider only).
   */
  exclusive?(internal: Json | undefined): boolean;
  /** A head start on a submission naming this method, from its raw body (see HeadStart); undefined for none. */
  headStart?(body: Record<string, unknown>): HeadStart | undefined;
}

/**
 * A public endpoint a method owns (an OIDC callback, `/.well-known/ory/webauthn.js`), mounted by the HTTP layer. The
 * method still never sees the request: it gets the path parameters, query and body, and answers with content to send,
 * or with a submission the flow service then runs on one of its flows (a callback becomes a flow submit).
 */
export interface MethodRoute {
  method: 'GET' | 'POST';
  /** Express-style path under the public API, e.g. `/self-service/methods/oidc/callback/:provider`. */
  path: string;
  handle(request: MethodRouteRequest): Promise<MethodRouteAnswer>;
}

export interface MethodRouteRequest {
  /** The request path (under the public API), without the query. */
  path: string;
  params: Record<string, string>;
  query: Record<string, string>;
  body: Record<string, unknown>;
}

export type MethodRouteAnswer =
  /** `shareable`: public, static content any origin may load (a script tag with `crossorigin` and `integrity`). */
  | { kind: 'content'; status: number; contentType: string; body: string; cacheControl?: string; shareable?: boolean }
  | { kind: 'submit'; flowKind: FlowKind; flowId: string; payload: Record<string, unknown> }
  /** Send the browser elsewhere (a relative `to` is resolved against the public base URL). */
  | { kind: 'redirect'; status: 302 | 303; to: string }
  /** A request the route refuses before any flow is known: the error UI (or JSON) with this reason. */
  | { kind: 'error'; status: 400 | 404; reason: string };

/**
 * A method whose login capability is `aal2` is a second factor. An identity has it available when it holds a
 * credential whose type is the method's id (the method deletes the credential when its last secret is removed), so
 * `session.whoami.required_aal: highest_available` can tell from the credential types alone.
 */
export interface Method {
  /** Kratos's method id (`password`, `profile`, `code`, `link`, `totp` ...); an open string. */
  id: string;
  group: UiNodeGroup;
  login?: Capability & { aal: Aal };
  registration?: Capability;
  settings?: Capability;
  recovery?: Capability;
  verification?: Capability;
  /** Endpoints this method owns. */
  routes?: MethodRoute[];
  /**
   * Kratos's `TestStrategy`: whether this method runs an administrator's dry-run test login of `providerId` (its
   * login nodes then show that provider alone, and its answer ends the flow with a `tested` outcome).
   */
  testsLogin?(providerId: string): boolean;
  /**
   * Login: someone proved an identity in this flow (by any method) while this method has internal state here; the
   * method may change that identity, committed with the login (OpenID Connect account linking). Undefined: no change.
   */
  afterLogin?(ctx: MethodContext, identity: IdentityRecord): Promise<IdentityRecord | undefined>;
}
