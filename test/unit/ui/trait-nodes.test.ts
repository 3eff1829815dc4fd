import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { IdentitySchema } from '../../../src/identity/schema/index.ts';
import { traitNodes } from '../../../src/ui/trait-nodes.ts';
import type { UiInputNode } from '../../../src/ui/node.ts';
import { fileURLToPath } from 'node:url';
import { referenceUrl } from '../../support/reference.ts';

const root = resolve(import.meta.dirname, '../../..');
const load = (path: string, id: string) => new IdentitySchema({ id, url: `file://${path}`, raw: JSON.parse(readFileSync(path, 'utf8')) });
const defaultSchema = load(resolve(root, 'schemas/default.schema.json'), 'default');
const exampleSchema = load(fileURLToPath(referenceUrl('identity.schema.example.json')), 'example');

const label = (title: string, name: string) => ({ id: 1070002, text: title, type: 'info', context: { title, name } });

describe('traitNodes', () => {
  it('builds the default schema nodes in property order', () => {
    expect(traitNodes(defaultSchema)).toEqual([
      {
        type: 'input',
        group: 'default',
        attributes: { name: 'traits.email', type: 'email', required: true, autocomplete: 'email', disabled: false, maxlength: 320, node_type: 'input' },
        messages: [],
        meta: { label: label('E-Mail', 'traits.email') },
      },
      {
        type: 'input',
        group: 'default',
        attributes: { name: 'traits.name.first', type: 'text', disabled: false, maxlength: 100, node_type: 'input' },
        messages: [],
        meta: { label: label('First name', 'traits.name.first') },
      },
      {
        type: 'input',
        group: 'default',
        attributes: { name: 'traits.name.last', type: 'text', disabled: false, maxlength: 100, node_type: 'input' },
        messages: [],
        meta: { label: label('Last name', 'traits.name.last') },
      },
    ]);
  });

  it('builds the example schema nodes with values and a group', () => {
    const nodes = traitNodes(exampleSchema, { email: 'ada@example.com', name: { first: 'Ada', last: '' }, newsletter: false }, 'profile');
    expect(nodes.map((n) => [n.attributes.name, n.attributes.type, n.attributes.required ?? false, n.group])).toEqual([
      ['traits.email', 'email', true, 'profile'],
      ['traits.name.first', 'text', false, 'profile'],
      ['traits.name.last', 'text', false, 'profile'],
      ['traits.newsletter', 'checkbox', false, 'profile'],
    ]);
    expect(nodes.map((n) => n.attributes.value)).toEqual(['ada@example.com', 'Ada', undefined, false]);
    expect('value' in nodes[2].attributes).toBe(false);
    expect(nodes[3].meta.label).toEqual(label('Subscribe to the newsletter', 'traits.newsletter'));
  });

  it('maps formats and types, patterns, enums, nested required paths and untitled fields', () => {
    const s = new IdentitySchema({
      id: 'all',
      url: 'base64://',
      raw: {
        definitions: { phone: { type: 'string', format: 'tel', title: 'Phone' } },
        type: 'object',
        properties: {
          traits: {
            type: 'object',
            required: ['phone', 'address'],
            properties: {
              phone: { $ref: '#/definitions/phone' },
              birthday: { type: 'string', format: 'date' },
              meeting: { type: 'string', format: 'date-time' },
              site: { type: 'string', format: 'uri' },
              age: { type: 'integer' },
              height: { type: ['number', 'null'] },
              code: { type: 'string', pattern: '^[A-Z]{3}$' },
              plan: { type: 'string', enum: ['free', 'pro'] },
              address: {
                type: 'object',
                required: ['city'],
                properties: { city: { type: 'string' }, zip: { type: 'string' } },
              },
              extra: { type: 'object', properties: { note: { type: 'string' } }, required: ['note'] },
            },
          },
        },
      },
    });
    const nodes = traitNodes(s);
    const by = Object.fromEntries(nodes.map((n) => [n.attributes.name, n.attributes])) as Record<string, UiInputNode['attributes']>;
    expect(Object.keys(by)).toEqual([
      'traits.phone', 'traits.birthday', 'traits.meeting', 'traits.site', 'traits.age', 'traits.height', 'traits.code',
      'traits.plan', 'traits.address.city', 'traits.address.zip', 'traits.extra.note',
    ]);
    expect(by['traits.phone']).toMatchObject({ type: 'tel', autocomplete: 'tel', required: true });
    expect(nodes[0].meta.label).toEqual(label('Phone', 'traits.phone'));
    expect(by['traits.birthday'].type).toBe('date');
    expect(by['traits.meeting'].type).toBe('datetime-local');
    expect(by['traits.site'].type).toBe('url');
    expect(by['traits.site'].autocomplete).toBeUndefined();
    expect(by['traits.age'].type).toBe('number');
    expect(by['traits.height'].type).toBe('number');
    expect(by['traits.code']).toMatchObject({ type: 'text', pattern: '^[A-Z]{3}$' });
    expect(by['traits.plan'].options).toEqual([{ value: 'free' }, { value: 'pro' }]);
    expect(by['traits.address.city'].required).toBe(true);
    expect(by['traits.address.zip'].required).toBeUndefined();
    // "note" is required inside "extra", but "extra" itself is optional.
    expect(by['traits.extra.note'].required).toBeUndefined();
    expect(nodes[1].meta).toEqual({});
    for (const n of nodes) {
      expect(n.messages).toEqual([]);
      expect(n.attributes.disabled).toBe(false);
      expect(n.attributes.node_type).toBe('input');
    }
  });
});
