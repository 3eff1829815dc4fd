/**
 * Types shared by the self-service flow machines. Plain JSON only: the machine context is persisted as the
 * flow's snapshot and projected into Kratos's flow JSON, so nothing secret (passwords, tokens, codes) ever
 * enters it — secrets travel from the submit event straight into an actor's input.
 */
export interface UiMessage {
  id: number;
  text: string;
  type: 'info' | 'error' | 'success';
  context?: Record<string, unknown>;
}

export type FlowType = 'api' | 'browser';
export type Aal = 'aal1' | 'aal2';

/** What every flow machine is started with; time and ids arrive from outside (no timers, no randomness). */
export interface FlowInput {
  flowId: string;
  flowType: FlowType;
  /** Identity the flow belongs to (settings) or was authenticated/created by (login, registration). */
  identityId?: string;
  schemaId?: string;
  requestedAal?: Aal;
  refresh?: boolean;
  /** Registration: the methods whose sign-up issues a session (their `session` after-hook). */
  sessionAfter?: string[];
  /**
   * Login, registration, settings: the methods whose after-hooks run before the flow's changes are saved (web hooks
   * that may stop the flow or change the identity: Kratos's pre-persist hooks; every login web hook).
   */
  hooksBeforeSave?: string[];
  messages?: UiMessage[];
}

export interface FlowContext {
  flowId: string;
  flowType: FlowType;
  identityId?: string;
  sessionId?: string;
  schemaId?: string;
  requestedAal: Aal;
  refresh: boolean;
  /** Registration: the methods whose sign-up issues a session (their `session` after-hook). */
  sessionAfter: string[];
  /** See FlowInput.hooksBeforeSave (absent when there are none, and in flows stored before it existed). */
  hooksBeforeSave?: string[];
  /** Last method submitted (Kratos `active`). */
  active?: string;
  /** Recovery: the settings flow the user continues with. */
  continueFlowId?: string;
  /**
   * A step of the flow's form: registration's profile-first `credential-selection`; a login method's own screen, named
   * by the method's id (passwordless WebAuthn after the identifier), which the flow then shows alone.
   */
  screen?: string;
  /** Non-secret values to echo into the form (traits, identifier). */
  values: Record<string, unknown>;
  /** Messages attached to nodes, by node name. */
  fieldMessages: Record<string, UiMessage[]>;
  /** Messages of the whole form (`ui.messages`). */
  messages: UiMessage[];
  transientPayload?: unknown;
}

/** One thing a client does: submit a method with its payload (secrets included, never stored). */
export interface MethodSubmitEvent {
  type: 'method.submit';
  method: string;
  payload: Record<string, unknown>;
}

/** An administrator issued a recovery code or link out of band (`POST /admin/recovery/code|link`). */
export interface ChallengeIssuedEvent {
  type: 'challenge.issued';
  values: Record<string, unknown>;
  /** What the form says (verification after sign-up: the code was sent); none for an administrator's code. */
  messages?: UiMessage[];
}

export type FlowEvent = MethodSubmitEvent | ChallengeIssuedEvent;

/** Method results the machines branch on; produced by the actors the adapters provide. */
export type Outcome =
  | { kind: 'rejected'; values?: Record<string, unknown>; fieldMessages?: Record<string, UiMessage[]>; messages?: UiMessage[] }
  | { kind: 'next_screen'; screen?: string; values?: Record<string, unknown>; messages?: UiMessage[] }
  | { kind: 'authenticated'; identityId: string; method: string; aal: Aal }
  | { kind: 'registered'; identityId: string; method: string }
  | { kind: 'updated'; method: string; values?: Record<string, unknown>; messages?: UiMessage[] }
  | { kind: 'code_sent'; values?: Record<string, unknown>; messages?: UiMessage[] }
  | { kind: 'challenge_passed'; identityId: string; method: string; messages?: UiMessage[] }
  | { kind: 'exhausted'; messages: UiMessage[] }
  /**
   * Login: an administrator's dry-run test login (Kratos's test login flow) came back from the provider; what it found
   * is recorded (outside the snapshot) and nobody is signed in.
   */
  | { kind: 'tested' }
  /** Settings: the change needs a recent login; the adapter keeps it (outside the snapshot) until then. */
  | { kind: 'needs_refresh' };

export interface MethodActorInput {
  flowId: string;
  flowType: FlowType;
  identityId?: string;
  schemaId?: string;
  method: string;
  payload: Record<string, unknown>;
  screen?: string;
}

export interface IssueSessionInput {
  flowId: string;
  identityId: string;
  method: string;
  aal: Aal;
}

/** What the pre-persist hooks effect is invoked with: the flow and the method it completed with. */
export interface HooksInput {
  flowId: string;
  flowType: FlowType;
  identityId?: string;
  method: string;
}

/** The pre-persist hooks' verdict: go on and save, or back to the form with the hooks' messages (nothing saved). */
export type HookVerdict =
  | { kind: 'passed' }
  | { kind: 'rejected'; values?: Record<string, unknown>; fieldMessages?: Record<string, UiMessage[]>; messages?: UiMessage[] };

/** What the session effect answers: the session, and (recovery) the settings flow the user continues in. */
export interface SessionIssued {
  sessionId: string;
  continueFlowId?: string;
}

export function initialContext(input: FlowInput): FlowContext {
  return {
    flowId: input.flowId,
    flowType: input.flowType,
    identityId: input.identityId,
    schemaId: input.schemaId,
    requestedAal: input.requestedAal ?? 'aal1',
    refresh: input.refresh ?? false,
    sessionAfter: input.sessionAfter ?? [],
    ...(input.hooksBeforeSave && input.hooksBeforeSave.length > 0 ? { hooksBeforeSave: input.hooksBeforeSave } : {}),
    values: {},
    fieldMessages: {},
    messages: input.messages ?? [],
  };
}

/**
 * Effects never fail into the flow: a method's expected failures are `rejected` outcomes; an unexpected error
 * (database down, bug) stops the actor, the request fails and the stored flow keeps its previous snapshot.
 */
export const NOT_PROVIDED = (name: string) => async (): Promise<never> => {
  throw new Error(`actor "${name}" must be provided by the adapter layer (machine.provide)`);
};
