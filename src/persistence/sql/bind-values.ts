/**
 * MikroORM 6 formats every value into the SQL text (`Platform.formatQuery`) and hands knex a string without
 * bindings. Escaping is then all that stands between a value and the statement, and values a literal can not carry
 * break it: a NUL byte ended SQLite's statement and is refused by PostgreSQL's protocol (a 500 on both). This turns
 * MikroORM's `?` SQL and its params into SQL with placeholders and a list of bound values, with the same meaning
 * formatQuery gives them: `??` is an identifier (inlined, quoted), `\?` a literal question mark, an array a list,
 * a plain object JSON, a raw fragment SQL (its own params bound too).
 */
import { JsonProperty, RawQueryFragment, Utils } from '@mikro-orm/core';

export interface BindPlatform {
  quoteIdentifier(id: string): string;
  /** What a Date is bound as (SQLite: epoch milliseconds, PostgreSQL: an ISO string in UTC). */
  bindDate(value: Date): unknown;
  /** knex's own Raw / Ref objects, which knex unwraps when they are bound. */
  isKnexRaw(value: unknown): boolean;
}

export interface BoundQuery {
  sql: string;
  bindings: unknown[];
}

export function bindValues(sql: string, params: readonly unknown[], platform: BindPlatform): BoundQuery {
  const out: BoundQuery = { sql: '', bindings: [] };
  let next = 0;
  let i = 0;
  while (i < sql.length) {
    const q = sql.indexOf('?', i);
    if (q === -1) {
      out.sql += sql.slice(i);
      break;
    }
    if (q > 0 && sql[q - 1] === '\\') {
      // `\?` stays escaped: knex turns it into a literal `?` when it numbers the placeholders.
      out.sql += sql.slice(i, q + 1);
      i = q + 1;
      continue;
    }
    out.sql += sql.slice(i, q);
    if (sql[q + 1] === '?') {
      out.sql += platform.quoteIdentifier(String(params[next++]));
      i = q + 2;
    } else {
      bindOne(params[next++], platform, out);
      i = q + 1;
    }
  }
  return out;
}

function bindOne(value: unknown, platform: BindPlatform, out: BoundQuery): void {
  if (value instanceof RawQueryFragment || RawQueryFragment.isRaw(value)) {
    const inner = bindValues((value as RawQueryFragment).sql, (value as RawQueryFragment).params ?? [], platform);
    out.sql += inner.sql;
    out.bindings.push(...inner.bindings);
    return;
  }
  if (Array.isArray(value) && !(value as { [JsonProperty]?: unknown })[JsonProperty]) {
    // formatQuery renders an array as a comma-separated list (`in (?)`), a nested array as a parenthesised one.
    value.forEach((item, index) => {
      if (index > 0) out.sql += ', ';
      if (Array.isArray(item)) {
        out.sql += '(';
        bindOne(item, platform, out);
        out.sql += ')';
      } else bindOne(item, platform, out);
    });
    return;
  }
  out.sql += '?';
  out.bindings.push(toBinding(value, platform));
}

function toBinding(value: unknown, platform: BindPlatform): unknown {
  if (value === undefined || value === null) return null;
  if (value instanceof Date) return platform.bindDate(value);
  if (typeof value === 'bigint') return value.toString();
  if (typeof value !== 'object') return value;
  if (ArrayBuffer.isView(value) || platform.isKnexRaw(value)) return value;
  if (Utils.isPlainObject(value) || (value as { [JsonProperty]?: unknown })[JsonProperty] || Array.isArray(value)) return JSON.stringify(value);
  return String(value);
}
