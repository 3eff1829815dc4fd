/**
 * WebAuthn ceremonies as Kratos runs them with go-webauthn v0.11.2, verified with @simplewebauthn/server: the session
 * data kept in the flow's internal state, the options JSON shown to the browser (built here, in go-webauthn's shape),
 * parsing the browser's answer, and verifying it with go-webauthn's extra checks (origins case-insensitive, user
 * handle, allowed credentials, backup-eligibility consistency, a counter that never fails a login).
 */
import type { AuthenticationResponseJSON, RegistrationResponseJSON, verifyAuthenticationResponse } from '@simplewebauthn/server';
import { randomBytes } from '../../x/random.ts';
import type { Json } from '../method.ts';
import { ALGORITHMS, originAllowed, type Attachment, type AttestationPreference, type ResidentKey, type UserVerification, type WebauthnRp } from './config.ts';
import { b64std, b64stdEquals, b64url, bytesEqual, fromB64std, fromB64url } from './encoding.ts';
import type { StoredFlags, StoredWebauthnCredential } from './credentials.ts';

// ---------------------------------------------------------------------------------------------------------------------
// Session data (go-webauthn `SessionData`, the JSON Kratos keeps at `<type>_session_data`)

export interface SessionData {
  /** b64url of 32 random bytes. */
  challenge: string;
  rpId: string;
  /** b64std of the user handle; null for a discoverable login. */
  user_id: string | null;
  /** b64std credential ids; left out when empty. */
  allowed_credentials?: string[];
  /** Always Go's zero time: Kratos never enforces a ceremony expiry (the flow's lifespan does). */
  expires: string;
  userVerification: UserVerification | '';
}

const ZERO_TIME = '0001-01-01T00:00:00Z';

export function newSession(input: { rpId: string; userId: Uint8Array | null; allowed?: Uint8Array[]; userVerification: UserVerification }): SessionData {
  const session: SessionData = {
    challenge: b64url(randomBytes(32)),
    rpId: input.rpId,
    user_id: input.userId ? b64std(input.userId) : null,
    expires: ZERO_TIME,
    userVerification: input.userVerification,
  };
  if (input.allowed && input.allowed.length > 0) {
    const { expires, userVerification, ...head } = session;
    return { ...head, allowed_credentials: input.allowed.map(b64std), expires, userVerification };
  }
  return session;
}

/** What a method keeps in its internal slice of a flow: the ceremony's session data and the options shown with it. */
export interface CeremonyState {
  session_data: SessionData;
  /** The options JSON (creation or assertion), so re-rendering shows the very challenge that is checked. */
  options: Json;
  /** The script node's nonce, fixed with the ceremony (Kratos persists its nodes, nonce included, with the flow). */
  nonce?: string;
}

const isObject = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === 'object' && !Array.isArray(v);

/**
 * The ceremony state in a method's internal slice, or the reason it is unusable — Kratos's texts for a session that is
 * missing ("…but got: unexpected end of JSON input", Go's error for an empty value) or malformed.
 */
export function readCeremony(internal: Json | undefined): { state: CeremonyState } | { reason: string } {
  if (!isObject(internal) || internal.session_data === undefined) {
    return { reason: 'Expected WebAuthN in internal context to be an object but got: unexpected end of JSON input' };
  }
  const s = internal.session_data;
  const ok = isObject(s) && typeof s.challenge === 'string' && s.challenge !== '' && typeof s.rpId === 'string'
    && (s.user_id === null || s.user_id === undefined || (typeof s.user_id === 'string' && fromB64std(s.user_id) !== undefined))
    && (s.allowed_credentials === undefined || (Array.isArray(s.allowed_credentials) && s.allowed_credentials.every((c) => fromB64std(c) !== undefined)))
    && (s.userVerification === undefined || typeof s.userVerification === 'string');
  if (!ok) return { reason: 'Expected WebAuthN in internal context to be an object but got: json: cannot unmarshal session data' };
  const session: SessionData = {
    challenge: s.challenge as string,
    rpId: s.rpId as string,
    user_id: typeof s.user_id === 'string' ? s.user_id : null,
    ...(Array.isArray(s.allowed_credentials) && s.allowed_credentials.length > 0 ? { allowed_credentials: s.allowed_credentials as string[] } : {}),
    expires: typeof s.expires === 'string' ? s.expires : ZERO_TIME,
    userVerification: (s.userVerification ?? '') as SessionData['userVerification'],
  };
  const state: CeremonyState = { session_data: session, options: (internal.options ?? null) as Json };
  if (typeof internal.nonce === 'string') state.nonce = internal.nonce;
  return { state };
}

/** A ceremony and whether it is new (then the method puts it into the flow's internal state). */
export interface Ceremony {
  state: CeremonyState;
  fresh: boolean;
}

/** The ceremony in internal state when it is usable and has its options. */
export function keptCeremony(internal: Json | undefined): CeremonyState | undefined {
  const found = readCeremony(internal);
  return 'state' in found && found.state.options ? found.state : undefined;
}

/**
 * The ceremony kept in internal state (so the challenge shown is the one checked), else a new one: `start`'s session
 * data and options, with the script node's nonce.
 */
export function keptOrNewCeremony(internal: Json | undefined, start: () => { session: SessionData; options: Json }): Ceremony {
  const kept = keptCeremony(internal);
  if (kept) return { state: kept, fresh: false };
  const { session, options } = start();
  return { state: { session_data: session, options, nonce: crypto.randomUUID() }, fresh: true };
}

/** The ceremony as internal state (a plain JSON copy). */
export function ceremonyInternal(state: CeremonyState): Json {
  return JSON.parse(JSON.stringify(state)) as Json;
}

// ---------------------------------------------------------------------------------------------------------------------
// Options JSON (go-webauthn protocol/options.go: field order and omitempty as Go marshals them)

export interface CredentialDescriptor {
  type: 'public-key';
  /** b64url. */
  id: string;
  transports?: string[];
}

export function descriptorOf(c: StoredWebauthnCredential): CredentialDescriptor {
  const d: CredentialDescriptor = { type: 'public-key', id: b64url(fromB64std(c.id) ?? new Uint8Array()) };
  if (c.transport && c.transport.length > 0) d.transports = [...c.transport];
  return d;
}

export interface AuthenticatorSelectionJson {
  authenticatorAttachment?: Attachment;
  requireResidentKey?: boolean;
  residentKey?: ResidentKey;
  userVerification?: UserVerification;
}

export interface CreationInput {
  rp: WebauthnRp;
  user: { id: Uint8Array; name: string; displayName: string };
  session: SessionData;
  timeout: number;
  exclude: CredentialDescriptor[];
  authenticatorSelection: AuthenticatorSelectionJson;
  attestation?: AttestationPreference;
}

/** `{"publicKey": PublicKeyCredentialCreationOptions}` (go-webauthn `CredentialCreation`). */
export function creationOptions(input: CreationInput): Json {
  const publicKey: Record<string, Json> = {
    rp: { name: input.rp.name, id: input.rp.id },
    user: { name: input.user.name, displayName: input.user.displayName, id: b64url(input.user.id) },
    challenge: input.session.challenge,
    pubKeyCredParams: ALGORITHMS.map((alg) => ({ type: 'public-key', alg })),
    timeout: input.timeout,
  };
  if (input.exclude.length > 0) publicKey.excludeCredentials = input.exclude as unknown as Json;
  publicKey.authenticatorSelection = { ...input.authenticatorSelection } as Json;
  if (input.attestation) publicKey.attestation = input.attestation;
  return { publicKey };
}

/** `{"publicKey": PublicKeyCredentialRequestOptions}` (go-webauthn `CredentialAssertion`). */
export function assertionOptions(input: { session: SessionData; timeout: number; allow: CredentialDescriptor[] }): Json {
  const publicKey: Record<string, Json> = { challenge: input.session.challenge, timeout: input.timeout };
  if (input.session.rpId !== '') publicKey.rpId = input.session.rpId;
  if (input.allow.length > 0) publicKey.allowCredentials = input.allow as unknown as Json;
  if (input.session.userVerification !== '') publicKey.userVerification = input.session.userVerification;
  return { publicKey };
}

// ---------------------------------------------------------------------------------------------------------------------
// Parsing what the browser posted (webauthn.js's JSON, or a browser's PublicKeyCredential.toJSON())

interface ClientData {
  type?: unknown;
  challenge?: unknown;
  origin?: unknown;
  crossOrigin?: unknown;
  topOrigin?: unknown;
}

function clientDataOf(encoded: unknown): ClientData | undefined {
  const bytes = fromB64url(encoded);
  if (!bytes) return undefined;
  try {
    const parsed = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes)) as unknown;
    return isObject(parsed) ? parsed : undefined;
  } catch {
    return undefined;
  }
}

function parseCredential(text: unknown): { credential: Record<string, unknown>; response: Record<string, unknown>; clientData: ClientData } | string {
  if (typeof text !== 'string' || text === '') return 'Missing ID';
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (err) {
    return (err as Error).message;
  }
  if (!isObject(parsed)) return 'Missing ID';
  if (typeof parsed.id !== 'string' || parsed.id === '') return 'Missing ID';
  if (!fromB64url(parsed.id)?.length) return 'ID not base64.RawURLEncoded';
  if (parsed.type === undefined || parsed.type === '') return 'Missing type';
  if (parsed.type !== 'public-key') return 'Type not public-key';
  if (!isObject(parsed.response)) return 'Missing response';
  const clientData = clientDataOf(parsed.response.clientDataJSON);
  if (!clientData) return 'Error unmarshalling client data json';
  return { credential: parsed, response: parsed.response, clientData };
}

export interface ParsedRegistration {
  json: RegistrationResponseJSON;
  clientData: ClientData;
}

/** A registration answer, or Kratos's detail for "Unable to parse WebAuthn response: %s". */
export function parseRegistration(text: unknown): { ok: ParsedRegistration } | { error: string } {
  const parsed = parseCredential(text);
  if (typeof parsed === 'string') return { error: 'Parse error for Registration' };
  const { credential, response, clientData } = parsed;
  if (!fromB64url(response.attestationObject)?.length) return { error: 'Error parsing attestation response' };
  const json: RegistrationResponseJSON = {
    id: credential.id as string,
    rawId: typeof credential.rawId === 'string' ? credential.rawId : '',
    type: 'public-key',
    response: { clientDataJSON: response.clientDataJSON as string, attestationObject: response.attestationObject as string },
    clientExtensionResults: {},
  };
  if (Array.isArray(response.transports)) json.response.transports = response.transports.filter((t): t is string => typeof t === 'string');
  return { ok: { json, clientData } };
}

export interface ParsedAssertion {
  json: AuthenticationResponseJSON;
  clientData: ClientData;
  rawId: Uint8Array;
  /** The returned user handle (empty when the authenticator sent none). */
  userHandle: Uint8Array;
}

/** An assertion, or undefined when it does not parse (Kratos: "Unable to parse WebAuthn response."). */
export function parseAssertion(text: unknown): ParsedAssertion | undefined {
  const parsed = parseCredential(text);
  if (typeof parsed === 'string') return undefined;
  const { credential, response, clientData } = parsed;
  const rawId = fromB64url(credential.rawId);
  const userHandle = response.userHandle === undefined || response.userHandle === null || response.userHandle === '' ? new Uint8Array() : fromB64url(response.userHandle);
  if (!rawId || !userHandle || !fromB64url(response.authenticatorData)?.length || !fromB64url(response.signature)?.length) return undefined;
  const json: AuthenticationResponseJSON = {
    id: credential.id as string,
    rawId: credential.rawId as string,
    type: 'public-key',
    response: {
      clientDataJSON: response.clientDataJSON as string,
      authenticatorData: response.authenticatorData as string,
      signature: response.signature as string,
      ...(userHandle.length > 0 ? { userHandle: response.userHandle as string } : {}),
    },
    clientExtensionResults: {},
  };
  return { json, clientData, rawId, userHandle };
}

// ---------------------------------------------------------------------------------------------------------------------
// Verification

/** What simplewebauthn is to expect of a response: the session's challenge and RP ID, the client's origin. */
interface Expectations {
  expectedChallenge: string;
  expectedOrigin: string;
  expectedRPID: string;
  requireUserVerification: boolean;
}

/**
 * Runs a simplewebauthn verification once the client's origin is one of the relying party's (go-webauthn's
 * case-insensitive check); what it throws is the error.
 */
async function verifyWith<T>(clientData: ClientData, session: SessionData, rp: WebauthnRp, verify: (expected: Expectations) => Promise<T>): Promise<T | { error: string }> {
  const origin = typeof clientData.origin === 'string' ? clientData.origin : '';
  if (!originAllowed(origin, rp.origins)) return { error: 'Error validating origin' };
  try {
    return await verify({
      expectedChallenge: session.challenge,
      // The one expected origin, so the library's exact comparison agrees with ours.
      expectedOrigin: origin,
      expectedRPID: session.rpId,
      requireUserVerification: session.userVerification === 'required',
    });
  } catch (err) {
    return { error: message(err) };
  }
}

/** Kratos never verifies the top origin (go-webauthn TopOriginIgnoreVerificationMode). */
const topOriginOf = (clientData: ClientData) => (clientData.crossOrigin === true && typeof clientData.topOrigin === 'string' ? clientData.topOrigin : undefined);

const message = (err: unknown) => (err instanceof Error ? err.message : String(err));

// Loaded at the first verification: a server without WebAuthn or passkeys never pays for the library and its ASN.1 stack.
let library: Promise<typeof import('@simplewebauthn/server')> | undefined;
const simplewebauthn = () => (library ??= import('@simplewebauthn/server'));

export interface NewKey {
  id: Uint8Array;
  publicKey: Uint8Array;
  signCount: number;
  aaguid: string;
  attestationType: string;
  flags: StoredFlags;
  transports: string[];
}

/**
 * Verifies a registration against the session data (go-webauthn CreateCredential): ceremony type, challenge, origin,
 * RP ID hash, user presence, user verification only when the session requires it, attestation statement.
 */
export async function verifyRegistration(parsed: ParsedRegistration, session: SessionData, rp: WebauthnRp): Promise<{ key: NewKey } | { error: string }> {
  const { verifyRegistrationResponse } = await simplewebauthn();
  return verifyWith(parsed.clientData, session, rp, async (expected): Promise<{ key: NewKey } | { error: string }> => {
    const result = await verifyRegistrationResponse({ response: parsed.json, ...expected, requireUserPresence: true, supportedAlgorithmIDs: [...ALGORITHMS] });
    if (!result.verified) return { error: 'Error validating the attestation statement' };
    const info = result.registrationInfo;
    return {
      key: {
        id: fromB64url(info.credential.id)!,
        publicKey: new Uint8Array(info.credential.publicKey),
        signCount: info.credential.counter,
        aaguid: info.aaguid,
        attestationType: info.fmt,
        flags: { user_present: true, user_verified: info.userVerified, backup_eligible: info.credentialDeviceType === 'multiDevice', backup_state: info.credentialBackedUp },
        transports: info.credential.transports ?? [],
      },
    };
  });
}

export interface AssertionInput {
  parsed: ParsedAssertion;
  session: SessionData;
  rp: WebauthnRp;
  /** The user's handle (Kratos: `config.user_handle`; a discoverable login: the handle the authenticator returned). */
  userHandle: Uint8Array;
  /** The keys the user may use here (Kratos: filtered by AAL, or passwordless only). */
  keys: StoredWebauthnCredential[];
  /** Discoverable login: no session user to match, and the authenticator must return a user handle. */
  discoverable: boolean;
}

type AuthenticationInfo = Awaited<ReturnType<typeof verifyAuthenticationResponse>>['authenticationInfo'];

export interface AssertionResult {
  key: StoredWebauthnCredential;
  /** The key as stored after this login: counter, clone warning and backup state (Kratos UpdateFromLogin). */
  updated: StoredWebauthnCredential;
}

/** go-webauthn's validateLogin with simplewebauthn doing the cryptography; any failure is one error (4000043). */
export async function verifyAssertion(input: AssertionInput): Promise<{ ok: AssertionResult } | { error: string }> {
  const { parsed, session } = input;
  if (!input.discoverable && (session.user_id === null || !b64stdEquals(session.user_id, input.userHandle))) {
    return { error: 'ID mismatch for User and Session' };
  }
  if (session.allowed_credentials && session.allowed_credentials.length > 0
    && !session.allowed_credentials.some((id) => b64stdEquals(id, parsed.rawId))) {
    return { error: 'User does not own the credential returned' };
  }
  if (input.discoverable && parsed.userHandle.length === 0) {
    return { error: 'Client-side Discoverable Assertion was attempted with a blank User Handle' };
  }
  if (parsed.userHandle.length > 0 && !bytesEqual(parsed.userHandle, input.userHandle)) {
    return { error: 'userHandle and User ID do not match' };
  }
  const key = input.keys.find((k) => b64stdEquals(k.id, parsed.rawId));
  if (!key) return { error: 'Unable to find the credential for the returned credential ID' };
  const { verifyAuthenticationResponse } = await simplewebauthn();
  const verified = await verifyWith(parsed.clientData, session, input.rp, async (expected): Promise<{ info: AuthenticationInfo } | { error: string }> => {
    const result = await verifyAuthenticationResponse({
      response: parsed.json,
      ...expected,
      expectedTopOrigin: topOriginOf(parsed.clientData),
      // The counter is judged below as go-webauthn does: a regression is a clone warning, never a failed login.
      credential: { id: b64url(parsed.rawId), publicKey: fromB64std(key.public_key)!, counter: 0 },
    });
    if (!result.verified) return { error: 'Error validating the assertion signature' };
    return { info: result.authenticationInfo };
  });
  if ('error' in verified) return verified;
  const { info } = verified;
  const backupEligible = info.credentialDeviceType === 'multiDevice';
  // Legacy keys without flags take them from this response (for validation only, as Kratos does).
  if (key.flags && key.flags.backup_eligible !== backupEligible) {
    return { error: 'BackupEligible flag inconsistency detected during login validation' };
  }
  const stored = key.authenticator?.sign_count ?? 0;
  const regression = info.newCounter <= stored && (info.newCounter !== 0 || stored !== 0);
  const authenticator = {
    aaguid: key.authenticator?.aaguid ?? '',
    sign_count: regression ? stored : Math.max(stored, info.newCounter),
    clone_warning: (key.authenticator?.clone_warning ?? false) || regression,
  };
  const updated: StoredWebauthnCredential = { ...key, authenticator };
  if (key.flags) updated.flags = { ...key.flags, backup_state: info.credentialBackedUp };
  return { ok: { key, updated } };
}
