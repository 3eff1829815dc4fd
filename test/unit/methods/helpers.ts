/**
 * Narrow, hand-made dependencies for the method tests: identity schemas, identity records, a method context and a
 * recording fake hasher. No store, no services.
 */
import { readFileSync } from 'node:fs';
import type { UiMessage } from '../../../machines/flow-types.ts';
import type { IdentityRecord } from '../../../src/identity/identity.ts';
import { IdentitySchema, IdentitySchemaRegistry } from '../../../src/identity/schema/index.ts';
import type { Aal, FlowKind, FlowType, Json, MethodContext } from '../../../src/methods/method.ts';
import type { UiNode } from '../../../src/ui/node.ts';

export const NOW = new Date('2030-01-01T12:00:00.000Z');

export const DEFAULT_SCHEMA = JSON.parse(readFileSync(new URL('../../../schemas/default.schema.json', import.meta.url), 'utf8')) as Record<string, unknown>;

/** An identity schema document around these traits properties. */
export function schemaDoc(traits: Record<string, unknown>, required: string[] = []): Record<string, unknown> {
  return {
    $schema: 'http://json-schema.org/draft-07/schema#',
    type: 'object',
    properties: { traits: { type: 'object', properties: traits, required } },
  };
}

export function registryOf(raw: Record<string, unknown> = DEFAULT_SCHEMA): IdentitySchemaRegistry {
  return new IdentitySchemaRegistry([new IdentitySchema({ id: 'default', url: 'base64://', raw })], 'default');
}

/** Credentials and addresses derived from the traits by the schema's `ory.sh/kratos` extension (what the identity service does). */
export function derive(record: IdentityRecord, schemas: IdentitySchemaRegistry): IdentityRecord {
  const extracted = schemas.require(record.schemaId).extract(record.traits);
  return {
    ...record,
    credentials: record.credentials.map((c) => (c.type === 'password' ? { ...c, identifiers: extracted.identifiers.password } : c)),
    verifiableAddresses: extracted.verifiableAddresses.map((a) => record.verifiableAddresses.find((p) => p.via === a.via && p.value === a.value) ?? {
      id: crypto.randomUUID(), value: a.value, via: a.via, verified: false, verifiedAt: null, status: 'pending' as const, createdAt: NOW, updatedAt: NOW,
    }),
    recoveryAddresses: extracted.recoveryAddresses.map((a) => record.recoveryAddresses.find((p) => p.via === a.via && p.value === a.value) ?? {
      id: crypto.randomUUID(), value: a.value, via: a.via, createdAt: NOW, updatedAt: NOW,
    }),
  };
}

/** An identity for `email` with a password credential whose stored hash is `hash` (none when undefined). */
export function identityRecord(email: string, options: { hash?: string; state?: 'active' | 'inactive'; traits?: Record<string, unknown>; schemas?: IdentitySchemaRegistry } = {}): IdentityRecord {
  const base: IdentityRecord = {
    id: crypto.randomUUID(), schemaId: 'default', state: options.state ?? 'active', stateChangedAt: null,
    traits: options.traits ?? { email }, metadataPublic: null, metadataAdmin: null, externalId: null, organizationId: null,
    createdAt: NOW, updatedAt: NOW, verifiableAddresses: [], recoveryAddresses: [],
    credentials: options.hash === undefined ? [] : [{ id: crypto.randomUUID(), type: 'password', identifiers: [email], config: { hashed_password: options.hash }, version: 0, createdAt: NOW, updatedAt: NOW }],
  };
  return derive(base, options.schemas ?? registryOf());
}

export interface ContextOptions {
  kind?: FlowKind;
  type?: FlowType;
  state?: string;
  refresh?: boolean;
  values?: Record<string, unknown>;
  screen?: string;
  identity?: IdentityRecord;
  privileged?: boolean;
  internal?: Json;
  flowId?: string;
  continueTo?: string;
  fieldMessages?: Record<string, UiMessage[]>;
  /** The flow's requested AAL (default aal1). */
  requestedAal?: Aal;
  /** The clock (default NOW). */
  now?: Date;
}

export function context(options: ContextOptions = {}): MethodContext {
  return {
    flow: {
      id: options.flowId ?? crypto.randomUUID(),
      kind: options.kind ?? 'login',
      type: options.type ?? 'api',
      state: options.state ?? 'choose_method',
      refresh: options.refresh ?? false,
      requestedAal: options.requestedAal ?? 'aal1',
      continueTo: options.continueTo ?? 'http://127.0.0.1:4455/',
      screen: options.screen,
      values: options.values ?? {},
      fieldMessages: options.fieldMessages ?? {},
    },
    internal: options.internal,
    identity: options.identity,
    privileged: options.privileged ?? false,
    now: options.now ?? NOW,
  };
}

/**
 * A hasher whose hashes are readable (`fake$<password>`); hashes starting with `old$` need a rehash. Records every
 * call so tests can see the work done.
 */
export function fakeHasher() {
  const calls: Array<{ op: 'hash' | 'verify'; password: string; encoded?: string }> = [];
  return {
    calls,
    async hash(password: string) {
      calls.push({ op: 'hash', password });
      return `fake$${password}`;
    },
    async verify(password: string, encoded: string) {
      calls.push({ op: 'verify', password, encoded });
      if (encoded.startsWith('broken$')) throw new Error('malformed hash');
      return encoded === `fake$${password}` || encoded === `old$${password}`;
    },
    needsRehash: (encoded: string) => !encoded.startsWith('fake$'),
  };
}

export const nodeNamed = (nodes: UiNode[], name: string, type?: string): UiNode | undefined =>
  nodes.find((n) => n.attributes.node_type === 'input' && n.attributes.name === name && (type === undefined || n.attributes.type === type));
export const ids = (messages: UiMessage[] | undefined): number[] => (messages ?? []).map((m) => m.id);
