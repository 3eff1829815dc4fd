/**
 * Authenticator assurance, as Kratos defines it (`session.DoesSessionSatisfy`, `identity.SetAvailableAAL`).
 *
 * An identity's highest available AAL is aal2 when it holds a second-factor credential of a type idflow can log in
 * with — counted whether or not the method is enabled, as Kratos sums every registered strategy: a disabled method
 * never silently lowers what a session must prove. It is derived from the credential types every time (never
 * stored), so it is always current: removing the last second factor lowers it at once.
 */
import type { AuthenticatorAssuranceLevel } from './session.ts';

/** Credential types that are second factors (webauthn joins when security keys are implemented). */
export const SECOND_FACTOR_CREDENTIAL_TYPES: ReadonlySet<string> = new Set(['totp', 'lookup_secret']);

export type RequiredAal = 'aal1' | 'highest_available';

export function hasSecondFactor(credentialTypes: Iterable<string>): boolean {
  for (const type of credentialTypes) if (SECOND_FACTOR_CREDENTIAL_TYPES.has(type)) return true;
  return false;
}

export function availableAal(credentialTypes: Iterable<string>): 'aal1' | 'aal2' {
  return hasSecondFactor(credentialTypes) ? 'aal2' : 'aal1';
}

/** Whether a session of this AAL satisfies `required` for an identity with these credential types. */
export function satisfiesAal(sessionAal: AuthenticatorAssuranceLevel, required: RequiredAal, credentialTypes: Iterable<string>): boolean {
  if (sessionAal === 'aal2' || sessionAal === 'aal3') return true;
  if (sessionAal !== 'aal1') return false;
  return required === 'aal1' || !hasSecondFactor(credentialTypes);
}
