import type { IdentityRecord } from '../../identity/identity.ts';
import type { IdentityPageQuery, IdentityRepository } from '../store.ts';
import {
  byString, byTime, copy, date, deepFreeze, isUuid, json, nullableDate, uniqueViolation,
  type CredentialRow, type IdentityRow, type Source, type Tables,
} from './memory-tables.ts';

type VerifiableRow = IdentityRow['verifiableAddresses'][number];
type RecoveryRow = IdentityRow['recoveryAddresses'][number];

const byCreatedThenValue = (a: { createdAt: Date; value: string }, b: { createdAt: Date; value: string }) =>
  byTime(a.createdAt, b.createdAt) || byString(a.value, b.value);

/** The SQL store's order: credentials by creation, identifiers and addresses by (creation, value). */
export function toIdentityRecord(stored: IdentityRow): IdentityRecord {
  const row = copy(stored);
  return {
    id: row.id, schemaId: row.schemaId, state: row.state, stateChangedAt: row.stateChangedAt, traits: row.traits,
    metadataPublic: row.metadataPublic, metadataAdmin: row.metadataAdmin, externalId: row.externalId,
    organizationId: row.organizationId, createdAt: row.createdAt, updatedAt: row.updatedAt,
    credentials: row.credentials.sort((a, b) => byTime(a.createdAt, b.createdAt)).map((c) => ({
      id: c.id, type: c.type,
      identifiers: c.identifiers.sort((a, b) => byTime(a.createdAt, b.createdAt) || byString(a.identifier, b.identifier)).map((i) => i.identifier),
      config: c.config, version: c.version, createdAt: c.createdAt, updatedAt: c.updatedAt,
    })),
    verifiableAddresses: row.verifiableAddresses.sort(byCreatedThenValue),
    recoveryAddresses: row.recoveryAddresses.sort(byCreatedThenValue),
  };
}

const verifiableRow = (a: IdentityRecord['verifiableAddresses'][number]): VerifiableRow => ({
  id: a.id, value: a.value, via: a.via, verified: a.verified, verifiedAt: nullableDate(a.verifiedAt), status: a.status,
  createdAt: date(a.createdAt), updatedAt: date(a.updatedAt),
});

const recoveryRow = (a: IdentityRecord['recoveryAddresses'][number]): RecoveryRow => ({
  id: a.id, value: a.value, via: a.via, createdAt: date(a.createdAt), updatedAt: date(a.updatedAt),
});

/**
 * The stored identity after `save(next, isNew)`, as the SQL store's diff leaves it: an existing credential of the
 * same type keeps its row id and creation time (config, version and updatedAt change), identifiers it keeps keep
 * their creation time and new ones are created at `next.updatedAt`; a verifiable address matched by id is updated
 * (creation time kept); a recovery address matched by id is left as it was; the organization and creation time of an
 * existing identity never change.
 */
function nextRow(next: IdentityRecord, current: IdentityRow | undefined): IdentityRow {
  const now = date(next.updatedAt);
  const types = new Set<string>();
  for (const cred of next.credentials) {
    // one credential per type (unique index identity_id, type)
    if (types.has(cred.type)) throw uniqueViolation('identity_credentials_identity_id_type_unique', `(${next.id}, ${cred.type})`);
    types.add(cred.type);
  }
  const credentials: CredentialRow[] = [];
  for (const row of current?.credentials ?? []) {
    const cred = next.credentials.find((c) => c.type === row.type);
    if (!cred) continue;
    const kept = row.identifiers.filter((i) => cred.identifiers.includes(i.identifier));
    const added = cred.identifiers.filter((identifier) => !row.identifiers.some((i) => i.identifier === identifier));
    credentials.push({
      ...row, config: json(cred.config), version: cred.version, updatedAt: date(cred.updatedAt),
      identifiers: [...kept, ...added.map((identifier) => ({ identifier, createdAt: now }))],
    });
  }
  for (const cred of next.credentials) {
    if (current?.credentials.some((row) => row.type === cred.type)) continue;
    credentials.push({
      id: cred.id, type: cred.type, config: json(cred.config), version: cred.version, createdAt: date(cred.createdAt),
      updatedAt: date(cred.updatedAt), identifiers: cred.identifiers.map((identifier) => ({ identifier, createdAt: now })),
    });
  }

  const verifiableAddresses: VerifiableRow[] = [];
  for (const row of current?.verifiableAddresses ?? []) {
    const address = next.verifiableAddresses.findLast((a) => a.id === row.id);
    if (address) verifiableAddresses.push({ ...verifiableRow(address), createdAt: row.createdAt });
  }
  for (const address of next.verifiableAddresses) {
    if (!current?.verifiableAddresses.some((row) => row.id === address.id)) verifiableAddresses.push(verifiableRow(address));
  }
  const recoveryAddresses: RecoveryRow[] = [];
  for (const row of current?.recoveryAddresses ?? []) {
    if (next.recoveryAddresses.some((a) => a.id === row.id)) recoveryAddresses.push(row);
  }
  for (const address of next.recoveryAddresses) {
    if (!current?.recoveryAddresses.some((row) => row.id === address.id)) recoveryAddresses.push(recoveryRow(address));
  }

  return {
    id: next.id,
    schemaId: next.schemaId,
    state: next.state,
    stateChangedAt: nullableDate(next.stateChangedAt),
    traits: json(next.traits),
    metadataPublic: json(next.metadataPublic),
    metadataAdmin: json(next.metadataAdmin),
    externalId: next.externalId ?? null,
    organizationId: current ? current.organizationId : (next.organizationId ?? null),
    createdAt: current ? current.createdAt : date(next.createdAt),
    updatedAt: now,
    credentials,
    verifiableAddresses,
    recoveryAddresses,
  };
}

/** Refuses what the SQL schema's primary keys and unique indexes refuse, judged on the state after the write. */
function assertUnique(row: IdentityRow, identities: Tables['identities']): void {
  const others = [...identities.values()].filter((other) => other.id !== row.id);
  const taken = (index: string, key: (r: IdentityRow) => string[], keyOf: string[]) => {
    const seen = new Set(others.flatMap(key));
    for (const k of keyOf) {
      if (seen.has(k)) throw uniqueViolation(index, k);
      seen.add(k);
    }
  };
  if (row.externalId !== null) taken('identities_external_id_unique', (r) => (r.externalId === null ? [] : [r.externalId]), [row.externalId]);
  const credentialIds = (r: IdentityRow) => r.credentials.map((c) => c.id);
  taken('identity_credentials_pkey', credentialIds, credentialIds(row));
  const identifiers = (r: IdentityRow) => r.credentials.flatMap((c) => c.identifiers.map((i) => `(${c.type}, ${i.identifier})`));
  taken('identity_credential_identifiers_type_identifier_uq', identifiers, identifiers(row));
  const verifiableIds = (r: IdentityRow) => r.verifiableAddresses.map((a) => a.id);
  taken('identity_verifiable_addresses_pkey', verifiableIds, verifiableIds(row));
  const verifiable = (r: IdentityRow) => r.verifiableAddresses.map((a) => `(${a.via}, ${a.value})`);
  taken('identity_verifiable_addresses_via_value_uq', verifiable, verifiable(row));
  const recoveryIds = (r: IdentityRow) => r.recoveryAddresses.map((a) => a.id);
  taken('identity_recovery_addresses_pkey', recoveryIds, recoveryIds(row));
  const recovery = (r: IdentityRow) => r.recoveryAddresses.map((a) => `(${a.via}, ${a.value})`);
  taken('identity_recovery_addresses_via_value_uq', recovery, recovery(row));
}

export class MemoryIdentityRepository implements IdentityRepository {
  readonly #source: Source;

  constructor(source: Source) {
    this.#source = source;
  }

  async get(id: string): Promise<IdentityRecord | null> {
    const row = isUuid(id) ? this.#source.read('identities').get(id) : undefined;
    return row ? toIdentityRecord(row) : null;
  }

  /** In the order of `ids` (malformed and unknown ids dropped). */
  async getMany(ids: string[]): Promise<IdentityRecord[]> {
    const identities = this.#source.read('identities');
    return ids.filter(isUuid).flatMap((id) => {
      const row = identities.get(id);
      return row ? [toIdentityRecord(row)] : [];
    });
  }

  async exists(id: string): Promise<boolean> {
    return isUuid(id) && this.#source.read('identities').has(id);
  }

  async findByCredentialIdentifier(type: string, identifier: string): Promise<IdentityRecord | null> {
    for (const row of this.#source.read('identities').values()) {
      if (row.credentials.some((c) => c.type === type && c.identifiers.some((i) => i.identifier === identifier))) return toIdentityRecord(row);
    }
    return null;
  }

  async findCredentialByIdentifier(type: string, identifier: string): Promise<{ identityId: string; config: Record<string, unknown> } | null> {
    for (const row of this.#source.read('identities').values()) {
      const credential = row.credentials.find((c) => c.type === type && c.identifiers.some((i) => i.identifier === identifier));
      if (credential) return { identityId: row.id, config: structuredClone(credential.config) };
    }
    return null;
  }

  async findIdByExternalId(externalId: string): Promise<string | undefined> {
    for (const row of this.#source.read('identities').values()) if (row.externalId === externalId) return row.id;
    return undefined;
  }

  async findIdByAddress(kind: 'verifiable' | 'recovery', via: 'email' | 'sms', value: string): Promise<string | undefined> {
    for (const row of this.#source.read('identities').values()) {
      const addresses = kind === 'recovery' ? row.recoveryAddresses : row.verifiableAddresses;
      if (addresses.some((a) => a.via === via && a.value === value)) return row.id;
    }
    return undefined;
  }

  /** One entry per matching identifier row, like the SQL store (an owner can appear more than once). */
  async identifierOwners(identifiers: Array<{ type: string; identifier: string }>, exceptIdentityId?: string): Promise<string[]> {
    if (identifiers.length === 0) return [];
    const owners: string[] = [];
    for (const row of this.#source.read('identities').values()) {
      if (exceptIdentityId && row.id === exceptIdentityId) continue;
      for (const c of row.credentials) {
        for (const i of c.identifiers) {
          if (identifiers.some((w) => w.type === c.type && w.identifier === i.identifier)) owners.push(row.id);
        }
      }
    }
    return owners;
  }

  /** Verifiable address owners, then recovery address owners, one entry per matching address. */
  async addressOwners(addresses: Array<{ via: string; value: string }>, exceptIdentityId?: string): Promise<string[]> {
    if (addresses.length === 0) return [];
    const rows = [...this.#source.read('identities').values()].filter((row) => !(exceptIdentityId && row.id === exceptIdentityId));
    const matches = (a: { via: string; value: string }) => addresses.some((w) => w.via === a.via && w.value === a.value);
    return [
      ...rows.flatMap((row) => row.verifiableAddresses.filter(matches).map(() => row.id)),
      ...rows.flatMap((row) => row.recoveryAddresses.filter(matches).map(() => row.id)),
    ];
  }

  async listIds(query: IdentityPageQuery): Promise<string[]> {
    const identities = this.#source.read('identities');
    let ids = [...identities.keys()];
    if (query.afterId) ids = ids.filter((id) => id > query.afterId!);
    if (query.ids) ids = ids.filter((id) => query.ids!.includes(id));
    if (query.credentialsIdentifier !== undefined) {
      const wanted = query.credentialsIdentifier;
      ids = ids.filter((id) => identities.get(id)!.credentials.some((c) => c.identifiers.some((i) => i.identifier === wanted)));
    }
    return ids.sort(byString).slice(0, query.limit);
  }

  async lockCredentialConfig(identityId: string, type: string): Promise<Record<string, unknown> | null> {
    // Writers take turns in this store: inside a transaction nothing else writes until it ends.
    const row = isUuid(identityId) ? this.#source.read('identities').get(identityId) : undefined;
    const credential = row?.credentials.find((c) => c.type === type);
    return credential ? structuredClone(credential.config) as Record<string, unknown> : null;
  }

  save(record: IdentityRecord, isNew: boolean): Promise<void> {
    return this.#source.write((w) => {
      const current = w.read('identities').get(record.id);
      if (isNew && current) throw uniqueViolation('identities_pkey', record.id);
      // the SQL store loads the row with findOneOrFail
      if (!isNew && !current) throw new Error(`memory store: Identity not found ({ id: '${record.id}' })`);
      const row = nextRow(record, current);
      assertUnique(row, w.read('identities'));
      w.write('identities').set(row.id, deepFreeze(row));
    });
  }

  /** Deletes the identity; its credentials, addresses and sessions go with it (ON DELETE CASCADE). */
  async delete(id: string): Promise<boolean> {
    if (!isUuid(id)) return false;
    return this.#source.write((w) => {
      if (!w.read('identities').has(id)) return false;
      w.write('identities').delete(id);
      const orphans = [...w.read('sessions').values()].filter((session) => session.identityId === id);
      if (orphans.length > 0) {
        const sessions = w.write('sessions');
        for (const session of orphans) sessions.delete(session.id);
      }
      return true;
    });
  }
}
