import { assign, fromPromise, setup } from 'xstate';
import { methodInput, outcomeKind, outputOf, rejectionView, sessionIssued, startSubmission } from './flow-actions.ts';
import {
  initialContext, NOT_PROVIDED,
  type FlowContext, type FlowEvent, type FlowInput, type IssueSessionInput, type MethodActorInput, type MethodSubmitEvent,
  type Outcome, type SessionIssued, type UiMessage,
} from './flow-types.ts';

const sentMessage = (output: Outcome): UiMessage[] => (output.kind === 'code_sent' ? output.messages ?? [] : []);

/**
 * Recovery and verification share one shape (Kratos states): `choose_method` → a code or link is sent
 * (`sent_email`) → the right code passes the challenge (`passed_challenge`). Recovery then issues a session (and the
 * settings flow the user continues in); verification marks the address verified. Unknown addresses get the same
 * answer as known ones; a wrong code stays in `sent_email`; too many wrong codes void the code and return to
 * `choose_method`: the address must be entered again (and the attempt count is not reset).
 */
export function codeChallengeMachine<Id extends 'recovery' | 'verification'>(id: Id) {
  return setup({
  types: {} as { context: FlowContext; events: FlowEvent; input: FlowInput },
  actors: {
    sendCode: fromPromise<Outcome, MethodActorInput>(NOT_PROVIDED('sendCode')),
    checkCode: fromPromise<Outcome, MethodActorInput>(NOT_PROVIDED('checkCode')),
    issueSession: fromPromise<SessionIssued, IssueSessionInput>(NOT_PROVIDED('issueSession')),
  },
  guards: {
    isSent: ({ event }) => outcomeKind(event) === 'code_sent',
    isPassed: ({ event }) => outcomeKind(event) === 'challenge_passed',
    isExhausted: ({ event }) => outcomeKind(event) === 'exhausted',
    isResend: ({ event }) => {
      const payload = (event as Extract<FlowEvent, { type: 'method.submit' }>).payload;
      return (typeof payload?.code !== 'string' || payload.code === '') && (typeof payload?.token !== 'string' || payload.token === '');
    },
  },
  actions: {
    startSubmission: assign(({ event }) => startSubmission(event as MethodSubmitEvent)),
    rememberIssued: assign(({ event }) => {
      const issued = event as Extract<FlowEvent, { type: 'challenge.issued' }>;
      return { values: issued.values, messages: issued.messages ?? [], fieldMessages: {} };
    }),
    showRejection: assign(({ event }) => rejectionView(event)),
    showSent: assign(({ event }) => {
      const outcome = outputOf<'code_sent'>(event);
      return { values: outcome.values ?? {}, fieldMessages: {}, messages: sentMessage(outcome) };
    }),
    showPassed: assign(({ event }) => {
      const outcome = outputOf<'challenge_passed'>(event);
      return { identityId: outcome.identityId, fieldMessages: {}, messages: outcome.messages ?? [] };
    }),
    rememberSession: assign(({ event }) => sessionIssued(event)),
    showExhausted: assign(({ event }) => ({ fieldMessages: {}, messages: outputOf<'exhausted'>(event).messages })),
  },
}).createMachine({
  id,
  context: ({ input }) => initialContext(input),
  initial: 'choose_method',
  states: {
    choose_method: {
      initial: 'awaiting_input',
      states: {
        awaiting_input: {
          tags: ['awaiting_input'],
          on: {
            'method.submit': { target: 'sending', actions: 'startSubmission' },
            'challenge.issued': { target: `#${id}.sent_email`, actions: 'rememberIssued' },
          },
        },
        sending: {
          invoke: {
            id: 'sendCode',
            src: 'sendCode',
            input: ({ context, event }) => methodInput(context, event),
            onDone: [
              { guard: 'isSent', target: `#${id}.sent_email`, actions: 'showSent' },
              { target: 'awaiting_input', actions: 'showRejection' },
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
          on: {
            'method.submit': [
              { guard: 'isResend', target: 'resending', actions: 'startSubmission' },
              { target: 'checking', actions: 'startSubmission' },
            ],
          },
        },
        resending: {
          invoke: {
            id: 'sendCode',
            src: 'sendCode',
            input: ({ context, event }) => methodInput(context, event),
            onDone: [
              { guard: 'isSent', target: 'awaiting_input', actions: 'showSent' },
              { target: 'awaiting_input', actions: 'showRejection' },
            ],
          },
        },
        checking: {
          invoke: {
            id: 'checkCode',
            src: 'checkCode',
            input: ({ context, event }) => methodInput(context, event),
            onDone: [
              // Recovery logs the user in before it is done; verification is done at once.
              { guard: 'isPassed', target: id === 'recovery' ? 'issuing_session' : `#${id}.passed_challenge`, actions: 'showPassed' },
              { guard: 'isExhausted', target: `#${id}.choose_method`, actions: 'showExhausted' },
              { target: 'awaiting_input', actions: 'showRejection' },
            ],
          },
        },
        ...(id === 'recovery' ? { issuing_session: {
          invoke: {
            id: 'issueSession',
            src: 'issueSession',
            input: ({ context }) => ({
              flowId: context.flowId, identityId: context.identityId!, method: `${context.active === 'link' ? 'link' : 'code'}_recovery`, aal: 'aal1' as const,
            }),
            onDone: { target: `#${id}.passed_challenge`, actions: 'rememberSession' },
          },
        } } : {}),
      },
    },
    passed_challenge: { type: 'final', tags: ['completed'] },
  },
});
}
