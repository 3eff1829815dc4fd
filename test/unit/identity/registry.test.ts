import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { KratosError } from '../../../src/errors/kratos-error.ts';
import {
  IdentitySchemaRegistry,
  decodeSchemaId,
  encodeSchemaId,
  schemaUrl,
} from '../../../src/identity/schema/index.ts';
import { makeSchema } from './helpers.ts';

const raw = JSON.parse(readFileSync(resolve(import.meta.dirname, '../../../schemas/default.schema.json'), 'utf8'));

describe('schema ids in URLs', () => {
  it('encodes ids as unpadded base64url (Go base64.RawURLEncoding)', () => {
    expect(encodeSchemaId('default')).toBe('ZGVmYXVsdA');
    expect(encodeSchemaId('preset://email')).toBe('cHJlc2V0Oi8vZW1haWw');
    expect(encodeSchemaId('a?>')).toBe('YT8-'); // "+" -> "-"
    expect(encodeSchemaId('??~')).toBe('Pz9-');
    expect(encodeSchemaId('ÿ?')).toBe('w78_'); // "/" -> "_"
    expect(encodeSchemaId('customer')).not.toMatch(/[=+/]/);
  });

  it('decodes padded and unpadded base64url and refuses garbage', () => {
    expect(decodeSchemaId('ZGVmYXVsdA')).toBe('default');
    expect(decodeSchemaId('ZGVmYXVsdA==')).toBe('default');
    expect(decodeSchemaId('YT8-')).toBe('a?>');
    expect(decodeSchemaId('not base64!')).toBeUndefined();
    expect(decodeSchemaId('_w')).toBeUndefined(); // not UTF-8
  });

  it('builds schema_url under the public base URL', () => {
    expect(schemaUrl('https://auth.example.com/', 'default')).toBe('https://auth.example.com/schemas/ZGVmYXVsdA');
    expect(schemaUrl('https://example.com/kratos', 'preset://email')).toBe('https://example.com/kratos/schemas/cHJlc2V0Oi8vZW1haWw');
  });
});

describe('IdentitySchemaRegistry', () => {
  const reg = new IdentitySchemaRegistry([makeSchema(raw, 'default'), makeSchema(raw, 'preset://email')], 'default');

  it('gets schemas by id, by base64url id, and lists raw JSON in order', () => {
    expect(reg.get('default')?.id).toBe('default');
    expect(reg.get('nope')).toBeUndefined();
    expect(reg.getByIdOrEncoded('ZGVmYXVsdA')?.id).toBe('default');
    expect(reg.getByIdOrEncoded('default')?.id).toBe('default');
    expect(reg.getByIdOrEncoded('cHJlc2V0Oi8vZW1haWw')?.id).toBe('preset://email');
    expect(reg.getByIdOrEncoded('bm9wZQ')).toBeUndefined();
    expect(reg.list()).toEqual([
      { id: 'default', schema: raw },
      { id: 'preset://email', schema: raw },
    ]);
    expect(reg.schemaUrl('http://127.0.0.1:4433', 'default')).toBe('http://127.0.0.1:4433/schemas/ZGVmYXVsdA');
    expect(reg.default.id).toBe('default');
  });

  it('require() throws a Kratos 400 for unknown ids', () => {
    expect(reg.require('preset://email').id).toBe('preset://email');
    expect(reg.require('').id).toBe('default');
    let err: unknown;
    try {
      reg.require('ghost');
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(KratosError);
    const body = (err as KratosError).toJSON();
    expect(body.error.code).toBe(400);
    expect(body.error.reason).toBe('The identity schema with ID "ghost" is unknown.');
  });

  it('refuses a default id that is not registered', () => {
    expect(() => new IdentitySchemaRegistry([makeSchema(raw, 'a')], 'b')).toThrow(/default_schema_id "b"/);
  });
});
