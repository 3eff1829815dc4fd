/**
 * What of a submission the abuse guard (src/ratelimit/) counts, decided from the flow kind, the submitted method and
 * the decoded payload, and how the method's outcome settles it. Here, not in the methods: the guard asks before a
 * method runs, and methods stay pure.
 */
import type { GuardRequest, GuardResult } from '../ratelimit/abuse-guard.ts';
import { normalizeIdentifier } from '../identity/schema/index.ts';
import type { FlowKind } from '../persistence/store.ts';

const text = (value: unknown): string | undefined => (typeof value === 'string' && value.trim() !== '' ? value : undefined);

/**
 * One spelling per identifier, so case, width or spacing variants share a lockout: an e-mail address or a text
 * identifier folded and lower-cased, a phone number in E.164.
 */
export function lockoutSubject(value: string): string {
  if (value.includes('@')) return normalizeIdentifier(value, 'email');
  const phone = normalizeIdentifier(value, 'sms');
  return /^\+[0-9]{6,}$/.test(phone) ? phone : normalizeIdentifier(value, 'text');
}

export interface GuardFacts {
  kind: FlowKind;
  payload: Record<string, unknown>;
  ip?: string;
  /** The identity the flow or the caller's session already names (second factor, refresh). */
  identityId?: string;
  /** A method's callback (an OpenID Connect provider sending the browser back) or a mailed link. */
  callback: boolean;
  /** Registration: the first credential identifier or address the submitted traits name (normalised). */
  signUpIdentifier?: string;
  /** Recovery, verification, a sign-up by code: the address the flow sent its code or link to. */
  sentTo?: string;
}

/** The guard request for a submission, or undefined when nothing is limited (settings, a session's own changes). */
export function guardRequestFor(facts: GuardFacts): GuardRequest | undefined {
  const { kind, payload, ip } = facts;
  const method = text(payload.method);
  if (kind === 'login') {
    const identifier = text(payload.identifier);
    const subject = identifier !== undefined ? lockoutSubject(identifier) : facts.identityId ? `identity:${facts.identityId}` : undefined;
    // A code login's first step (and a resend) sends a code: counted per address, the check of the code per identifier.
    if (method === 'code' && text(payload.code) === undefined && !facts.callback) {
      const address = text(payload.address) ?? identifier;
      return { action: 'send', subject: address !== undefined ? lockoutSubject(address) : subject, ip };
    }
    return { action: 'login', subject, ip };
  }
  const sentTo = facts.sentTo !== undefined ? lockoutSubject(facts.sentTo) : undefined;
  if (kind === 'registration') {
    // A sign-up code's check is a code submit; everything else (a code sent included) a registration submit.
    if (method === 'code' && text(payload.code) !== undefined && text(payload.resend) === undefined) return { action: 'code', subject: sentTo, ip };
    // Profile-first's traits screens hash nothing and mail nobody: only a credential's submit counts per identifier.
    const perIdentifier = method !== 'profile' && facts.signUpIdentifier !== undefined;
    return { action: 'registration', subject: perIdentifier ? lockoutSubject(facts.signUpIdentifier!) : undefined, ip };
  }
  if (kind === 'recovery' || kind === 'verification') {
    if (text(payload.code) !== undefined || text(payload.token) !== undefined) return { action: 'code', subject: sentTo, ip };
    const email = text(payload.email);
    if (email !== undefined) return { action: 'send', subject: lockoutSubject(email), ip };
    return undefined;
  }
  return undefined;
}

/**
 * A method's outcome, as the guard counts it: a credential or code accepted, refused, or nothing checked (another
 * screen, a code sent, a redirect to a provider).
 */
export function guardResultOf(outcome: string | undefined): GuardResult {
  switch (outcome) {
    case 'authenticated':
    case 'challenge_passed':
      return 'success';
    case 'rejected':
    case 'exhausted':
      return 'failure';
    default:
      return 'neutral';
  }
}
