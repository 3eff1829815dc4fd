import { assign, fromPromise, setup } from 'xstate';
import { methodInput, outcomeKind, outputOf, rejectionView, startSubmission } from './flow-actions.ts';
import {
  initialContext, NOT_PROVIDED, type FlowContext, type FlowInput, type MethodSubmitEvent, type MethodActorInput, type Outcome,
} from './flow-types.ts';

/**
 * Settings: `show_form` → `success`; the flow stays usable after a success, so `success` accepts further submits.
 * A change that needs a recent login (`needs_refresh`) waits in the form; the adapter keeps it and applies it after
 * the user re-authenticated. A method may show a screen of its own first (backup codes to confirm).
 */
export const settingsMachine = setup({
  types: {} as { context: FlowContext; events: MethodSubmitEvent; input: FlowInput },
  actors: {
    applySettings: fromPromise<Outcome, MethodActorInput>(NOT_PROVIDED('applySettings')),
  },
  guards: {
    isUpdated: ({ event }) => outcomeKind(event) === 'updated',
    needsRefresh: ({ event }) => outcomeKind(event) === 'needs_refresh',
    isNextScreen: ({ event }) => outcomeKind(event) === 'next_screen',
  },
  actions: {
    startSubmission: assign(({ event }) => startSubmission(event)),
    showRejection: assign(({ event }) => rejectionView(event)),
    showSuccess: assign(({ event }) => {
      const outcome = outputOf<'updated'>(event);
      return { values: outcome.values ?? {}, fieldMessages: {}, messages: outcome.messages ?? [] };
    }),
    awaitReauthentication: assign(() => ({ fieldMessages: {}, messages: [] })),
    showScreen: assign(({ event }) => ({ fieldMessages: {}, messages: outputOf<'next_screen'>(event).messages ?? [] })),
  },
}).createMachine({
  id: 'settings',
  context: ({ input }) => initialContext(input),
  initial: 'show_form',
  states: {
    show_form: {
      initial: 'awaiting_input',
      states: {
        awaiting_input: {
          tags: ['awaiting_input'],
          on: { 'method.submit': { target: 'applying', actions: 'startSubmission' } },
        },
        applying: {
          invoke: {
            id: 'applySettings',
            src: 'applySettings',
            input: ({ context, event }) => methodInput(context, event),
            onDone: [
              { guard: 'isUpdated', target: '#settings.success', actions: 'showSuccess' },
              { guard: 'needsRefresh', target: 'awaiting_input', actions: 'awaitReauthentication' },
              // A method's own next screen (new backup codes to confirm): nothing saved, no message.
              { guard: 'isNextScreen', target: 'awaiting_input', actions: 'showScreen' },
              { target: 'awaiting_input', actions: 'showRejection' },
            ],
          },
        },
      },
    },
    success: {
      tags: ['awaiting_input'],
      on: { 'method.submit': { target: '#settings.show_form.applying', actions: 'startSubmission' } },
    },
  },
});
