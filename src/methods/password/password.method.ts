import { setImmediate } from 'node:timers';
import type { PasswordHasher } from '../../hash/index.ts';
import type { DuplicateAccountHints, IdentityInput, PreparedCredentials } from '../../identity/identity-service.ts';
import type { IdentityRecord } from '../../identity/identity.ts';
import type { IdentitySchemaRegistry } from '../../identity/schema/index.ts';
import { normalizeIdentifier } from '../../identity/schema/index.ts';
import { MessageId } from '../../text/ids.ts';
import { message } from '../../text/message.ts';
import { inputNode, submitNode, type UiNode } from '../../ui/node.ts';
import { identifierLabel } from '../../ui/trait-nodes.ts';
import { payloadProblems } from '../../x/body-validator.ts';
import { mergeFieldMessages, problemsToMessages, signUpClash, traitMessages } from '../form-messages.ts';
import type { HeadStart, Method, MethodContext, Outcome } from '../method.ts';
import type { PasswordPolicy } from './policy.ts';

export interface PasswordMethodDeps {
  hasher: Pick<PasswordHasher, 'hash' | 'verify' | 'needsRehash'>;
  policy: PasswordPolicy;
  schemas: IdentitySchemaRegistry;
  /** `security.account_enumeration.mitigate` for sign-ups with a taken identifier (see signUpClash). */
  mitigate?: boolean;
  identities: {
    /**
     * The stored hash behind a (normalised) password identifier and whose it is, in one lookup: a wrong password then
     * takes the same time whether or not the identifier exists (the identity, read while the hash runs, is used only
     * if it matched).
     */
    passwordCredential(identifier: string): Promise<PasswordCredential | null>;
    get(id: string): Promise<IdentityRecord | null>;
    buildNew(input: IdentityInput, prepared: PreparedCredentials): IdentityRecord;
    /** Whether another identity holds one of the record's identifiers or addresses. */
    hasConflicts(record: IdentityRecord): Promise<boolean>;
    /** With login hints on: how the clashing account signs in. */
    duplicateHints?(record: IdentityRecord): Promise<DuplicateAccountHints | undefined>;
  };
}

const LOGIN_SCHEMA = 'methods/password/login.json';
const REGISTRATION_SCHEMA = 'methods/password/registration.json';
const SETTINGS_SCHEMA = 'methods/password/settings.json';

const passwordNode = (autocomplete: 'current-password' | 'new-password') =>
  inputNode('password', 'password', 'password', { required: true, autocomplete, label: message(MessageId.InfoNodeLabelInputPassword) });

const identifierKind = (value: string): 'email' | 'text' => (value.includes('@') ? 'email' : 'text');

const nextTurn = () => new Promise<void>((resolve) => setImmediate(resolve));

async function safeVerify(hasher: PasswordMethodDeps['hasher'], password: string, encoded: string): Promise<boolean> {
  try {
    return await hasher.verify(password, encoded);
  } catch {
    return false;
  }
}

type PasswordCredential = { identityId: string; hashedPassword?: string };
/** What checking a login's password found: the stored hash, and the identity when the password matched it. */
interface PasswordCheck { stored?: string; identity: IdentityRecord | null }

/** A login's payload; `password_identifier` is Kratos's older name for `identifier`. */
const loginPayload = (raw: Record<string, unknown>): Record<string, unknown> => ({ ...raw, identifier: raw.identifier ?? raw.password_identifier });
const normalizedIdentifier = (identifier: string) => normalizeIdentifier(identifier, identifierKind(identifier));

/**
 * A login's password check begun early (see HeadStart): the credential is read while the flow is, and the hash starts
 * once the submission passed the flow's checks and the guard, so it runs while the flow's machine gets to the method.
 */
type PasswordChecker = (password: string, credential: Promise<PasswordCredential | null>) => Promise<PasswordCheck>;

class PasswordCheckHeadStart implements HeadStart {
  readonly #identifier: string;
  readonly #password: string;
  readonly #credential: Promise<PasswordCredential | null>;
  readonly #check: PasswordChecker;
  #checked?: Promise<PasswordCheck>;

  constructor(identifier: string, password: string, credential: Promise<PasswordCredential | null>, check: PasswordChecker) {
    this.#identifier = identifier;
    this.#password = password;
    this.#credential = credential;
    this.#check = check;
    // Thrown away unused when the flow is refused: its failure then belongs to nobody.
    credential.catch(() => undefined);
  }

  begin(): Promise<void> {
    this.#checked ??= this.#check(this.#password, this.#credential);
    this.#checked.catch(() => undefined);
    // By the next turn of the event loop the hash is on its thread (see check).
    return nextTurn();
  }

  /** The check begun for exactly this (normalised) identifier and password, if any. */
  checkFor(identifier: string, password: string): Promise<PasswordCheck> | undefined {
    return identifier === this.#identifier && password === this.#password ? this.#checked : undefined;
  }
}

const hashedPassword = (identity: IdentityRecord | undefined): string | undefined => {
  const config = identity?.credentials.find((c) => c.type === 'password')?.config;
  return typeof config?.hashed_password === 'string' ? config.hashed_password : undefined;
};

/**
 * The password method (Kratos `strategy/password`): login by identifier and password, registration with traits and
 * a password, and changing the password in settings. Hashing happens here, before the flow's transaction.
 */
export function createPasswordMethod(deps: PasswordMethodDeps): Method {
  let dummyHash: Promise<string> | undefined;
  // Verifying against a real hash of the configured algorithm for unknown identifiers keeps the work (and the
  // time) of a failed login the same whether or not the account exists.
  const dummy = () => (dummyHash ??= deps.hasher.hash(crypto.randomUUID()));

  /** The password against the credential found for an identifier: the identity, only when the password matched. */
  const check: PasswordChecker = async (password, credentialRead) => {
    const credential = await credentialRead;
    const stored = credential?.hashedPassword;
    // The identity is read while the hash runs (the answer waits for the hash either way) and used only if it
    // matched. It is read on the next turn of the event loop, once the hash is on its thread: a SQLite read runs on
    // this thread, and started at once it would run before the hash is handed over.
    const [valid, candidate] = stored && credential
      ? await Promise.all([safeVerify(deps.hasher, password, stored), nextTurn().then(() => deps.identities.get(credential.identityId))])
      : [(await safeVerify(deps.hasher, password, await dummy()), false), null];
    return { stored, identity: valid ? candidate : null };
  };

  return {
    id: 'password',
    group: 'password',
    login: {
      aal: 'aal1',
      payloadSchema: LOGIN_SCHEMA,
      nodes(ctx: MethodContext) {
        if (ctx.flow.refresh && ctx.identity) {
          // Re-authentication: the identity is known, its identifier travels hidden (Kratos
          // PopulateLoginMethodFirstFactorRefresh); nothing to show when it has no password.
          const identifier = ctx.identity.credentials.find((c) => c.type === 'password')?.identifiers[0];
          if (!identifier || !hashedPassword(ctx.identity)) return { nodes: [] };
          return {
            nodes: [
              inputNode('default', 'identifier', 'hidden', { value: identifier }),
              passwordNode('current-password'),
              submitNode('password', 'method', 'password', message(MessageId.InfoSelfServiceLogin)),
            ],
          };
        }
        const identifier = typeof ctx.flow.values.identifier === 'string' ? ctx.flow.values.identifier : undefined;
        const label = identifierLabel(deps.schemas.require(deps.schemas.defaultId), message(MessageId.InfoNodeLabelID));
        return {
          nodes: [
            inputNode('default', 'identifier', 'text', { required: true, value: identifier, label }),
            passwordNode('current-password'),
            submitNode('password', 'method', 'password', message(MessageId.InfoSelfServiceLoginPassword)),
          ],
        };
      },
      headStart(body) {
        const payload = loginPayload(body);
        if (payloadProblems(LOGIN_SCHEMA, payload).length > 0) return undefined;
        const identifier = normalizedIdentifier(String(payload.identifier));
        return new PasswordCheckHeadStart(identifier, String(payload.password), deps.identities.passwordCredential(identifier), check);
      },
      async submit(ctx, raw): Promise<Outcome> {
        const payload = loginPayload(raw);
        const values = typeof payload.identifier === 'string' ? { identifier: payload.identifier } : {};
        const problems = payloadProblems(LOGIN_SCHEMA, payload);
        if (problems.length > 0) return { kind: 'rejected', values, ...problemsToMessages(problems, payload) };
        const identifier = normalizedIdentifier(String(payload.identifier));
        const password = String(payload.password);
        const begun = ctx.headStart instanceof PasswordCheckHeadStart ? ctx.headStart.checkFor(identifier, password) : undefined;
        const { stored, identity } = await (begun ?? check(password, deps.identities.passwordCredential(identifier)));
        if (!identity || !stored) return { kind: 'rejected', values, messages: [message(MessageId.ErrorValidationInvalidCredentials)] };
        if (identity.state !== 'active') return { kind: 'rejected', values, messages: [message(MessageId.ErrorValidationIdentityDisabled)] };
        const outcome: Outcome = { kind: 'authenticated', identityId: identity.id, method: 'password', aal: 'aal1', identity };
        if (!deps.hasher.needsRehash(stored)) return outcome;
        // Imported or outdated hashes move to the configured algorithm on the first successful login.
        const rehashed = await deps.hasher.hash(password);
        const record: IdentityRecord = {
          ...identity,
          credentials: identity.credentials.map((c) => (c.type === 'password'
            ? { ...c, config: { ...c.config, hashed_password: rehashed }, updatedAt: ctx.now }
            : c)),
        };
        return { ...outcome, changes: { identity: { record, isNew: false } } };
      },
    },
    registration: {
      payloadSchema: REGISTRATION_SCHEMA,
      nodes() {
        return { nodes: [passwordNode('new-password'), submitNode('password', 'method', 'password', message(MessageId.InfoSelfServiceRegistration))] };
      },
      async submit(_ctx, payload): Promise<Outcome> {
        const schema = deps.schemas.require(deps.schemas.defaultId);
        const traits = (payload.traits ?? {}) as Record<string, unknown>;
        const values = { traits };
        // Every problem at once: payload shape, traits, then the password policy (Kratos reports them together).
        const problems = problemsToMessages(payloadProblems(REGISTRATION_SCHEMA, payload), payload);
        const traitErrors = schema.validateTraits(traits);
        const fieldMessages = mergeFieldMessages(problems.fieldMessages, traitMessages(traitErrors));
        if (typeof payload.password === 'string' && payload.password !== '' && traitErrors.length === 0) {
          const violation = await deps.policy.check(payload.password, schema.extract(traits).identifiers.password);
          if (violation) (fieldMessages.password ??= []).push(violation);
        }
        if (Object.keys(fieldMessages).length > 0 || problems.messages.length > 0) {
          return { kind: 'rejected', values, fieldMessages, messages: problems.messages };
        }
        const hashed = await deps.hasher.hash(String(payload.password));
        const record = deps.identities.buildNew({ schema_id: schema.id, traits }, { password: { hashed_password: hashed } });
        // A clash is found after the hash: a taken identifier costs what a new one does (account enumeration by timing).
        if (await deps.identities.hasConflicts(record)) return signUpClash({ mitigate: deps.mitigate === true, duplicateHints: deps.identities.duplicateHints }, record, 'password', values);
        return { kind: 'registered', identityId: record.id, method: 'password', changes: { identity: { record, isNew: true } } };
      },
    },
    settings: {
      payloadSchema: SETTINGS_SCHEMA,
      nodes() {
        const nodes: UiNode[] = [passwordNode('new-password'), submitNode('password', 'method', 'password', message(MessageId.InfoNodeLabelSave))];
        return { nodes };
      },
      async submit(ctx, payload): Promise<Outcome> {
        const identity = ctx.identity!;
        // Kratos checks the session's age before anything else, and replays the payload after re-authentication.
        if (!ctx.privileged) return { kind: 'needs_refresh' };
        const problems = payloadProblems(SETTINGS_SCHEMA, payload);
        if (problems.length > 0) return { kind: 'rejected', ...problemsToMessages(problems, payload) };
        const password = String(payload.password);
        const identifiers = deps.schemas.require(identity.schemaId).extract(identity.traits).identifiers.password;
        const violation = await deps.policy.check(password, identifiers);
        if (violation) return { kind: 'rejected', fieldMessages: { password: [violation] } };
        const current = hashedPassword(identity);
        if (current && (await safeVerify(deps.hasher, password, current))) {
          return { kind: 'rejected', fieldMessages: { password: [message(MessageId.ErrorValidationPasswordNewSameAsOld)] } };
        }
        const hashed = await deps.hasher.hash(password);
        const now = ctx.now;
        const existing = identity.credentials.find((c) => c.type === 'password');
        const credentials = existing
          ? identity.credentials.map((c) => (c === existing ? { ...c, config: { ...c.config, hashed_password: hashed }, identifiers, updatedAt: now } : c))
          : [...identity.credentials, { id: crypto.randomUUID(), type: 'password' as const, identifiers, config: { hashed_password: hashed }, version: 0, createdAt: now, updatedAt: now }];
        const record: IdentityRecord = { ...identity, credentials, updatedAt: now };
        if (await deps.identities.hasConflicts(record)) return { kind: 'rejected', messages: [message(MessageId.ErrorValidationDuplicateCredentials)] };
        return { kind: 'updated', method: 'password', changes: { identity: { record, isNew: false } } };
      },
    },
  };
}
