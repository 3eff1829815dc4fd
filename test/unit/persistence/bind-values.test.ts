import { describe, expect, it } from 'vitest';
import { JsonProperty, raw } from '@mikro-orm/core';
import { bindValues, type BindPlatform } from '../../../src/persistence/sql/bind-values.ts';

const platform: BindPlatform = { quoteIdentifier: (id) => `"${id}"`, bindDate: (d) => d.getTime(), isKnexRaw: () => false };

describe('bindValues: MikroORM formatQuery semantics, values bound', () => {
  it('binds every value, keeping SQL metacharacters out of the text', () => {
    const evil = `x'); drop table t; -- ? $1 \\ \u0000`;
    expect(bindValues('select * from t where a = ? and b = ?', [evil, 3], platform)).toEqual({ sql: 'select * from t where a = ? and b = ?', bindings: [evil, 3] });
  });

  it('inlines ?? as a quoted identifier, keeps \\? escaped, expands arrays into lists', () => {
    expect(bindValues('select ?? from t where id in (?) and j \\? ?', ['col', ['a', 'b'], 'k'], platform)).toEqual({
      sql: 'select "col" from t where id in (?, ?) and j \\? ?', bindings: ['a', 'b', 'k'],
    });
    expect(bindValues('values ?', [[[1, 2], [3, 4]]], platform)).toEqual({ sql: 'values (?, ?), (?, ?)', bindings: [1, 2, 3, 4] });
  });

  it('turns objects and JSON-tagged arrays into JSON, dates per platform, undefined into null', () => {
    const tagged = Object.assign(['x'], { [JsonProperty]: true });
    const date = new Date(Date.UTC(2026, 0, 2));
    expect(bindValues('? ? ? ?', [{ a: 1 }, tagged, date, undefined], platform).bindings).toEqual(['{"a":1}', '["x"]', date.getTime(), null]);
  });

  it('splices raw fragments with their own parameters bound', () => {
    expect(bindValues('select ? as x where y = ?', [raw('lower(?)', ['A']), 'b'], platform)).toEqual({ sql: 'select lower(?) as x where y = ?', bindings: ['A', 'b'] });
  });
});
