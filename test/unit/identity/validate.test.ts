import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { messageText } from '../../../src/ui/messages.ts';
import { makeSchema, schemaDoc } from './helpers.ts';

const root = resolve(import.meta.dirname, '../../..');
const defaultSchema = makeSchema(JSON.parse(readFileSync(resolve(root, 'schemas/default.schema.json'), 'utf8')), 'default');

const rich = makeSchema(
  schemaDoc(
    {
      email: { type: 'string', format: 'email', minLength: 3, maxLength: 20 },
      username: { type: 'string', pattern: '^[a-z]+$' },
      age: { type: 'integer', minimum: 18, maximum: 130 },
      score: { type: 'number', exclusiveMinimum: 0, exclusiveMaximum: 10, multipleOf: 0.5 },
      phone: { type: 'string', format: 'tel' },
      birthday: { type: 'string', format: 'date' },
      site: { type: 'string', format: 'uri' },
      tags: { type: 'array', items: { type: 'string' }, minItems: 1, maxItems: 2, uniqueItems: true },
      plan: { type: 'string', enum: ['free', 'pro'] },
      tos: { const: true },
      name: {
        type: 'object',
        properties: { first: { type: 'string' }, last: { type: 'string' } },
        required: ['first'],
      },
    },
    { required: ['email', 'name'], additionalProperties: false },
  ),
);

const ok = { email: 'a@b.co', name: { first: 'Ada' } };

describe('validateTraits', () => {
  it('accepts valid traits', () => {
    expect(defaultSchema.validateTraits({ email: 'ada@example.com', name: { first: 'Ada', last: 'L' } })).toEqual([]);
    expect(rich.validateTraits({ ...ok, age: 30, score: 2.5, phone: '+49 30 123456', birthday: '2000-01-31', site: 'https://x.io', tags: ['a'], plan: 'pro', tos: true })).toEqual([]);
  });

  it('points required errors at the missing property', () => {
    expect(defaultSchema.validateTraits({})).toEqual([
      { pointer: '/traits/email', message: 'Property email is missing.', id: 4000002, context: { property: 'email' } },
    ]);
    expect(rich.validateTraits({ email: 'a@b.co', name: {} })).toEqual([
      { pointer: '/traits/name/first', message: 'Property first is missing.', id: 4000002, context: { property: 'first' } },
    ]);
  });

  it('reports min and max length with the actual length (code points)', () => {
    expect(rich.validateTraits({ ...ok, email: 'ab' })).toContainEqual({
      pointer: '/traits/email',
      message: 'length must be >= 3, but got 2',
      id: 4000003,
      context: { min_length: 3, actual_length: 2 },
    });
    const long = 'a'.repeat(15) + '@b.com';
    expect(rich.validateTraits({ ...ok, email: long })).toEqual([
      { pointer: '/traits/email', message: 'length must be <= 20, but got 21', id: 4000017, context: { max_length: 20, actual_length: 21 } },
    ]);
  });

  it('reports pattern, type and format errors', () => {
    expect(rich.validateTraits({ ...ok, username: 'ADA' })).toEqual([
      { pointer: '/traits/username', message: 'does not match pattern "^[a-z]+$"', id: 4000004, context: { pattern: '^[a-z]+$' } },
    ]);
    expect(rich.validateTraits({ ...ok, email: 42 })).toEqual([
      {
        pointer: '/traits/email',
        message: 'expected string, but got number',
        id: 4000026,
        context: { allowed_types: ['string'], actual_type: 'number' },
      },
    ]);
    expect(rich.validateTraits({ ...ok, email: 'foo' })).toEqual([
      // Kratos (schema/errors.go): e-mail formats are 4000040, phone numbers 4000041, other formats 4000001.
      { pointer: '/traits/email', message: 'Enter a valid email address', id: 4000040, context: { value: 'foo' } },
    ]);
    const expectations: Array<[string, string, number]> = [
      ['phone', '+1 000 000 0000', 4000041], ['phone', '030 123456', 4000041], ['birthday', '2000-02-30', 4000001], ['site', 'not a url', 4000001],
    ];
    for (const [field, value, id] of expectations) {
      const errors = rich.validateTraits({ ...ok, [field]: value });
      expect(errors).toEqual([expect.objectContaining({ pointer: `/traits/${field}`, id })]);
    }
  });

  it('reports numeric, array, enum and const errors with Kratos ids', () => {
    const ids = (t: object) => rich.validateTraits({ ...ok, ...t }).map((e) => [e.pointer, e.id]);
    expect(ids({ age: 17 })).toEqual([['/traits/age', 4000018]]);
    expect(ids({ age: 131 })).toEqual([['/traits/age', 4000020]]);
    expect(ids({ age: 20.5 })).toEqual([['/traits/age', 4000026]]);
    expect(ids({ score: 0 })).toEqual([['/traits/score', 4000019]]);
    expect(ids({ score: 10 })).toEqual([['/traits/score', 4000021]]);
    expect(ids({ score: 0.7 })).toEqual([['/traits/score', 4000022]]);
    expect(ids({ tags: [] })).toEqual([['/traits/tags', 4000024]]);
    expect(ids({ tags: ['a', 'b', 'c'] })).toEqual([['/traits/tags', 4000023]]);
    expect(ids({ tags: ['a', 'a'] })).toEqual([['/traits/tags', 4000025]]);
    expect(ids({ tags: ['a', 1] })).toEqual([['/traits/tags/1', 4000026]]);
    expect(ids({ plan: 'gold' })).toEqual([['/traits/plan', 4000001]]);
    expect(ids({ tos: false })).toEqual([['/traits/tos', 4000029]]);
    const [min] = rich.validateTraits({ ...ok, age: 17 });
    expect(min.context).toEqual({ minimum: 18, actual: 17 });
    expect(min.message).toBe('must be >= 18 but found 17');
  });

  it('names the offending property of additionalProperties: false', () => {
    expect(defaultSchema.validateTraits({ email: 'a@b.co', admin: true })).toEqual([
      {
        pointer: '/traits',
        message: 'additionalProperties "admin" not allowed',
        id: 4000001,
        context: { reason: 'additionalProperties "admin" not allowed' },
      },
    ]);
  });

  it('reports all problems at once', () => {
    const errors = rich.validateTraits({ email: 'x', username: 'UP', name: { first: 1 } });
    expect(errors.map((e) => `${e.pointer}:${e.id}`).sort()).toEqual(
      ['/traits/email:4000003', '/traits/email:4000040', '/traits/name/first:4000026', '/traits/username:4000004'].sort(),
    );
  });

  it('answers non-object traits with one error at /traits', () => {
    for (const [traits, type] of [[null, 'null'], [undefined, 'null'], ['x', 'string'], [[], 'array'], [3, 'number'], [true, 'boolean']] as const) {
      expect(defaultSchema.validateTraits(traits)).toEqual([
        {
          pointer: '/traits',
          message: `expected object, but got ${type}`,
          id: 4000026,
          context: { allowed_types: ['object'], actual_type: type },
        },
      ]);
    }
  });

  it('escapes pointer tokens', () => {
    const s = makeSchema(schemaDoc({ 'a/b': { type: 'string' }, 'c~d': { type: 'object', required: ['e/f'] } }));
    expect(s.validateTraits({ 'a/b': 1, 'c~d': {} }).map((e) => e.pointer)).toEqual(['/traits/a~1b', '/traits/c~0d/e~1f']);
  });

  it('messages equal the catalog text for the same id and context', () => {
    for (const e of rich.validateTraits({ email: 'x', age: 1, tags: [], name: {} })) {
      expect(e.message).toBe(messageText(e.id, e.context));
    }
  });
});

describe('e-mail format (GHSA-xv97-c62v-4587, GHSA-5jpx-9hw9-2fx4)', () => {
  const refused = [
    'a@x.com,b@y.com',
    'a@x.com, b@y.com',
    'a@x.com;b@y.com',
    '"e@attacker.com"@victim.com',
    '"quoted"@victim.com',
    'Victim <victim@x.com>',
    'victim@x.com (comment)',
    'a@b@c.com',
    'a b@c.com',
    'a@x.com\r\nBcc: e@attacker.com',
    'a@x.com\n',
    '.a@x.com',
    'a..b@x.com',
    'a@-x.com',
    'a@x..com',
    'a@[127.0.0.1]',
    'a@1.2.3.4',
    '@x.com',
    'a@',
    'a\uFF20x.com', // full-width @
    'a@x.com\uFF0Cb@y.com', // full-width comma
    'a\u2474@x.com', // ⑴ becomes "(1)" under NFKC
  ];
  const accepted = ['a@b.co', 'first.last+tag@sub.example.com', "o'hara@x.ie", 'ünïcode@exämple.de', 'user@localhost', '  padded@x.com '];

  for (const value of refused) {
    it(`refuses ${JSON.stringify(value)}`, () => {
      const errors = defaultSchema.validateTraits({ email: value });
      expect(errors).toContainEqual(expect.objectContaining({ pointer: '/traits/email', id: 4000040 }));
    });
  }
  for (const value of accepted) {
    it(`accepts ${JSON.stringify(value)}`, () => {
      expect(defaultSchema.validateTraits({ email: value })).toEqual([]);
    });
  }

  it('refuses an array of addresses where a string is expected', () => {
    expect(defaultSchema.validateTraits({ email: ['a@x.com', 'b@y.com'] })).toEqual([
      expect.objectContaining({ pointer: '/traits/email', id: 4000026 }),
    ]);
  });
});
