/**
 * Column values of raw rows as the drivers return them: SQLite (libsql) gives JSON as text, booleans as 0/1 and
 * datetimes as epoch milliseconds; PostgreSQL (pg, with MikroORM's type parsers) gives parsed JSON, booleans and
 * timestamptz text such as "2026-01-02 03:04:05.678+00" — and inside json_build_object ISO 8601 text.
 */
import type { IdentityRecord } from '../../identity/identity.ts';
import type { SqlDialect } from './statements.ts';

/**
 * PostgreSQL's timestamptz text ("2026-01-02 03:04:05.678912+00") and ISO 8601 from json_build_object, read in one
 * pass: a session row carries eleven of them, and the general path below (three replaces, then Date's own parser)
 * was 5 % of the PostgreSQL whoami's CPU. Fractions beyond milliseconds are cut, as below.
 */
const TIMESTAMP = /^(\d{4})-(\d\d)-(\d\d)[ T](\d\d):(\d\d):(\d\d)(?:\.(\d{1,9}))?(?:Z|([+-])(\d\d)(?::?(\d\d))?)$/;

function parseTimestamp(text: string): Date | undefined {
  const m = TIMESTAMP.exec(text);
  if (!m) return undefined;
  const year = Number(m[1]);
  if (year < 100) return undefined; // Date.UTC reads years 0-99 as 1900-1999: the general path handles them
  const ms = m[7] ? Number(m[7].slice(0, 3).padEnd(3, '0')) : 0;
  const offsetMinutes = m[8] ? (m[8] === '-' ? -1 : 1) * (Number(m[9]) * 60 + Number(m[10] ?? 0)) : 0;
  const time = Date.UTC(year, Number(m[2]) - 1, Number(m[3]), Number(m[4]), Number(m[5]), Number(m[6]), ms) - offsetMinutes * 60_000;
  return Number.isNaN(time) ? undefined : new Date(time);
}

/** Parses what either driver returns for a datetime: epoch ms (number or digit string), ISO 8601 or PG text. */
export function parseDbDate(value: unknown): Date {
  if (value instanceof Date) return value;
  if (typeof value === 'number') return new Date(value);
  if (typeof value === 'string') {
    const fast = parseTimestamp(value);
    if (fast) return fast;
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
