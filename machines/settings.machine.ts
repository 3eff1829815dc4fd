import { assign, fromPromise, setup } from 'xstate';
import { hookRejectionView, hooksBeforeSave, hooksInput, hooksPassed, methodInput, outcomeKind, outputOf, rejectionView, startSubmission } from './flow-actions.ts';
import {
  initialContext, NOT_PROVIDED, type FlowContext, type FlowInput, type MethodSubmitEvent, type MethodActorInput, type Outcome,
  type HooksInput, type HookVerdict,
} from './flow-types.ts';

/**
 * Settings: `show_form` → `success`; the flow stays usable after a success, so `success` accepts further submits.
 * A change that needs a recent login (`needs_refresh`) waits in the form; the adapter keeps it and applies it after
 * the user re-authenticated. A method may show a screen of its own first (backup codes to confirm). Web hooks that
 * may stop the change or alter the identity run before it is saved (`running_hooks`, Kratos's pre-persist hooks).
 */
export const settingsMachine = setup({
  types: {} as { context: FlowContext; events: MethodSubmitEvent; input: FlowInput },
  actors: {
    applySettings: fromPromise<Outcome, MethodActorInput>(NOT_PROVIDED('applySettings')),
    runHooks: fromPromise<HookVerdict, HooksInput>(NOT_PROVIDED('runHooks')),
  },
  guards: {
    isUpdated: ({ event }) => outcomeKind(event) === 'updated',
    needsRefresh: ({ event }) => outcomeKind(event) === 'needs_refresh',
    isNextScreen: ({ event }) => outcomeKind(event) === 'next_screen',
    isUpdatedWithHooks: ({ context, event }) => outcomeKind(event) === 'updated' && hooksBeforeSave(context, context.active),
    hooksPassed: ({ event }) => hooksPassed(event),
  },
  actions: {
    startSubmission: assign(({ event }) => startSubmission(event)),
    showRejection: assign(({ event }) => rejectionView(event)),
    showSuccess: assign(({ event }) => {
      const outcome = outputOf<'updated'>(event);
      return { values: outcome.values ?? {}, fieldMessages: {}, messages: outcome.messages ?? [] };
    }),
    awaitReauthentication: assign(() => ({ fieldMessages: {}, messages: [] })),
    showHookRejection: assign(({ context, event }) => hookRejectionView(event, context)),
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
              { guard: 'isUpdatedWithHooks', target: 'running_hooks', actions: 'showSuccess' },
              { guard: 'isUpdated', target: '#settings.success', actions: 'showSuccess' },
              { guard: 'needsRefresh', target: 'awaiting_input', actions: 'awaitReauthentication' },
              // A method's own next screen (new backup codes to confirm): nothing saved, no message.
              { guard: 'isNextScreen', target: 'awaiting_input', actions: 'showScreen' },
              { target: 'awaiting_input', actions: 'showRejection' },
            ],
          },
        },
        running_hooks: {
          invoke: {
            id: 'runHooks',
            src: 'runHooks',
            input: ({ context }) => hooksInput(context, context.active!),
            onDone: [
              { guard: 'hooksPassed', target: '#settings.success' },
              { target: 'awaiting_input', actions: 'showHookRejection' },
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
