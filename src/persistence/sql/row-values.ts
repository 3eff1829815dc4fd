/**
 * Column values of raw rows as the drivers return them: SQLite (libsql) gives JSON as text, booleans as 0/1 and
 * datetimes as epoch milliseconds; PostgreSQL (pg, with MikroORM's type parsers) gives parsed JSON, booleans and
 * timestamptz text such as "2026-01-02 03:04:05.678+00" — and inside json_build_object ISO 8601 text.
 */
import type { IdentityRecord } from '../../identity/identity.ts';
import type { SqlDialect } from './statements.ts';

/** Parses what either driver returns for a datetime: epoch ms (number or digit string), ISO 8601 or PG text. */
export function parseDbDate(value: unknown): Date {
  if (value instanceof Date) return value;
  if (typeof value === 'number') return new Date(value);
  if (typeof value === 'string') {
    if (/^-?\d+(\.\d+)?$/.test(value)) return new Date(Number(value));
    // PG text: "YYYY-MM-DD HH:MM:SS[.ffffff]+HH[:MM]" -> ISO; fractions beyond milliseconds are cut.
    const iso = value
      .replace(' ', 'T')
      .replace(/(\.\d{3})\d+/, '$1')
      .replace(/([+-]\d\d)$/, '$1:00');
    const date = new Date(iso);
    if (!Number.isNaN(date.getTime())) return date;
  }
  throw new TypeError(`unparseable datetime ${JSON.stringify(value)}`);
}

export function parseNullableDate(value: unknown): Date | null {
  return value === null || value === undefined ? null : parseDbDate(value);
}

/** A JSON column: text on SQLite, already parsed on PostgreSQL. */
export function parseJson<T>(value: unknown): T {
  return (typeof value === 'string' ? JSON.parse(value) : value) as T;
}

/**
 * A JSON column as MikroORM reads it: PostgreSQL's driver parses json/jsonb; SQLite's text is parsed, and text that is
 * not JSON stays the string it is (MikroORM's parseJsonSafe).
 */
export function jsonColumn(dialect: SqlDialect, value: unknown): unknown {
  if (dialect === 'postgresql' || typeof value !== 'string') return value;
  try {
    return JSON.parse(value);
  } catch {
    return value;
  }
}

export function parseNullableJson(value: unknown): unknown {
  if (value === null || value === undefined) return null;
  return parseJson<unknown>(value);
}

export function parseBool(value: unknown): boolean {
  return value === true || value === 1 || value === '1' || value === 't' || value === 'true';
}

/** A verifiable address aggregated to a JSON object by a statement (json_object / json_build_object). */
export function verifiableAddressFromJson(a: Record<string, unknown>): IdentityRecord['verifiableAddresses'][number] {
  return {
    id: String(a.id),
    value: String(a.value),
    via: a.via as 'email' | 'sms',
    verified: parseBool(a.verified),
    verifiedAt: parseNullableDate(a.verified_at),
    status: a.status as 'pending' | 'sent' | 'completed',
    createdAt: parseDbDate(a.created_at),
    updatedAt: parseDbDate(a.updated_at),
  };
}

/** A recovery address aggregated to a JSON object by a statement. */
export function recoveryAddressFromJson(a: Record<string, unknown>): IdentityRecord['recoveryAddresses'][number] {
  return { id: String(a.id), value: String(a.value), via: a.via as 'email' | 'sms', createdAt: parseDbDate(a.created_at), updatedAt: parseDbDate(a.updated_at) };
}
