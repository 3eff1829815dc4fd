import { assign, fromPromise, setup } from 'xstate';
import { hookRejectionView, hooksBeforeSave, hooksInput, hooksPassed, methodInput, outcomeKind, outputOf, rejectionView, sessionIssued, startSubmission } from './flow-actions.ts';
import {
  initialContext, NOT_PROVIDED,
  type FlowContext, type FlowInput, type MethodSubmitEvent, type IssueSessionInput, type MethodActorInput, type Outcome,
  type HooksInput, type HookVerdict,
} from './flow-types.ts';

/**
 * Registration: `choose_method` (profile-first screens are internal), `register` validates the traits and
 * credentials and creates the identity; with the `session` hook a session follows; ends in `passed_challenge`.
 * Sign-up by one-time code goes through `sent_email`: the code mailed to the traits' addresses creates the identity;
 * "back" returns to `choose_method`. Web hooks that may stop the sign-up or change the identity run after `register`
 * validated it and before it is saved (Kratos's pre-persist hooks, `running_hooks`); one that interrupts sends the
 * flow back to the form with its messages, and no identity is created.
 */
/** The method that created the identity (profile-first's traits step is never it). */
const registeredWith = (context: FlowContext): string => context.active ?? 'password';

/** The `session` after-hook of the method that signed the user up (Kratos: `after.<method>.hooks`, else `after.hooks`). */
const sessionFollows = (context: FlowContext): boolean => (context.sessionAfter ?? []).includes(registeredWith(context));

export const registrationMachine = setup({
  types: {} as { context: FlowContext; events: MethodSubmitEvent; input: FlowInput },
  actors: {
    register: fromPromise<Outcome, MethodActorInput>(NOT_PROVIDED('register')),
    issueSession: fromPromise<{ sessionId: string }, IssueSessionInput>(NOT_PROVIDED('issueSession')),
    runHooks: fromPromise<HookVerdict, HooksInput>(NOT_PROVIDED('runHooks')),
  },
  guards: {
    isRegistered: ({ event }) => outcomeKind(event) === 'registered',
    isNextScreen: ({ event }) => outcomeKind(event) === 'next_screen',
    isCodeSent: ({ event }) => outcomeKind(event) === 'code_sent',
    issuesSession: ({ context }) => sessionFollows(context),
    isRegisteredWithHooks: ({ context, event }) => outcomeKind(event) === 'registered' && hooksBeforeSave(context, registeredWith(context)),
    hooksPassed: ({ event }) => hooksPassed(event),
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
    showSent: assign(({ event }) => {
      const outcome = outputOf<'code_sent'>(event);
      return { screen: 'code', values: outcome.values ?? {}, fieldMessages: {}, messages: outcome.messages ?? [] };
    }),
    /** A wrong code keeps the code form. */
    showCodeRejection: assign(({ event }) => rejectionView(event)),
    rememberIdentity: assign(({ event }) => ({
      identityId: outputOf<'registered'>(event).identityId,
    })),
    rememberSession: assign(({ event }) => sessionIssued(event)),
    /** The hooks refused the sign-up: back to the editable form with their messages; no identity. */
    showHookRejection: assign(({ context, event }) => ({ ...hookRejectionView(event, context), identityId: undefined })),
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
              { guard: 'isRegisteredWithHooks', target: 'running_hooks', actions: 'rememberIdentity' },
              { guard: 'isRegistered', target: 'registered', actions: 'rememberIdentity' },
              { guard: 'isNextScreen', target: 'awaiting_input', actions: 'showNextScreen' },
              { guard: 'isCodeSent', target: '#registration.sent_email', actions: 'showSent' },
              { target: 'awaiting_input', actions: 'showRejection' },
            ],
          },
        },
        running_hooks: {
          invoke: {
            id: 'runHooks',
            src: 'runHooks',
            input: ({ context }) => hooksInput(context, registeredWith(context)),
            onDone: [
              { guard: 'hooksPassed', target: 'registered' },
              { target: 'awaiting_input', actions: 'showHookRejection' },
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
            input: ({ context }) => ({ flowId: context.flowId, identityId: context.identityId!, method: registeredWith(context), aal: 'aal1' as const }),
            onDone: { target: '#registration.passed_challenge', actions: 'rememberSession' },
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
            id: 'register',
            src: 'register',
            input: ({ context, event }) => methodInput(context, event),
            onDone: [
              { guard: 'isRegisteredWithHooks', target: '#registration.choose_method.running_hooks', actions: 'rememberIdentity' },
              { guard: 'isRegistered', target: '#registration.choose_method.registered', actions: 'rememberIdentity' },
              { guard: 'isCodeSent', target: 'awaiting_input', actions: 'showSent' },
              { guard: 'isNextScreen', target: '#registration.choose_method.awaiting_input', actions: 'showNextScreen' },
              { target: 'awaiting_input', actions: 'showCodeRejection' },
            ],
          },
        },
      },
    },
    passed_challenge: { type: 'final', tags: ['completed'] },
  },
});
