/** Kratos's session JSON (section 3.4). */
import { toIdentityJson } from '../identity/identity-json.ts';
import type { IdentityJson } from '../identity/identity.ts';
import { identityJsonText } from './identity-read-model.ts';
import type { ActiveSession, AuthenticatorAssuranceLevel, SessionView, SessionWithIdentity } from './session.ts';

export interface SessionAuthenticationMethodJson {
  method: string;
  aal: AuthenticatorAssuranceLevel;
  completed_at: string;
  provider?: string;
}

export interface SessionDeviceJson {
  id: string;
  /** Omitted when unknown (the OpenAPI `sessionDevice` strings are not nullable). */
  ip_address?: string;
  user_agent?: string;
  location?: string;
}

export interface SessionJson {
  id: string;
  active: boolean;
  expires_at: string;
  authenticated_at: string;
  issued_at: string;
  authenticator_assurance_level: AuthenticatorAssuranceLevel;
  authentication_methods: SessionAuthenticationMethodJson[];
  identity?: IdentityJson;
  devices: SessionDeviceJson[];
  tokenized?: string;
}

export interface SessionJsonOptions {
  /** `<public base>/schemas/<base64url(id)>` builder, as for identities. */
  schemaUrl: (schemaId: string) => string;
  /** Include `identity` (needs `session.identity`; omitted when the session carries none). */
  includeIdentity: boolean;
  /** Admin view: the identity carries `metadata_admin`. */
  admin?: boolean;
  /** List the devices (default); without, `devices` is empty (Kratos: not expanded). */
  includeDevices?: boolean;
}

/** Serializes a session; the identity never carries credentials. */
export function toSessionJson(session: SessionView | SessionWithIdentity, options: SessionJsonOptions): SessionJson {
  const identity = options.includeIdentity && 'identity' in session && session.identity
    ? toIdentityJson(session.identity, { schemaUrl: options.schemaUrl, admin: options.admin ?? false, credentials: false })
    : undefined;
  return {
    id: session.id,
    active: session.active,
    expires_at: session.expiresAt.toISOString(),
    authenticated_at: session.authenticatedAt.toISOString(),
    issued_at: session.issuedAt.toISOString(),
    authenticator_assurance_level: session.aal,
    authentication_methods: session.authenticationMethods.map((m) => ({
      method: m.method,
      aal: m.aal,
      completed_at: m.completed_at,
      ...(m.provider ? { provider: m.provider } : {}),
    })),
    ...(identity ? { identity } : {}),
    devices: options.includeDevices === false ? [] : session.devices.map((d) => ({
      id: d.id,
      ...(d.ip_address ? { ip_address: d.ip_address } : {}),
      ...(d.user_agent ? { user_agent: d.user_agent } : {}),
      ...(d.location ? { location: d.location } : {}),
    })),
  };
}

/**
 * A looked-up session with its identity as JSON text (whoami's answer). When the lookup read the identity's read model,
 * that text is spliced in where toSessionJson puts `identity`, and the identity is neither parsed nor serialized.
 */
export function sessionWithIdentityText(session: ActiveSession, schemaUrl: (schemaId: string) => string): string {
  const publicJson = session.identityPublicJson;
  if (publicJson === undefined) return JSON.stringify(toSessionJson(session, { includeIdentity: true, schemaUrl }));
  const { devices, ...head } = toSessionJson(session, { includeIdentity: false, schemaUrl });
  const key = session.identity;
  const identity = identityJsonText(key, schemaUrl(key.schemaId), publicJson);
  return `${JSON.stringify(head).slice(0, -1)},"identity":${identity},"devices":${JSON.stringify(devices)}}`;
}
