import type { FlowContext, HooksInput, HookVerdict, MethodActorInput, MethodSubmitEvent, Outcome, SessionIssued } from './flow-types.ts';

/** Context updates shared by the flow machines (pure functions; each machine wraps them in `assign`). */

/** The output of an invoked effect's done event, narrowed to one outcome kind. */
export function outputOf<K extends Outcome['kind']>(event: unknown): Extract<Outcome, { kind: K }> {
  return (event as { output: Extract<Outcome, { kind: K }> }).output;
}

export function outcomeKind(event: unknown): Outcome['kind'] {
  return (event as { output: Outcome }).output.kind;
}

/** A submit clears the previous answer and remembers which method was used. */
export function startSubmission(event: MethodSubmitEvent): Partial<FlowContext> {
  return { active: event.method, messages: [], fieldMessages: {}, transientPayload: event.payload.transient_payload };
}

/** A rejected submit shows the method's messages next to the values the user sent. */
export function rejectionView(event: unknown): Partial<FlowContext> {
  const outcome = outputOf<'rejected'>(event);
  return { values: outcome.values ?? {}, fieldMessages: outcome.fieldMessages ?? {}, messages: outcome.messages ?? [] };
}

export function sessionIssued(event: unknown): Partial<FlowContext> {
  const output = (event as { output: SessionIssued }).output;
  return output.continueFlowId ? { sessionId: output.sessionId, continueFlowId: output.continueFlowId } : { sessionId: output.sessionId };
}

/** What a method effect is invoked with: the flow's identity and the submit (secrets included, never stored). */
export function methodInput(context: FlowContext, event: unknown): MethodActorInput {
  const submit = event as MethodSubmitEvent;
  return {
    flowId: context.flowId, flowType: context.flowType, identityId: context.identityId, schemaId: context.schemaId,
    screen: context.screen, method: submit.method, payload: submit.payload,
  };
}

/** Whether completing the flow with `method` runs hooks before anything is saved (the pre-persist step). */
export function hooksBeforeSave(context: FlowContext, method: string | undefined): boolean {
  return method !== undefined && (context.hooksBeforeSave ?? []).includes(method);
}

export function hooksInput(context: FlowContext, method: string): HooksInput {
  return { flowId: context.flowId, flowType: context.flowType, identityId: context.identityId, method };
}

export function hooksPassed(event: unknown): boolean {
  return (event as { output: HookVerdict }).output.kind === 'passed';
}

/** The hooks stopped the flow: their messages on the form, the values shown before (or the ones they give). */
export function hookRejectionView(event: unknown, context: FlowContext): Partial<FlowContext> {
  const verdict = (event as { output: Extract<HookVerdict, { kind: 'rejected' }> }).output;
  return { screen: undefined, values: verdict.values ?? context.values, fieldMessages: verdict.fieldMessages ?? {}, messages: verdict.messages ?? [] };
}
