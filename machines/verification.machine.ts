import { codeChallengeMachine } from './code-challenge.machine.ts';

/**
 * Verification: `choose_method` → `sent_email` → `passed_challenge` (the address is verified). Registration and
 * settings start it with the code already mailed (`challenge.issued`), straight in `sent_email`.
 */
export const verificationMachine = codeChallengeMachine('verification');
