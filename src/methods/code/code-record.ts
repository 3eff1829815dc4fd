import type { SecretHmac } from '../../x/hmac.ts';
import { randomDigits } from '../../x/random.ts';

/**
 * A one-time code or link token of a recovery, verification, login or registration flow. Only an HMAC of the secret is stored; a code is
 * bound to its flow and to the address it was sent to, and failed attempts are counted per address over the code
 * lifespan so asking for another code (or starting another flow) never resets them.
 */
export type CodePurpose = 'recovery' | 'verification' | 'login' | 'registration';

export interface CodeRecord {
  id: string;
  flowId: string;
  purpose: CodePurpose;
  kind: 'code' | 'link';
  via: 'email' | 'sms';
  address: string;
  identityId: string | null;
  secretHmac: string;
  failedAttempts: number;
  expiresAt: Date;
  usedAt: Date | null;
  createdAt: Date;
  updatedAt: Date;
}

/** What the code methods read (the flow service writes what their outcomes ask for). */
export interface CodeReader {
  /** The flow's newest code that is not used yet. */
  latestUnused(flowId: string, purpose: CodeRecord['purpose']): Promise<CodeRecord | null>;
  /** The flow's codes that are not used yet, newest first (registration mails one per address). */
  unusedForFlow(flowId: string, purpose: CodeRecord['purpose']): Promise<CodeRecord[]>;
  /** Failed attempts for this address and purpose on codes created since `since`. */
  failuresSince(purpose: CodeRecord['purpose'], address: string, since: Date): Promise<number>;
}

/** A new code row for `secret` (a fresh 6-digit code by default): only its HMAC is kept. */
export async function mintCode(
  hmac: SecretHmac,
  fields: Pick<CodeRecord, 'flowId' | 'purpose' | 'kind' | 'via' | 'address' | 'identityId' | 'expiresAt'> & { now: Date },
  secret: string = randomDigits(6),
): Promise<{ secret: string; code: CodeRecord }> {
  const { now, ...rest } = fields;
  return {
    secret,
    code: { id: crypto.randomUUID(), ...rest, secretHmac: await hmac.hex(secret), failedAttempts: 0, usedAt: null, createdAt: now, updatedAt: now },
  };
}
