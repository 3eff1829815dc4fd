import type { TraitError, IdentitySchemaRegistry } from '../../identity/schema/index.ts';
import type { IdentityService } from '../../identity/identity-service.ts';
import { KratosError } from '../../errors/kratos-error.ts';
import { persistIdentityRecord } from '../../persistence/identity-repository.ts';
import { inputNode, submitNode, type UiNode } from '../../ui/node.ts';
import { uiText } from '../../ui/messages.ts';
import { traitNodes } from '../../ui/trait-nodes.ts';
import { traitErrorText, pointerToNodeName } from '../../ui/trait-errors.ts';
import { payloadProblems } from '../../x/body-validator.ts';
import { coerceBySchema } from '../../x/form-body.ts';
import type { UiMessage } from '../../../machines/flow-types.ts';
import type { Method, MethodSubmitContext, NodeContext, Outcome } from '../method.ts';
import { msg, problemsToMessages } from '../method.ts';
import { refreshRequired } from '../password/password.method.ts';

export function withFieldMessages<N extends UiNode>(node: N, fieldMessages: Record<string, UiMessage[]>): N {
  const name = node.attributes.node_type === 'input' ? node.attributes.name : undefined;
  const messages = name ? fieldMessages[name] : undefined;
  return messages && messages.length > 0 ? { ...node, messages: [...node.messages, ...messages] } : node;
}

/** Trait validation errors as node messages (`/traits/email` → node `traits.email`). */
export function traitsRejection(errors: TraitError[], values: Record<string, unknown>): Outcome {
  const fieldMessages: Record<string, UiMessage[]> = {};
  for (const error of errors) {
    const text = traitErrorText(error);
    (fieldMessages[pointerToNodeName(error.pointer)] ??= []).push({ id: text.id, text: text.text, type: text.type, ...(text.context ? { context: text.context } : {}) });
  }
  return { kind: 'rejected', values, fieldMessages };
}

export interface ProfileMethodDeps {
  schemas: IdentitySchemaRegistry;
  identities: IdentityService;
}

function sameAddresses(a: Array<{ via: string; value: string }>, b: Array<{ via: string; value: string }>): boolean {
  const key = (x: { via: string; value: string }) => `${x.via}:${x.value}`;
  return a.map(key).sort().join('|') === b.map(key).sort().join('|');
}

/**
 * The profile method: registration's profile-first step (traits first, credentials on the next screen) and
 * trait changes in settings. Changing an address used for verification or recovery needs a privileged session.
 */
export function createProfileMethod(deps: ProfileMethodDeps): Method {
  const schemaOf = (id: string | undefined) => deps.schemas.require(id ?? deps.schemas.defaultId);
  const coerceTraits = (schemaId: string | undefined, traits: unknown) =>
    coerceBySchema(traits, (schemaOf(schemaId).raw as { properties?: { traits?: unknown } }).properties?.traits) as Record<string, unknown> | undefined;

  return {
    id: 'profile',
    registration: {
      nodes(ctx: NodeContext): UiNode[] {
        const traits = (ctx.values.traits as Record<string, unknown> | undefined) ?? {};
        const schema = schemaOf(ctx.schemaId);
        if (ctx.screen === 'credential-selection') {
          // Traits are carried along as hidden inputs while the user picks a credential.
          const hidden = traitNodes(schema, traits, 'default').map((node) => ({
            ...node, attributes: { ...node.attributes, type: 'hidden' as const },
          }));
          return [...hidden, submitNode('profile', 'screen', 'previous', uiText(1040008))];
        }
        const fields = traitNodes(schema, traits, 'default').map((n) => withFieldMessages(n, ctx.fieldMessages));
        // Unified style shows the traits beside every credential; profile-first asks for them on their own first.
        if (ctx.screen === 'unified') return fields;
        return [...fields, submitNode('profile', 'method', 'profile', uiText(1040001))];
      },
      async submit(ctx: MethodSubmitContext, raw: Record<string, unknown>): Promise<Outcome> {
        const traits = coerceTraits(ctx.schemaId, raw.traits) ?? {};
        const payload = { ...raw, traits };
        const values = { traits };
        const problems = payloadProblems('methods/profile/registration.json', payload);
        if (problems.length > 0) return { kind: 'rejected', values, ...problemsToMessages(problems, payload) };
        if (raw.screen === 'previous') return { kind: 'next_screen', values };
        const errors = schemaOf(ctx.schemaId).validateTraits(traits);
        if (errors.length > 0) return traitsRejection(errors, values);
        return { kind: 'next_screen', screen: 'credential-selection', values };
      },
    },
    settings: {
      nodes(ctx: NodeContext): UiNode[] {
        const identity = ctx.identity!;
        const traits = (ctx.values.traits as Record<string, unknown> | undefined) ?? identity.traits;
        return [
          ...traitNodes(schemaOf(identity.schemaId), traits, 'profile').map((n) => withFieldMessages(n, ctx.fieldMessages)),
          submitNode('profile', 'method', 'profile', uiText(1070003)),
        ];
      },
      async submit(ctx: MethodSubmitContext, raw: Record<string, unknown>): Promise<Outcome> {
        const identity = ctx.identity!;
        const traits = coerceTraits(identity.schemaId, raw.traits) ?? {};
        const payload = { ...raw, traits };
        const values = { traits };
        const problems = payloadProblems('methods/profile/settings.json', payload);
        if (problems.length > 0) return { kind: 'rejected', values, ...problemsToMessages(problems, payload) };
        let next;
        try {
          next = deps.identities.buildReplacement(identity, {
            schema_id: identity.schemaId, traits, state: identity.state,
            metadata_public: identity.metadataPublic, metadata_admin: identity.metadataAdmin,
          }, undefined);
        } catch (err) {
          if (err instanceof KratosError && err.status === 400 && Array.isArray(err.details?.errors)) {
            return traitsRejection(err.details.errors as TraitError[], values);
          }
          throw err;
        }
        const addressesChanged = !sameAddresses(identity.verifiableAddresses, next.verifiableAddresses) ||
          !sameAddresses(identity.recoveryAddresses, next.recoveryAddresses) ||
          next.credentials.some((c) => c.identifiers.join('|') !== (identity.credentials.find((o) => o.type === c.type)?.identifiers.join('|') ?? ''));
        if (addressesChanged && !ctx.privileged) throw refreshRequired();
        try {
          await deps.identities.assertNoConflicts(ctx.em, next);
        } catch (err) {
          if (err instanceof KratosError && err.status === 409) return { kind: 'rejected', values, messages: [msg(4000007)] };
          throw err;
        }
        await persistIdentityRecord(ctx.em, next, false);
        const known = new Set(identity.verifiableAddresses.map((a) => `${a.via}:${a.value}`));
        const unverifiedAddresses = next.verifiableAddresses.filter((a) => !a.verified && a.via === 'email' && !known.has(`${a.via}:${a.value}`)).map((a) => a.value);
        return { kind: 'updated', method: 'profile', values: {}, unverifiedAddresses };
      },
    },
  };
}


