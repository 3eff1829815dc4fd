import { codeChallengeMachine } from './code-challenge.machine.ts';

/** Verification: `choose_method` → `sent_email` → `passed_challenge` (the address is verified). */
export const verificationMachine = codeChallengeMachine('verification', { adminIssued: false });
