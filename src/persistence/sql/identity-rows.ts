/**
 * An identity with its credentials (and their identifiers) and addresses in ONE statement per dialect: the children
 * are aggregated to JSON arrays in correlated subqueries, each in the order the entity queries used to read them
 * (credentials by creation time; identifiers and addresses by creation time, then value, in the database's own
 * collation). No entity hydration: the row maps straight to an IdentityRecord with the values MikroORM gave it.
 * A new identity is written the same way: one multi-row INSERT per table, the columns as MikroORM wrote them, with
 * whoami's read model of it (session/identity-read-model.ts).
 */
import type { EntityManager } from '@mikro-orm/core';
import type { CredentialType, IdentityRecord, IdentityState } from '../../identity/identity.ts';
import { identityPublicJson } from '../../session/identity-read-model.ts';
import { jsonColumn, parseDbDate, parseNullableDate, recoveryAddressFromJson, verifiableAddressFromJson } from './row-values.ts';
import { insertSql, jsonParam, placeholders, queryRows, type SqlDialect, type Write } from './statements.ts';

const IDENTITY_COLUMNS = `i.id, i.schema_id, i.state, i.state_changed_at, i.traits, i.metadata_public, i.metadata_admin,
  i.external_id, i.organization_id, i.created_at, i.updated_at`;

/**
 * SQLite (3.44+ for ORDER BY inside an aggregate): a JSON column's text goes into the arrays as a string (parsed like
 * the ORM parses it); json() keeps the nested identifiers array JSON (a subquery's value loses its JSON subtype).
 */
const SQLITE_IDENTITY_SELECT = `SELECT ${IDENTITY_COLUMNS},
  (SELECT json_group_array(json_object('id', c.id, 'type', c.type, 'config', c.config, 'version', c.version,
      'created_at', c.created_at, 'updated_at', c.updated_at,
      'identifiers', json((SELECT json_group_array(x.identifier ORDER BY x.created_at, x.identifier)
        FROM identity_credential_identifiers x WHERE x.identity_id = c.identity_id AND x.credential_id = c.id))) ORDER BY c.created_at)
    FROM identity_credentials c WHERE c.identity_id = i.id) AS credentials,
  (SELECT json_group_array(json_object('id', a.id, 'value', a.value, 'via', a.via, 'verified', a.verified,
      'verified_at', a.verified_at, 'status', a.status, 'created_at', a.created_at, 'updated_at', a.updated_at) ORDER BY a.created_at, a.value)
    FROM identity_verifiable_addresses a WHERE a.identity_id = i.id) AS verifiable_addresses,
  (SELECT json_group_array(json_object('id', r.id, 'value', r.value, 'via', r.via,
      'created_at', r.created_at, 'updated_at', r.updated_at) ORDER BY r.created_at, r.value)
    FROM identity_recovery_addresses r WHERE r.identity_id = i.id) AS recovery_addresses
FROM identities i`;

/** PostgreSQL: jsonb configs go into the arrays as JSON; `coalesce(..., '[]')` for identities without rows. */
const PG_IDENTITY_SELECT = `SELECT ${IDENTITY_COLUMNS},
  coalesce((SELECT json_agg(json_build_object('id', c.id, 'type', c.type, 'config', c.config, 'version', c.version,
      'created_at', c.created_at, 'updated_at', c.updated_at,
      'identifiers', coalesce((SELECT json_agg(x.identifier ORDER BY x.created_at, x.identifier)
        FROM identity_credential_identifiers x WHERE x.identity_id = c.identity_id AND x.credential_id = c.id), '[]'::json)) ORDER BY c.created_at)
    FROM identity_credentials c WHERE c.identity_id = i.id), '[]'::json) AS credentials,
  coalesce((SELECT json_agg(json_build_object('id', a.id, 'value', a.value, 'via', a.via, 'verified', a.verified,
      'verified_at', a.verified_at, 'status', a.status, 'created_at', a.created_at, 'updated_at', a.updated_at) ORDER BY a.created_at, a.value)
    FROM identity_verifiable_addresses a WHERE a.identity_id = i.id), '[]'::json) AS verifiable_addresses,
  coalesce((SELECT json_agg(json_build_object('id', r.id, 'value', r.value, 'via', r.via,
      'created_at', r.created_at, 'updated_at', r.updated_at) ORDER BY r.created_at, r.value)
    FROM identity_recovery_addresses r WHERE r.identity_id = i.id), '[]'::json) AS recovery_addresses
FROM identities i`;

const SELECT: Record<SqlDialect, string> = { sqlite: SQLITE_IDENTITY_SELECT, postgresql: PG_IDENTITY_SELECT };

export const IDENTITIES_BY_ID = (dialect: SqlDialect, n: number) => `${SELECT[dialect]} WHERE i.id IN (${placeholders(n)})`;
export const IDENTITY_BY_CREDENTIAL_IDENTIFIER = (dialect: SqlDialect) =>
  `${SELECT[dialect]} WHERE i.id IN (SELECT k.identity_id FROM identity_credential_identifiers k WHERE k.type = ? AND k.identifier = ?)`;

type Row = Record<string, unknown>;

/** The aggregated arrays: JSON text on SQLite, parsed on PostgreSQL. */
const jsonArray = (value: unknown): Row[] => (typeof value === 'string' ? JSON.parse(value) : value ?? []) as Row[];

function toRecord(row: Row, dialect: SqlDialect): IdentityRecord {
  return {
    id: row.id as string,
    schemaId: row.schema_id as string,
    state: row.state as IdentityState,
    stateChangedAt: parseNullableDate(row.state_changed_at),
    traits: jsonColumn(dialect, row.traits) as Record<string, unknown>,
    metadataPublic: jsonColumn(dialect, row.metadata_public ?? null),
    metadataAdmin: jsonColumn(dialect, row.metadata_admin ?? null),
    externalId: (row.external_id as string | null) ?? null,
    organizationId: (row.organization_id as string | null) ?? null,
    createdAt: parseDbDate(row.created_at),
    updatedAt: parseDbDate(row.updated_at),
    credentials: jsonArray(row.credentials).map((c) => ({
      id: c.id as string,
      type: c.type as CredentialType,
      identifiers: (c.identifiers as string[] | null) ?? [],
      config: jsonColumn(dialect, c.config) as Record<string, unknown>,
      version: Number(c.version),
      createdAt: parseDbDate(c.created_at),
      updatedAt: parseDbDate(c.updated_at),
    })),
    verifiableAddresses: jsonArray(row.verifiable_addresses).map(verifiableAddressFromJson),
    recoveryAddresses: jsonArray(row.recovery_addresses).map(recoveryAddressFromJson),
  };
}

/** Identities by id, in the order asked (an unknown id is skipped, a repeated one repeated). */
export async function loadIdentityRecords(em: EntityManager, dialect: SqlDialect, ids: string[]): Promise<IdentityRecord[]> {
  if (ids.length === 0) return [];
  const unique = [...new Set(ids)];
  const rows = await queryRows<Row>(em, IDENTITIES_BY_ID(dialect, unique.length), unique);
  const byId = new Map(rows.map((row) => [row.id as string, row]));
  return ids.flatMap((id) => {
    const row = byId.get(id);
    return row ? [toRecord(row, dialect)] : [];
  });
}

/** The identity owning a credential identifier of this type, or null. */
export async function loadIdentityByCredentialIdentifier(em: EntityManager, dialect: SqlDialect, type: string, identifier: string): Promise<IdentityRecord | null> {
  const rows = await queryRows<Row>(em, IDENTITY_BY_CREDENTIAL_IDENTIFIER(dialect), [type, identifier]);
  return rows.length > 0 ? toRecord(rows[0], dialect) : null;
}

/**
 * The INSERT statements of a new identity (identity, credentials, their identifiers, addresses), parents first, each
 * with its bound values in placeholder order. Identifier rows get fresh ids and the record's updatedAt as their times,
 * as the entity writes did. Sent together (writes.ts): one statement on PostgreSQL, whose foreign keys are checked
 * when every row is in; a clash with a unique index is a UniqueConstraintViolationException.
 */
export function identityInserts(record: IdentityRecord): Write[] {
  const now = record.updatedAt;
  const parts = [{
    sql: insertSql('identities', [
      'id', 'schema_id', 'state', 'state_changed_at', 'traits', 'metadata_public', 'metadata_admin', 'external_id', 'organization_id',
      'created_at', 'updated_at', 'public_json',
    ], 1),
    params: [
      record.id, record.schemaId, record.state, record.stateChangedAt, jsonParam(record.traits), jsonParam(record.metadataPublic),
      jsonParam(record.metadataAdmin), record.externalId, record.organizationId, record.createdAt, now,
      identityPublicJson(record),
    ] as unknown[],
  }];
  const credentials = record.credentials;
  if (credentials.length > 0) {
    parts.push({
      sql: insertSql('identity_credentials', ['id', 'identity_id', 'type', 'config', 'version', 'created_at', 'updated_at'], credentials.length),
      params: credentials.flatMap((c) => [c.id, record.id, c.type, jsonParam(c.config), c.version, c.createdAt, c.updatedAt]),
    });
  }
  const identifiers = credentials.flatMap((c) => c.identifiers.map((identifier) => [crypto.randomUUID(), c.id, record.id, c.type, identifier, now, now]));
  if (identifiers.length > 0) {
    parts.push({
      sql: insertSql('identity_credential_identifiers', ['id', 'credential_id', 'identity_id', 'type', 'identifier', 'created_at', 'updated_at'], identifiers.length),
      params: identifiers.flat(),
    });
  }
  const verifiable = record.verifiableAddresses;
  if (verifiable.length > 0) {
    parts.push({
      sql: insertSql('identity_verifiable_addresses', ['id', 'identity_id', 'via', 'value', 'verified', 'verified_at', 'status', 'created_at', 'updated_at'], verifiable.length),
      params: verifiable.flatMap((a) => [a.id, record.id, a.via, a.value, a.verified, a.verifiedAt, a.status, a.createdAt, a.updatedAt]),
    });
  }
  const recovery = record.recoveryAddresses;
  if (recovery.length > 0) {
    parts.push({
      sql: insertSql('identity_recovery_addresses', ['id', 'identity_id', 'via', 'value', 'created_at', 'updated_at'], recovery.length),
      params: recovery.flatMap((a) => [a.id, record.id, a.via, a.value, a.createdAt, a.updatedAt]),
    });
  }
  return parts;
}
