import type { MessageDraft } from '../../courier/courier.ts';
import type { IdentityRecord } from '../../identity/identity.ts';
import { isStrictEmail, normalizeIdentifier } from '../../identity/schema/index.ts';
import { MessageId } from '../../text/ids.ts';
import type { MessageId as MessageIdValue } from '../../text/ids.ts';
import { message } from '../../text/message.ts';
import { anchorNode, inputNode, submitNode, type UiNode, type UiNodeGroup } from '../../ui/node.ts';
import { payloadProblems } from '../../x/body-validator.ts';
import type { SecretHmac } from '../../x/hmac.ts';
import { randomAlphanumeric, randomDigits, timingSafeEqualString } from '../../x/random.ts';
import { problemsToMessages } from '../form-messages.ts';
import type { Capability, Changes, CodeChange, Method, MethodContext, Outcome } from '../method.ts';
import { mintCode, type CodeReader, type CodeRecord } from './code-record.ts';

export type ChallengePurpose = 'recovery' | 'verification';
export type ChallengeKind = 'code' | 'link';

export interface ChallengeSettings {
  /** Lifespan of a code or link (`selfservice.methods.<code|link>.config.lifespan`). */
  lifespanMs: number;
  /** Wrong codes allowed per address within a lifespan before the flow must start over. */
  maxAttempts: number;
  /** `selfservice.flows.<purpose>.notify_unknown_recipients`. */
  notifyUnknown: Record<ChallengePurpose, boolean>;
  /** Where mailed links point (`selfservice.methods.link.config.base_url`, else the public URL). */
  linkBase: () => string;
}

export interface ChallengeMethodDeps {
  settings: ChallengeSettings;
  codes: CodeReader;
  identities: {
    get(id: string): Promise<IdentityRecord | null>;
    /** The active identity holding this address (verifiable for verification, recovery address for recovery). */
    findActiveByAddress(purpose: ChallengePurpose, address: string): Promise<IdentityRecord | null>;
  };
  /** The identity as a template sees it (Kratos passes its identity model). */
  identityForTemplate(identity: IdentityRecord): Record<string, unknown>;
  /** One HMAC per purpose, so a recovery code can never pass as a verification code. */
  hmac: Record<ChallengePurpose, SecretHmac>;
}

/** A secret issued for a known identity and address: the code row to write and the message that carries it. */
export interface IssuedChallenge {
  secret: string;
  code: CodeRecord;
  message: MessageDraft;
}

export interface ChallengeIssuer {
  issue(input: {
    purpose: ChallengePurpose; kind: ChallengeKind; flowId: string; identity: IdentityRecord; address: string;
    now: Date; expiresAt?: Date; requestUrl?: string;
  }): Promise<IssuedChallenge>;
  /** The URL a mailed secret opens: `<base>/self-service/<purpose>?flow=<id>&code=|token=<secret>`. */
  secretUrl(purpose: ChallengePurpose, kind: ChallengeKind, flowId: string, secret: string): string;
}

const SENT: Record<ChallengePurpose, Record<ChallengeKind, MessageIdValue>> = {
  recovery: { code: MessageId.InfoSelfServiceRecoveryEmailWithCodeSent, link: MessageId.InfoSelfServiceRecoveryEmailSent },
  verification: { code: MessageId.InfoSelfServiceVerificationEmailWithCodeSent, link: MessageId.InfoSelfServiceVerificationEmailSent },
};
/** A wrong code, or (`token`) a link that is invalid or used. */
const INVALID: Record<ChallengePurpose, Record<'code' | 'token', MessageIdValue>> = {
  recovery: { code: MessageId.ErrorValidationRecoveryCodeInvalidOrAlreadyUsed, token: MessageId.ErrorValidationRecoveryTokenInvalidOrAlreadyUsed },
  verification: { code: MessageId.ErrorValidationVerificationCodeInvalidOrAlreadyUsed, token: MessageId.ErrorValidationVerificationTokenInvalidOrAlreadyUsed },
};
const STATE_FAILURE: Record<ChallengePurpose, MessageIdValue> = {
  recovery: MessageId.ErrorValidationRecoveryStateFailure,
  verification: MessageId.ErrorValidationVerificationStateFailure,
};
const NO_STRATEGY: Record<ChallengePurpose, MessageIdValue> = {
  recovery: MessageId.ErrorValidationRecoveryNoStrategyFound,
  verification: MessageId.ErrorValidationVerificationNoStrategyFound,
};
const CODE_LABEL: Record<ChallengePurpose, MessageIdValue> = {
  recovery: MessageId.InfoNodeLabelRecoveryCode,
  verification: MessageId.InfoNodeLabelVerificationCode,
};
const SUBMIT_SCHEMA = 'methods/code/submit.json';
const SEND_SCHEMA = 'methods/code/send.json';
const CHECK_SCHEMA = 'methods/code/check.json';

type Template = MessageDraft['templateType'];
const templateType = (purpose: ChallengePurpose, kind: ChallengeKind, valid: boolean) =>
  `${purpose}${kind === 'code' ? '_code' : ''}_${valid ? 'valid' : 'invalid'}` as Template;

/** Issues secrets for known identities (flows, admin recovery, verification after sign-up). */
export function createChallengeIssuer(deps: Pick<ChallengeMethodDeps, 'settings' | 'hmac' | 'identityForTemplate'>): ChallengeIssuer {
  const secretUrl: ChallengeIssuer['secretUrl'] = (purpose, kind, flowId, secret) => {
    const base = deps.settings.linkBase();
    const url = new URL(`self-service/${purpose}`, base.endsWith('/') ? base : base + '/');
    // Go's url.Values encodes its keys sorted: code, flow, token.
    const params = [['flow', flowId], [kind === 'code' ? 'code' : 'token', secret]].sort(([a], [b]) => a.localeCompare(b));
    for (const [key, value] of params) url.searchParams.set(key, value);
    return url.toString();
  };
  return {
    secretUrl,
    async issue(input) {
      const expiresAt = input.expiresAt ?? new Date(input.now.getTime() + deps.settings.lifespanMs);
      const { secret, code } = await mintCode(deps.hmac[input.purpose], {
        flowId: input.flowId, purpose: input.purpose, kind: input.kind, via: 'email', address: input.address, identityId: input.identity.id, expiresAt, now: input.now,
      }, input.kind === 'code' ? randomDigits(6) : randomAlphanumeric(32));
      const data: Record<string, unknown> = {
        to: input.address,
        identity: deps.identityForTemplate(input.identity),
        // Kratos truncates: a 90 s lifespan says "1 minute".
        expires_in_minutes: Math.floor((expiresAt.getTime() - input.now.getTime()) / 60000),
        [`${input.purpose}_url`]: secretUrl(input.purpose, input.kind, input.flowId, secret),
        ...(input.requestUrl ? { request_url: input.requestUrl } : {}),
      };
      if (input.kind === 'code') data[`${input.purpose}_code`] = secret;
      return { secret, code, message: { templateType: templateType(input.purpose, input.kind, true), recipient: input.address, data } };
    },
  };
}

/**
 * Recovery and verification by a one-time code (Kratos `strategy/code`) or a single-use link (`strategy/link`), sent
 * by e-mail. Unknown addresses get the same answer as known ones (and, with `notify_unknown_recipients`, an
 * "invalid" mail); secrets are stored as HMACs, bound to the flow and the address; wrong codes are counted per address
 * over the code lifespan, so asking for another code never resets them.
 */
export function createChallengeMethod(kind: ChallengeKind, deps: ChallengeMethodDeps, issuer: ChallengeIssuer): Method {
  const group: UiNodeGroup = kind;

  const capability = (purpose: ChallengePurpose): Capability => {
    const nodes = (ctx: MethodContext): UiNode[] => {
      const address = typeof ctx.flow.values.email === 'string' ? ctx.flow.values.email : undefined;
      if (ctx.flow.state === 'passed_challenge') {
        const label = message(MessageId.InfoNodeLabelContinue);
        return purpose === 'verification' ? [anchorNode(group, 'continue', ctx.flow.continueTo, label, label)] : [];
      }
      if (ctx.flow.state === 'sent_email' && kind === 'code') {
        const prefilled = typeof ctx.flow.values.code === 'string' ? ctx.flow.values.code : undefined;
        // Kratos's code form: recovery codes are digits (pattern, maxlength); verification leaves the input free.
        const shape = purpose === 'recovery' ? { pattern: '[0-9]+', maxlength: 6 } : {};
        return [
          inputNode(group, 'code', 'text', { required: true, ...shape, autocomplete: 'one-time-code', value: prefilled, label: message(CODE_LABEL[purpose]) }),
          inputNode(group, 'method', 'hidden', { value: kind }),
          submitNode(group, 'method', kind, message(MessageId.InfoNodeLabelContinue)),
          submitNode(group, 'email', address ?? '', message(MessageId.InfoNodeLabelResendOTP)),
        ];
      }
      return [
        inputNode(group, 'email', 'email', { required: true, value: address, label: message(MessageId.InfoNodeLabelEmail) }),
        submitNode(group, 'method', kind, message(MessageId.InfoNodeLabelContinue)),
      ];
    };

    async function send(ctx: MethodContext, payload: Record<string, unknown>): Promise<Outcome> {
      // A refused resend keeps the address the flow already mailed (the resend button carries it).
      const keep = typeof ctx.flow.values.email === 'string' ? { email: ctx.flow.values.email } : undefined;
      const problems = payloadProblems(SEND_SCHEMA, { ...payload, method: payload.method ?? kind });
      if (problems.length > 0) return { kind: 'rejected', values: keep, ...problemsToMessages(problems, payload) };
      const address = normalizeIdentifier(String(payload.email), 'email');
      if (!isStrictEmail(address)) {
        return {
          kind: 'rejected', values: keep ?? { email: String(payload.email) },
          fieldMessages: { email: [message(MessageId.ErrorValidationEmail, { value: String(payload.email) })] },
        };
      }
      const now = ctx.now;
      // A new code voids the flow's earlier ones; their failed attempts still count for the address.
      const codes: CodeChange[] = [{ op: 'void_flow', flowId: ctx.flow.id }];
      const owner = await deps.identities.findActiveByAddress(purpose, address);
      const messages: MessageDraft[] = [];
      let identity: Changes['identity'];
      if (owner) {
        const issued = await issuer.issue({ purpose, kind, flowId: ctx.flow.id, identity: owner, address, now });
        codes.push({ op: 'insert', code: issued.code });
        messages.push({ ...issued.message, data: { ...issued.message.data, transient_payload: payload.transient_payload as Record<string, unknown> | undefined } });
        // Kratos marks a verifiable address `sent` once its code or link went out.
        const pending = purpose === 'verification' && owner.verifiableAddresses.some((a) => a.value === address && a.status === 'pending');
        if (pending) {
          identity = {
            record: { ...owner, verifiableAddresses: owner.verifiableAddresses.map((a) => (a.value === address && a.status === 'pending' ? { ...a, status: 'sent' as const, updatedAt: now } : a)) },
            isNew: false,
          };
        }
      } else {
        // The same rows and the same answer for an unknown address; the secret it would carry matches nothing.
        const { code } = await mintCode(deps.hmac[purpose], {
          flowId: ctx.flow.id, purpose, kind, via: 'email', address, identityId: null, expiresAt: new Date(now.getTime() + deps.settings.lifespanMs), now,
        }, kind === 'code' ? randomDigits(6) : randomAlphanumeric(32));
        codes.push({ op: 'insert', code });
        if (deps.settings.notifyUnknown[purpose]) {
          messages.push({ templateType: templateType(purpose, kind, false), recipient: address, data: {} });
        } else {
          // The message a known address gets, rendered and written, then dropped: the same work, nothing sent.
          const data: Record<string, unknown> = {
            identity: {}, expires_in_minutes: Math.floor(deps.settings.lifespanMs / 60000),
            [`${purpose}_url`]: issuer.secretUrl(purpose, kind, ctx.flow.id, randomAlphanumeric(32)),
          };
          if (kind === 'code') data[`${purpose}_code`] = randomDigits(6);
          messages.push({ templateType: templateType(purpose, kind, true), recipient: address, drop: true, data });
        }
      }
      return { kind: 'code_sent', values: { email: address }, messages: [message(SENT[purpose][kind])], changes: { codes, messages, ...(identity ? { identity } : {}) } };
    }

    async function check(ctx: MethodContext, payload: Record<string, unknown>): Promise<Outcome> {
      const values = ctx.flow.values;
      const problems = payloadProblems(CHECK_SCHEMA, payload);
      if (problems.length > 0) return { kind: 'rejected', values, ...problemsToMessages(problems, payload) };
      const submitted = typeof payload.code === 'string' && payload.code !== '' ? payload.code : typeof payload.token === 'string' ? payload.token : '';
      if (submitted === '') return { kind: 'rejected', values, fieldMessages: { code: [message(MessageId.ErrorValidationRequired, { property: 'code' })] } };
      const wrong = INVALID[purpose][typeof payload.code === 'string' && payload.code !== '' ? 'code' : 'token'];
      const invalid = (codes: CodeChange[] = []): Outcome => ({ kind: 'rejected', values: withoutCode(values), messages: [message(wrong)], changes: { codes } });
      const now = ctx.now;
      const row = await deps.codes.latestUnused(ctx.flow.id, purpose);
      if (!row) return invalid();
      const failures = await deps.codes.failuresSince(purpose, row.address, new Date(now.getTime() - deps.settings.lifespanMs));
      // Beyond Kratos's per-flow count: wrong codes for this address within a lifespan lock it, whatever the flow.
      if (failures >= deps.settings.maxAttempts) {
        return { kind: 'exhausted', messages: [message(STATE_FAILURE[purpose])], changes: { codes: [{ op: 'update', id: row.id, patch: { usedAt: now } }] } };
      }
      const matches = timingSafeEqualString(await deps.hmac[purpose].hex(submitted), row.secretHmac);
      if (!matches || row.expiresAt.getTime() < now.getTime() || !row.identityId) {
        return invalid([{ op: 'update', id: row.id, patch: { failedAttempts: row.failedAttempts + 1 } }]);
      }
      const codes: CodeChange[] = [{ op: 'update', id: row.id, patch: { usedAt: now } }];
      const identity = await deps.identities.get(row.identityId);
      if (!identity || identity.state !== 'active') return invalid(codes);
      // Proving control of the address verifies it, on either purpose (Kratos does the same for recovery).
      const address = identity.verifiableAddresses.find((a) => a.via === row.via && a.value === row.address);
      const changes = address && !address.verified
        ? {
          codes,
          identity: {
            record: {
              ...identity,
              verifiableAddresses: identity.verifiableAddresses.map((a) => (a === address ? { ...a, verified: true, verifiedAt: now, status: 'completed' as const, updatedAt: now } : a)),
            },
            isNew: false,
          },
        }
        : { codes };
      const passedMessages = purpose === 'verification' ? [message(MessageId.InfoSelfServiceVerificationSuccessful)] : [];
      return { kind: 'challenge_passed', identityId: identity.id, method: kind, messages: passedMessages, changes };
    }

    return {
      payloadSchema: SUBMIT_SCHEMA,
      // Any issued secret may be checked: an administrator's recovery link works whichever method the flow offers.
      accepts: (method) => method === 'code' || method === 'link',
      nodes: (ctx) => ({ nodes: nodes(ctx) }),
      async submit(ctx, payload) {
        const method = typeof payload.method === 'string' ? payload.method : kind;
        const hasSecret = (typeof payload.code === 'string' && payload.code !== '') || (typeof payload.token === 'string' && payload.token !== '');
        if (ctx.flow.state === 'sent_email' && hasSecret) return check(ctx, payload);
        if (method !== kind) return { kind: 'rejected', values: ctx.flow.values, messages: [message(NO_STRATEGY[purpose])] };
        return send(ctx, payload);
      },
    };
  };

  return { id: kind, group, recovery: capability('recovery'), verification: capability('verification') };
}

/** A wrong code is not shown back in the form. */
function withoutCode(values: Record<string, unknown>): Record<string, unknown> {
  const { code: _code, ...rest } = values;
  return rest;
}
