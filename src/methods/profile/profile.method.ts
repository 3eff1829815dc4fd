import type { IdentityInput, PreparedCredentials } from '../../identity/identity-service.ts';
import type { IdentityRecord } from '../../identity/identity.ts';
import type { IdentitySchemaRegistry } from '../../identity/schema/index.ts';
import { MessageId } from '../../text/ids.ts';
import { message } from '../../text/message.ts';
import { submitNode, type UiNode } from '../../ui/node.ts';
import { traitNodes } from '../../ui/trait-nodes.ts';
import { payloadProblems } from '../../x/body-validator.ts';
import { mergeFieldMessages, problemsToMessages, traitMessages } from '../form-messages.ts';
import type { Method, Outcome } from '../method.ts';

export interface ProfileMethodDeps {
  schemas: IdentitySchemaRegistry;
  /** `selfservice.flows.registration.style`: traits on their own screen first, or beside every credential. */
  registrationStyle: 'profile_first' | 'unified';
  identities: {
    buildReplacement(current: IdentityRecord, input: IdentityInput, prepared: PreparedCredentials | undefined): IdentityRecord;
    hasConflicts(record: IdentityRecord): Promise<boolean>;
  };
}

const REGISTRATION_SCHEMA = 'methods/profile/registration.json';
const SETTINGS_SCHEMA = 'methods/profile/settings.json';

const key = (x: { via: string; value: string }) => `${x.via}:${x.value}`;
const sameAddresses = (a: Array<{ via: string; value: string }>, b: Array<{ via: string; value: string }>) =>
  a.map(key).sort().join('|') === b.map(key).sort().join('|');

/**
 * The profile method (Kratos `strategy/profile`): registration's traits step (profile-first: traits first, then
 * the credentials on the next screen; unified: traits beside every credential) and trait changes in settings.
 * Changing an identifier or an address used for verification or recovery needs a privileged session.
 */
export function createProfileMethod(deps: ProfileMethodDeps): Method {
  const schemaOf = (id: string | undefined) => deps.schemas.require(id ?? deps.schemas.defaultId);

  return {
    id: 'profile',
    group: 'profile',
    registration: {
      payloadSchema: REGISTRATION_SCHEMA,
      nodes(ctx) {
        const traits = (ctx.flow.values.traits as Record<string, unknown> | undefined) ?? {};
        const schema = schemaOf(undefined);
        const hidden = (): UiNode[] => traitNodes(schema, traits, 'default').map((node) => (node.messages.length > 0 ? node : { ...node, attributes: { ...node.attributes, type: 'hidden' as const } }));
        if (ctx.flow.screen === 'code') {
          // A sign-up code is out: the traits it was sent for travel hidden; profile-first can go back to the credentials.
          const back = deps.registrationStyle === 'unified' ? [] : [submitNode('profile', 'screen', 'credential-selection', message(MessageId.InfoSelfServiceRegistrationBack))];
          return { nodes: [...hidden(), ...back] };
        }
        if (deps.registrationStyle === 'unified') return { nodes: traitNodes(schema, traits, 'default') };
        if (ctx.flow.screen === 'credential-selection') {
          // Traits travel as hidden inputs while the user picks a credential; "back" returns to them.
          return { nodes: [...hidden(), submitNode('profile', 'screen', 'previous', message(MessageId.InfoSelfServiceRegistrationBack))] };
        }
        return { nodes: [...traitNodes(schema, traits, 'default'), submitNode('profile', 'method', 'profile', message(MessageId.InfoSelfServiceRegistration))] };
      },
      async submit(_ctx, payload): Promise<Outcome> {
        const traits = (payload.traits ?? {}) as Record<string, unknown>;
        const values = { traits };
        const problems = problemsToMessages(payloadProblems(REGISTRATION_SCHEMA, payload), payload);
        if (payload.screen === 'previous') return { kind: 'next_screen', values };
        if (payload.screen === 'credential-selection') return { kind: 'next_screen', screen: 'credential-selection', values };
        const fieldMessages = mergeFieldMessages(problems.fieldMessages, traitMessages(schemaOf(undefined).validateTraits(traits)));
        if (Object.keys(fieldMessages).length > 0 || problems.messages.length > 0) {
          return { kind: 'rejected', values, fieldMessages, messages: problems.messages };
        }
        return { kind: 'next_screen', screen: 'credential-selection', values, messages: [message(MessageId.InfoSelfServiceRegistrationChooseCredentials)] };
      },
    },
    settings: {
      payloadSchema: SETTINGS_SCHEMA,
      nodes(ctx) {
        const identity = ctx.identity!;
        const traits = (ctx.flow.values.traits as Record<string, unknown> | undefined) ?? identity.traits;
        return { nodes: [...traitNodes(schemaOf(identity.schemaId), traits, 'profile'), submitNode('profile', 'method', 'profile', message(MessageId.InfoNodeLabelSave))] };
      },
      async submit(ctx, payload): Promise<Outcome> {
        const identity = ctx.identity!;
        const traits = (payload.traits ?? {}) as Record<string, unknown>;
        const values = { traits };
        const problems = problemsToMessages(payloadProblems(SETTINGS_SCHEMA, payload), payload);
        const fieldMessages = mergeFieldMessages(problems.fieldMessages, traitMessages(schemaOf(identity.schemaId).validateTraits(traits)));
        if (Object.keys(fieldMessages).length > 0 || problems.messages.length > 0) {
          return { kind: 'rejected', values, fieldMessages, messages: problems.messages };
        }
        const next = deps.identities.buildReplacement(identity, {
          schema_id: identity.schemaId, traits, state: identity.state,
          metadata_public: identity.metadataPublic, metadata_admin: identity.metadataAdmin,
        }, undefined);
        const credentialsChanged = next.credentials.some((c) => c.identifiers.join('|') !== (identity.credentials.find((o) => o.type === c.type)?.identifiers.join('|') ?? ''));
        const addressesChanged = !sameAddresses(identity.verifiableAddresses, next.verifiableAddresses) || !sameAddresses(identity.recoveryAddresses, next.recoveryAddresses);
        if ((credentialsChanged || addressesChanged) && !ctx.privileged) return { kind: 'needs_refresh' };
        if (await deps.identities.hasConflicts(next)) return { kind: 'rejected', values, messages: [message(MessageId.ErrorValidationDuplicateCredentials)] };
        return { kind: 'updated', method: 'profile', values: {}, changes: { identity: { record: next, isNew: false } } };
      },
    },
  };
}
