/** Pieces the `webauthn` and `passkey` methods share: dependencies, messages, identity edits, key records. */
import type { DuplicateAccountHints, IdentityInput, PreparedCredentials } from '../../identity/identity-service.ts';
import type { IdentityRecord } from '../../identity/identity.ts';
import type { IdentitySchemaRegistry } from '../../identity/schema/index.ts';
import { MessageId } from '../../text/ids.ts';
import { message, type UiMessage } from '../../text/message.ts';
import type { Outcome } from '../method.ts';
import { b64std } from './encoding.ts';
import type { NewKey } from './ceremony.ts';
import { addedAt, writeCredentialsConfig, type StoredWebauthnCredential, type WebauthnCredentialType, type WebauthnCredentialsConfig } from './credentials.ts';

/** What both methods need of identities (narrow, so tests hand-make it). */
export interface WebauthnIdentities {
  /** The identity holding this credential identifier (webauthn: normalised trait value; passkey: the user handle). */
  findByCredentialIdentifier(type: string, identifier: string): Promise<IdentityRecord | null>;
  buildNew(input: IdentityInput, prepared: PreparedCredentials): IdentityRecord;
  /** Whether another identity holds one of the record's identifiers or addresses. */
  hasConflicts(record: IdentityRecord): Promise<boolean>;
  /** With login hints on: how the clashing account signs in. */
  duplicateHints?(record: IdentityRecord): Promise<DuplicateAccountHints | undefined>;
}

export interface CommonDeps {
  /** `<public base URL>.well-known/ory/webauthn.js`. */
  scriptUrl: string;
  schemas: IdentitySchemaRegistry;
  /** Kratos CountActiveFirstFactorCredentials over every credential type of the identity. */
  firstFactorCount(identity: IdentityRecord): number;
}

export const generic = (reason: string): UiMessage => message(MessageId.ErrorValidationGeneric, { reason });
export const required = (property: string): UiMessage => message(MessageId.ErrorValidationRequired, { property });

export const rejected = (messages: UiMessage[], extra: { values?: Record<string, unknown>; fieldMessages?: Record<string, UiMessage[]> } = {}): Outcome =>
  ({ kind: 'rejected', messages, ...extra });

/** A non-empty string field of a raw or decoded body. */
export const nonEmpty = (value: unknown): value is string => typeof value === 'string' && value !== '';
export const text = (value: unknown): string => (typeof value === 'string' ? value : '');

export const ALREADY_REGISTERED = 'this security key or passkey is already registered with your account';
export const WOULD_LOCK_OUT = 'unable to remove this security key because it would lock you out of your account';
export const NO_WEBAUTHN = 'You tried to remove a WebAuthn but you have no WebAuthn set up.';
export const PARSE_LOGIN = 'Unable to parse WebAuthn response.';
export const SESSION_NOT_OBJECT = 'Expected WebAuthN in internal context to be an object.';

/** A new key as Kratos stores it (CredentialFromWebAuthn); `added_at` to the second. */
export function storedKey(key: NewKey, options: { passwordless: boolean; displayName: string; now: Date }): StoredWebauthnCredential {
  const aaguid = new Uint8Array(Buffer.from(key.aaguid.replace(/-/g, ''), 'hex'));
  const stored: StoredWebauthnCredential = {
    id: b64std(key.id),
    public_key: b64std(key.publicKey),
    attestation_type: key.attestationType,
    authenticator: { aaguid: b64std(aaguid), sign_count: key.signCount, clone_warning: false },
    display_name: options.displayName,
    added_at: addedAt(options.now),
    is_passwordless: options.passwordless,
    flags: { ...key.flags },
  };
  if (key.transports.length > 0) stored.transport = [...key.transports];
  return stored;
}

/** The identity with its `type` credential set to this config (created at version 1 when missing), or removed. */
export function withKeys(identity: IdentityRecord, type: WebauthnCredentialType, config: WebauthnCredentialsConfig | null, identifiers: string[] | undefined, now: Date): IdentityRecord {
  const others = identity.credentials.filter((c) => c.type !== type);
  if (config === null || config.credentials.length === 0) return { ...identity, credentials: others, updatedAt: now };
  const existing = identity.credentials.find((c) => c.type === type);
  const written = writeCredentialsConfig(config);
  const credential = existing
    ? { ...existing, config: written, identifiers: identifiers ?? existing.identifiers, version: 1, updatedAt: now }
    : { id: crypto.randomUUID(), type, identifiers: identifiers ?? [], config: written, version: 1, createdAt: now, updatedAt: now };
  const credentials = existing ? identity.credentials.map((c) => (c === existing ? credential : c)) : [...identity.credentials, credential];
  return { ...identity, credentials, updatedAt: now };
}

/** The identity after a login: the key's counter, clone warning and backup state as verified. */
export function withUsedKey(identity: IdentityRecord, type: WebauthnCredentialType, config: WebauthnCredentialsConfig, updated: StoredWebauthnCredential, now: Date): IdentityRecord {
  const credentials = config.credentials.map((c) => (c.id === updated.id ? updated : c));
  const existing = identity.credentials.find((c) => c.type === type)!;
  const record = withKeys(identity, type, { ...config, credentials }, existing.identifiers, now);
  // A login is no edit of the identity: only the credential row changes.
  return { ...record, updatedAt: identity.updatedAt, credentials: record.credentials.map((c) => (c.type === type ? { ...c, version: existing.version } : c)) };
}

/** The remove button's label context (Kratos NewInfoSelfServiceRemoveWebAuthn / …Passkey). */
export function removeLabelContext(key: StoredWebauthnCredential): Record<string, unknown> {
  const time = Date.parse(key.added_at);
  return {
    display_name: key.display_name || 'unnamed',
    added_at: key.added_at,
    added_at_unix: Number.isNaN(time) ? -62135596800 : Math.floor(time / 1000),
  };
}

/** The options JSON as the trigger's `value` and inside `onclick`. */
export const optionsText = (options: unknown): string => JSON.stringify(options);
