import type { EntityManager } from '@mikro-orm/core';
import { RecoveryAddress, SelfServiceCode, VerifiableAddress } from '../../../entities/index.ts';
import type { Config } from '../../../config/types.ts';
import type { Outcome, UiMessage } from '../../../machines/flow-types.ts';
import { loadIdentityRecord } from '../../persistence/identity-repository.ts';
import { isStrictEmail, normalizeIdentifier } from '../../identity/schema/index.ts';
import type { IssuedSession, SessionService } from '../../session/index.ts';
import { anchorNode, inputNode, submitNode, type UiNode, type UiNodeGroup } from '../../ui/node.ts';
import { uiText } from '../../ui/messages.ts';
import { payloadProblems } from '../../x/body-validator.ts';
import { parseDuration } from '../../x/duration.ts';
import type { SecretHmac } from '../../x/hmac.ts';
import { randomAlphanumeric, randomDigits, timingSafeEqualString } from '../../x/random.ts';
import { msg, problemsToMessages } from '../method.ts';

export type ChallengePurpose = 'recovery' | 'verification';
export type ChallengeKind = 'code' | 'link';

/** What the courier needs to queue a message in the same flush as the flow change (outbox). */
export type ChallengeTemplate = `${ChallengePurpose}${'' | '_code'}_${'valid' | 'invalid'}`;

export interface MessageQueue {
  enqueue(em: EntityManager, draft: { templateType: ChallengeTemplate; recipient: string; data: Record<string, unknown> }): unknown;
}

export interface ChallengeContext {
  em: EntityManager;
  flowId: string;
  flowType: 'api' | 'browser';
  /** Values remembered by the flow (the address a code was sent to). */
  values: Record<string, unknown>;
  /** Browser flows: the CSRF token the follow-up settings flow is bound to. */
  csrfToken?: string;
  onSessionIssued(issued: IssuedSession): void;
}

export interface ChallengeNodeContext {
  state: string;
  values: Record<string, unknown>;
  fieldMessages: Record<string, UiMessage[]>;
  /** Verification: where the "continue" link leads after success. */
  continueUrl?: string;
}

export interface ChallengeMethod {
  id: ChallengeKind;
  purpose: ChallengePurpose;
  nodes(ctx: ChallengeNodeContext): UiNode[];
  send(ctx: ChallengeContext, payload: Record<string, unknown>): Promise<Outcome>;
  check(ctx: ChallengeContext, payload: Record<string, unknown>): Promise<Outcome>;
  /**
   * Starts a flow for a known address with the secret already mailed (verification after registration or an
   * address change, or `require_verified_address`); persist only. Returns the new flow's id.
   */
  startFor(em: EntityManager, input: { identityId: string; address: string; flowType: 'api' | 'browser'; csrfToken?: string }): Promise<string>;
  /** An administrator's out-of-band code or link for an identity (persist only); returns the secret. */
  issue(em: EntityManager, input: { flowId: string; identityId: string; address: string; kind: ChallengeKind; expiresAt: Date }): Promise<string>;
}

export interface ChallengeMethodDeps {
  config: Config;
  courier: MessageQueue;
  hmac: SecretHmac;
  sessions: SessionService;
  publicBaseUrl: () => string;
  /** Recovery hands over to a privileged settings flow of the recovered identity; returns its id. */
  startSettingsFlow(em: EntityManager, identityId: string, flowType: 'api' | 'browser', csrfToken?: string): Promise<string>;
  /** Creates a flow of this purpose already in `sent_email` for `address` (persist only); returns its id. */
  startIssuedFlow(em: EntityManager, input: { purpose: ChallengePurpose; flowType: 'api' | 'browser'; csrfToken?: string; address: string; expiresAt?: Date }): Promise<string>;
  now?: () => Date;
}

const SENT: Record<ChallengePurpose, Record<ChallengeKind, number>> = {
  recovery: { code: 1060003, link: 1060002 },
  verification: { code: 1080003, link: 1080001 },
};
const INVALID: Record<ChallengePurpose, number> = { recovery: 4060006, verification: 4070006 };
const STATE_FAILURE: Record<ChallengePurpose, number> = { recovery: 4060002, verification: 4070003 };
const CODE_LABEL: Record<ChallengePurpose, number> = { recovery: 1070010, verification: 1070011 };

/**
 * Recovery and verification by a one-time code (default) or a single-use link sent by e-mail.
 * Unknown addresses get the same answer as known ones (and, with `notify_unknown_recipients`, an "invalid"
 * mail); codes are stored as HMACs, bound to the flow and the address, and failed attempts are counted per
 * address over the code lifespan so asking for another code never resets them.
 */
export function createChallengeMethod(purpose: ChallengePurpose, kind: ChallengeKind, deps: ChallengeMethodDeps): ChallengeMethod {
  const flowConfig = deps.config.selfservice.flows[purpose];
  const methodConfig = kind === 'code' ? deps.config.selfservice.methods.code.config : deps.config.selfservice.methods.link.config;
  const lifespanMs = parseDuration(methodConfig?.lifespan ?? '1h');
  const maxAttempts = deps.config.selfservice.methods.code.config?.max_submissions ?? 5;
  const now = () => deps.now?.() ?? new Date();
  const group: UiNodeGroup = kind;

  const templateType = (valid: boolean): ChallengeTemplate => `${purpose}${kind === 'code' ? '_code' : ''}_${valid ? 'valid' : 'invalid'}`;

  async function findOwner(em: EntityManager, address: string): Promise<string | undefined> {
    const row = purpose === 'recovery'
      ? await em.findOne(RecoveryAddress, { via: 'email', value: address })
      : await em.findOne(VerifiableAddress, { via: 'email', value: address });
    if (!row) return undefined;
    const identity = await loadIdentityRecord(em, row.identity);
    // A disabled identity is treated like an unknown one: no mail that would let it back in.
    return identity && identity.state === 'active' ? identity.id : undefined;
  }

  function secretUrl(flowId: string, secret: string): string {
    const base = (kind === 'link' ? (methodConfig as { base_url?: string } | undefined)?.base_url : undefined) ?? deps.publicBaseUrl();
    const url = new URL(`self-service/${purpose}`, base.endsWith('/') ? base : base + '/');
    url.searchParams.set('flow', flowId);
    url.searchParams.set(kind === 'code' ? 'code' : 'token', secret);
    return url.toString();
  }

  return {
    id: kind,
    purpose,
    nodes(ctx: ChallengeNodeContext): UiNode[] {
      const address = typeof ctx.values.email === 'string' ? ctx.values.email : undefined;
      const withMessages = (node: UiNode, name: string) => ({ ...node, messages: [...node.messages, ...(ctx.fieldMessages[name] ?? [])] }) as UiNode;
      if (ctx.state === 'passed_challenge') {
        return ctx.continueUrl ? [anchorNode(group, 'continue', ctx.continueUrl, uiText(1070009))] : [];
      }
      if (ctx.state === 'sent_email' && kind === 'code') {
        return [
          withMessages(inputNode(group, 'code', 'text', { required: true, pattern: '[0-9]+', maxlength: 6, autocomplete: 'one-time-code', label: uiText(CODE_LABEL[purpose]) }), 'code'),
          submitNode(group, 'method', kind, uiText(1070005)),
          withMessages(submitNode(group, 'email', address ?? '', uiText(1070008)), 'email'),
        ];
      }
      return [
        withMessages(inputNode(group, 'email', 'email', { required: true, autocomplete: 'email', value: address, label: uiText(1070007) }), 'email'),
        submitNode(group, 'method', kind, uiText(1070005)),
      ];
    },

    async send(ctx: ChallengeContext, payload: Record<string, unknown>): Promise<Outcome> {
      // A refused resend keeps the address the flow already mailed (the resend button carries it).
      const keep = typeof ctx.values.email === 'string' ? ctx.values : undefined;
      const problems = payloadProblems('methods/code/send.json', payload);
      if (problems.length > 0) return { kind: 'rejected', values: keep, ...problemsToMessages(problems, payload) };
      const address = normalizeIdentifier(String(payload.email), 'email');
      if (!isStrictEmail(address)) {
        return { kind: 'rejected', values: keep ?? { email: String(payload.email) }, fieldMessages: { email: [msg(4000004, { format: 'email', value: String(payload.email) })] } };
      }
      const at = now();
      // A new code voids the flow's earlier ones; their failed attempts still count for the address.
      await ctx.em.nativeUpdate(SelfServiceCode, { flowId: ctx.flowId, usedAt: null }, { usedAt: at, updatedAt: at });
      const owner = await findOwner(ctx.em, address);
      const secret = kind === 'code' ? randomDigits(6) : randomAlphanumeric(32);
      ctx.em.create(SelfServiceCode, {
        id: crypto.randomUUID(), flowId: ctx.flowId, purpose, kind, via: 'email', address, identityId: owner ?? null,
        secretHmac: await deps.hmac.hex(secret), failedAttempts: 0, expiresAt: new Date(at.getTime() + lifespanMs),
        usedAt: null, createdAt: at, updatedAt: at,
      });
      if (owner) {
        const identity = await loadIdentityRecord(ctx.em, owner);
        const url = secretUrl(ctx.flowId, secret);
        const data: Record<string, unknown> = {
          to: address,
          identity: identity ? { id: identity.id, traits: identity.traits } : undefined,
          expires_in_minutes: Math.round(lifespanMs / 60000),
          transient_payload: payload.transient_payload,
        };
        if (kind === 'code') data[`${purpose}_code`] = secret;
        data[`${purpose}_url`] = url;
        await deps.courier.enqueue(ctx.em, { templateType: templateType(true), recipient: address, data });
      } else if (flowConfig.notify_unknown_recipients) {
        await deps.courier.enqueue(ctx.em, { templateType: templateType(false), recipient: address, data: { to: address } });
      }
      return { kind: 'code_sent', values: { email: address }, messages: [msg(SENT[purpose][kind])] };
    },

    async startFor(em, input) {
      const flowId = await deps.startIssuedFlow(em, { purpose, flowType: input.flowType, csrfToken: input.csrfToken, address: input.address });
      const at = now();
      const secret = await this.issue(em, { flowId, identityId: input.identityId, address: input.address, kind, expiresAt: new Date(at.getTime() + lifespanMs) });
      const identity = await loadIdentityRecord(em, input.identityId);
      const data: Record<string, unknown> = {
        to: input.address,
        identity: identity ? { id: identity.id, traits: identity.traits } : undefined,
        expires_in_minutes: Math.round(lifespanMs / 60000),
        [`${purpose}_url`]: secretUrl(flowId, secret),
      };
      if (kind === 'code') data[`${purpose}_code`] = secret;
      await deps.courier.enqueue(em, { templateType: templateType(true), recipient: input.address, data });
      return flowId;
    },

    async issue(em, input) {
      const at = now();
      const secret = input.kind === 'code' ? randomDigits(6) : randomAlphanumeric(32);
      em.create(SelfServiceCode, {
        id: crypto.randomUUID(), flowId: input.flowId, purpose, kind: input.kind, via: 'email', address: input.address,
        identityId: input.identityId, secretHmac: await deps.hmac.hex(secret), failedAttempts: 0, expiresAt: input.expiresAt,
        usedAt: null, createdAt: at, updatedAt: at,
      });
      return secret;
    },

    async check(ctx: ChallengeContext, payload: Record<string, unknown>): Promise<Outcome> {
      const problems = payloadProblems('methods/code/check.json', payload);
      if (problems.length > 0) return { kind: 'rejected', values: ctx.values, ...problemsToMessages(problems, payload) };
      const submitted = typeof payload.code === 'string' && payload.code !== '' ? payload.code : typeof payload.token === 'string' ? payload.token : '';
      const invalid = (): Outcome => ({ kind: 'rejected', values: ctx.values, messages: [msg(INVALID[purpose])] });
      if (submitted === '') return { kind: 'rejected', values: ctx.values, fieldMessages: { code: [msg(4000002, { property: 'code' })] } };
      const at = now();
      const row = await ctx.em.findOne(SelfServiceCode, { flowId: ctx.flowId, purpose, usedAt: null }, { orderBy: { createdAt: 'desc' } });
      if (!row) return invalid();
      const window = new Date(at.getTime() - lifespanMs);
      const recent = await ctx.em.find(SelfServiceCode, { purpose, address: row.address, createdAt: { $gte: window } }, { fields: ['failedAttempts'] });
      const failures = recent.reduce((sum, r) => sum + r.failedAttempts, 0);
      const exhausted = (): Outcome => {
        row.usedAt = at;
        row.updatedAt = at;
        return { kind: 'exhausted', messages: [msg(STATE_FAILURE[purpose])] };
      };
      if (failures >= maxAttempts) return exhausted();
      const matches = timingSafeEqualString(await deps.hmac.hex(submitted), row.secretHmac);
      if (!matches || row.expiresAt.getTime() < at.getTime() || !row.identityId) {
        row.failedAttempts += 1;
        row.updatedAt = at;
        return failures + 1 >= maxAttempts ? exhausted() : invalid();
      }
      row.usedAt = at;
      row.updatedAt = at;
      const address = await ctx.em.findOne(VerifiableAddress, { identity: row.identityId, via: row.via, value: row.address });
      if (address && !address.verified) {
        Object.assign(address, { verified: true, verifiedAt: at, status: 'completed', updatedAt: at });
      }
      if (purpose === 'verification') {
        return { kind: 'challenge_passed', identityId: row.identityId, messages: [msg(1080002)] };
      }
      const issued = await deps.sessions.issue(ctx.em, {
        identityId: row.identityId,
        methods: [{ method: kind === 'code' ? 'code_recovery' : 'link_recovery', aal: 'aal1' }],
      });
      ctx.onSessionIssued(issued);
      const settingsFlowId = await deps.startSettingsFlow(ctx.em, row.identityId, ctx.flowType, ctx.csrfToken);
      return { kind: 'challenge_passed', identityId: row.identityId, sessionId: issued.session.id, continueFlowId: settingsFlowId, messages: [] };
    },
  };
}
