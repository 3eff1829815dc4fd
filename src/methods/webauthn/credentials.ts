/**
 * The stored form of `webauthn` and `passkey` credentials (Kratos identity/credentials_webauthn.go): one config per
 * type, `{credentials: [...], user_handle}`, every byte string standard base64 as Go marshals `[]byte`.
 */
import type { IdentityRecord } from '../../identity/identity.ts';
import { b64std, fromB64std, hex, uuidBytes } from './encoding.ts';

export type WebauthnCredentialType = 'webauthn' | 'passkey';

export interface StoredAuthenticator {
  /** b64std of the 16-byte AAGUID. */
  aaguid: string;
  sign_count: number;
  clone_warning: boolean;
}

export interface StoredFlags {
  user_present: boolean;
  user_verified: boolean;
  backup_eligible: boolean;
  backup_state: boolean;
}

/** One key (Kratos `CredentialWebAuthn`), keys in Go's field order. */
export interface StoredWebauthnCredential {
  /** b64std of the credential id. */
  id: string;
  /** b64std of the COSE public key. */
  public_key: string;
  attestation_type: string;
  authenticator?: StoredAuthenticator;
  display_name: string;
  /** RFC 3339, to the second. */
  added_at: string;
  is_passwordless: boolean;
  flags?: StoredFlags;
  transport?: string[];
}

export interface WebauthnCredentialsConfig {
  credentials: StoredWebauthnCredential[];
  /** b64std of the user handle. */
  user_handle: string | null;
}

type IdentityCredential = IdentityRecord['credentials'][number];

const isObject = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === 'object' && !Array.isArray(v);
const bool = (v: unknown) => v === true;

function readAuthenticator(v: unknown): StoredAuthenticator | undefined {
  if (!isObject(v)) return undefined;
  return {
    aaguid: typeof v.aaguid === 'string' ? v.aaguid : '',
    sign_count: typeof v.sign_count === 'number' && Number.isInteger(v.sign_count) && v.sign_count >= 0 ? v.sign_count : 0,
    clone_warning: bool(v.clone_warning),
  };
}

function readFlags(v: unknown): StoredFlags | undefined {
  if (!isObject(v)) return undefined;
  return { user_present: bool(v.user_present), user_verified: bool(v.user_verified), backup_eligible: bool(v.backup_eligible), backup_state: bool(v.backup_state) };
}

function readCredential(v: unknown): StoredWebauthnCredential | undefined {
  if (!isObject(v) || !fromB64std(v.id)?.length || fromB64std(v.public_key) === undefined) return undefined;
  const out: StoredWebauthnCredential = {
    id: v.id as string,
    public_key: v.public_key as string,
    attestation_type: typeof v.attestation_type === 'string' ? v.attestation_type : '',
    display_name: typeof v.display_name === 'string' ? v.display_name : '',
    added_at: typeof v.added_at === 'string' ? v.added_at : '0001-01-01T00:00:00Z',
    // Kratos's v0 configs have no flag: those keys were second factors (UpgradeWebAuthnCredentials).
    is_passwordless: bool(v.is_passwordless),
  };
  const authenticator = readAuthenticator(v.authenticator);
  if (authenticator) out.authenticator = authenticator;
  const flags = readFlags(v.flags);
  if (flags) out.flags = flags;
  if (Array.isArray(v.transport)) out.transport = v.transport.filter((t): t is string => typeof t === 'string');
  return ordered(out);
}

/** Go's field order, so a stored config reads like Kratos's. */
function ordered(c: StoredWebauthnCredential): StoredWebauthnCredential {
  const out: Record<string, unknown> = { id: c.id, public_key: c.public_key, attestation_type: c.attestation_type };
  if (c.authenticator) out.authenticator = { aaguid: c.authenticator.aaguid, sign_count: c.authenticator.sign_count, clone_warning: c.authenticator.clone_warning };
  out.display_name = c.display_name;
  out.added_at = c.added_at;
  out.is_passwordless = c.is_passwordless;
  if (c.flags) out.flags = { ...c.flags };
  if (c.transport && c.transport.length > 0) out.transport = [...c.transport];
  return out as unknown as StoredWebauthnCredential;
}

/**
 * A stored config, read leniently: keys without a decodable id or public key are skipped; a config without a user
 * handle (Kratos v0) uses the identity id's bytes, as Kratos's migration does.
 */
export function readCredentialsConfig(config: Record<string, unknown> | undefined, identityId?: string): WebauthnCredentialsConfig {
  const list = Array.isArray(config?.credentials) ? config.credentials : [];
  const credentials = list.map(readCredential).filter((c): c is StoredWebauthnCredential => c !== undefined);
  let userHandle = typeof config?.user_handle === 'string' && fromB64std(config.user_handle) !== undefined ? config.user_handle : null;
  if (userHandle === null && identityId) {
    try {
      userHandle = b64std(uuidBytes(identityId));
    } catch {
      userHandle = null;
    }
  }
  return { credentials, user_handle: userHandle };
}

/** The config as stored (`{credentials, user_handle}`). */
export function writeCredentialsConfig(config: WebauthnCredentialsConfig): Record<string, unknown> {
  return { credentials: config.credentials.map(ordered), user_handle: config.user_handle };
}

export function credentialOf(identity: IdentityRecord | undefined, type: WebauthnCredentialType): IdentityCredential | undefined {
  return identity?.credentials.find((c) => c.type === type);
}

/** The identity's keys of `type` (none when it has no such credential). */
export function keysOf(identity: IdentityRecord | undefined, type: WebauthnCredentialType): WebauthnCredentialsConfig | undefined {
  const credential = credentialOf(identity, type);
  return credential ? readCredentialsConfig(credential.config, identity!.id) : undefined;
}

/** The remove button's value: the credential id in lower-case hex. */
export function credentialHex(c: StoredWebauthnCredential): string {
  return hex(fromB64std(c.id) ?? new Uint8Array());
}

/**
 * Whether a `webauthn` credential config holds a second factor: a key with `is_passwordless === false` (Kratos
 * CountActiveMultiFactorCredentials; legacy keys without the flag count too).
 */
export function webauthnSecondFactor(config: Record<string, unknown> | undefined): boolean {
  return readCredentialsConfig(config).credentials.some((c) => !c.is_passwordless);
}

/**
 * Kratos CountActiveFirstFactorCredentials for one credential row: `webauthn` counts its passwordless keys, `passkey`
 * every key — and only when the row has a non-empty identifier.
 */
export function firstFactorKeys(credential: Pick<IdentityCredential, 'type' | 'identifiers' | 'config'> | undefined): number {
  if (!credential || (credential.type !== 'webauthn' && credential.type !== 'passkey')) return 0;
  if (!credential.identifiers.some((i) => i !== '')) return 0;
  const keys = readCredentialsConfig(credential.config).credentials;
  return credential.type === 'passkey' ? keys.length : keys.filter((c) => c.is_passwordless).length;
}

/** Go's time.Time JSON of a time rounded to the second (`2021-08-17T10:18:55Z`). */
export function addedAt(now: Date): string {
  return new Date(Math.round(now.getTime() / 1000) * 1000).toISOString().replace(/\.000Z$/, 'Z');
}
