import { assign, fromPromise, setup } from 'xstate';
import {
  initialContext, NOT_PROVIDED,
  type FlowContext, type FlowEvent, type FlowInput, type MethodSubmitEvent, type IssueSessionInput, type MethodActorInput, type Outcome,
} from './flow-types.ts';

/**
 * Login: `choose_method` until a method authenticates the user, then a session is issued and the flow ends in
 * `passed_challenge`. Wrong credentials return to the form with the method's messages.
 */
export const loginMachine = setup({
  types: {} as { context: FlowContext; events: MethodSubmitEvent; input: FlowInput },
  actors: {
    authenticate: fromPromise<Outcome, MethodActorInput>(NOT_PROVIDED('authenticate')),
    issueSession: fromPromise<{ sessionId: string }, IssueSessionInput>(NOT_PROVIDED('issueSession')),
  },
  guards: {
    isRejected: ({ event }) => (event as unknown as { output: Outcome }).output.kind === 'rejected',
    isAuthenticated: ({ event }) => (event as unknown as { output: Outcome }).output.kind === 'authenticated',
  },
  actions: {
    startSubmission: assign(({ event }) => ({
      active: event.method,
      messages: [],
      fieldMessages: {},
      transientPayload: event.payload.transient_payload,
    })),
    showRejection: assign(({ event }) => {
      const outcome = (event as unknown as { output: Extract<Outcome, { kind: 'rejected' }> }).output;
      return { values: outcome.values ?? {}, fieldMessages: outcome.fieldMessages ?? {}, messages: outcome.messages ?? [] };
    }),
    rememberIdentity: assign(({ event }) => {
      const outcome = (event as unknown as { output: Extract<Outcome, { kind: 'authenticated' }> }).output;
      return { identityId: outcome.identityId };
    }),
    rememberSession: assign(({ event }) => ({ sessionId: (event as unknown as { output: { sessionId: string } }).output.sessionId })),
  },
}).createMachine({
  id: 'login',
  context: ({ input }) => initialContext(input),
  initial: 'choose_method',
  states: {
    choose_method: {
      initial: 'awaiting_input',
      states: {
        awaiting_input: {
          tags: ['awaiting_input'],
          on: { 'method.submit': { target: 'authenticating', actions: 'startSubmission' } },
        },
        authenticating: {
          invoke: {
            id: 'authenticate',
            src: 'authenticate',
            input: ({ context, event }) => ({
              flowId: context.flowId, flowType: context.flowType, identityId: context.identityId,
              method: (event as MethodSubmitEvent).method, payload: (event as MethodSubmitEvent).payload,
            }),
            onDone: [
              { guard: 'isAuthenticated', target: 'issuing_session', actions: 'rememberIdentity' },
              { target: 'awaiting_input', actions: 'showRejection' },
            ],
          },
        },
        issuing_session: {
          invoke: {
            id: 'issueSession',
            src: 'issueSession',
            input: ({ context, event }) => {
              const outcome = (event as unknown as { output: Extract<Outcome, { kind: 'authenticated' }> }).output;
              return { flowId: context.flowId, identityId: outcome.identityId, method: outcome.method, aal: outcome.aal };
            },
            onDone: { target: '#login.passed_challenge', actions: 'rememberSession' },
          },
        },
      },
    },
    passed_challenge: { type: 'final', tags: ['completed'] },
  },
});
