/**
 * Column values of raw rows as the drivers return them: SQLite (libsql) gives JSON as text, booleans as 0/1 and
 * datetimes as epoch milliseconds; PostgreSQL (pg, with MikroORM's type parsers) gives parsed JSON, booleans and
 * timestamptz text such as "2026-01-02 03:04:05.678+00" — and inside json_build_object ISO 8601 text.
 */

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

export function parseNullableJson(value: unknown): unknown {
  if (value === null || value === undefined) return null;
  return parseJson<unknown>(value);
}

export function parseBool(value: unknown): boolean {
  return value === true || value === 1 || value === '1' || value === 't' || value === 'true';
}
