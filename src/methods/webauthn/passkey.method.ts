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
import { inputNode, type InputNodeOptions, type UiNode, type UiNodeTrigger } from '../../ui/node.ts';
import { identifierLabel } from '../../ui/trait-nodes.ts';
import { payloadProblems } from '../../x/body-validator.ts';
import { ALPHANUMERIC, randomString } from '../../x/random.ts';
import { problemsToMessages } from '../form-messages.ts';
import type { Json, Method, MethodContext, NodesResult, Outcome } from '../method.ts';
import { authenticatorName } from './aaguid.ts';
import {
  assertionOptions, creationOptions, descriptorOf, keptOrNewCeremony, newSession, type AuthenticatorSelectionJson, type Ceremony, type CeremonyState,
} from './ceremony.ts';
import {
  ceremonyTimeout, type PasskeyAttestation, type PasskeyAuthenticatorSelection, type PasskeyTimeouts, type UserVerification, type WebauthnRp,
} from './config.ts';
import { b64std, fromB64std, utf8 } from './encoding.ts';
import { credentialOf, keysOf, writeCredentialsConfig, type StoredWebauthnCredential } from './credentials.ts';
import { webauthnScriptNode, webauthnScriptRoute } from './script.ts';
import {
  ceremonyNodes, keyRemoved, keysAdded, loginAnswer, newKey, nonEmpty, optionsText, registerIdentity, rejected, removeButtons, signIn,
  storedKey, text, type CommonDeps, type WebauthnIdentities,
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
  const scriptFor = (ctx: MethodContext, state: CeremonyState): UiNode[] => (ctx.flow.type === 'browser' ? [webauthnScriptNode(deps.scriptUrl(), state.nonce)] : []);
  const noLoginStrategy = () => rejected([message(MessageId.ErrorValidationLoginNoStrategyFound)]);

  function loginCeremony(internal: Json | undefined, user: { handle: string | null; keys: StoredWebauthnCredential[] } | undefined): Ceremony {
    return keptOrNewCeremony(internal, () => {
      // Discoverable (no user, no allowed keys) unless a refresh names the session identity's passkeys.
      const session = newSession({
        rpId: deps.rp.id, userId: user?.handle ? fromB64std(user.handle)! : null, allowed: user?.keys.map((k) => fromB64std(k.id)!), userVerification: uv,
      });
      return { session, options: assertionOptions({ session, timeout: loginTimeout, allow: (user?.keys ?? []).map(descriptorOf) }) };
    });
  }

  function registrationCeremony(internal: Json | undefined, name: string, exclude: StoredWebauthnCredential[]): Ceremony {
    return keptOrNewCeremony(internal, () => {
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
      return { session, options };
    });
  }

  /** A button calling a webauthn.js function (in browser flows; API clients get the trigger's name alone). */
  const triggerButton = (ctx: MethodContext, name: string, trigger: UiNodeTrigger, label: MessageId, value?: string) => inputNode('passkey', name, 'button', {
    value,
    onclick: ctx.flow.type === 'browser' ? `window.${trigger}()` : undefined,
    onclickTrigger: trigger,
    label: message(label),
  });

  /** Login: the identifier node, script, trigger, the hidden result (`result`: its extra attributes) and the challenge. */
  const loginNodes = (ctx: MethodContext, ceremony: Ceremony, identifier: UiNode, result?: InputNodeOptions): NodesResult => ceremonyNodes(ceremony, [
    identifier,
    ...scriptFor(ctx, ceremony.state),
    triggerButton(ctx, 'passkey_login_trigger', 'oryPasskeyLogin', MessageId.InfoSelfServiceLoginPasskey, ''),
    inputNode('passkey', 'passkey_login', 'hidden', result),
    inputNode('passkey', 'passkey_challenge', 'hidden', { value: optionsText(ceremony.state.options) }),
  ]);

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
        if (ctx.flow.refresh && ctx.identity) {
          const config = keysOf(ctx.identity, METHOD);
          if (!config || config.credentials.length === 0) return { nodes: [] };
          const ceremony = loginCeremony(ctx.internal, { handle: config.user_handle, keys: config.credentials });
          return loginNodes(ctx, ceremony, inputNode('default', 'identifier', 'hidden', { value: passkeyDisplayName(schemaOf(ctx.identity), ctx.identity) }));
        }
        const label = identifierLabel(deps.schemas.require(deps.schemas.defaultId), message(MessageId.InfoNodeLabelID));
        return loginNodes(ctx, loginCeremony(ctx.internal, undefined), inputNode('default', 'identifier', 'text', { value: '', required: true, autocomplete: 'username webauthn', label }), {
          onload: ctx.flow.type === 'browser' ? 'window.oryPasskeyLoginAutocompleteInit()' : undefined,
          onloadTrigger: 'oryPasskeyLoginAutocompleteInit',
        });
      },
      async submit(ctx, payload): Promise<Outcome> {
        const problems = payloadProblems(LOGIN_SCHEMA, payload);
        if (problems.length > 0) return { kind: 'rejected', ...problemsToMessages(problems, payload) };
        const assertion = text(payload.passkey_login);
        if ((assertion === '' && payload.method !== METHOD) || ctx.flow.requestedAal !== 'aal1') return noLoginStrategy();
        // Kratos: `method=passkey` without an assertion sends the browser back to the form (303, or 422 for JSON and
        // API clients) — nothing is checked or stored.
        if (assertion === '') return { kind: 'next_screen' };
        const answer = loginAnswer(assertion, ctx.internal);
        if ('refused' in answer) return answer.refused;

        // The identity is the one the authenticator's user handle names (case-sensitive).
        const handle = answer.parsed.userHandle;
        let type: 'passkey' | 'webauthn' = METHOD;
        let identity = handle.length > 0 ? await deps.identities.findByCredentialIdentifier(METHOD, handleText(handle)) : null;
        if (!identity && handle.length > 0 && deps.identities.findByWebauthnUserHandle) {
          identity = await deps.identities.findByWebauthnUserHandle(b64std(handle));
          type = 'webauthn';
        }
        if (!identity) return rejected([message(MessageId.ErrorValidationSuchNoWebAuthnUser)]);
        return signIn(identity, { type, method: METHOD, aal: 'aal1', rp: deps.rp, now: ctx.now }, (config) => ({
          parsed: answer.parsed,
          session: { ...answer.session, user_id: null },
          userHandle: handle,
          keys: config.credentials.filter((k) => k.is_passwordless),
          discoverable: true,
        }));
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
        const ceremony = registrationCeremony(ctx.internal, deps.rp.name, []);
        const createData = { credentialOptions: ceremony.state.options, displayNameFieldName: fields[0], displayNameFieldNames: fields };
        return ceremonyNodes(ceremony, [
          ...scriptFor(ctx, ceremony.state),
          triggerButton(ctx, 'passkey_register_trigger', 'oryPasskeyRegistration', MessageId.InfoSelfServiceRegistrationRegisterPasskey),
          inputNode('passkey', 'passkey_register', 'hidden'),
          inputNode('passkey', 'passkey_create_data', 'hidden', { value: optionsText(createData) }),
        ]);
      },
      async submit(ctx, payload): Promise<Outcome> {
        const register = text(payload.passkey_register);
        return registerIdentity(deps, ctx, payload, {
          method: METHOD,
          schema: schemaOf(),
          payloadSchema: REGISTRATION_SCHEMA,
          // The React SDK's `passkey_register=true` is no answer.
          register: register === 'true' ? '' : register,
          userIdBeforeParsing: true,
          credentials: (key, userId) => {
            const stored = storedKey(key, { passwordless: true, displayName: authenticatorName(key.aaguid), now: ctx.now });
            const config = writeCredentialsConfig({ credentials: [stored], user_handle: userId });
            return { prepared: { passkey: { config, identifiers: [handleText(fromB64std(userId)!)] } } };
          },
        });
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
        const removes = removeButtons(METHOD, keys, MessageId.InfoSelfServiceSettingsRemovePasskey, () => count < 2);
        const name = passkeyDisplayName(schemaOf(identity), identity);
        // Kratos also adds 4000009 to ui.messages here; a method's nodes carry no flow messages.
        if (name === '') return { nodes: removes };
        const ceremony = registrationCeremony(ctx.internal, name, keys);
        return ceremonyNodes(ceremony, [
          ...scriptFor(ctx, ceremony.state),
          ...removes,
          triggerButton(ctx, 'passkey_register_trigger', 'oryPasskeySettingsRegistration', MessageId.InfoSelfServiceSettingsRegisterPasskey, ''),
          inputNode('passkey', 'passkey_settings_register', 'hidden'),
          inputNode('passkey', 'passkey_create_data', 'hidden', { value: optionsText(ceremony.state.options) }),
        ]);
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
    const existing = keysOf(identity, METHOD)?.credentials ?? [];
    const added = await newKey({
      internal: ctx.internal, register, rp: deps.rp, user: { beforeParsing: true }, existing: { keys: existing, field: 'passkey_settings_register' },
    });
    if ('refused' in added) return added.refused;
    const key = storedKey(added.key, { passwordless: true, displayName: authenticatorName(added.key.aaguid), now: ctx.now });
    // Every passkey brings its own handle: the config keeps the latest, the identifiers all of them.
    const handle = handleText(fromB64std(added.userId)!);
    const identifiers = [...(credentialOf(identity, METHOD)?.identifiers ?? []).filter((i) => i !== handle), handle];
    const config = { credentials: [...existing, key], user_handle: added.userId };
    return keysAdded(deps.identities, { identity, type: METHOD, config, identifiers, now: ctx.now, aal: 'aal1' });
  }

  function removeKey(ctx: MethodContext, identity: IdentityRecord, remove: string): Outcome {
    return keyRemoved(identity, METHOD, remove, {
      now: ctx.now,
      missing: 'You tried to remove a passkey which does not exist.',
      locksOut: () => deps.firstFactorCount(identity) < 2,
    });
  }
}
