/** Session types shared by the service, the hot-path lookup and the JSON serializer (Kratos section 3.4). */
import type { AuthenticationMethodRecord, SessionDeviceRecord } from '../../entities/session.entity.ts';
import type { IdentityRecord } from '../identity/identity.ts';

export type { AuthenticationMethodRecord, SessionDeviceRecord };

export type AuthenticatorAssuranceLevel = 'aal0' | 'aal1' | 'aal2' | 'aal3';

/** A stored session without its identity. Never carries a token: only hashes are stored and they are not exposed. */
export interface SessionView {
  id: string;
  identityId: string;
  /** The stored flag (false once revoked). Expiry and the identity state are separate checks, see `isSessionActive`. */
  active: boolean;
  aal: AuthenticatorAssuranceLevel;
  authenticationMethods: AuthenticationMethodRecord[];
  devices: SessionDeviceRecord[];
  authenticatedAt: Date;
  issuedAt: Date;
  expiresAt: Date;
  createdAt: Date;
  updatedAt: Date;
}

/** A session with its identity (identity credentials are never loaded on the hot path: `credentials` is `[]`). */
export interface SessionWithIdentity extends SessionView {
  identity: IdentityRecord;
}

/** What `findByToken` returns: active flag set, not expired, identity `active`. */
export interface ActiveSession extends SessionWithIdentity {
  /**
   * The identity's credential kinds (sorted, no configs: the types, plus `webauthn:mfa` when a WebAuthn key is a second
   * factor — see session/aal.ts), read in the same statement so whoami can tell whether the identity has a second
   * factor (`session.whoami.required_aal: highest_available`) from live data.
   */
  credentialTypes: string[];
  /**
   * The identity's read model as the lookup read it (identity-read-model.ts), when its row has one: whoami's answer
   * splices it in instead of serializing `identity`.
   */
  identityPublicJson?: string;
}

/** One authentication step as passed to `issue`/`upgrade`. */
export interface AuthenticationMethodInput {
  method: string;
  aal: 'aal1' | 'aal2';
  /** OIDC/SAML provider id. */
  provider?: string;
}

/**
 * Kratos `Session.SetAuthenticatorAssuranceLevel`: no methods -> aal0; aal2 only when the list holds an aal1 AND an
 * aal2 entry; anything else that is non-empty -> aal1. An OIDC/SAML entry recorded as aal2 (upstream MFA) counts as
 * both factors.
 */
export function computeAal(methods: ReadonlyArray<{ method: string; aal: string }>): AuthenticatorAssuranceLevel {
  if (methods.length === 0) return 'aal0';
  let first = false;
  let second = false;
  for (const m of methods) {
    if (m.aal === 'aal1') first = true;
    else if (m.aal === 'aal2') {
      second = true;
      if (m.method === 'oidc' || m.method === 'saml') first = true;
    }
  }
  return first && second ? 'aal2' : 'aal1';
}

/** Kratos `Session.IsActive`: active flag && not expired && identity active. */
export function isSessionActive(session: SessionView & { identity?: { state: string } }, now: Date): boolean {
  return session.active && session.expiresAt.getTime() > now.getTime() && (session.identity?.state ?? 'active') === 'active';
}
