import { assign, fromPromise, setup } from 'xstate';
import { methodInput, outcomeKind, outputOf, sessionIssued, startSubmission } from './flow-actions.ts';
import {
  initialContext, NOT_PROVIDED,
  type FlowContext, type FlowInput, type MethodSubmitEvent, type IssueSessionInput, type MethodActorInput, type Outcome,
} from './flow-types.ts';

/**
 * Registration: `choose_method` (profile-first screens are internal), `register` validates the traits and
 * credentials and creates the identity; with the `session` hook a session follows; ends in `passed_challenge`.
 */
export const registrationMachine = setup({
  types: {} as { context: FlowContext; events: MethodSubmitEvent; input: FlowInput },
  actors: {
    register: fromPromise<Outcome, MethodActorInput>(NOT_PROVIDED('register')),
    issueSession: fromPromise<{ sessionId: string }, IssueSessionInput>(NOT_PROVIDED('issueSession')),
  },
  guards: {
    isRegistered: ({ event }) => outcomeKind(event) === 'registered',
    isNextScreen: ({ event }) => outcomeKind(event) === 'next_screen',
    issuesSession: ({ context }) => context.issueSession,
  },
  actions: {
    startSubmission: assign(({ event }) => startSubmission(event)),
    showRejection: assign(({ event }) => {
      const outcome = outputOf<'rejected'>(event);
      // A rejection returns to the editable form, whatever screen it came from, so the messages can be seen.
      return { screen: undefined, values: outcome.values ?? {}, fieldMessages: outcome.fieldMessages ?? {}, messages: outcome.messages ?? [] };
    }),
    showNextScreen: assign(({ event }) => {
      const outcome = outputOf<'next_screen'>(event);
      return { screen: outcome.screen, values: outcome.values ?? {}, messages: outcome.messages ?? [] };
    }),
    rememberIdentity: assign(({ event }) => ({
      identityId: outputOf<'registered'>(event).identityId,
    })),
    rememberSession: assign(({ event }) => sessionIssued(event)),
  },
}).createMachine({
  id: 'registration',
  context: ({ input }) => initialContext(input),
  initial: 'choose_method',
  states: {
    choose_method: {
      initial: 'awaiting_input',
      states: {
        awaiting_input: {
          tags: ['awaiting_input'],
          on: { 'method.submit': { target: 'registering', actions: 'startSubmission' } },
        },
        registering: {
          invoke: {
            id: 'register',
            src: 'register',
            input: ({ context, event }) => methodInput(context, event),
            onDone: [
              { guard: 'isRegistered', target: 'registered', actions: 'rememberIdentity' },
              { guard: 'isNextScreen', target: 'awaiting_input', actions: 'showNextScreen' },
              { target: 'awaiting_input', actions: 'showRejection' },
            ],
          },
        },
        registered: {
          always: [
            { guard: 'issuesSession', target: 'issuing_session' },
            { target: '#registration.passed_challenge' },
          ],
        },
        issuing_session: {
          invoke: {
            id: 'issueSession',
            src: 'issueSession',
            input: ({ context }) => ({ flowId: context.flowId, identityId: context.identityId!, method: context.active ?? 'password', aal: 'aal1' as const }),
            onDone: { target: '#registration.passed_challenge', actions: 'rememberSession' },
          },
        },
      },
    },
    passed_challenge: { type: 'final', tags: ['completed'] },
  },
});
