/**
 * whoami's read model of an identity: the identity's JSON as a session shows it (toIdentityJson without credentials
 * or admin metadata), WITHOUT `id`, `schema_id`, `schema_url` and `state` — the URL depends on the configured public
 * base, and the others are read from the identity's row — which are spliced in when the answer is written
 * (identityJsonText). Addresses are in the order the lookup reads them.
 *
 * Kept beside the identity's row by every write of it (the SQL identity repository's save), so the whoami lookup
 * reads no address rows, and the answer's `identity` is text already serialized instead of rows parsed, mapped and
 * serialized again on every request. What whoami decides on is never taken from it: the identity's state is its
 * row's, and its credential kinds (the AAL it can reach, aal.ts) are read from its credentials every time.
 */
import { toIdentityJson } from '../identity/identity-json.ts';
import type { IdentityRecord } from '../identity/identity.ts';

const byCreatedThenValue = (a: { createdAt: Date; value: string }, b: { createdAt: Date; value: string }) =>
  a.createdAt.getTime() - b.createdAt.getTime() || (a.value < b.value ? -1 : a.value > b.value ? 1 : 0);

/** Addresses in the order whoami shows them: by creation time, then value. Sorts in place. */
export const sortAddresses = <T extends { createdAt: Date; value: string }>(addresses: T[]): T[] =>
  addresses.length > 1 ? addresses.sort(byCreatedThenValue) : addresses;

export function identityPublicJson(record: IdentityRecord): string {
  const ordered = {
    ...record,
    verifiableAddresses: sortAddresses([...record.verifiableAddresses]),
    recoveryAddresses: sortAddresses([...record.recoveryAddresses]),
  };
  const { id, schema_id, schema_url, state, ...rest } = toIdentityJson(ordered, { schemaUrl: () => '', admin: false, credentials: false });
  return JSON.stringify(rest);
}

/**
 * The identity's JSON from its read model: `id`, `schema_id`, `schema_url` and `state` first, as toIdentityJson writes
 * them; the state is the row's own, like every column whoami decides on.
 */
export function identityJsonText(key: Pick<IdentityRecord, 'id' | 'schemaId' | 'state'>, schemaUrl: string, publicJson: string): string {
  return `{"id":${JSON.stringify(key.id)},"schema_id":${JSON.stringify(key.schemaId)},"schema_url":${JSON.stringify(schemaUrl)},`
    + `"state":${JSON.stringify(key.state)},${publicJson.slice(1)}`;
}

/**
 * What the lookup reads of the identity's row itself beside its read model: what whoami decides on (the state) and
 * what its answer needs without parsing anything (id, schema, the external id a tokenized session carries).
 */
export interface IdentityKeyColumns {
  id: string;
  schemaId: string;
  state: IdentityRecord['state'];
  externalId: string | null;
  organizationId: string | null;
}

type ParsedReadModel = Pick<IdentityRecord,
  'stateChangedAt' | 'traits' | 'metadataPublic' | 'metadataAdmin' | 'createdAt' | 'updatedAt' | 'verifiableAddresses' | 'recoveryAddresses'>;

const NO_CREDENTIALS: IdentityRecord['credentials'] = Object.freeze([]) as unknown as IdentityRecord['credentials'];
const dateOrNull = (text: unknown) => (typeof text === 'string' ? new Date(text) : null);

function parseReadModel(publicJson: string, metadataAdmin: () => unknown): ParsedReadModel {
  const json = JSON.parse(publicJson) as {
    state_changed_at?: string; traits: Record<string, unknown>; metadata_public: unknown; created_at: string; updated_at: string;
    verifiable_addresses: Array<{ id: string; value: string; via: 'email' | 'sms'; verified: boolean; status: 'pending' | 'sent' | 'completed'; verified_at?: string; created_at: string; updated_at: string }>;
    recovery_addresses: Array<{ id: string; value: string; via: 'email' | 'sms'; created_at: string; updated_at: string }>;
  };
  return deepFreeze({
    stateChangedAt: dateOrNull(json.state_changed_at),
    traits: json.traits,
    metadataPublic: json.metadata_public ?? null,
    metadataAdmin: metadataAdmin(),
    createdAt: new Date(json.created_at),
    updatedAt: new Date(json.updated_at),
    verifiableAddresses: json.verifiable_addresses.map((a) => ({
      id: a.id, value: a.value, via: a.via, verified: a.verified, verifiedAt: dateOrNull(a.verified_at), status: a.status,
      createdAt: new Date(a.created_at), updatedAt: new Date(a.updated_at),
    })),
    recoveryAddresses: json.recovery_addresses.map((a) => ({
      id: a.id, value: a.value, via: a.via, createdAt: new Date(a.created_at), updatedAt: new Date(a.updated_at),
    })),
  });
}

/** Freezes plain JSON-like values (Dates are left alone: they are never shared mutably by callers). */
function deepFreeze<T>(value: T): T {
  if (value === null || typeof value !== 'object' || value instanceof Date || Object.isFrozen(value)) return value;
  for (const key of Object.keys(value)) deepFreeze((value as Record<string, unknown>)[key]);
  return Object.freeze(value);
}

/**
 * An IdentityRecord backed by its read model: the key columns are plain values; everything else is parsed from
 * `publicJson` the first time any of it is read (whoami's answer never reads it), then kept, frozen. The getters are
 * the object's own enumerable properties, so a spread or structuredClone copies their values.
 */
export function identityFromReadModel(key: IdentityKeyColumns, publicJson: string, metadataAdmin: () => unknown): IdentityRecord {
  let parsed: ParsedReadModel | undefined;
  const model = () => (parsed ??= parseReadModel(publicJson, metadataAdmin));
  return Object.freeze({
    id: key.id,
    schemaId: key.schemaId,
    state: key.state,
    externalId: key.externalId,
    organizationId: key.organizationId,
    credentials: NO_CREDENTIALS,
    get stateChangedAt() { return model().stateChangedAt; },
    get traits() { return model().traits; },
    get metadataPublic() { return model().metadataPublic; },
    get metadataAdmin() { return model().metadataAdmin; },
    get createdAt() { return model().createdAt; },
    get updatedAt() { return model().updatedAt; },
    get verifiableAddresses() { return model().verifiableAddresses; },
    get recoveryAddresses() { return model().recoveryAddresses; },
  });
}
