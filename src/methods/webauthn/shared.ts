/**
 * Pieces the `webauthn` and `passkey` methods share: dependencies, messages, identity edits, key records, and the
 * steps both take in Kratos's order — a new key from a registration ceremony, a new identity, a login's last steps,
 * adding and removing keys in settings.
 */
import type { DuplicateAccountHints, IdentityInput, PreparedCredentials } from '../../identity/identity-service.ts';
import type { IdentityRecord } from '../../identity/identity.ts';
import type { IdentitySchema, IdentitySchemaRegistry } from '../../identity/schema/index.ts';
import { MessageId } from '../../text/ids.ts';
import { message, type UiMessage } from '../../text/message.ts';
import { inputNode, type UiNode } from '../../ui/node.ts';
import { payloadProblems } from '../../x/body-validator.ts';
import { mergeFieldMessages, problemsToMessages, signUpClash, traitMessages } from '../form-messages.ts';
import type { Aal, Json, MethodContext, NodesResult, Outcome } from '../method.ts';
import {
  ceremonyInternal, parseAssertion, parseRegistration, readCeremony, verifyAssertion, verifyRegistration,
  type AssertionInput, type Ceremony, type NewKey, type ParsedAssertion, type SessionData,
} from './ceremony.ts';
import type { WebauthnRp } from './config.ts';
import { b64std, b64stdEquals } from './encoding.ts';
import {
  addedAt, credentialHex, credentialOf, readCredentialsConfig, writeCredentialsConfig,
  type StoredWebauthnCredential, type WebauthnCredentialType, type WebauthnCredentialsConfig,
} from './credentials.ts';

/** What both methods need of identities (narrow, so tests hand-make it). */
export interface WebauthnIdentities {
  /** The identity holding this credential identifier (webauthn: normalised trait value; passkey: the user handle). */
  findByCredentialIdentifier(type: string, identifier: string): Promise<IdentityRecord | null>;
  buildNew(input: IdentityInput, prepared: PreparedCredentials): IdentityRecord;
  /** Whether another identity holds one of the record's identifiers or addresses. */
  hasConflicts(record: IdentityRecord): Promise<boolean>;
  /** With login hints on: how the clashing account signs in. */
  duplicateHints?(record: IdentityRecord): Promise<DuplicateAccountHints | undefined>;
  /** `security.account_enumeration.mitigate` for sign-ups with a taken identifier (see signUpClash). */
  mitigateSignUp?: boolean;
}

export interface CommonDeps {
  /** `<public base URL>.well-known/ory/webauthn.js`. */
  scriptUrl: () => string;
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

/** A method's nodes with its ceremony: a new one goes into the flow's internal state. */
export function ceremonyNodes(ceremony: Ceremony, nodes: UiNode[]): NodesResult {
  return { nodes, ...(ceremony.fresh ? { internal: ceremonyInternal(ceremony.state) } : {}) };
}

/** Settings: a remove button (`<type>_remove`, the key's hex id) per key, sorted by id. */
export function removeButtons(type: WebauthnCredentialType, keys: StoredWebauthnCredential[], label: MessageId, disabled: (key: StoredWebauthnCredential) => boolean): UiNode[] {
  return [...keys]
    .sort((a, b) => (credentialHex(a) < credentialHex(b) ? -1 : credentialHex(a) > credentialHex(b) ? 1 : 0))
    .map((k) => inputNode(type, `${type}_remove`, 'submit', { value: credentialHex(k), disabled: disabled(k), label: message(label, removeLabelContext(k)) }));
}

/** A refusal that keeps the form's values when there are any. */
const refusal = (messages: UiMessage[], values: Record<string, unknown> | undefined): Outcome => rejected(messages, values !== undefined ? { values } : {});

// ---------------------------------------------------------------------------------------------------------------------
// Registration ceremonies (registration and settings)

export interface NewKeyInput {
  /** The method's internal state in the flow (the ceremony). */
  internal: Json | undefined;
  /** The browser's answer (the result field). */
  register: string;
  rp: WebauthnRp;
  /**
   * Kratos's check of the ceremony's user, before parsing the answer (passkey) or after (webauthn): the settings
   * user's `handle`, else (registration) that the session data holds one.
   */
  user: { handle?: Uint8Array; beforeParsing: boolean };
  /** Kept on a refusal (registration: the traits). */
  values?: Record<string, unknown>;
  /** Settings: the identity's keys; the same key again is refused on `field`. */
  existing?: { keys: StoredWebauthnCredential[]; field: string };
}

/** The session data's user handle when it passes the check, else Kratos's message. */
function checkedUser(session: SessionData, user: NewKeyInput['user']): string | UiMessage {
  if (session.user_id !== null && (user.handle === undefined || b64stdEquals(session.user_id, user.handle))) return session.user_id;
  return user.handle === undefined
    ? generic('Expected WebAuthN session data to contain a user ID')
    // go-webauthn CreateCredential: the ceremony was started for this user.
    : generic('Unable to create WebAuthn credential: ID mismatch for User and Session');
}

/**
 * The new key of a registration ceremony, in Kratos's steps: the session data from the flow's internal state, the
 * user checked, the browser's answer parsed and verified (go-webauthn CreateCredential); else the refusal.
 */
export async function newKey(input: NewKeyInput): Promise<{ key: NewKey; userId: string } | { refused: Outcome }> {
  const refuse = (messages: UiMessage[]) => ({ refused: refusal(messages, input.values) });
  const ceremony = readCeremony(input.internal);
  if (!('state' in ceremony)) return refuse([generic(SESSION_NOT_OBJECT)]);
  const session = ceremony.state.session_data;
  const early = input.user.beforeParsing ? checkedUser(session, input.user) : undefined;
  if (typeof early === 'object') return refuse([early]);
  const parsed = parseRegistration(input.register);
  if ('error' in parsed) return refuse([generic(`Unable to parse WebAuthn response: ${parsed.error}`)]);
  const userId = early ?? checkedUser(session, input.user);
  if (typeof userId === 'object') return refuse([userId]);
  const verified = await verifyRegistration(parsed.ok, session, input.rp);
  if ('error' in verified) return refuse([generic(`Unable to create WebAuthn credential: ${verified.error}`)]);
  if (input.existing?.keys.some((k) => b64stdEquals(k.id, verified.key.id))) {
    return { refused: rejected([], { fieldMessages: { [input.existing.field]: [generic(ALREADY_REGISTERED)] } }) };
  }
  return { key: verified.key, userId };
}

export interface Registration {
  method: WebauthnCredentialType;
  schema: IdentitySchema;
  payloadSchema: string;
  /** The browser's answer in the result field ('' when there is none to take). */
  register: string;
  /** Where Kratos checks that the session data holds the new user's handle: before parsing the answer or after. */
  userIdBeforeParsing: boolean;
  /** The new identity's credentials from its verified key and user handle (b64std), or a refusal. */
  credentials(key: NewKey, userId: string, values: { traits: Record<string, unknown> }): { prepared: PreparedCredentials } | Outcome;
}

/**
 * Registration's submit: payload and trait problems (every field at once, values kept), the new key, then the new
 * identity — refused when another holds one of its identifiers (4000007, with login hints 4000028).
 */
export async function registerIdentity(deps: { rp: WebauthnRp; identities: WebauthnIdentities }, ctx: MethodContext, payload: Record<string, unknown>, registration: Registration): Promise<Outcome> {
  const { schema } = registration;
  const traits = (payload.traits ?? {}) as Record<string, unknown>;
  const values = { traits };
  const problems = problemsToMessages(payloadProblems(registration.payloadSchema, payload), payload);
  const fieldMessages = mergeFieldMessages(problems.fieldMessages, traitMessages(schema.validateTraits(traits)));
  if (Object.keys(fieldMessages).length > 0 || problems.messages.length > 0) {
    return { kind: 'rejected', values, fieldMessages, messages: problems.messages };
  }
  if (registration.register === '') return rejected([message(MessageId.ErrorValidationRegistrationNoStrategyFound)], { values });
  const added = await newKey({ internal: ctx.internal, register: registration.register, rp: deps.rp, user: { beforeParsing: registration.userIdBeforeParsing }, values });
  if ('refused' in added) return added.refused;
  const credentials = registration.credentials(added.key, added.userId, values);
  if ('kind' in credentials) return credentials;
  const record = deps.identities.buildNew({ schema_id: schema.id, traits }, credentials.prepared);
  if (await deps.identities.hasConflicts(record)) {
    return signUpClash({ mitigate: deps.identities.mitigateSignUp === true, duplicateHints: deps.identities.duplicateHints }, record, registration.method, values);
  }
  return { kind: 'registered', identityId: record.id, method: registration.method, changes: { identity: { record, isNew: true } }, internal: null };
}

// ---------------------------------------------------------------------------------------------------------------------
// Settings: adding and removing keys

/** Settings: the identity changed; the ceremony is dropped (a fresh registration challenge next time). */
function keysUpdated(type: WebauthnCredentialType, record: IdentityRecord, sessionMethod?: { method: string; aal: Aal }): Outcome {
  return { kind: 'updated', method: type, changes: { identity: { record, isNew: false }, ...(sessionMethod ? { sessionMethod } : {}) }, internal: null };
}

/**
 * Settings: the identity with `config` as its `type` keys — refused (4000007) when another identity holds one of the
 * identifiers; the new key proves the method to the session at `aal`.
 */
export async function keysAdded(identities: WebauthnIdentities, change: {
  identity: IdentityRecord; type: WebauthnCredentialType; config: WebauthnCredentialsConfig; identifiers: string[]; now: Date; aal: Aal;
}): Promise<Outcome> {
  const record = withKeys(change.identity, change.type, change.config, change.identifiers, change.now);
  if (await identities.hasConflicts(record)) return rejected([message(MessageId.ErrorValidationDuplicateCredentials)]);
  return keysUpdated(change.type, record, { method: change.type, aal: change.aal });
}

/**
 * Settings: the key whose hex id is `remove` taken from the identity's `type` keys (the last one takes the credential
 * with it) — refused when there is no such key (`missing`) or when it is one the identity can not do without.
 */
export function keyRemoved(identity: IdentityRecord, type: WebauthnCredentialType, remove: string, rules: {
  now: Date; missing: string; locksOut: (key: StoredWebauthnCredential) => boolean;
}): Outcome {
  const credential = credentialOf(identity, type);
  if (!credential) return rejected([generic(NO_WEBAUTHN)]);
  const config = readCredentialsConfig(credential.config, identity.id);
  const target = config.credentials.find((k) => credentialHex(k) === remove);
  if (!target) return rejected([generic(rules.missing)]);
  // Kratos points this refusal at `webauthn_remove` for passkeys too, not at the passkey's button.
  if (rules.locksOut(target)) return rejected([], { fieldMessages: { webauthn_remove: [generic(WOULD_LOCK_OUT)] } });
  const remaining = config.credentials.filter((k) => k !== target);
  const record = withKeys(identity, type, remaining.length > 0 ? { ...config, credentials: remaining } : null, credential.identifiers, rules.now);
  return keysUpdated(type, record);
}

// ---------------------------------------------------------------------------------------------------------------------
// Login

/** The browser's assertion parsed and the ceremony's session data, or the refusal (values kept when given). */
export function loginAnswer(assertion: string, internal: Json | undefined, values?: Record<string, unknown>): { parsed: ParsedAssertion; session: SessionData } | { refused: Outcome } {
  const parsed = parseAssertion(assertion);
  if (!parsed) return { refused: refusal([generic(PARSE_LOGIN)], values) };
  const ceremony = readCeremony(internal);
  if (!('state' in ceremony)) return { refused: refusal([generic(ceremony.reason)], values) };
  return { parsed, session: ceremony.state.session_data };
}

export interface SignIn {
  type: WebauthnCredentialType;
  method: string;
  /** The level the session gets (Kratos records the configured level, not the key's). */
  aal: Aal;
  rp: WebauthnRp;
  now: Date;
  /** Kept on a refusal. */
  values?: Record<string, unknown>;
}

/**
 * A login's last steps (Kratos loginAuthenticate): the identity's `type` keys, the assertion verified against them
 * (`assertion` makes the verification's input from the keys, or refuses), an active identity, the used key recorded.
 */
export async function signIn(identity: IdentityRecord, login: SignIn, assertion: (config: WebauthnCredentialsConfig) => Omit<AssertionInput, 'rp'> | Outcome): Promise<Outcome> {
  const credential = credentialOf(identity, login.type);
  if (!credential) return refusal([message(MessageId.ErrorValidationNoWebAuthnDevice)], login.values);
  const config = readCredentialsConfig(credential.config, identity.id);
  const input = assertion(config);
  if ('kind' in input) return input;
  const result = await verifyAssertion({ ...input, rp: login.rp });
  if ('error' in result) return refusal([message(MessageId.ErrorValidationWebAuthnVerifierWrong)], login.values);
  if (identity.state !== 'active') return refusal([message(MessageId.ErrorValidationIdentityDisabled)], login.values);
  const record = withUsedKey(identity, login.type, config, result.ok.updated, login.now);
  return {
    kind: 'authenticated',
    identityId: identity.id,
    method: login.method,
    aal: login.aal,
    changes: { identity: { record, isNew: false } },
    internal: null,
  };
}
