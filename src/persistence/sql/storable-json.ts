/**
 * PostgreSQL's jsonb can not hold U+0000 (and SQLite gives it back unchanged), so a flow that echoes a refused
 * submission back to its form (an identifier with a NUL, answered with 4000001) stores U+FFFD in its place on every
 * database. Only what a client sent is ever echoed; accepted values never contain a NUL (they are validated first).
 */
export function storableJson<T>(value: T): T {
  if (typeof value === 'string') return (value.includes('\u0000') ? value.replaceAll('\u0000', '\ufffd') : value) as T;
  if (Array.isArray(value)) return value.map(storableJson) as T;
  if (value && typeof value === 'object' && !(value instanceof Date)) {
    const out: Record<string, unknown> = {};
    for (const [key, child] of Object.entries(value)) out[storableJson(key)] = storableJson(child);
    return out as T;
  }
  return value;
}
