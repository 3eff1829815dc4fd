/**
 * Authenticator assurance, as Kratos defines it (`session.DoesSessionSatisfy`, `identity.SetAvailableAAL`).
 *
 * An identity's highest available AAL is aal2 when it holds a second factor of a kind idflow can log in with —
 * counted whether or not the method is enabled, as Kratos sums every registered strategy: a disabled method never
 * silently lowers what a session must prove. It is derived from the identity's credentials every time (never
 * stored), so it is always current: removing the last second factor lowers it at once.
 */
import type { AuthenticatorAssuranceLevel } from './session.ts';

/**
 * A WebAuthn credential holding at least one key registered as a second factor (`is_passwordless: false`); keys
 * registered for passwordless login are a first factor (Kratos `CountActiveMultiFactorCredentials`). The whoami
 * lookup computes the same kind in SQL.
 */
export const WEBAUTHN_SECOND_FACTOR = 'webauthn:mfa';

/** Credential kinds that are second factors. */
export const SECOND_FACTOR_KINDS: ReadonlySet<string> = new Set(['totp', 'lookup_secret', WEBAUTHN_SECOND_FACTOR]);

/**
 * The second factors of a configuration: a `code` credential (every identity with a code address has one) is a second
 * factor only while `selfservice.methods.code.mfa_enabled` is on (Kratos `CountActiveMultiFactorCredentials`).
 */
export function secondFactorKinds(options: { codeMfa: boolean }): ReadonlySet<string> {
  return options.codeMfa ? new Set([...SECOND_FACTOR_KINDS, 'code']) : SECOND_FACTOR_KINDS;
}

export type RequiredAal = 'aal1' | 'highest_available';

/** An identity's credential kinds: its credential types, plus `webauthn:mfa` when a WebAuthn key is a second factor. */
export function credentialKinds(credentials: ReadonlyArray<{ type: string; config: Record<string, unknown> }>): string[] {
  const kinds = credentials.map((c) => c.type as string);
  const webauthn = credentials.find((c) => c.type === 'webauthn')?.config.credentials;
  if (Array.isArray(webauthn) && webauthn.some((key) => (key as { is_passwordless?: unknown })?.is_passwordless === false)) {
    kinds.push(WEBAUTHN_SECOND_FACTOR);
  }
  return kinds.sort();
}

export function hasSecondFactor(kinds: Iterable<string>, secondFactors: ReadonlySet<string> = SECOND_FACTOR_KINDS): boolean {
  for (const kind of kinds) if (secondFactors.has(kind)) return true;
  return false;
}

export function availableAal(kinds: Iterable<string>, secondFactors: ReadonlySet<string> = SECOND_FACTOR_KINDS): 'aal1' | 'aal2' {
  return hasSecondFactor(kinds, secondFactors) ? 'aal2' : 'aal1';
}

/** Whether a session of this AAL satisfies `required` for an identity with these credential kinds. */
export function satisfiesAal(
  sessionAal: AuthenticatorAssuranceLevel, required: RequiredAal, kinds: Iterable<string>, secondFactors: ReadonlySet<string> = SECOND_FACTOR_KINDS,
): boolean {
  if (sessionAal === 'aal2' || sessionAal === 'aal3') return true;
  if (sessionAal !== 'aal1') return false;
  return required === 'aal1' || !hasSecondFactor(kinds, secondFactors);
}
