import type { EntityManager } from '@mikro-orm/core';
import { CredentialIdentifier } from '../../../entities/index.ts';
import type { Config } from '../../../config/types.ts';
import type { PasswordHasher } from '../../hash/index.ts';
import type { IdentitySchemaRegistry } from '../../identity/schema/index.ts';
import { normalizeIdentifier } from '../../identity/schema/index.ts';
import type { IdentityService } from '../../identity/identity-service.ts';
import { loadIdentityRecord } from '../../persistence/identity-repository.ts';
import { persistIdentityRecord } from '../../persistence/identity-repository.ts';
import { KratosError } from '../../errors/kratos-error.ts';
import { inputNode, submitNode, type UiNode } from '../../ui/node.ts';
import { uiText } from '../../ui/messages.ts';
import { payloadProblems } from '../../x/body-validator.ts';
import { coerceBySchema } from '../../x/form-body.ts';
import type { IdentityRecord } from '../../identity/identity.ts';
import type { Method, MethodSubmitContext, NodeContext, Outcome } from '../method.ts';
import { msg, problemsToMessages } from '../method.ts';
import type { PasswordPolicy } from './policy.ts';
import { traitsRejection, withFieldMessages } from '../profile/profile.method.ts';

export interface PasswordMethodDeps {
  config: Config;
  hasher: PasswordHasher;
  policy: PasswordPolicy;
  schemas: IdentitySchemaRegistry;
  identities: IdentityService;
  /** Ends the identity's other sessions after a password change (persist only). */
  revokeOtherSessions(em: EntityManager, identityId: string, exceptSessionId?: string): Promise<void>;
}

function loginIdentifierKind(value: string): 'email' | 'text' {
  return value.includes('@') ? 'email' : 'text';
}

/**
 * The password method: login by identifier + password, registration with traits + password, settings
 * password change. It reads and persists through the request's EntityManager; it never flushes.
 */
export function createPasswordMethod(deps: PasswordMethodDeps): Method {
  let dummyHash: Promise<string> | undefined;
  // Verifying against a real hash of the configured algorithm for unknown identifiers keeps the work (and the
  // time) of a failed login the same whether or not the account exists.
  const dummy = () => (dummyHash ??= deps.hasher.hash(crypto.randomUUID()));

  const passwordNode = (autocomplete: 'current-password' | 'new-password', fieldMessages: NodeContext['fieldMessages']) =>
    withFieldMessages(inputNode('password', 'password', 'password', { required: true, autocomplete, label: uiText(1070001) }), fieldMessages);

  async function findPasswordIdentity(em: EntityManager, identifier: string): Promise<IdentityRecord | null> {
    const normalized = normalizeIdentifier(identifier, loginIdentifierKind(identifier));
    const row = await em.findOne(CredentialIdentifier, { type: 'password', identifier: normalized });
    return row ? loadIdentityRecord(em, row.identity) : null;
  }

  return {
    id: 'password',
    login: {
      nodes(ctx: NodeContext): UiNode[] {
        const identifier = typeof ctx.values.identifier === 'string' ? ctx.values.identifier : undefined;
        return [
          withFieldMessages(inputNode('default', 'identifier', 'text', { required: true, value: identifier, label: uiText(1070004), autocomplete: 'username' }), ctx.fieldMessages),
          passwordNode('current-password', ctx.fieldMessages),
          submitNode('password', 'method', 'password', uiText(1010022)),
        ];
      },
      async submit(ctx: MethodSubmitContext, raw: Record<string, unknown>): Promise<Outcome> {
        const payload: Record<string, unknown> = { ...raw, identifier: raw.identifier ?? raw.password_identifier };
        const values = typeof payload.identifier === 'string' ? { identifier: payload.identifier } : {};
        const problems = payloadProblems('methods/password/login.json', payload);
        if (problems.length > 0) return { kind: 'rejected', values, ...problemsToMessages(problems, payload) };
        const identifier = String(payload.identifier);
        const password = String(payload.password);
        const identity = await findPasswordIdentity(ctx.em, identifier);
        const credential = identity?.credentials.find((c) => c.type === 'password');
        const stored = typeof credential?.config.hashed_password === 'string' ? credential.config.hashed_password : undefined;
        const valid = stored ? await safeVerify(deps.hasher, password, stored) : (await safeVerify(deps.hasher, password, await dummy()), false);
        if (!identity || !credential || !stored || !valid) {
          return { kind: 'rejected', values, messages: [msg(4000006)] };
        }
        if (identity.state !== 'active') return { kind: 'rejected', values, messages: [msg(4010011)] };
        if (deps.hasher.needsRehash(stored)) {
          // Imported or outdated hashes move to the configured algorithm on the first successful login.
          credential.config = { ...credential.config, hashed_password: await deps.hasher.hash(password) };
          credential.updatedAt = new Date();
          await persistIdentityRecord(ctx.em, identity, false);
        }
        return { kind: 'authenticated', identityId: identity.id, method: 'password', aal: 'aal1' };
      },
    },
    registration: {
      nodes(ctx: NodeContext): UiNode[] {
        return [
          passwordNode('new-password', ctx.fieldMessages),
          submitNode('password', 'method', 'password', uiText(1040001)),
        ];
      },
      async submit(ctx: MethodSubmitContext, raw: Record<string, unknown>): Promise<Outcome> {
        const schema = deps.schemas.require(ctx.schemaId ?? deps.schemas.defaultId);
        const traits = coerceBySchema(raw.traits, (schema.raw as { properties?: { traits?: unknown } }).properties?.traits) as Record<string, unknown> | undefined;
        const payload: Record<string, unknown> = { ...raw, traits };
        const values = { traits: traits ?? {} };
        const problems = payloadProblems('methods/password/registration.json', payload);
        if (problems.length > 0) return { kind: 'rejected', values, ...problemsToMessages(problems, payload) };
        const traitErrors = schema.validateTraits(traits);
        if (traitErrors.length > 0) return traitsRejection(traitErrors, values);
        const password = String(payload.password);
        const identifiers = schema.extract(traits).identifiers.password;
        const violation = await deps.policy.check(password, identifiers);
        if (violation) return { kind: 'rejected', values, fieldMessages: { password: [msg(violation.id, violation.context)] } };
        const hashed = await deps.hasher.hash(password);
        const record = deps.identities.buildNew({ schema_id: schema.id, traits: traits! }, { password: { hashed_password: hashed } });
        try {
          await deps.identities.assertNoConflicts(ctx.em, record);
        } catch (err) {
          if (err instanceof KratosError && err.status === 409) return { kind: 'rejected', values, messages: [msg(4000007)] };
          throw err;
        }
        await persistIdentityRecord(ctx.em, record, true);
        const unverifiedAddresses = record.verifiableAddresses.filter((a) => !a.verified && a.via === 'email').map((a) => a.value);
        return { kind: 'registered', identityId: record.id, method: 'password', unverifiedAddresses };
      },
    },
    settings: {
      nodes(ctx: NodeContext): UiNode[] {
        return [
          passwordNode('new-password', ctx.fieldMessages),
          submitNode('password', 'method', 'password', uiText(1070003)),
        ];
      },
      async submit(ctx: MethodSubmitContext, payload: Record<string, unknown>): Promise<Outcome> {
        const identity = ctx.identity!;
        const problems = payloadProblems('methods/password/settings.json', payload);
        if (problems.length > 0) return { kind: 'rejected', ...problemsToMessages(problems, payload) };
        if (!ctx.privileged) throw refreshRequired();
        const password = String(payload.password);
        const schema = deps.schemas.require(identity.schemaId);
        const identifiers = schema.extract(identity.traits).identifiers.password;
        const violation = await deps.policy.check(password, identifiers);
        if (violation) return { kind: 'rejected', fieldMessages: { password: [msg(violation.id, violation.context)] } };
        const existing = identity.credentials.find((c) => c.type === 'password');
        const current = typeof existing?.config.hashed_password === 'string' ? existing.config.hashed_password : undefined;
        if (current && (await safeVerify(deps.hasher, password, current))) {
          return { kind: 'rejected', fieldMessages: { password: [msg(4000039)] } };
        }
        const hashed = await deps.hasher.hash(password);
        const now = new Date();
        if (existing) {
          existing.config = { ...existing.config, hashed_password: hashed };
          existing.updatedAt = now;
          existing.identifiers = identifiers;
        } else {
          identity.credentials.push({ id: crypto.randomUUID(), type: 'password', identifiers, config: { hashed_password: hashed }, version: 0, createdAt: now, updatedAt: now });
        }
        identity.updatedAt = now;
        try {
          await deps.identities.assertNoConflicts(ctx.em, identity);
        } catch (err) {
          if (err instanceof KratosError && err.status === 409) return { kind: 'rejected', messages: [msg(4000007)] };
          throw err;
        }
        await persistIdentityRecord(ctx.em, identity, false);
        if (deps.config.session.revoke_other_sessions_on_password_change !== false) {
          await deps.revokeOtherSessions(ctx.em, identity.id, ctx.sessionId);
        }
        return { kind: 'updated', method: 'password' };
      },
    },
  };
}

async function safeVerify(hasher: PasswordHasher, password: string, encoded: string): Promise<boolean> {
  try {
    return await hasher.verify(password, encoded);
  } catch {
    return false;
  }
}

/** Thrown from a settings method when the session is too old for a privileged change. */
export class RefreshRequired extends Error {}
export const refreshRequired = () => new RefreshRequired('session_refresh_required');

