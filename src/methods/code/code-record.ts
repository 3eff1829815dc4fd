/**
 * A one-time code or link token of a recovery or verification flow. Only an HMAC of the secret is stored; a code is
 * bound to its flow and to the address it was sent to, and failed attempts are counted per address over the code
 * lifespan so asking for another code (or starting another flow) never resets them.
 */
export interface CodeRecord {
  id: string;
  flowId: string;
  purpose: 'recovery' | 'verification';
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
  /** Failed attempts for this address and purpose on codes created since `since`. */
  failuresSince(purpose: CodeRecord['purpose'], address: string, since: Date): Promise<number>;
}
