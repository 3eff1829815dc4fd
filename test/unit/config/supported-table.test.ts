import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { README, readBlock } from '../../support/readme-blocks.ts';
import { keyRows, kratosKeyPaths, renderSupportedTable } from './supported-table.ts';

const SCHEMA = JSON.parse(readFileSync(new URL('../../../config/config.schema.json', import.meta.url), 'utf8'));

describe("README's supported-keys table", () => {
  it('lists exactly the keys of the config schema (table between <!-- supported-config:begin/end -->; print it with npx tsx test/unit/config/supported-table.ts)', () => {
    expect(readBlock(readFileSync(README, 'utf8'), 'supported-config')).toBe(renderSupportedTable(SCHEMA));
  });

  it('walks nested objects, arrays of objects and $refs, and lists a hook list once', () => {
    const rows = keyRows({
      definitions: { url: { type: 'string', description: 'A URL. More text.' } },
      properties: {
        a: { properties: { b: { $ref: '#/definitions/url' }, c: { type: 'integer', default: 3 } } },
        list: { type: 'array', items: { properties: { id: { type: 'string' } } } },
        hooks: { type: 'array', items: { properties: { hook: { enum: ['web_hook'] }, config: { type: 'object' } } } },
      },
    });
    expect(rows).toEqual([
      { path: 'a.b', type: 'string', default: undefined, about: 'A URL.' },
      { path: 'a.c', type: 'integer', default: 3, about: '' },
      { path: 'list[].id', type: 'string', default: undefined, about: '' },
      { path: 'hooks', type: 'array of hooks', default: undefined, about: 'Hooks run at this point (see Web hooks).' },
    ]);
  });

  it("tells Kratos's keys from idflow's own", () => {
    const kratos = kratosKeyPaths();
    expect(kratos.has('selfservice.methods.password.config.min_password_length')).toBe(true);
    expect(kratos.has('rate_limit.enabled')).toBe(false);
    const table = renderSupportedTable(SCHEMA);
    expect(table).toMatch(/\| `selfservice\.methods\.password\.config\.min_password_length` \| integer \| `8` \| Kratos \|/);
    expect(table).toMatch(/\| `rate_limit\.enabled` \| boolean \| `true` \| idflow \|/);
  });
});
