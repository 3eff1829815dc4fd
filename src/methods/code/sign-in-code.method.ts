import type { MessageDraft } from '../../courier/courier.ts';
import { isPhoneRecipient, isValidRecipient } from '../../courier/recipient.ts';
import type { DuplicateAccountHints, IdentityInput, PreparedCredentials } from '../../identity/identity-service.ts';
import type { IdentityRecord } from '../../identity/identity.ts';
import { normalizeIdentifier, type IdentitySchemaRegistry } from '../../identity/schema/index.ts';
import type { UiMessage } from '../../../machines/flow-types.ts';
import { MessageId } from '../../text/ids.ts';
import { message } from '../../text/message.ts';
import { inputNode, submitNode, type UiNode } from '../../ui/node.ts';
import { identifierLabel } from '../../ui/trait-nodes.ts';
import type { SecretHmac } from '../../x/hmac.ts';
import { timingSafeEqualString } from '../../x/random.ts';
import { sameJson } from '../../x/same-json.ts';
import { duplicateAccountMessage, problemsToMessages, traitMessages } from '../form-messages.ts';
import { payloadProblems } from '../../x/body-validator.ts';
import type { Capability, CodeChange, Json, Method, MethodContext, Outcome } from '../method.ts';
import { mintCode, type CodeReader, type CodeRecord } from './code-record.ts';

export interface SignInCodeSettings {
  /** `selfservice.methods.code.config.lifespan`. */
  lifespanMs: number;
  /** `selfservice.methods.code.config.max_submissions`: code submissions per flow; the next one is refused. */
  maxSubmissions: number;
  /** `passwordless_enabled`: a code is a first factor (login at aal1, sign-up). */
  passwordless: boolean;
  /** `mfa_enabled`: a code is a second factor (login at aal2). */
  mfa: boolean;
  /** `security.account_enumeration.mitigate`: unknown identifiers get the answer known ones get. */
  mitigate: boolean;
}

export interface SignInCodeDeps {
  settings: SignInCodeSettings;
  codes: CodeReader;
  schemas: IdentitySchemaRegistry;
  identities: {
    get(id: string): Promise<IdentityRecord | null>;
    /** The identity whose `code` credential has this (normalised) identifier. */
    findByCodeIdentifier(identifier: string): Promise<IdentityRecord | null>;
    buildNew(input: IdentityInput, prepared: PreparedCredentials): IdentityRecord;
    hasConflicts(record: IdentityRecord): Promise<boolean>;
    duplicateHints?(record: IdentityRecord): Promise<DuplicateAccountHints | undefined>;
  };
  identityForTemplate(identity: IdentityRecord): Record<string, unknown>;
  hmac: { login: SecretHmac; registration: SecretHmac };
}

interface CodeAddress {
  channel: 'email' | 'sms';
  address: string;
}

/** This method's internal state in a flow: code submissions so far (Kratos `submit_count`). */
interface SubmitCount {
  submits: number;
}

const LOGIN_SCHEMA = 'methods/code/login.json';
const REGISTRATION_SCHEMA = 'methods/code/registration.json';
const TOO_OFTEN = 'The request was submitted too often. Please request another code.';

const str = (value: unknown): string => (typeof value === 'string' ? value : '');

/** The addresses an identity's `code` credential holds (derived from the schema's `code.identifier` traits). */
export function codeAddresses(identity: IdentityRecord | undefined): CodeAddress[] {
  const config = identity?.credentials.find((c) => c.type === 'code')?.config as { addresses?: CodeAddress[] } | undefined;
  const addresses = (config?.addresses ?? []).filter((a) => typeof a?.address === 'string' && a.address !== '');
  return [...addresses].sort((a, b) => a.address.localeCompare(b.address) || a.channel.localeCompare(b.channel));
}

/** An identifier as the credential stores it: e-mails lower-cased and folded, phone numbers E.164. */
function lookupKeys(identifier: string): string[] {
  const trimmed = identifier.trim();
  if (trimmed.includes('@')) return [normalizeIdentifier(trimmed, 'email')];
  // A phone number is stored as E.164; anything else normalises to itself there.
  return [...new Set([normalizeIdentifier(trimmed, 'text'), normalizeIdentifier(trimmed, 'sms')])];
}

/** The code form once a code is out: the code, continue, resend (Kratos strategy/code's `sent_email` nodes). */
function codeFormNodes(label: UiMessage): UiNode[] {
  return [
    inputNode('code', 'method', 'hidden', { value: 'code' }),
    inputNode('code', 'code', 'text', { required: true, autocomplete: 'one-time-code', label }),
    submitNode('code', 'method', 'code', message(MessageId.InfoNodeLabelContinue)),
    submitNode('code', 'resend', 'code', message(MessageId.InfoNodeLabelResendOTP)),
  ];
}

/**
 * Sign-in and sign-up with a one-time code (Kratos `strategy/code` with `passwordless_enabled` or `mfa_enabled`):
 * the identifier (or, as a second factor, one of the identity's addresses) gets a 6-digit code by the address's
 * channel; the code proves it. Codes are single-use, stored as HMACs, bound to the flow, the identity and the address;
 * a new code voids the flow's earlier ones; every code submission counts, and the one after `max_submissions` is
 * refused whatever it carries. With account-enumeration mitigation an unknown identifier gets the same answer as a
 * known one, and nothing is sent.
 */
export function createSignInCode(deps: SignInCodeDeps): Pick<Method, 'login' | 'registration'> {
  const { settings } = deps;
  const expiry = (now: Date) => new Date(now.getTime() + settings.lifespanMs);
  const expiresInMinutes = Math.floor(settings.lifespanMs / 60000);

  /** Counts a code submission; past the limit the submission is refused before any code is looked at. */
  function countSubmission(ctx: MethodContext): { internal: Json; exceeded: boolean } {
    const submits = ((ctx.internal as SubmitCount | undefined)?.submits ?? 0) + 1;
    return { internal: { submits }, exceeded: submits > settings.maxSubmissions };
  }

  /** The flow's unused code whose HMAC matches, unexpired and (when given) issued to `accept`. */
  async function findCode(ctx: MethodContext, purpose: 'login' | 'registration', code: string, accept: (row: CodeRecord) => boolean): Promise<CodeRecord | undefined> {
    const hmac = await deps.hmac[purpose].hex(code);
    let found: CodeRecord | undefined;
    for (const row of await deps.codes.unusedForFlow(ctx.flow.id, purpose)) {
      if (timingSafeEqualString(hmac, row.secretHmac) && !found) found = row;
    }
    if (!found || found.expiresAt.getTime() < ctx.now.getTime() || !accept(found)) return undefined;
    return found;
  }

  /** Proving control of an address by its code verifies it (Kratos marks the matching verifiable address). */
  function verifyAddress(identity: IdentityRecord, row: CodeRecord, now: Date): IdentityRecord | undefined {
    const address = identity.verifiableAddresses.find((a) => a.via === row.via && a.value === row.address);
    if (!address || address.verified) return undefined;
    return {
      ...identity,
      verifiableAddresses: identity.verifiableAddresses.map((a) => (a === address ? { ...a, verified: true, verifiedAt: now, status: 'completed' as const, updatedAt: now } : a)),
    };
  }

  const login: Capability & { aal: 'aal1' | 'aal2' } = {
    aal: settings.mfa ? 'aal2' : 'aal1',
    payloadSchema: LOGIN_SCHEMA,
    // A second factor's address buttons post `address` without `method` (Kratos accepts that while mfa is on).
    claims: (body) => settings.mfa && typeof body.address === 'string' && body.address !== '',
    nodes(ctx) {
      const secondFactor = ctx.flow.requestedAal === 'aal2';
      if (ctx.flow.state === 'sent_email') {
        const identifier = str(ctx.flow.values.identifier);
        const hidden = secondFactor
          ? inputNode('code', 'identifier', 'hidden', { value: identifier, label: message(MessageId.InfoSelfServiceLoginAAL2CodeAddress, { address: identifier, channel: str(ctx.flow.values.channel) || 'email' }) })
          : inputNode('default', 'identifier', 'hidden', { value: identifier });
        return { nodes: [hidden, ...codeFormNodes(message(MessageId.InfoNodeLabelLoginCode))] };
      }
      if (secondFactor) {
        return {
          nodes: codeAddresses(ctx.identity).map((a) => submitNode('code', 'address', a.address, message(MessageId.InfoSelfServiceLoginAAL2CodeAddress, { address: a.address, channel: a.channel }))),
        };
      }
      const label = identifierLabel(deps.schemas.require(deps.schemas.defaultId), message(MessageId.InfoNodeLabelID));
      const identifier = typeof ctx.flow.values.identifier === 'string' ? ctx.flow.values.identifier : undefined;
      return {
        nodes: [
          inputNode('default', 'identifier', 'text', { required: true, value: identifier, label }),
          submitNode('code', 'method', 'code', message(MessageId.InfoSelfServiceLoginCode)),
        ],
      };
    },
    async submit(ctx, payload) {
      const problems = payloadProblems(LOGIN_SCHEMA, payload);
      if (problems.length > 0) {
        const identifier = str(payload.identifier) || str(ctx.flow.values.identifier);
        return { kind: 'rejected', values: { ...ctx.flow.values, identifier }, ...problemsToMessages(problems, payload) };
      }
      const resend = payload.resend === 'code';
      if (ctx.flow.state === 'sent_email' && !resend) return checkLoginCode(ctx, payload);
      return sendLoginCode(ctx, payload);
    },
  };

  async function sendLoginCode(ctx: MethodContext, payload: Record<string, unknown>): Promise<Outcome> {
    const secondFactor = ctx.flow.requestedAal === 'aal2';
    const submitted = str(payload.address) || str(payload.identifier) || (payload.resend === 'code' ? str(ctx.flow.values.identifier) : '');
    const keep = { identifier: submitted };
    if (submitted.trim() === '') {
      return { kind: 'rejected', values: keep, fieldMessages: { identifier: [message(MessageId.ErrorValidationRequired, { property: 'identifier' })] } };
    }
    const keys = lookupKeys(submitted);
    let identity: IdentityRecord | null;
    if (secondFactor || ctx.flow.refresh) {
      // A second factor or a re-authentication is for the session's identity, to one of its own addresses.
      identity = ctx.identity ?? null;
      const own = codeAddresses(ctx.identity).some((a) => keys.includes(a.address));
      if (!identity || !own) {
        const id = secondFactor ? MessageId.ErrorValidationLoginAddressUnknown : MessageId.ErrorValidationNoCodeUser;
        return { kind: 'rejected', values: keep, messages: [message(id)] };
      }
    } else {
      identity = await firstIdentity(keys);
    }
    const address = codeAddresses(identity ?? undefined).find((a) => keys.includes(a.address));
    const now = ctx.now;
    const codes: CodeChange[] = [{ op: 'void_flow', flowId: ctx.flow.id }];
    const messages: MessageDraft[] = [];
    const sentTo = address?.address ?? keys[0];
    if (identity && identity.state === 'active' && address) {
      const { secret, code } = await mintCode(deps.hmac.login, {
        flowId: ctx.flow.id, purpose: 'login', kind: 'code', via: address.channel, address: address.address, identityId: identity.id, expiresAt: expiry(now), now,
      });
      codes.push({ op: 'insert', code });
      messages.push({
        templateType: 'login_code_valid', recipient: address.address, channel: address.channel,
        data: {
          login_code: secret, identity: deps.identityForTemplate(identity), expires_in_minutes: expiresInMinutes,
          transient_payload: payload.transient_payload as Record<string, unknown> | undefined,
        },
      });
    } else if (settings.mitigate) {
      // The same rows, the same mail rendered and written (then dropped: nothing is sent) and the same answer for an
      // unknown identifier; the code it stands for matches nothing.
      // A known identifier's identity is loaded after its lookup: load one nobody has, for the same reads.
      await deps.identities.get(crypto.randomUUID());
      const channel = isValidRecipient(sentTo) ? 'email' as const : isPhoneRecipient(sentTo) ? 'sms' as const : undefined;
      const { secret, code } = await mintCode(deps.hmac.login, { flowId: ctx.flow.id, purpose: 'login', kind: 'code', via: channel ?? 'email', address: sentTo, identityId: null, expiresAt: expiry(now), now });
      codes.push({ op: 'insert', code });
      if (channel) {
        messages.push({
          templateType: 'login_code_valid', recipient: sentTo, channel, drop: true,
          data: { login_code: secret, identity: {}, expires_in_minutes: expiresInMinutes },
        });
      }
    } else {
      return { kind: 'rejected', values: keep, messages: [message(MessageId.ErrorValidationNoCodeUser)] };
    }
    const sent = secondFactor || ctx.flow.refresh ? MessageId.InfoSelfServiceLoginCodeSentForAuthenticatedUser : MessageId.InfoSelfServiceLoginCodeSent;
    return {
      kind: 'code_sent',
      values: { identifier: sentTo, ...(address ? { channel: address.channel } : {}) },
      messages: [message(sent)],
      changes: { codes, messages },
    };
  }

  async function checkLoginCode(ctx: MethodContext, payload: Record<string, unknown>): Promise<Outcome> {
    const values = { identifier: str(ctx.flow.values.identifier), ...(ctx.flow.values.channel ? { channel: ctx.flow.values.channel } : {}) };
    const code = str(payload.code);
    if (code === '') return { kind: 'rejected', values, fieldMessages: { code: [message(MessageId.ErrorValidationRequired, { property: 'code' })] } };
    const count = countSubmission(ctx);
    if (count.exceeded) return { kind: 'rejected', values, messages: [message(MessageId.ErrorValidationGeneric, { reason: TOO_OFTEN })], internal: count.internal };
    const invalid = (changes?: CodeChange[]): Outcome => ({
      kind: 'rejected', values, messages: [message(MessageId.ErrorValidationLoginCodeInvalidOrAlreadyUsed)], internal: count.internal, changes: { codes: changes },
    });
    // The identifier travels hidden in the form; another one than the code went to matches no code.
    const submitted = str(payload.identifier) || str(payload.address);
    if (submitted !== '' && !lookupKeys(submitted).includes(values.identifier)) {
      if (settings.mitigate || ctx.flow.requestedAal === 'aal2') return invalid();
      const other = await firstIdentity(lookupKeys(submitted));
      return other ? invalid() : { kind: 'rejected', values, messages: [message(MessageId.ErrorValidationNoCodeUser)], internal: count.internal };
    }
    const bound = ctx.flow.requestedAal === 'aal2' || ctx.flow.refresh ? ctx.identity?.id : undefined;
    const row = await findCode(ctx, 'login', code, (r) => r.identityId !== null && (!bound || r.identityId === bound));
    if (!row) return invalid();
    const identity = await deps.identities.get(row.identityId!);
    const used: CodeChange[] = [{ op: 'update', id: row.id, patch: { usedAt: ctx.now } }];
    if (!identity || identity.state !== 'active') return invalid(used);
    const verified = verifyAddress(identity, row, ctx.now);
    return {
      kind: 'authenticated', identityId: identity.id, method: 'code', aal: login.aal, internal: count.internal, identity,
      changes: { codes: used, ...(verified ? { identity: { record: verified, isNew: false } } : {}) },
    };
  }

  async function firstIdentity(keys: string[]): Promise<IdentityRecord | null> {
    for (const key of keys) {
      const found = await deps.identities.findByCodeIdentifier(key);
      if (found) return found;
    }
    return null;
  }

  const registration: Capability = {
    payloadSchema: REGISTRATION_SCHEMA,
    nodes(ctx) {
      if (ctx.flow.state === 'sent_email') return { nodes: codeFormNodes(message(MessageId.InfoNodeLabelRegistrationCode)) };
      return { nodes: [submitNode('code', 'method', 'code', message(MessageId.InfoSelfServiceRegistrationRegisterCode))] };
    },
    async submit(ctx, payload) {
      const resend = payload.resend === 'code';
      if (ctx.flow.state === 'sent_email' && !resend) return checkRegistrationCode(ctx, payload);
      return sendRegistrationCode(ctx, payload);
    },
  };

  /** Validates the traits and builds the identity they describe; its `code` credential names the addresses. */
  function draftIdentity(traits: Record<string, unknown>): { record?: IdentityRecord; rejected?: Outcome } {
    const values = { traits };
    if (Object.keys(traits).length === 0) return { rejected: { kind: 'rejected', values, messages: [message(MessageId.ErrorValidationRequired, { property: 'traits' })] } };
    const schema = deps.schemas.require(deps.schemas.defaultId);
    const errors = schema.validateTraits(traits);
    if (errors.length > 0) return { rejected: { kind: 'rejected', values, fieldMessages: traitMessages(errors) } };
    const record = deps.identities.buildNew({ schema_id: schema.id, traits }, {});
    if (codeAddresses(record).length === 0) return { rejected: { kind: 'rejected', values, messages: [message(MessageId.ErrorValidationIdentifierMissing)] } };
    return { record };
  }

  async function sendRegistrationCode(ctx: MethodContext, payload: Record<string, unknown>): Promise<Outcome> {
    const traits = (payload.traits ?? ctx.flow.values.traits ?? {}) as Record<string, unknown>;
    const draft = draftIdentity(traits);
    if (!draft.record) return draft.rejected!;
    const now = ctx.now;
    const codes: CodeChange[] = [{ op: 'void_flow', flowId: ctx.flow.id }];
    const messages: MessageDraft[] = [];
    // One code per address (Kratos mails each); any of them proves the sign-up. Duplicates are found after the code.
    for (const address of codeAddresses(draft.record)) {
      const { secret, code } = await mintCode(deps.hmac.registration, {
        flowId: ctx.flow.id, purpose: 'registration', kind: 'code', via: address.channel, address: address.address, identityId: null, expiresAt: expiry(now), now,
      });
      codes.push({ op: 'insert', code });
      messages.push({
        templateType: 'registration_code_valid', recipient: address.address, channel: address.channel,
        data: {
          traits, registration_code: secret, expires_in_minutes: expiresInMinutes,
          transient_payload: payload.transient_payload as Record<string, unknown> | undefined,
        },
      });
    }
    return { kind: 'code_sent', values: { traits }, messages: [message(MessageId.InfoSelfServiceRegistrationEmailWithCodeSent)], changes: { codes, messages } };
  }

  async function checkRegistrationCode(ctx: MethodContext, payload: Record<string, unknown>): Promise<Outcome> {
    const expected = (ctx.flow.values.traits ?? {}) as Record<string, unknown>;
    const values = { traits: expected };
    const code = str(payload.code);
    if (code === '') return { kind: 'rejected', values, fieldMessages: { code: [message(MessageId.ErrorValidationRequired, { property: 'code' })] } };
    const traits = (payload.traits ?? {}) as Record<string, unknown>;
    if (!sameJson(traits, expected)) return { kind: 'rejected', values, messages: [message(MessageId.ErrorValidationTraitsMismatch)] };
    const count = countSubmission(ctx);
    if (count.exceeded) return { kind: 'rejected', values, messages: [message(MessageId.ErrorValidationGeneric, { reason: TOO_OFTEN })], internal: count.internal };
    const draft = draftIdentity(traits);
    if (!draft.record) return { ...draft.rejected!, internal: count.internal };
    const addresses = codeAddresses(draft.record).map((a) => a.address);
    const row = await findCode(ctx, 'registration', code, (r) => addresses.includes(r.address));
    if (!row) return { kind: 'rejected', values, messages: [message(MessageId.ErrorValidationRegistrationCodeInvalidOrAlreadyUsed)], internal: count.internal };
    const record = verifyAddress(draft.record, row, ctx.now) ?? draft.record;
    const used: CodeChange[] = [{ op: 'update', id: row.id, patch: { usedAt: ctx.now } }];
    if (await deps.identities.hasConflicts(record)) {
      return { kind: 'rejected', values, messages: [duplicateAccountMessage(await deps.identities.duplicateHints?.(record))], internal: count.internal, changes: { codes: used } };
    }
    return { kind: 'registered', identityId: record.id, method: 'code', internal: count.internal, changes: { identity: { record, isNew: true }, codes: used } };
  }

  return {
    login: settings.passwordless || settings.mfa ? login : undefined,
    registration: settings.passwordless ? registration : undefined,
  };
}
