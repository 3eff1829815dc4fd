import { codeChallengeMachine } from './code-challenge.machine.ts';

/**
 * Recovery: `choose_method` → `sent_email` → `passed_challenge` (then a session and a settings flow). An
 * administrator can also issue a code (`POST /admin/recovery/code`), which puts the flow straight in `sent_email`.
 */
export const recoveryMachine = codeChallengeMachine('recovery');
