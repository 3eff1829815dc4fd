/**
 * The `webauthn` method (Kratos `strategy/webauthn`): security keys, browser flows only.
 *
 * - Settings: add a key (named by the user; passwordless when `passwordless` is on, else a second factor) or remove
 *   one — never the last passwordless key that is the identity's last first factor.
 * - Login with `passwordless: false` (aal2): the session identity's second-factor keys, also for aal2 refresh.
 * - Login with `passwordless: true` (aal1): identifier first, then the identity's passwordless keys on the method's own
 *   screen (`screen: 'webauthn'`); a refresh shows the session identity's passwordless keys right away.
 * - Registration with `passwordless: true`: traits plus a named security key.
 *
 * The challenge of every ceremony lives in the flow's internal state (this method's slice) and is dropped once used.
 */
import type { IdentityRecord } from '../../identity/identity.ts';
import { normalizeIdentifier } from '../../identity/schema/index.ts';
import { MessageId } from '../../text/ids.ts';
import { message, type UiMessage } from '../../text/message.ts';
import { inputNode, submitNode, type UiNode } from '../../ui/node.ts';
import { identifierLabel } from '../../ui/trait-nodes.ts';
import { payloadProblems } from '../../x/body-validator.ts';
import { problemsToMessages } from '../form-messages.ts';
import type { Aal, Json, Method, MethodContext, NodesResult, Outcome } from '../method.ts';
import {
  assertionOptions, ceremonyInternal, creationOptions, descriptorOf, keptCeremony, keptOrNewCeremony, newSession, type Ceremony, type CeremonyState,
} from './ceremony.ts';
import { DEFAULT_TIMEOUT_UV_DISCOURAGED, type WebauthnRp } from './config.ts';
import { b64std, fromB64std, uuidBytes } from './encoding.ts';
import { credentialOf, keysOf, writeCredentialsConfig, type StoredWebauthnCredential } from './credentials.ts';
import { webauthnScriptNode, webauthnScriptRoute } from './script.ts';
import {
  ceremonyNodes, generic, keyRemoved, keysAdded, loginAnswer, newKey, nonEmpty, optionsText, PARSE_LOGIN, registerIdentity, rejected,
  removeButtons, required, signIn, storedKey, text, type CommonDeps, type WebauthnIdentities,
} from './shared.ts';

export interface WebauthnMethodDeps extends CommonDeps {
  rp: WebauthnRp;
  /** `selfservice.methods.webauthn.config.passwordless`. */
  passwordless: boolean;
  identities: WebauthnIdentities;
}

const METHOD = 'webauthn';
const LOGIN_SCHEMA = 'methods/webauthn/login.json';
const REGISTRATION_SCHEMA = 'methods/webauthn/registration.json';
const SETTINGS_SCHEMA = 'methods/webauthn/settings.json';
/** Kratos's WebAuthn config asks for user verification "discouraged" in every ceremony (go-webauthn then waits 120 s). */
const UV = 'discouraged';
const TIMEOUT = DEFAULT_TIMEOUT_UV_DISCOURAGED;

const identifierKind = (value: string): 'email' | 'text' => (value.includes('@') ? 'email' : 'text');
const keysForAal = (keys: StoredWebauthnCredential[], aal: Aal) => keys.filter((k) => (aal === 'aal1' ? k.is_passwordless : !k.is_passwordless));

function triggerNode(name: 'webauthn_login_trigger' | 'webauthn_register_trigger', options: Json, label: UiMessage): UiNode {
  const json = optionsText(options);
  const trigger = name === 'webauthn_login_trigger' ? 'oryWebAuthnLogin' : 'oryWebAuthnRegistration';
  return inputNode('webauthn', name, 'button', { value: json, onclick: `window.${trigger}(${json})`, onclickTrigger: trigger, label });
}

const hiddenResult = (name: 'webauthn_login' | 'webauthn_register') => inputNode('webauthn', name, 'hidden', { value: '' });

/** The identity the login is bound to: the session's, on a refresh or at aal2. */
const boundIdentity = (ctx: MethodContext) => (ctx.identity && (ctx.flow.refresh || ctx.flow.requestedAal === 'aal2') ? ctx.identity : undefined);

/** An identity's passwordless keys and their user handle. */
function passwordlessKeys(identity: IdentityRecord): { identity: IdentityRecord; userHandle: string | null; keys: StoredWebauthnCredential[] } {
  const config = keysOf(identity, METHOD);
  return { identity, userHandle: config?.user_handle ?? null, keys: keysForAal(config?.credentials ?? [], 'aal1') };
}

/**
 * The WebAuthn method. `login.aal` is `aal1` with `passwordless` (keys replace the password), else `aal2`.
 */
export function createWebauthnMethod(deps: WebauthnMethodDeps): Method {
  const loginAal: Aal = deps.passwordless ? 'aal1' : 'aal2';
  const script = (state: CeremonyState) => webauthnScriptNode(deps.scriptUrl(), state.nonce);
  const noLoginStrategy = () => rejected([message(MessageId.ErrorValidationLoginNoStrategyFound)]);

  /** A login ceremony for these keys: the one in internal state when there is one, else a new challenge. */
  function loginCeremony(internal: Json | undefined, userHandle: string | null, keys: StoredWebauthnCredential[]): Ceremony {
    return keptOrNewCeremony(internal, () => {
      const session = newSession({
        rpId: deps.rp.id, userId: userHandle ? fromB64std(userHandle)! : null, allowed: keys.map((k) => fromB64std(k.id)!), userVerification: UV,
      });
      return { session, options: assertionOptions({ session, timeout: TIMEOUT, allow: keys.map(descriptorOf) }) };
    });
  }

  /** Second factor (aal2) or refresh: the bound identity's keys of the flow's AAL, identifier hidden. */
  function boundLoginNodes(ctx: MethodContext, identity: IdentityRecord): NodesResult {
    const config = keysOf(identity, METHOD);
    const keys = keysForAal(config?.credentials ?? [], ctx.flow.requestedAal);
    if (!config || keys.length === 0) return { nodes: [] };
    const ceremony = loginCeremony(ctx.internal, config.user_handle, keys);
    const identifier = credentialOf(identity, METHOD)?.identifiers[0] ?? '';
    return ceremonyNodes(ceremony, [
      inputNode('default', 'identifier', 'hidden', { value: identifier }),
      hiddenResult('webauthn_login'),
      script(ceremony.state),
      triggerNode('webauthn_login_trigger', ceremony.state.options, message(MessageId.InfoSelfServiceLoginWebAuthn)),
    ]);
  }

  /** Passwordless step 0: the identifier and a plain submit button; no challenge yet. */
  function identifierNodes(ctx: MethodContext): NodesResult {
    const value = typeof ctx.flow.values.identifier === 'string' ? ctx.flow.values.identifier : '';
    const label = identifierLabel(deps.schemas.require(deps.schemas.defaultId), message(MessageId.InfoNodeLabelID));
    return {
      nodes: [
        inputNode('default', 'identifier', 'text', { value, required: true, autocomplete: 'username webauthn', label }),
        submitNode('webauthn', 'method', METHOD, message(MessageId.InfoSelfServiceLoginWebAuthn)),
      ],
    };
  }

  /** The identity's passwordless keys, for the identifier a user typed. */
  async function passwordlessKeysOf(identifier: string): Promise<{ identity: IdentityRecord; userHandle: string | null; keys: StoredWebauthnCredential[] } | undefined> {
    const identity = await deps.identities.findByCredentialIdentifier(METHOD, normalizeIdentifier(identifier, identifierKind(identifier)));
    return identity ? passwordlessKeys(identity) : undefined;
  }

  /** Passwordless step 1 (the method's own screen): identifier hidden, the challenge for the identity's keys. */
  async function passwordlessScreen(ctx: MethodContext): Promise<NodesResult> {
    const identifier = typeof ctx.flow.values.identifier === 'string' ? ctx.flow.values.identifier : '';
    const kept = keptCeremony(ctx.internal);
    let ceremony: Ceremony;
    if (kept) {
      ceremony = { state: kept, fresh: false };
    } else {
      // The challenge is issued by the identifier submit; should it be gone, issue another for the same identity.
      const owner = identifier === '' ? undefined : await passwordlessKeysOf(identifier);
      if (!owner || owner.keys.length === 0) return identifierNodes(ctx);
      ceremony = loginCeremony(undefined, owner.userHandle, owner.keys);
    }
    return ceremonyNodes(ceremony, [
      inputNode('default', 'identifier', 'hidden', { value: identifier, required: true }),
      script(ceremony.state),
      triggerNode('webauthn_login_trigger', ceremony.state.options, message(MessageId.InfoSelfServiceLoginContinue)),
      hiddenResult('webauthn_login'),
    ]);
  }

  /** Kratos loginAuthenticate: the assertion against the identity's keys (of the AAL; all of them on refresh). */
  function authenticate(ctx: MethodContext, identity: IdentityRecord, aal: Aal, assertion: string, values: Record<string, unknown>): Promise<Outcome> {
    // Kratos records the configured level, not the key's.
    return signIn(identity, { type: METHOD, method: METHOD, aal: loginAal, rp: deps.rp, now: ctx.now, values }, (config) => {
      const answer = loginAnswer(assertion, ctx.internal, values);
      if ('refused' in answer) return answer.refused;
      return {
        parsed: answer.parsed,
        session: answer.session,
        userHandle: fromB64std(config.user_handle ?? '') ?? new Uint8Array(),
        keys: ctx.flow.refresh ? config.credentials : keysForAal(config.credentials, aal),
        discoverable: false,
      };
    });
  }

  /** A registration ceremony (registration and settings): the cached one, else a new challenge and options. */
  function registrationCeremony(internal: Json | undefined, userId: Uint8Array, exclude: StoredWebauthnCredential[]): Ceremony {
    return keptOrNewCeremony(internal, () => {
      const session = newSession({ rpId: deps.rp.id, userId, userVerification: UV });
      const options = creationOptions({
        rp: deps.rp,
        user: { id: userId, name: deps.rp.name, displayName: deps.rp.name },
        session,
        timeout: TIMEOUT,
        exclude: exclude.map(descriptorOf),
        authenticatorSelection: { userVerification: UV },
      });
      return { session, options };
    });
  }

  /** A key's name, the hidden result, the trigger with the creation options and the script (registration and settings). */
  const registrationNodes = (ceremony: Ceremony, label: UiMessage): UiNode[] => [
    inputNode('webauthn', 'webauthn_register_displayname', 'text', { value: '', label: message(MessageId.InfoSelfServiceSettingsRegisterWebAuthnDisplayName) }),
    hiddenResult('webauthn_register'),
    triggerNode('webauthn_register_trigger', ceremony.state.options, label),
    script(ceremony.state),
  ];

  const method: Method = {
    id: METHOD,
    group: 'webauthn',
    routes: [webauthnScriptRoute],
    login: {
      aal: loginAal,
      payloadSchema: LOGIN_SCHEMA,
      claims: (body) => nonEmpty(body.webauthn_login),
      async nodes(ctx: MethodContext): Promise<NodesResult> {
        // Kratos hydrates WebAuthn login forms for browser flows only.
        if (ctx.flow.type !== 'browser' || ctx.flow.requestedAal !== loginAal) return { nodes: [] };
        if (ctx.flow.screen === METHOD && deps.passwordless) return passwordlessScreen(ctx);
        const bound = boundIdentity(ctx);
        if (bound) return boundLoginNodes(ctx, bound);
        return deps.passwordless ? identifierNodes(ctx) : { nodes: [] };
      },
      async submit(ctx, payload): Promise<Outcome> {
        if (ctx.flow.type !== 'browser' || ctx.flow.requestedAal !== loginAal) return noLoginStrategy();
        const identifier = text(payload.identifier);
        const values: Record<string, unknown> = identifier !== '' ? { identifier } : {};
        const problems = payloadProblems(LOGIN_SCHEMA, payload);
        if (problems.length > 0) return { kind: 'rejected', values, ...problemsToMessages(problems, payload) };
        const assertion = text(payload.webauthn_login);
        if (assertion === '' && payload.method !== METHOD) return noLoginStrategy();
        // Kratos's schema: with method=webauthn or an assertion, the identifier is required (the forms send it hidden).
        if (identifier === '') return rejected([], { values, fieldMessages: { identifier: [required('identifier')] } });
        const bound = boundIdentity(ctx);

        if (!deps.passwordless) {
          // Second factor: always the session's identity.
          if (!bound) return noLoginStrategy();
          if (assertion === '') return rejected([generic(PARSE_LOGIN)], { values });
          return authenticate(ctx, bound, 'aal2', assertion, values);
        }

        // Passwordless. A refresh proves the session's identity (Kratos looks the identifier up; the form carries
        // that identity's identifier hidden, so this only refuses a tampered one).
        const owner = bound ? passwordlessKeys(bound) : await passwordlessKeysOf(identifier);
        if (!owner) return rejected([message(MessageId.ErrorValidationSuchNoWebAuthnUser)], { values });
        if (assertion === '') {
          if (owner.keys.length === 0) return rejected([message(MessageId.ErrorValidationSuchNoWebAuthnUser)], { values });
          const { state } = loginCeremony(undefined, owner.userHandle, owner.keys);
          return {
            kind: 'next_screen',
            screen: METHOD,
            values: { identifier },
            messages: [message(MessageId.InfoSelfServiceLoginWebAuthnPasswordless)],
            internal: ceremonyInternal(state),
          };
        }
        return authenticate(ctx, owner.identity, 'aal1', assertion, values);
      },
    },
    settings: {
      payloadSchema: SETTINGS_SCHEMA,
      claims: (body) => nonEmpty(body.webauthn_register) || nonEmpty(body.webauthn_remove),
      nodes(ctx: MethodContext): NodesResult {
        const identity = ctx.identity;
        // Kratos: browser flows only (API settings flows get no WebAuthn nodes).
        if (ctx.flow.type !== 'browser' || !identity) return { nodes: [] };
        const keys = keysOf(identity, METHOD)?.credentials ?? [];
        const count = deps.firstFactorCount(identity);
        // The last passwordless key of an identity without another first factor stays.
        const removes = removeButtons(METHOD, keys, MessageId.InfoSelfServiceSettingsRemoveWebAuthn, (k) => k.is_passwordless && count < 2);
        const ceremony = registrationCeremony(ctx.internal, settingsUserHandle(identity), keys);
        return ceremonyNodes(ceremony, [...removes, ...registrationNodes(ceremony, message(MessageId.InfoSelfServiceSettingsRegisterWebAuthn))]);
      },
      async submit(ctx, payload): Promise<Outcome> {
        const identity = ctx.identity;
        if (ctx.flow.type !== 'browser' || !identity) return rejected([message(MessageId.ErrorValidationSettingsNoStrategyFound)]);
        const problems = payloadProblems(SETTINGS_SCHEMA, payload);
        if (problems.length > 0) return { kind: 'rejected', ...problemsToMessages(problems, payload) };
        const register = text(payload.webauthn_register);
        const remove = text(payload.webauthn_remove);
        const displayName = text(payload.webauthn_register_displayname);
        if (register !== '' && displayName === '') {
          return rejected([], { fieldMessages: { webauthn_register_displayname: [required('webauthn_register_displayname')] } });
        }
        if (register === '' && remove === '') return rejected([message(MessageId.ErrorValidationSettingsNoStrategyFound)]);
        // Kratos checks the session's age after decoding; the change is applied after re-authentication.
        if (!ctx.privileged) return { kind: 'needs_refresh' };
        // A new key wins over a removal when both are sent.
        return register !== '' ? addKey(ctx, identity, register, displayName) : removeKey(ctx, identity, remove);
      },
    },
  };

  /**
   * The user handle of keys added in settings. Kratos uses the identity id's bytes and overwrites the stored handle
   * with it — which locks out a key registered at sign-up (random handle) that returns its handle at login. idflow
   * keeps the identity's existing handle instead, so all of its keys share one; the identity id's bytes otherwise.
   */
  function settingsUserHandle(identity: IdentityRecord): Uint8Array {
    const stored = keysOf(identity, METHOD)?.user_handle;
    return (stored ? fromB64std(stored) : undefined) ?? uuidBytes(identity.id);
  }

  async function addKey(ctx: MethodContext, identity: IdentityRecord, register: string, displayName: string): Promise<Outcome> {
    const userHandle = settingsUserHandle(identity);
    const existing = keysOf(identity, METHOD)?.credentials ?? [];
    const added = await newKey({
      internal: ctx.internal, register, rp: deps.rp, user: { handle: userHandle, beforeParsing: false }, existing: { keys: existing, field: 'webauthn_register' },
    });
    if ('refused' in added) return added.refused;
    const identifiers = deps.schemas.require(identity.schemaId).extract(identity.traits).identifiers.webauthn;
    if (identifiers.length === 0) return rejected([message(MessageId.ErrorValidationIdentifierMissing)]);
    const key = storedKey(added.key, { passwordless: deps.passwordless, displayName, now: ctx.now });
    const config = { credentials: [...existing, key], user_handle: b64std(userHandle) };
    return keysAdded(deps.identities, { identity, type: METHOD, config, identifiers, now: ctx.now, aal: loginAal });
  }

  function removeKey(ctx: MethodContext, identity: IdentityRecord, remove: string): Outcome {
    return keyRemoved(identity, METHOD, remove, {
      now: ctx.now,
      missing: 'You tried to remove a WebAuthn credential which does not exist.',
      locksOut: (key) => key.is_passwordless && deps.firstFactorCount(identity) < 2,
    });
  }

  if (deps.passwordless) {
    method.registration = {
      payloadSchema: REGISTRATION_SCHEMA,
      claims: (body) => nonEmpty(body.webauthn_register),
      nodes(ctx: MethodContext): NodesResult {
        // Kratos: browser registration flows, and only with passwordless on.
        if (ctx.flow.type !== 'browser') return { nodes: [] };
        // The user handle is a fresh random UUID's bytes, not the identity id (which does not exist yet).
        const ceremony = registrationCeremony(ctx.internal, uuidBytes(crypto.randomUUID()), []);
        return ceremonyNodes(ceremony, registrationNodes(ceremony, message(MessageId.InfoSelfServiceRegistrationRegisterWebAuthn)));
      },
      async submit(ctx, payload): Promise<Outcome> {
        if (ctx.flow.type !== 'browser') return rejected([message(MessageId.ErrorValidationRegistrationNoStrategyFound)]);
        const schema = deps.schemas.require(deps.schemas.defaultId);
        return registerIdentity(deps, ctx, payload, {
          method: METHOD,
          schema,
          payloadSchema: REGISTRATION_SCHEMA,
          register: text(payload.webauthn_register),
          userIdBeforeParsing: false,
          credentials: (key, userId, values) => {
            if (schema.extract(values.traits).identifiers.webauthn.length === 0) return rejected([message(MessageId.ErrorValidationIdentifierMissing)], { values });
            const stored = storedKey(key, { passwordless: true, displayName: text(payload.webauthn_register_displayname), now: ctx.now });
            return { prepared: { webauthn: writeCredentialsConfig({ credentials: [stored], user_handle: userId }) } };
          },
        });
      },
    };
  }

  return method;
}

export { resolveOrigins, relyingParty, type WebauthnRp } from './config.ts';
export { createPasskeyMethod, passkeyDisplayNameFields, type PasskeyMethodDeps } from './passkey.method.ts';
export { WEBAUTHN_JS, WEBAUTHN_JS_INTEGRITY, WEBAUTHN_SCRIPT_PATH, webauthnScriptRoute } from './script.ts';
export { webauthnSecondFactor, firstFactorKeys } from './credentials.ts';
