/**
 * The `passkey` method (Kratos `strategy/passkey`): discoverable WebAuthn credentials as a first factor, in browser and
 * API flows.
 *
 * - Login (aal1): a discoverable challenge is issued with the flow (so autocomplete can start at once); the
 *   authenticator's user handle names the identity. A refresh asks for the session identity's passkeys.
 * - Registration: traits plus a passkey; the user handle is 64 random letters and digits, and is the identifier.
 * - Settings: add a passkey (another handle, another identifier) or remove one — never the last first factor.
 *
 * Kratos's migration path (a `webauthn` credential used as a passkey, found by its user handle) is taken when
 * `identities.findByWebauthnUserHandle` is given.
 */
import type { IdentityRecord } from '../../identity/identity.ts';
import type { IdentitySchema } from '../../identity/schema/index.ts';
import { isPlainObject, resolveLocalRef } from '../../identity/schema/pointer.ts';
import { MessageId } from '../../text/ids.ts';
import { message } from '../../text/message.ts';
import { inputNode, type UiNode } from '../../ui/node.ts';
import { identifierLabel } from '../../ui/trait-nodes.ts';
import { payloadProblems } from '../../x/body-validator.ts';
import { ALPHANUMERIC, randomString } from '../../x/random.ts';
import { duplicateAccountMessage, mergeFieldMessages, problemsToMessages, traitMessages } from '../form-messages.ts';
import type { Json, Method, MethodContext, NodesResult, Outcome } from '../method.ts';
import { authenticatorName } from './aaguid.ts';
import {
  assertionOptions, ceremonyInternal, creationOptions, descriptorOf, newSession, parseAssertion, parseRegistration, readCeremony,
  verifyAssertion, verifyRegistration, type AuthenticatorSelectionJson, type CeremonyState,
} from './ceremony.ts';
import {
  ceremonyTimeout, type PasskeyAttestation, type PasskeyAuthenticatorSelection, type PasskeyTimeouts, type UserVerification, type WebauthnRp,
} from './config.ts';
import { b64std, bytesEqual, fromB64std, utf8 } from './encoding.ts';
import { credentialHex, credentialOf, keysOf, readCredentialsConfig, writeCredentialsConfig, type StoredWebauthnCredential } from './credentials.ts';
import { webauthnScriptNode, webauthnScriptRoute } from './script.ts';
import {
  ALREADY_REGISTERED, generic, NO_WEBAUTHN, nonEmpty, optionsText, PARSE_LOGIN, rejected, removeLabelContext, SESSION_NOT_OBJECT,
  storedKey, text, withKeys, withUsedKey, WOULD_LOCK_OUT, type CommonDeps, type WebauthnIdentities,
} from './shared.ts';

export interface PasskeyMethodDeps extends CommonDeps {
  rp: WebauthnRp;
  /** `selfservice.methods.passkey.config.authenticator_selection`. */
  authenticatorSelection?: PasskeyAuthenticatorSelection;
  /** `selfservice.methods.passkey.config.attestation`. */
  attestation?: PasskeyAttestation;
  /** `selfservice.methods.passkey.config.timeouts`. */
  timeouts?: PasskeyTimeouts;
  identities: WebauthnIdentities & {
    /** Kratos's migration path: the identity whose `webauthn` credential has this user handle (b64std). */
    findByWebauthnUserHandle?(userHandle: string): Promise<IdentityRecord | null>;
  };
}

const METHOD = 'passkey';
const LOGIN_SCHEMA = 'methods/passkey/login.json';
const REGISTRATION_SCHEMA = 'methods/passkey/registration.json';
const SETTINGS_SCHEMA = 'methods/passkey/settings.json';
const MAX_DEPTH = 32;

/** A passkey's user handle: 64 random letters and digits (Kratos `randx.AlphaNum`), used as bytes and as identifier. */
const newUserHandle = () => randomString(64, ALPHANUMERIC);
const handleText = (bytes: Uint8Array) => new TextDecoder().decode(bytes);

/** Kratos PasskeyDisplayNameFromIdentity: the first `passkey.display_name` trait, else the first WebAuthn identifier. */
function passkeyDisplayName(schema: IdentitySchema, identity: IdentityRecord): string {
  const ids = schema.extract(identity.traits).identifiers;
  return ids.passkeyDisplayName ?? ids.webauthn[0] ?? '';
}

/**
 * Kratos PasskeyDisplayNameFromSchema: every trait path flagged `passkey.display_name` or `webauthn.identifier`,
 * sorted; without any, the first untitled trait path; none at all: [] (the method then offers no registration).
 */
export function passkeyDisplayNameFields(schema: IdentitySchema): string[] {
  const root = schema.raw;
  const flagged: string[] = [];
  const untitled: string[] = [];
  const deref = (node: unknown, depth = 0): Record<string, unknown> | undefined => {
    if (!isPlainObject(node)) return undefined;
    if (typeof node.$ref === 'string' && depth < MAX_DEPTH) {
      const target = deref(resolveLocalRef(root, node.$ref), depth + 1);
      if (target) return { ...target, ...node };
    }
    return node;
  };
  const visit = (raw: unknown, path: string[], depth: number): void => {
    const node = deref(raw);
    if (!node || depth > MAX_DEPTH) return;
    if (path.length > 1) {
      const name = path.join('.');
      const ext = node['ory.sh/kratos'];
      const credentials = isPlainObject(ext) && isPlainObject(ext.credentials) ? ext.credentials : {};
      const flag = (type: string, key: string) => isPlainObject(credentials[type]) && (credentials[type] as Record<string, unknown>)[key] === true;
      if (flag('passkey', 'display_name') || flag('webauthn', 'identifier')) flagged.push(name);
      if (typeof node.title !== 'string' || node.title === '') untitled.push(name);
    }
    if (isPlainObject(node.properties)) for (const [key, child] of Object.entries(node.properties)) visit(child, [...path, key], depth + 1);
  };
  visit(schema.traitsSchema, ['traits'], 0);
  if (flagged.length > 0) return [...new Set(flagged)].sort();
  return untitled.length > 0 ? [untitled.sort()[0]] : [];
}

/** The passkey method. */
export function createPasskeyMethod(deps: PasskeyMethodDeps): Method {
  const selection = deps.authenticatorSelection ?? {};
  const uv: UserVerification = selection.user_verification ?? 'preferred';
  const residentKey = selection.resident_key ?? 'required';
  const authenticatorSelection: AuthenticatorSelectionJson = {
    ...(selection.attachment ? { authenticatorAttachment: selection.attachment } : {}),
    requireResidentKey: residentKey === 'required',
    residentKey,
    userVerification: uv,
  };
  const attestation = deps.attestation?.preference ?? 'none';
  const registrationTimeout = ceremonyTimeout(deps.timeouts?.registration, uv);
  const loginTimeout = ceremonyTimeout(deps.timeouts?.login, uv);
  const schemaOf = (identity?: IdentityRecord) => deps.schemas.require(identity?.schemaId ?? deps.schemas.defaultId);
  const scriptFor = (ctx: MethodContext, state: CeremonyState): UiNode[] => (ctx.flow.type === 'browser' ? [webauthnScriptNode(deps.scriptUrl, state.nonce)] : []);
  const noLoginStrategy = () => rejected([message(MessageId.ErrorValidationLoginNoStrategyFound)]);

  function loginCeremony(internal: Json | undefined, user: { handle: string | null; keys: StoredWebauthnCredential[] } | undefined): { state: CeremonyState; fresh: boolean } {
    const found = readCeremony(internal);
    if ('state' in found && found.state.options) return { state: found.state, fresh: false };
    // Discoverable (no user, no allowed keys) unless a refresh names the session identity's passkeys.
    const session = newSession({
      rpId: deps.rp.id, userId: user?.handle ? fromB64std(user.handle)! : null, allowed: user?.keys.map((k) => fromB64std(k.id)!), userVerification: uv,
    });
    const options = assertionOptions({ session, timeout: loginTimeout, allow: (user?.keys ?? []).map(descriptorOf) });
    return { state: { session_data: session, options, nonce: crypto.randomUUID() }, fresh: true };
  }

  function registrationCeremony(internal: Json | undefined, name: string, exclude: StoredWebauthnCredential[]): { state: CeremonyState; fresh: boolean } {
    const found = readCeremony(internal);
    if ('state' in found && found.state.options) return { state: found.state, fresh: false };
    const userId = utf8(newUserHandle());
    const session = newSession({ rpId: deps.rp.id, userId, userVerification: uv });
    const options = creationOptions({
      rp: deps.rp,
      user: { id: userId, name, displayName: name },
      session,
      timeout: registrationTimeout,
      exclude: exclude.map(descriptorOf),
      authenticatorSelection,
      attestation,
    });
    return { state: { session_data: session, options, nonce: crypto.randomUUID() }, fresh: true };
  }

  const loginTrigger = (ctx: MethodContext) => inputNode('passkey', 'passkey_login_trigger', 'button', {
    value: '',
    onclick: ctx.flow.type === 'browser' ? 'window.oryPasskeyLogin()' : undefined,
    onclickTrigger: 'oryPasskeyLogin',
    label: message(MessageId.InfoSelfServiceLoginPasskey),
  });

  return {
    id: METHOD,
    group: 'passkey',
    routes: [webauthnScriptRoute],
    login: {
      aal: 'aal1',
      payloadSchema: LOGIN_SCHEMA,
      claims: (body) => nonEmpty(body.passkey_login),
      nodes(ctx: MethodContext): NodesResult {
        // Kratos implements only the aal1 hydrators: nothing at aal2.
        if (ctx.flow.requestedAal !== 'aal1') return { nodes: [] };
        const browser = ctx.flow.type === 'browser';
        if (ctx.flow.refresh && ctx.identity) {
          const config = keysOf(ctx.identity, METHOD);
          if (!config || config.credentials.length === 0) return { nodes: [] };
          const { state, fresh } = loginCeremony(ctx.internal, { handle: config.user_handle, keys: config.credentials });
          return {
            nodes: [
              inputNode('default', 'identifier', 'hidden', { value: passkeyDisplayName(schemaOf(ctx.identity), ctx.identity) }),
              ...scriptFor(ctx, state),
              loginTrigger(ctx),
              inputNode('passkey', 'passkey_login', 'hidden'),
              inputNode('passkey', 'passkey_challenge', 'hidden', { value: optionsText(state.options) }),
            ],
            ...(fresh ? { internal: ceremonyInternal(state) } : {}),
          };
        }
        const { state, fresh } = loginCeremony(ctx.internal, undefined);
        const label = identifierLabel(deps.schemas.require(deps.schemas.defaultId), message(MessageId.InfoNodeLabelID));
        return {
          nodes: [
            inputNode('default', 'identifier', 'text', { value: '', required: true, autocomplete: 'username webauthn', label }),
            ...scriptFor(ctx, state),
            loginTrigger(ctx),
            inputNode('passkey', 'passkey_login', 'hidden', {
              onload: browser ? 'window.oryPasskeyLoginAutocompleteInit()' : undefined,
              onloadTrigger: 'oryPasskeyLoginAutocompleteInit',
            }),
            inputNode('passkey', 'passkey_challenge', 'hidden', { value: optionsText(state.options) }),
          ],
          ...(fresh ? { internal: ceremonyInternal(state) } : {}),
        };
      },
      async submit(ctx, payload): Promise<Outcome> {
        const problems = payloadProblems(LOGIN_SCHEMA, payload);
        if (problems.length > 0) return { kind: 'rejected', ...problemsToMessages(problems, payload) };
        const assertion = text(payload.passkey_login);
        if ((assertion === '' && payload.method !== METHOD) || ctx.flow.requestedAal !== 'aal1') return noLoginStrategy();
        // Kratos: `method=passkey` without an assertion sends the browser back to the form (303, or 422 for JSON and
        // API clients) — nothing is checked or stored.
        if (assertion === '') return { kind: 'next_screen' };
        const parsed = parseAssertion(assertion);
        if (!parsed) return rejected([generic(PARSE_LOGIN)]);
        const ceremony = readCeremony(ctx.internal);
        if (!('state' in ceremony)) return rejected([generic(ceremony.reason)]);

        // The identity is the one the authenticator's user handle names (case-sensitive).
        const handle = parsed.userHandle;
        let type: 'passkey' | 'webauthn' = METHOD;
        let identity = handle.length > 0 ? await deps.identities.findByCredentialIdentifier(METHOD, handleText(handle)) : null;
        if (!identity && handle.length > 0 && deps.identities.findByWebauthnUserHandle) {
          identity = await deps.identities.findByWebauthnUserHandle(b64std(handle));
          type = 'webauthn';
        }
        if (!identity) return rejected([message(MessageId.ErrorValidationSuchNoWebAuthnUser)]);
        const credential = credentialOf(identity, type);
        if (!credential) return rejected([message(MessageId.ErrorValidationNoWebAuthnDevice)]);
        const config = readCredentialsConfig(credential.config, identity.id);
        const result = await verifyAssertion({
          parsed,
          session: { ...ceremony.state.session_data, user_id: null },
          rp: deps.rp,
          userHandle: handle,
          keys: config.credentials.filter((k) => k.is_passwordless),
          discoverable: true,
        });
        if ('error' in result) return rejected([message(MessageId.ErrorValidationWebAuthnVerifierWrong)]);
        if (identity.state !== 'active') return rejected([message(MessageId.ErrorValidationIdentityDisabled)]);
        const record = withUsedKey(identity, type, config, result.ok.updated, ctx.now);
        return {
          kind: 'authenticated',
          identityId: identity.id,
          method: METHOD,
          aal: 'aal1',
          changes: { identity: { record, isNew: false } },
          internal: null,
        };
      },
    },
    registration: {
      payloadSchema: REGISTRATION_SCHEMA,
      // The React SDK sends `passkey_register=true` with other methods' submits.
      claims: (body) => nonEmpty(body.passkey_register) && body.passkey_register !== 'true',
      nodes(ctx: MethodContext): NodesResult {
        const fields = passkeyDisplayNameFields(schemaOf());
        // No trait to name the passkey after: Kratos logs a warning and offers no passkey registration.
        if (fields.length === 0) return { nodes: [] };
        const { state, fresh } = registrationCeremony(ctx.internal, deps.rp.name, []);
        const createData = { credentialOptions: state.options, displayNameFieldName: fields[0], displayNameFieldNames: fields };
        return {
          nodes: [
            ...scriptFor(ctx, state),
            inputNode('passkey', 'passkey_register_trigger', 'button', {
              onclick: ctx.flow.type === 'browser' ? 'window.oryPasskeyRegistration()' : undefined,
              onclickTrigger: 'oryPasskeyRegistration',
              label: message(MessageId.InfoSelfServiceRegistrationRegisterPasskey),
            }),
            inputNode('passkey', 'passkey_register', 'hidden'),
            inputNode('passkey', 'passkey_create_data', 'hidden', { value: optionsText(createData) }),
          ],
          ...(fresh ? { internal: ceremonyInternal(state) } : {}),
        };
      },
      async submit(ctx, payload): Promise<Outcome> {
        const schema = schemaOf();
        const traits = (payload.traits ?? {}) as Record<string, unknown>;
        const values = { traits };
        const problems = problemsToMessages(payloadProblems(REGISTRATION_SCHEMA, payload), payload);
        const fieldMessages = mergeFieldMessages(problems.fieldMessages, traitMessages(schema.validateTraits(traits)));
        if (Object.keys(fieldMessages).length > 0 || problems.messages.length > 0) {
          return { kind: 'rejected', values, fieldMessages, messages: problems.messages };
        }
        const register = text(payload.passkey_register);
        if (register === '' || register === 'true') return rejected([message(MessageId.ErrorValidationRegistrationNoStrategyFound)], { values });
        const ceremony = readCeremony(ctx.internal);
        if (!('state' in ceremony)) return rejected([generic(SESSION_NOT_OBJECT)], { values });
        const session = ceremony.state.session_data;
        if (session.user_id === null) return rejected([generic('Expected WebAuthN session data to contain a user ID')], { values });
        const parsed = parseRegistration(register);
        if ('error' in parsed) return rejected([generic(`Unable to parse WebAuthn response: ${parsed.error}`)], { values });
        const verified = await verifyRegistration(parsed.ok, session, deps.rp);
        if ('error' in verified) return rejected([generic(`Unable to create WebAuthn credential: ${verified.error}`)], { values });
        const key = storedKey(verified.key, { passwordless: true, displayName: authenticatorName(verified.key.aaguid), now: ctx.now });
        const handle = handleText(fromB64std(session.user_id)!);
        const config = writeCredentialsConfig({ credentials: [key], user_handle: session.user_id });
        const record = deps.identities.buildNew({ schema_id: schema.id, traits }, { passkey: { config, identifiers: [handle] } });
        if (await deps.identities.hasConflicts(record)) {
          return rejected([duplicateAccountMessage(await deps.identities.duplicateHints?.(record))], { values });
        }
        return { kind: 'registered', identityId: record.id, method: METHOD, changes: { identity: { record, isNew: true } }, internal: null };
      },
    },
    settings: {
      payloadSchema: SETTINGS_SCHEMA,
      claims: (body) => nonEmpty(body.passkey_settings_register) || nonEmpty(body.passkey_remove),
      nodes(ctx: MethodContext): NodesResult {
        const identity = ctx.identity;
        if (!identity) return { nodes: [] };
        const keys = keysOf(identity, METHOD)?.credentials ?? [];
        const count = deps.firstFactorCount(identity);
        const removes = [...keys]
          .sort((a, b) => (credentialHex(a) < credentialHex(b) ? -1 : credentialHex(a) > credentialHex(b) ? 1 : 0))
          .map((k) => inputNode('passkey', 'passkey_remove', 'submit', {
            value: credentialHex(k),
            disabled: count < 2,
            label: message(MessageId.InfoSelfServiceSettingsRemovePasskey, removeLabelContext(k)),
          }));
        const name = passkeyDisplayName(schemaOf(identity), identity);
        // Kratos also adds 4000009 to ui.messages here; a method's nodes carry no flow messages.
        if (name === '') return { nodes: removes };
        const { state, fresh } = registrationCeremony(ctx.internal, name, keys);
        return {
          nodes: [
            ...scriptFor(ctx, state),
            ...removes,
            inputNode('passkey', 'passkey_register_trigger', 'button', {
              value: '',
              onclick: ctx.flow.type === 'browser' ? 'window.oryPasskeySettingsRegistration()' : undefined,
              onclickTrigger: 'oryPasskeySettingsRegistration',
              label: message(MessageId.InfoSelfServiceSettingsRegisterPasskey),
            }),
            inputNode('passkey', 'passkey_settings_register', 'hidden'),
            inputNode('passkey', 'passkey_create_data', 'hidden', { value: optionsText(state.options) }),
          ],
          ...(fresh ? { internal: ceremonyInternal(state) } : {}),
        };
      },
      async submit(ctx, payload): Promise<Outcome> {
        const identity = ctx.identity;
        if (!identity) return rejected([message(MessageId.ErrorValidationSettingsNoStrategyFound)]);
        const problems = payloadProblems(SETTINGS_SCHEMA, payload);
        if (problems.length > 0) return { kind: 'rejected', ...problemsToMessages(problems, payload) };
        const register = text(payload.passkey_settings_register);
        const remove = text(payload.passkey_remove);
        if (register === '' && remove === '') return rejected([message(MessageId.ErrorValidationSettingsNoStrategyFound)]);
        if (!ctx.privileged) return { kind: 'needs_refresh' };
        // A removal wins over a new passkey when both are sent.
        return remove !== '' ? removeKey(ctx, identity, remove) : addKey(ctx, identity, register);
      },
    },
  };

  async function addKey(ctx: MethodContext, identity: IdentityRecord, register: string): Promise<Outcome> {
    const ceremony = readCeremony(ctx.internal);
    if (!('state' in ceremony)) return rejected([generic(SESSION_NOT_OBJECT)]);
    const session = ceremony.state.session_data;
    if (session.user_id === null) return rejected([generic('Expected WebAuthN session data to contain a user ID')]);
    const parsed = parseRegistration(register);
    if ('error' in parsed) return rejected([generic(`Unable to parse WebAuthn response: ${parsed.error}`)]);
    const verified = await verifyRegistration(parsed.ok, session, deps.rp);
    if ('error' in verified) return rejected([generic(`Unable to create WebAuthn credential: ${verified.error}`)]);
    const credential = credentialOf(identity, METHOD);
    const existing = credential ? readCredentialsConfig(credential.config, identity.id).credentials : [];
    if (existing.some((k) => bytesEqual(fromB64std(k.id) ?? new Uint8Array(), verified.key.id))) {
      return rejected([], { fieldMessages: { passkey_settings_register: [generic(ALREADY_REGISTERED)] } });
    }
    const key = storedKey(verified.key, { passwordless: true, displayName: authenticatorName(verified.key.aaguid), now: ctx.now });
    // Every passkey brings its own handle: the config keeps the latest, the identifiers all of them.
    const handle = handleText(fromB64std(session.user_id)!);
    const identifiers = [...(credential?.identifiers ?? []).filter((i) => i !== handle), handle];
    const record = withKeys(identity, METHOD, { credentials: [...existing, key], user_handle: session.user_id }, identifiers, ctx.now);
    if (await deps.identities.hasConflicts(record)) return rejected([message(MessageId.ErrorValidationDuplicateCredentials)]);
    return {
      kind: 'updated',
      method: METHOD,
      changes: { identity: { record, isNew: false }, sessionMethod: { method: METHOD, aal: 'aal1' } },
      internal: null,
    };
  }

  function removeKey(ctx: MethodContext, identity: IdentityRecord, remove: string): Outcome {
    const credential = credentialOf(identity, METHOD);
    if (!credential) return rejected([generic(NO_WEBAUTHN)]);
    const config = readCredentialsConfig(credential.config, identity.id);
    const target = config.credentials.find((k) => credentialHex(k) === remove);
    if (!target) return rejected([generic('You tried to remove a passkey which does not exist.')]);
    // Kratos points this refusal at `webauthn_remove`, not at the passkey's button.
    if (deps.firstFactorCount(identity) < 2) return rejected([], { fieldMessages: { webauthn_remove: [generic(WOULD_LOCK_OUT)] } });
    const remaining = config.credentials.filter((k) => k !== target);
    const record = withKeys(identity, METHOD, remaining.length > 0 ? { ...config, credentials: remaining } : null, credential.identifiers, ctx.now);
    return { kind: 'updated', method: METHOD, changes: { identity: { record, isNew: false } }, internal: null };
  }
}
