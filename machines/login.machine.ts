import { assign, fromPromise, setup } from 'xstate';
import { hookRejectionView, hooksBeforeSave, hooksInput, hooksPassed, methodInput, outcomeKind, outputOf, rejectionView, sessionIssued, startSubmission } from './flow-actions.ts';
import {
  initialContext, NOT_PROVIDED,
  type FlowContext, type FlowInput, type MethodSubmitEvent, type IssueSessionInput, type MethodActorInput, type Outcome,
  type HooksInput, type HookVerdict,
} from './flow-types.ts';

/**
 * Login: `choose_method` until a method authenticates the user, then a session is issued and the flow ends in
 * `passed_challenge`. Wrong credentials return to the form with the method's messages. A one-time code moves the flow
 * to `sent_email` (Kratos's state), where the code, a resend or a wrong code keep it until the code proves the user. A flow bound to the caller's
 * identity (a refresh, a second factor at `aal2`) that proves that identity again continues the caller's session —
 * the method joins its authentication methods (aal2 after a second factor) — instead of issuing another.
 * With web hooks on the method's after-hooks, they run once the session exists and before it is saved (Kratos): a
 * hook that interrupts sends the flow back to the form with its messages, and no session remains.
 * An administrator's test login (Kratos's dry-run test login flow) ends in `passed_challenge` once the provider
 * answered, without a session: what the provider sent is recorded, nobody is signed in.
 */
export const loginMachine = setup({
  types: {} as { context: FlowContext; events: MethodSubmitEvent; input: FlowInput },
  actors: {
    authenticate: fromPromise<Outcome, MethodActorInput>(NOT_PROVIDED('authenticate')),
    issueSession: fromPromise<{ sessionId: string }, IssueSessionInput>(NOT_PROVIDED('issueSession')),
    continueSession: fromPromise<{ sessionId: string }, IssueSessionInput>(NOT_PROVIDED('continueSession')),
    runHooks: fromPromise<HookVerdict, HooksInput>(NOT_PROVIDED('runHooks')),
  },
  guards: {
    isRejected: ({ event }) => outcomeKind(event) === 'rejected',
    isAuthenticated: ({ event }) => outcomeKind(event) === 'authenticated',
    isCodeSent: ({ event }) => outcomeKind(event) === 'code_sent',
    isTested: ({ event }) => outcomeKind(event) === 'tested',
    runsHooks: ({ context }) => hooksBeforeSave(context, context.active),
    hooksPassed: ({ event }) => hooksPassed(event),
    provesFlowIdentity: ({ context, event }) => outcomeKind(event) === 'authenticated' && context.identityId !== undefined
      && outputOf<'authenticated'>(event).identityId === context.identityId,
  },
  actions: {
    startSubmission: assign(({ event }) => startSubmission(event)),
    /** A rejection, or a method's own next screen (passwordless WebAuthn: the key's challenge after the identifier). */
    showAnswer: assign(({ event }) => {
      if (outcomeKind(event) !== 'next_screen') return rejectionView(event);
      const outcome = outputOf<'next_screen'>(event);
      return { screen: outcome.screen, values: outcome.values ?? {}, fieldMessages: {}, messages: outcome.messages ?? [] };
    }),
    /** A code was sent: the flow shows the code form (the method's own screen) until it is proven. */
    showSent: assign(({ event }) => {
      const outcome = outputOf<'code_sent'>(event);
      return { screen: 'code', values: outcome.values ?? {}, fieldMessages: {}, messages: outcome.messages ?? [] };
    }),
    /** A wrong code (or a refused resend) keeps the code form, with the method's messages. */
    showRejection: assign(({ event }) => rejectionView(event)),
    rememberIdentity: assign(({ event }) => {
      const outcome = outputOf<'authenticated'>(event);
      return { identityId: outcome.identityId };
    }),
    rememberSession: assign(({ event }) => sessionIssued(event)),
    /** The hooks refused the login: no session; a flow bound to the caller's identity (refresh, aal2) stays bound. */
    showHookRejection: assign(({ context, event }) => ({
      ...hookRejectionView(event, context),
      sessionId: undefined,
      identityId: context.refresh || context.requestedAal === 'aal2' ? context.identityId : undefined,
    })),
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
            input: ({ context, event }) => methodInput(context, event),
            onDone: [
              { guard: 'provesFlowIdentity', target: 'continuing_session', actions: 'rememberIdentity' },
              { guard: 'isAuthenticated', target: 'issuing_session', actions: 'rememberIdentity' },
              { guard: 'isCodeSent', target: '#login.sent_email', actions: 'showSent' },
              { guard: 'isTested', target: '#login.passed_challenge' },
              { target: 'awaiting_input', actions: 'showAnswer' },
            ],
          },
        },
        issuing_session: {
          invoke: {
            id: 'issueSession',
            src: 'issueSession',
            input: ({ context, event }) => {
              const outcome = outputOf<'authenticated'>(event);
              return { flowId: context.flowId, identityId: outcome.identityId, method: outcome.method, aal: outcome.aal };
            },
            onDone: [
              { guard: 'runsHooks', target: 'running_hooks', actions: 'rememberSession' },
              { target: '#login.passed_challenge', actions: 'rememberSession' },
            ],
          },
        },
        continuing_session: {
          invoke: {
            id: 'continueSession',
            src: 'continueSession',
            input: ({ context, event }) => {
              const outcome = outputOf<'authenticated'>(event);
              return { flowId: context.flowId, identityId: outcome.identityId, method: outcome.method, aal: outcome.aal };
            },
            onDone: [
              { guard: 'runsHooks', target: 'running_hooks', actions: 'rememberSession' },
              { target: '#login.passed_challenge', actions: 'rememberSession' },
            ],
          },
        },
        running_hooks: {
          invoke: {
            id: 'runHooks',
            src: 'runHooks',
            input: ({ context }) => hooksInput(context, context.active!),
            onDone: [
              { guard: 'hooksPassed', target: '#login.passed_challenge' },
              { target: 'awaiting_input', actions: 'showHookRejection' },
            ],
          },
        },
      },
    },
    sent_email: {
      initial: 'awaiting_input',
      states: {
        awaiting_input: {
          tags: ['awaiting_input'],
          on: { 'method.submit': { target: 'checking', actions: 'startSubmission' } },
        },
        checking: {
          invoke: {
            id: 'authenticate',
            src: 'authenticate',
            input: ({ context, event }) => methodInput(context, event),
            onDone: [
              { guard: 'provesFlowIdentity', target: '#login.choose_method.continuing_session', actions: 'rememberIdentity' },
              { guard: 'isAuthenticated', target: '#login.choose_method.issuing_session', actions: 'rememberIdentity' },
              { guard: 'isCodeSent', target: 'awaiting_input', actions: 'showSent' },
              { target: 'awaiting_input', actions: 'showRejection' },
            ],
          },
        },
      },
    },
    passed_challenge: { type: 'final', tags: ['completed'] },
  },
});
