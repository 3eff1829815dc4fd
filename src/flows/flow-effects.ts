import type { EntityManager } from '@mikro-orm/core';
import { fromPromise, type AnyActorLogic } from 'xstate';
import type { IssueSessionInput, MethodActorInput, Outcome } from '../../machines/flow-types.ts';
import type { IdentityRecord } from '../identity/identity.ts';
import type { Method, MethodSubmitContext } from '../methods/method.ts';
import type { SessionService, IssuedSession } from '../session/index.ts';
import { msg } from '../methods/method.ts';
import type { FlowScope } from './flow-runtime.ts';
import type { MachineFlowKind } from './flow-machines.ts';

/** What a submit produced besides the snapshot; read by the HTTP adapter to answer, never persisted in the flow. */
export interface FlowEffects {
  issued?: IssuedSession;
  fatal?: unknown;
  /** Verification flows started by this submit (after registration or an address change). */
  verificationFlows?: Array<{ flowId: string; address: string }>;
}

export interface FlowEffectsDeps {
  methods: Method[];
  sessions: SessionService;
  /**
   * Runs after a method succeeded, inside the same unit of work (persist only): starts verification for new
   * addresses, enforces `require_verified_address`. May throw to fail the submit.
   */
  afterOutcome?: (em: EntityManager, outcome: Outcome, input: SubmitScopeInput) => Promise<Partial<FlowEffects> | void>;
}

export interface SubmitScopeInput {
  kind: MachineFlowKind;
  em: EntityManager;
  device: { ip?: string; userAgent?: string };
  /** Settings: the owner, as loaded for this attempt. */
  identity?: IdentityRecord;
  sessionId?: string;
  privileged?: boolean;
}

/** Unknown or disabled method: the flow's "no strategy found" message (4010002 login, 4010003 registration, 4010004 settings). */
const NO_STRATEGY: Record<MachineFlowKind, number> = { login: 4010002, registration: 4010003, settings: 4010004 };

/**
 * Binds the machine's named actors to this request: methods run with the request's EntityManager and persist
 * only; the runtime flushes once. An unexpected error is recorded as fatal so the request fails and nothing
 * is saved.
 */
export function createFlowScope(deps: FlowEffectsDeps, input: SubmitScopeInput, inspect: FlowScope['inspect']): { scope: FlowScope; effects: FlowEffects } {
  const effects: FlowEffects = {};
  const guarded = <I, O>(fn: (input: I) => Promise<O>) => fromPromise<O, I>(async ({ input: actorInput }) => {
    try {
      return await fn(actorInput);
    } catch (err) {
      effects.fatal ??= err;
      throw err;
    }
  });

  const runMethod = async (actorInput: MethodActorInput): Promise<Outcome> => {
    const method = deps.methods.find((m) => m.id === actorInput.method);
    const capability = method?.[input.kind];
    if (!capability) return { kind: 'rejected', messages: [msg(NO_STRATEGY[input.kind])] };
    const ctx: MethodSubmitContext = {
      em: input.em, flowId: actorInput.flowId, flowType: actorInput.flowType, identity: input.identity,
      schemaId: actorInput.schemaId, screen: actorInput.screen, privileged: input.privileged, sessionId: input.sessionId,
    };
    const outcome = await capability.submit(ctx, actorInput.payload);
    const extra = await deps.afterOutcome?.(input.em, outcome, input);
    if (extra) Object.assign(effects, extra);
    return outcome;
  };

  const issueSession = async (actorInput: IssueSessionInput) => {
    const issued = await deps.sessions.issue(input.em, {
      identityId: actorInput.identityId,
      methods: [{ method: actorInput.method, aal: actorInput.aal }],
      device: input.device,
    });
    effects.issued = issued;
    return { sessionId: issued.session.id };
  };

  const actors: Record<string, AnyActorLogic> = {
    authenticate: guarded(runMethod),
    register: guarded(runMethod),
    applySettings: guarded(runMethod),
    issueSession: guarded(issueSession),
  };
  return { scope: { actors, inspect, fatal: () => effects.fatal }, effects };
}
