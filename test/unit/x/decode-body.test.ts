// decodeBody against ory/x decoderx (decoderx/http.go, decodeURLValues; paths from jsonschemax/keys.go).
// "mirrors …" names the case in decoderx/http_test.go (TestHTTPFormDecoder, ory/x before the vendoring
// commit 035d1e2) whose expectation a test reproduces; the schemas below are small equivalents of its stubs.
import { Readable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { KratosError } from '../../../src/errors/kratos-error.ts';
import { bodyParsers } from '../../../src/http/middleware/body.ts';
import { decodeBody, parseBoolOrKeep, parseNumberOrKeep, plainNumber, schemaPaths } from '../../../src/x/decode-body.ts';

const person = {
  $id: 'https://example.com/person.schema.json',
  type: 'object',
  properties: {
    name: { type: 'object', properties: { first: { type: 'string' }, last: { type: 'string' } } },
    age: { type: 'integer' },
    ratio: { type: 'number' },
    consent: { type: 'boolean' },
    newsletter: { type: 'boolean' },
  },
};

const requiredDefaults = {
  type: 'object',
  properties: {
    name: { type: 'object', properties: { first: { type: 'string' }, last: { type: 'string' } }, required: ['first'] },
    name2: { type: 'object', properties: { first: { type: 'string' }, last: { type: 'string' } }, required: ['first'] },
    age: { type: 'integer' }, age2: { type: 'integer' },
    ratio: { type: 'number' }, ratio2: { type: 'number' },
    consent: { type: 'boolean' }, consent2: { type: 'boolean' },
    newsletter: { type: 'boolean' }, newsletter2: { type: 'boolean' },
  },
  required: ['age2', 'ratio2', 'consent2', 'newsletter2', 'name2'],
};

const consent = {
  type: 'object',
  additionalProperties: false,
  properties: {
    traits: {
      type: 'object',
      required: ['consent'],
      properties: {
        consent: {
          type: 'object',
          required: ['tos'],
          properties: {
            tos: { const: true, title: 'I accept the Terms of Service' },
            inner: { type: 'object', properties: { foo: { type: 'string' } }, required: ['foo'] },
          },
        },
        notrequired: { type: 'object', required: ['tos'], properties: { tos: { const: true } } },
      },
    },
  },
};

const dynamicObject = {
  type: 'object',
  properties: {
    name: { type: 'object', properties: { first: { type: 'string' }, last: { type: 'string' } } },
    dynamic_object: { type: 'object', additionalProperties: true },
  },
};

const nested = {
  type: 'object',
  required: ['node'],
  properties: {
    node: {
      type: 'object',
      required: ['node'],
      properties: {
        node: {
          type: 'object',
          required: ['leaf'],
          properties: {
            node: { type: 'object', required: ['leaf'], properties: { leaf: { type: 'string' } } },
            leaf: { type: 'string' },
          },
        },
        leaf: { type: 'string' },
      },
    },
  },
};

/** A registration payload with the identity traits merged in, as the flow code will pass it. */
const registration = {
  type: 'object',
  required: ['method', 'traits'],
  properties: {
    method: { type: 'string' },
    csrf_token: { type: 'string' },
    password: { type: 'string' },
    transient_payload: { type: 'object', additionalProperties: true },
    traits: {
      type: 'object',
      required: ['email', 'tos'],
      properties: {
        email: { type: 'string', format: 'email' },
        nickname: { type: 'string' },
        tos: { type: 'boolean' },
        newsletter: { type: 'boolean' },
        age: { type: 'integer' },
        height: { type: 'number' },
        shoe: { type: 'number' },
        tags: { type: 'array', items: { type: 'string' } },
        scores: { type: 'array', items: { type: 'number' } },
        flags: { type: 'array', items: { type: 'boolean' } },
        name: { type: 'object', properties: { first: { type: 'string' }, last: { type: 'string' } } },
      },
    },
  },
};

const form = (raw: Record<string, string | string[]>, schema: object = registration) => decodeBody(raw, { source: 'form', schema });
const json = (raw: Record<string, unknown>, schema: object = registration) => decodeBody(raw, { source: 'json', schema });

function thrown(fn: () => unknown): KratosError {
  try {
    fn();
  } catch (err) {
    if (err instanceof KratosError) return err;
    throw err;
  }
  throw new Error('expected a KratosError');
}

describe('decodeBody — decoderx test cases', () => {
  it('types a form by the schema; a checkbox after its hidden "false" wins (mirrors "should pass form request and type assert data")', () => {
    expect(form({
      'name.first': 'Aeneas', 'name.last': 'Rekkas', age: '29', ratio: '0.9', consent: 'true', newsletter: ['false', 'true'],
    }, person)).toEqual({ name: { first: 'Aeneas', last: 'Rekkas' }, age: 29, newsletter: true, consent: true, ratio: 0.9 });
  });

  it('keeps a value that does not parse as a string and fills absent objects with {} (mirrors "should work with ParseErrorIgnoreConversionErrors")', () => {
    expect(form({ ratio: 'foobar' }, person)).toEqual({ name: {}, ratio: 'foobar' });
  });

  it('keeps digits as a string where the schema says string (mirrors "should interpret numbers as string if mandated by the schema")', () => {
    expect(form({ 'name.first': '12345' }, person)).toEqual({ name: { first: '12345' } });
  });

  it('fills every object path the body left out (mirrors "should mark the correct fields when nested objects are required")', () => {
    expect(form({ foo: 'bar' }, consent)).toEqual({ traits: { consent: { inner: {} }, notrequired: {} } });
  });

  it('empty values: dropped when optional, false/0 when required, strings always dropped (mirrors "should fail form request if empty values are sent because of required fields")', () => {
    const empty = Object.fromEntries(['name.first', 'name.last', 'name2.first', 'name2.last', 'ratio', 'ratio2', 'age', 'age2', 'consent', 'consent2', 'newsletter', 'newsletter2'].map((k) => [k, '']));
    // decoderx then fails validation with `I[#/name2] … missing properties: "first"`.
    expect(form(empty, requiredDefaults)).toEqual({ name: {}, name2: {}, age2: 0, ratio2: 0, consent2: false, newsletter2: false });
  });

  it('parses a form value that is JSON text for an object path (mirrors "should accept form data with premarshalled JSON object")', () => {
    expect(form({ dynamic_object: '{"stuff":{"blub":[42, 3.14152],"fu":"bar"},"consent":true}' }, dynamicObject)).toEqual({
      dynamic_object: { stuff: { blub: [42, 3.14152], fu: 'bar' }, consent: true }, name: {},
    });
  });

  it('mixes JSON text and dotted keys (mirrors "should accept form data with premarshalled JSON object and mixed object syntax")', () => {
    expect(form({ dynamic_object: '{"consent":true}', 'name.first': 'Horst', 'name.last': 'Horstmann' }, dynamicObject)).toEqual({
      dynamic_object: { consent: true }, name: { first: 'Horst', last: 'Horstmann' },
    });
  });

  it('refuses JSON text that does not parse with a 400 (mirrors "should fail form data with invalid premarshalled JSON object")', () => {
    const err = thrown(() => form({ dynamic_object: '{"stuff":{"blub":[42, 3.14152,"fu":"bar"},"consent":true}' }, dynamicObject));
    expect(err.status).toBe(400);
    expect(err.reason).toContain('Unable to decode JSON payload');
  });

  it('inserts JSON text of the wrong type as is, for the schema check to refuse (mirrors "should fail validation for form data with wrong premarshalled JSON type")', () => {
    expect(form({ dynamic_object: '[42, 3.14152]' }, dynamicObject)).toEqual({ dynamic_object: [42, 3.14152], name: {} });
  });

  it('accepts a JSON body with dotted keys (mirrors "should pass JSON request formatted as a form")', () => {
    expect(json({ 'name.first': 'Aeneas', 'name.last': 'Rekkas', age: 29, ratio: 0.9, consent: false, newsletter: true }, person)).toEqual({
      name: { first: 'Aeneas', last: 'Rekkas' }, age: 29, newsletter: true, consent: false, ratio: 0.9,
    });
  });

  it('accepts a nested JSON body just the same (mirrors "should pass JSON request formatted as a JSON even if HTTPDecoderJSONFollowsFormFormat is used")', () => {
    expect(json({ name: { first: 'Aeneas', last: 'Rekkas' }, ratio: 0.9, consent: false, newsletter: true }, person)).toEqual({
      name: { first: 'Aeneas', last: 'Rekkas' }, newsletter: true, consent: false, ratio: 0.9,
    });
  });

  it('mixes nested objects and dotted keys in JSON (mirrors "should accept JSON data with unrestricted object and mixed object syntax")', () => {
    expect(json({ dynamic_object: { stuff: { blub: [42, 3.14152], fu: 'bar' }, consent: true }, 'name.first': 'Horst', 'name.last': 'Horstmann' }, dynamicObject)).toEqual({
      dynamic_object: { stuff: { blub: [42, 3.14152], fu: 'bar' }, consent: true }, name: { first: 'Horst', last: 'Horstmann' },
    });
  });

  it('keeps a JSON string that is not a number as a string for the schema check (mirrors "should fail json request formatted as form if payload is invalid")', () => {
    expect(json({ 'name.first': 'Aeneas', age: 'not-a-number' }, person)).toEqual({ name: { first: 'Aeneas' }, age: 'not-a-number' });
  });

  it('drops keys the schema does not name (mirrors "should not retry indefinitely if key does not exist")', () => {
    expect(json({ 'not-foo': 'bar' }, { type: 'object', required: ['foo'], properties: { foo: { type: 'string' } } })).toEqual({});
  });

  it('a key that is no path is dropped and nested objects are filled (mirrors "should indicate the true missing fields from nested form")', () => {
    expect(form({ leaf: 'foo' }, nested)).toEqual({ node: { node: { node: {} } } });
  });

  it('refuses a JSON body that is not an object (mirrors "should fail because json is not an object when using form format")', () => {
    const err = thrown(() => decodeBody([] as unknown as Record<string, unknown>, { source: 'json', schema: person }));
    expect(err.status).toBe(400);
    expect(err.reason).toContain('be an object');
  });
});

describe('decodeBody — arrays and repeated keys', () => {
  it('builds an array from repeated form keys where the schema says array', () => {
    expect(form({ 'traits.tags': ['a', 'b'] }).traits).toMatchObject({ tags: ['a', 'b'] });
  });

  it('a single value of an array field is a one-element array (decoderx sets values[key] as is)', () => {
    expect(form({ 'traits.tags': 'a' }).traits).toMatchObject({ tags: ['a'] });
  });

  it('keeps empty strings inside arrays: decoderx only drops empty scalars', () => {
    expect(form({ 'traits.tags': ['', 'x'] }).traits).toMatchObject({ tags: ['', 'x'] });
  });

  it('converts each value of a number or boolean array and keeps the ones that do not parse', () => {
    const traits = form({ 'traits.scores': ['1', '2.5', 'x'], 'traits.flags': ['true', '0', 'yes'] }).traits;
    expect(traits).toMatchObject({ scores: [1, 2.5, 'x'], flags: [true, false, 'yes'] });
  });

  it('a repeated string key keeps the FIRST value, a number the first, a boolean the LAST', () => {
    const traits = form({ 'traits.email': ['a@example.com', 'b@example.com'], 'traits.age': ['1', '2'], 'traits.tos': ['false', 'true'] }).traits;
    expect(traits).toMatchObject({ email: 'a@example.com', age: 1, tos: true });
  });

  it('a JSON scalar for an array path is a one-element array; a JSON array under a dotted key is kept like its nested form', () => {
    expect(json({ 'traits.tags': 'a' }).traits).toMatchObject({ tags: ['a'] });
    expect(json({ 'traits.scores': '3' }).traits).toMatchObject({ scores: [3] });
    // decoderx would store ['["a","b"]'] (the array's text); idflow keeps the array.
    expect(json({ 'traits.tags': ['a', 'b'] }).traits).toMatchObject({ tags: ['a', 'b'] });
  });

  it('nested JSON is inserted as sent: nothing inside an object path is converted', () => {
    expect(json({ traits: { email: 'a@example.com', tos: 1, tags: ['a'], age: '3' } }).traits).toEqual({
      email: 'a@example.com', tos: 1, tags: ['a'], age: '3', name: {},
    });
  });

  it('fills an absent array of objects with {} like decoderx (ory/kratos#2360, open upstream)', () => {
    const schema = { type: 'object', properties: { traits: { type: 'object', properties: { addresses: { type: 'array', items: { type: 'object' } } } } } };
    expect(json({ traits: {} }, schema)).toEqual({ traits: { addresses: {} } });
  });
});

describe('decodeBody — empty values', () => {
  it('drops an empty optional trait of any scalar type', () => {
    expect(form({ method: 'password', 'traits.email': 'a@example.com', 'traits.tos': 'true', 'traits.nickname': '', 'traits.age': '', 'traits.newsletter': '', 'traits.height': '' })).toEqual({
      method: 'password', traits: { email: 'a@example.com', tos: true, name: {} }, transient_payload: {},
    });
  });

  it('drops an empty REQUIRED string too (validation then says the property is missing)', () => {
    expect(form({ 'traits.email': '', method: 'password' })).toEqual({ method: 'password', traits: { name: {} }, transient_payload: {} });
  });

  it('turns an empty required boolean into false and an empty required number into 0', () => {
    expect(form({ 'traits.tos': '' }).traits).toEqual({ tos: false, name: {} });
    const schema = { type: 'object', required: ['n'], properties: { n: { type: 'number' } } };
    expect(form({ n: '' }, schema)).toEqual({ n: 0 });
  });

  it('JSON null reads as an empty value', () => {
    expect(json({ 'traits.email': 'a@example.com', 'traits.nickname': null, 'traits.newsletter': null, 'traits.tos': null }).traits).toEqual({
      email: 'a@example.com', tos: false, name: {},
    });
  });

  it('drops an empty optional object but refuses an empty required one (decoderx writes JSON that does not decode)', () => {
    expect(form({ transient_payload: '' })).toEqual({ traits: { name: {} }, transient_payload: {} });
    const schema = { type: 'object', required: ['o'], properties: { o: { type: 'object' } } };
    expect(thrown(() => form({ o: '' }, schema)).status).toBe(400);
  });
});

describe('decodeBody — booleans and numbers', () => {
  it('reads booleans as Go strconv.ParseBool does, plus a checkbox\'s "on"/"off"; "yes" and the like stay strings', () => {
    for (const t of ['1', 't', 'T', 'TRUE', 'true', 'True', 'on']) expect(parseBoolOrKeep(t)).toBe(true);
    for (const f of ['0', 'f', 'F', 'FALSE', 'false', 'False', 'off']) expect(parseBoolOrKeep(f)).toBe(false);
    for (const s of ['yes', 'no', 'tRUE', ' true', 'ON', '']) expect(parseBoolOrKeep(s)).toBe(s);
    expect(form({ 'traits.tos': 'on' }).traits).toMatchObject({ tos: true });
  });

  it('JSON numbers and strings under a dotted boolean key convert the same way', () => {
    expect(json({ 'traits.tos': 1 }).traits).toMatchObject({ tos: true });
    expect(json({ 'traits.tos': 0 }).traits).toMatchObject({ tos: false });
    expect(json({ 'traits.tos': 'true' }).traits).toMatchObject({ tos: true });
    expect(json({ 'traits.tos': 2 }).traits).toMatchObject({ tos: '2' });
  });

  it('reads numbers as Go strconv.ParseFloat does; integers are numbers too', () => {
    expect(parseNumberOrKeep('29')).toBe(29);
    expect(parseNumberOrKeep('-0.5')).toBe(-0.5);
    expect(parseNumberOrKeep('+1e3')).toBe(1000);
    expect(parseNumberOrKeep('.5')).toBe(0.5);
    expect(parseNumberOrKeep('5.')).toBe(5);
    expect(parseNumberOrKeep('1_000')).toBe(1000);
    expect(parseNumberOrKeep('0x1p-2')).toBe(0.25);
    expect(parseNumberOrKeep('0x1.8p1')).toBe(3);
    expect(form({ 'traits.age': '1.5' }).traits).toMatchObject({ age: 1.5 }); // the schema check says "integer"
    for (const s of [' 1', '1 ', '1e', '_1', '1__0', '1_', '0x10', '12abc', 'one', '+nan']) expect(parseNumberOrKeep(s)).toBe(s);
    expect(parseNumberOrKeep('1e400')).toBe('1e400'); // out of range: Go returns ErrRange
    expect(parseNumberOrKeep('1e-400')).toBe(0);
  });

  it('NaN and infinities are refused', () => {
    for (const s of ['NaN', 'nan', 'Inf', '-inf', '+Infinity']) expect(thrown(() => parseNumberOrKeep(s)).status).toBe(400);
  });

  it('a JSON number for a string path is its text without exponent (gjson Result.String)', () => {
    expect(json({ 'traits.nickname': 12345 }).traits).toMatchObject({ nickname: '12345' });
    expect(json({ 'traits.nickname': true }).traits).toMatchObject({ nickname: 'true' });
    expect(plainNumber(1e21)).toBe('1000000000000000000000');
    expect(plainNumber(1e-7)).toBe('0.0000001');
    expect(plainNumber(-1.5e-7)).toBe('-0.00000015');
    expect(plainNumber(1.25e22)).toBe('12500000000000000000000');
  });

  it('a JSON string for a number path is parsed', () => {
    expect(json({ 'traits.age': '42', 'traits.height': 1.8 }).traits).toMatchObject({ age: 42, height: 1.8 });
  });
});

describe('decodeBody — keys and prototypes', () => {
  it('drops form keys that are not schema paths, dotted or not', () => {
    expect(form({ method: 'password', 'traits.email': 'a@example.com', 'traits.unknown': 'x', unknown: 'y', 'traits.name.middle': 'z' })).toEqual({
      method: 'password', traits: { email: 'a@example.com', name: {} }, transient_payload: {},
    });
  });

  it('never lets a body key reach a prototype', () => {
    const raw = JSON.parse('{"__proto__": {"polluted": 1}, "traits.__proto__.polluted": 1, "constructor.prototype.polluted": 1, "traits": {"__proto__": {"polluted": 1}, "constructor": {"prototype": {"polluted": 1}}, "email": "a@example.com"}}');
    const out = json(raw);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    expect(Object.getPrototypeOf(out.traits)).toBe(Object.prototype);
    expect(out).toEqual({ traits: { email: 'a@example.com', name: {} }, transient_payload: {} });
    expect(Object.keys(out.traits as object)).toEqual(['email', 'name']);
  });

  it('ignores schema properties named like prototype keys', () => {
    const schema = { type: 'object', properties: { constructor: { type: 'object', properties: { prototype: { type: 'string' } } }, ok: { type: 'string' } } };
    const out = form({ 'constructor.prototype': 'x', ok: 'y' }, schema);
    expect(out).toEqual({ ok: 'y' });
    expect(Object.hasOwn(out, 'constructor')).toBe(false);
  });

  it('drops prototype keys from form JSON text too', () => {
    expect(form({ transient_payload: '{"__proto__":{"polluted":1},"a":1}' }).transient_payload).toEqual({ a: 1 });
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });

  it('does not modify the parsed body it reads', () => {
    const raw = { traits: { email: 'a@example.com' } };
    json(raw);
    expect(raw).toEqual({ traits: { email: 'a@example.com' } });
  });

  it('a dotted key is written into the nested object sent beside it', () => {
    expect(json({ 'traits.nickname': 'n', traits: { email: 'a@example.com' } }).traits).toEqual({ email: 'a@example.com', nickname: 'n', name: {} });
  });
});

describe('decodeBody — schema shapes', () => {
  it('follows local $refs against the schema root; a property reached through $ref counts as optional', () => {
    const schema = {
      type: 'object',
      definitions: { flag: { type: 'boolean' }, name: { type: 'object', properties: { first: { type: 'string' } } } },
      required: ['flag'],
      properties: { flag: { $ref: '#/definitions/flag' }, name: { $ref: '#/definitions/name' } },
    };
    // Required by the root, but decoderx takes "required" from the $ref's holder: the empty value is dropped.
    expect(form({ flag: '', 'name.first': 'A' }, schema)).toEqual({ name: { first: 'A' } });
    expect(form({ flag: '1' }, schema)).toEqual({ flag: true, name: {} });
  });

  it('follows a $ref into another document by $id, like Kratos pointing traits at the identity schema', () => {
    const identity = {
      $id: 'https://idflow.dev/schemas/test-identity.json',
      definitions: { tos: { type: 'boolean' } },
      properties: { traits: { type: 'object', required: ['tos'], properties: { email: { type: 'string' }, tos: { $ref: '#/definitions/tos' }, n: { type: 'integer' } }, } },
    };
    const method = { type: 'object', properties: { method: { type: 'string' }, traits: { $ref: 'https://idflow.dev/schemas/test-identity.json#/properties/traits' } } };
    const out = decodeBody({ method: 'profile', 'traits.email': 'e', 'traits.tos': 'T', 'traits.n': '7' }, { source: 'form', schema: method, documents: [identity] });
    expect(out).toEqual({ method: 'profile', traits: { email: 'e', tos: true, n: 7 } });
    expect(() => decodeBody({}, { source: 'form', schema: method })).toThrow(/cannot resolve \$ref/);
  });

  it('types an array by its items\' $ref target (jsonschemax reads is.Ref.Types)', () => {
    const schema = {
      type: 'object',
      definitions: { n: { type: 'integer' }, o: { type: 'object' } },
      properties: { ns: { type: 'array', items: { $ref: '#/definitions/n' } }, os: { type: 'array', items: { $ref: '#/definitions/o' } } },
    };
    expect(form({ ns: ['1', '2'] }, schema)).toEqual({ ns: [1, 2], os: {} });
  });

  it('stops following a circular $ref', () => {
    const schema = { type: 'object', properties: { node: { $ref: '#/definitions/node' } }, definitions: { node: { type: 'object', properties: { leaf: { type: 'string' }, node: { $ref: '#/definitions/node' } } } } };
    // jsonschemax counts each revisit of the $ref holder and of its target against maxCircularReferenceDepth 5.
    expect(schemaPaths(schema).map((p) => p.name)).toEqual([
      'node', 'node.leaf', 'node.node', 'node.node.leaf', 'node.node.node', 'node.node.node.leaf',
      'node.node.node.node', 'node.node.node.node.leaf', 'node.node.node.node.node',
    ]);
  });

  it('takes oneOf/anyOf branches: the null branch adds nothing, of two types the last listed wins unless one has a default', () => {
    const schema = {
      type: 'object',
      properties: {
        phone: { oneOf: [{ type: 'string' }, { type: 'null' }] },
        code: { anyOf: [{ type: 'string' }, { type: 'integer' }] },
        pin: { anyOf: [{ type: 'string', default: '0000' }, { type: 'integer' }] },
      },
    };
    expect(form({ phone: '123', code: '42', pin: '42' }, schema)).toEqual({ phone: '123', code: 42, pin: '42' });
  });

  it('const decides the type before "type" does (decoderx\'s consent stub: tos is const true)', () => {
    expect(form({ 'traits.consent.tos': 'true' }, consent)).toEqual({ traits: { consent: { tos: true, inner: {} }, notrequired: {} } });
  });

  it('drops fields whose type is a two-type list, as decoderx lists no path for them', () => {
    const schema = { type: 'object', properties: { phone: { type: ['string', 'null'] }, name: { type: 'string' } } };
    expect(form({ phone: '123', name: 'n' }, schema)).toEqual({ name: 'n' });
  });

  it('reads paths inside if/then/allOf (Kratos\'s password registration schema shape)', () => {
    const schema = {
      type: 'object',
      properties: { method: { type: 'string' }, password: { type: 'string' } },
      if: { properties: { method: { const: 'password' } }, required: ['method'] },
      then: { required: ['password'] },
      allOf: [{ properties: { extra: { type: 'integer' } } }],
    };
    expect(form({ method: 'password', password: 'p', extra: '3' }, schema)).toEqual({ method: 'password', password: 'p', extra: 3 });
  });

  it('lists required from the declaring object', () => {
    const paths = Object.fromEntries(schemaPaths(registration).map((p) => [p.name, p]));
    expect(paths['traits.email']).toMatchObject({ kind: 'string', required: true });
    expect(paths['traits.nickname']).toMatchObject({ kind: 'string', required: false });
    expect(paths['traits.tags']).toMatchObject({ kind: 'strings', json: false });
    expect(paths['traits.name']).toMatchObject({ kind: 'object', json: true });
    expect(paths.traits).toMatchObject({ kind: 'object', required: true });
  });
});

describe('decodeBody — without a schema', () => {
  it('only expands dotted keys; repeated form keys stay arrays and nothing is converted', () => {
    expect(decodeBody({ 'traits.email': 'a', 'traits.tags': ['x', 'y'], method: 'password', __proto__x: 'k' }, { source: 'form' })).toEqual({
      traits: { email: 'a', tags: ['x', 'y'] }, method: 'password', __proto__x: 'k',
    });
    expect(decodeBody(JSON.parse('{"a.b": 1, "c": {"d": true}, "__proto__": {"polluted": 1}, "x.constructor.y": 1}'), { source: 'json' })).toEqual({ a: { b: 1 }, c: { d: true } });
  });
});

describe('bodyParsers (src/http/middleware/body.ts)', () => {
  it('hands repeated form keys on as arrays, so decodeBody sees every value', async () => {
    const body = 'traits.tags=a&traits.tags=b&traits.email=e%40example.com&__proto__=x';
    const urlencoded = bodyParsers({ size: '1mb', maxDepth: 32, maxKeys: 1000 })[1];
    const req = Object.assign(Readable.from([Buffer.from(body)]), {
      headers: { 'content-type': 'application/x-www-form-urlencoded', 'content-length': String(Buffer.byteLength(body)) },
      method: 'POST',
      url: '/',
    });
    const parsed = await new Promise((resolve, reject) => {
      urlencoded(req as never, {} as never, (err?: unknown) => (err ? reject(err) : resolve((req as unknown as { body: unknown }).body)));
    });
    expect({ ...(parsed as object) }).toEqual({ 'traits.tags': ['a', 'b'], 'traits.email': 'e@example.com' });
    expect(form(parsed as Record<string, string | string[]>).traits).toMatchObject({ tags: ['a', 'b'], email: 'e@example.com' });
  });
});
