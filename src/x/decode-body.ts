import { badRequest } from '../errors/kratos-error.ts';

/**
 * Decodes a self-service submission the way Kratos's decoder does (ory/x decoderx with
 * `HTTPDecoderJSONFollowsFormFormat`, as Kratos's self-service strategies call it): the method's JSON schema is
 * turned into a list of dotted paths (jsonschemax.ListPathsWithRecursion), and only body keys that name one
 * of those paths are kept, converted to the path's type. Forms and JSON go the same road: a JSON body is
 * first flattened one level (`{"traits.email": "x"}` and `{"traits": {...}}` are both keys), each value
 * read as text, as decoderx does with gjson.
 *
 * The rules, from decoderx.decodeURLValues:
 * - string: first value; an empty string is dropped whether the field is required or not.
 * - number/integer: first value through Go's strconv.ParseFloat; a value that does not parse stays a string
 *   (the schema check then rejects it); empty: dropped when optional, 0 when required.
 * - boolean: LAST value (a hidden `false` input followed by a checked checkbox), through strconv.ParseBool
 *   (1 t T TRUE true True / 0 f F FALSE false False; `on` stays a string); empty: dropped when optional,
 *   false when required.
 * - array of strings (or of anything else): every value, as strings; one value is a one-element array.
 *   Arrays of numbers or booleans convert each value as above.
 * - object: the value is JSON text inserted as is (a form can post `transient_payload={"a":1}`; a JSON
 *   body's nested `traits` object arrives here, so nothing inside it is converted); empty: dropped when
 *   optional.
 * - a key that is not a path of the schema is dropped.
 * - afterwards every object-typed path that is still absent is set to `{}` (also arrays of objects:
 *   ory/kratos#2360, kept because Kratos does it).
 * "Required" is decoderx's: the field is listed in `required` of the object that declares it; a field reached
 * through `$ref`, `oneOf`, `anyOf` or `allOf` counts as optional.
 *
 * Where idflow differs from decoderx, on purpose:
 * - `__proto__`, `constructor` and `prototype` never become keys: paths with such a segment are ignored and
 *   they are dropped from nested objects (a body must not reach object prototypes).
 * - a JSON array sent for an array path under a dotted key (`{"traits.tags": ["a","b"]}`) is kept as the
 *   array, like its nested form; decoderx would store the array's JSON text as a one-element array.
 * - `NaN`/`Inf` numbers and malformed JSON text for an object path are a 400 here (decoderx: 400 for forms,
 *   500 for JSON); decoderx visits keys in Go map order, idflow parents before children.
 */

export type PathKind = 'string' | 'number' | 'boolean' | 'object' | 'strings' | 'numbers' | 'booleans' | 'values' | 'none';

export interface SchemaPath {
  /** Dotted name (`traits.name.first`). */
  name: string;
  kind: PathKind;
  /** decoderx's TypeHint JSON: filled with `{}` when the body leaves it out. */
  json: boolean;
  required: boolean;
  hasDefault: boolean;
}

export interface DecodeBodyOptions {
  source: 'json' | 'form';
  /** The method's payload schema (traits merged in). Without one, dotted keys are only expanded. */
  schema?: object;
  /** Other schema documents by `$id`, for `$ref`s that leave `schema` (`…/identity.json#/properties/traits`). */
  documents?: readonly object[];
}

type Rec = Record<string, unknown>;

/** Keys that would reach Object.prototype, or a constructor's, if assigned. */
const FORBIDDEN = new Set(['__proto__', 'constructor', 'prototype']);
/** decoderx's default maxCircularReferenceDepth. */
const MAX_CIRCULAR_DEPTH = 5;
/** Deeper nesting than this in a body is refused rather than risking the stack. */
const MAX_NESTING = 1000;

export function decodeBody(raw: Record<string, unknown>, options: DecodeBodyOptions): Record<string, unknown> {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) {
    throw badRequest(`Expected JSON sent in request body to be an object but got: ${raw === null ? 'Null' : Array.isArray(raw) ? 'JSON' : typeof raw}`);
  }
  const keys = byDepth(Object.keys(raw));
  const out: Rec = {};
  if (!options.schema) {
    for (const key of keys) {
      const segments = safeSegments(key);
      if (!segments) continue;
      const value = raw[key];
      const decoded = options.source === 'form' ? formValue(value) : sanitize(value, 0);
      try { setPath(out, segments, decoded); } catch { /* a key under an array: nothing sensible to do */ }
    }
    return out;
  }

  const paths = schemaPaths(options.schema, options.documents);
  const byName = new Map(paths.map((p) => [p.name, p]));
  for (const key of keys) {
    const path = byName.get(key);
    if (!path) continue;
    const original = raw[key];
    const values = options.source === 'form'
      ? (Array.isArray(original) ? original.map(String) : [String(original ?? '')])
      : [jsonText(original)];
    if (values.length === 0) continue;
    const decoded = decodeValue(path, values, options.source === 'json' ? { value: original } : undefined);
    if (decoded === SKIP) continue;
    setPath(out, path.name.split('.'), decoded);
  }

  for (const path of paths) {
    if (!path.json) continue;
    const segments = path.name.split('.');
    if (exists(out, segments)) continue;
    // decoderx fails the request here (a 500) when the parent is an array; the schema check reports it instead.
    try { setPath(out, segments, {}); } catch { /* see above */ }
  }
  return out;
}

const SKIP = Symbol('skip');

function decodeValue(path: SchemaPath, values: string[], json: { value: unknown } | undefined): unknown {
  switch (path.kind) {
    case 'strings':
    case 'values':
    case 'numbers':
    case 'booleans': {
      if (json && Array.isArray(json.value)) return sanitize(json.value, 0);
      if (path.kind === 'numbers') return values.map(parseNumberOrKeep);
      if (path.kind === 'booleans') return values.map(parseBoolOrKeep);
      return [...values];
    }
    case 'boolean': {
      let v = values[values.length - 1];
      if (v === '') {
        if (!path.required) return SKIP;
        v = 'false';
      }
      return parseBoolOrKeep(v);
    }
    case 'number': {
      let v = values[0];
      if (v === '') {
        if (!path.required) return SKIP;
        v = '0.0';
      }
      return parseNumberOrKeep(v);
    }
    case 'string':
      return values[0] === '' ? SKIP : values[0];
    case 'object': {
      const v = values[0];
      if (v === '' && !path.required) return SKIP;
      if (json && json.value !== null && typeof json.value !== 'string') return sanitize(json.value, 0);
      try {
        return sanitize(JSON.parse(v), 0);
      } catch (err) {
        if (err instanceof SyntaxError) throw badRequest(`Unable to decode JSON payload: the value of "${path.name}" is not valid JSON.`);
        throw err;
      }
    }
    case 'none':
      return SKIP;
  }
}

// ---------------------------------------------------------------------------------------------------------
// Values

/** Form values are strings or, for a repeated key, arrays of strings (querystring). */
function formValue(value: unknown): unknown {
  return Array.isArray(value) ? value.map(String) : String(value ?? '');
}

/** A JSON value read as text the way gjson's Result.String() does. */
function jsonText(value: unknown): string {
  if (value === null || value === undefined) return '';
  if (typeof value === 'string') return value;
  if (typeof value === 'number') return plainNumber(value);
  if (typeof value === 'boolean') return value ? 'true' : 'false';
  return JSON.stringify(value);
}

/** A number without exponent, as Go's strconv.FormatFloat(f, 'f', -1, 64) writes it. */
export function plainNumber(n: number): string {
  const s = String(n);
  const e = s.indexOf('e');
  if (e < 0) return s;
  const negative = s.startsWith('-');
  const mantissa = s.slice(negative ? 1 : 0, e);
  const exponent = Number(s.slice(e + 1));
  const [intPart, frac = ''] = mantissa.split('.');
  const digits = intPart + frac;
  const point = intPart.length + exponent;
  let text: string;
  if (point <= 0) text = `0.${'0'.repeat(-point)}${digits}`;
  else if (point >= digits.length) text = digits + '0'.repeat(point - digits.length);
  else text = `${digits.slice(0, point)}.${digits.slice(point)}`;
  return (negative ? '-' : '') + text;
}

// Go's strconv.ParseBool, plus `on`/`off`: what a browser submits for a checkbox without a value attribute.
// decoderx keeps `on` as a string (and validation then refuses the form); idflow's checkbox nodes post as Kratos
// UIs render them, and a plain HTML form works too.
const TRUE = new Set(['1', 't', 'T', 'TRUE', 'true', 'True', 'on']);
const FALSE = new Set(['0', 'f', 'F', 'FALSE', 'false', 'False', 'off']);

/** Go's strconv.ParseBool (and on/off); anything else stays the string (decoderx's ParseErrorIgnoreConversionErrors). */
export function parseBoolOrKeep(v: string): boolean | string {
  if (TRUE.has(v)) return true;
  if (FALSE.has(v)) return false;
  return v;
}

const DIGITS = String.raw`\d(?:_?\d)*`;
const DECIMAL = new RegExp(String.raw`^[+-]?(?:${DIGITS}(?:\.(?:${DIGITS})?)?|\.${DIGITS})(?:[eE][+-]?${DIGITS})?$`);
const HEX_DIGITS = String.raw`[0-9a-fA-F](?:_?[0-9a-fA-F])*`;
const HEX = new RegExp(String.raw`^([+-]?)0[xX]_?(${HEX_DIGITS})?(?:\.(${HEX_DIGITS})?)?[pP]([+-]?${DIGITS})$`);
const SPECIAL = /^(?:[+-]?(?:inf|infinity)|nan)$/i;

/**
 * Go's strconv.ParseFloat (decimal and hexadecimal float literals with `_` between digits); anything else,
 * and values out of range, stay the string. NaN and infinities parse in Go, but decoderx then writes JSON
 * that does not decode, so the request fails.
 */
export function parseNumberOrKeep(v: string): number | string {
  if (SPECIAL.test(v)) throw badRequest(`Unable to decode JSON payload: "${v}" is not a JSON number.`);
  let n: number;
  if (DECIMAL.test(v)) {
    n = Number(v.replace(/_/g, ''));
  } else {
    const hex = HEX.exec(v);
    if (!hex || (hex[2] === undefined && hex[3] === undefined)) return v;
    const int = (hex[2] ?? '').replace(/_/g, '');
    const frac = (hex[3] ?? '').replace(/_/g, '');
    const mantissa = int + frac === '' ? 0 : parseInt(int + frac, 16);
    n = mantissa * 2 ** (Number(hex[4].replace(/_/g, '')) - 4 * frac.length);
    if (hex[1] === '-') n = -n;
  }
  return Number.isFinite(n) ? n : v;
}

/** A copy of a JSON value without prototype-reaching keys. */
function sanitize(value: unknown, depth: number): unknown {
  if (depth > MAX_NESTING) throw badRequest('Unable to decode JSON payload: the body is nested too deeply.');
  if (Array.isArray(value)) return value.map((v) => sanitize(v, depth + 1));
  if (value && typeof value === 'object') {
    const out: Rec = {};
    for (const [k, v] of Object.entries(value)) if (!FORBIDDEN.has(k)) out[k] = sanitize(v, depth + 1);
    return out;
  }
  return value;
}

// ---------------------------------------------------------------------------------------------------------
// Writing into the result, as sjson does

function safeSegments(name: string): string[] | undefined {
  const segments = name.split('.');
  return segments.some((s) => s === '' || FORBIDDEN.has(s)) ? undefined : segments;
}

/** Parents before children, otherwise in body order (decoderx's order is Go's random map order). */
function byDepth(keys: string[]): string[] {
  return keys
    .map((key, index) => ({ key, index, depth: key.split('.').length }))
    .sort((a, b) => a.depth - b.depth || a.index - b.index)
    .map((k) => k.key);
}

const isIndex = (s: string) => /^\d+$/.test(s);
const isContainer = (v: unknown): v is Rec | unknown[] => typeof v === 'object' && v !== null;

function child(node: Rec | unknown[], key: string): unknown {
  if (Array.isArray(node)) return isIndex(key) ? node[Number(key)] : undefined;
  return Object.hasOwn(node, key) ? node[key] : undefined;
}

function put(node: Rec | unknown[], key: string, value: unknown): void {
  if (Array.isArray(node)) {
    if (!isIndex(key)) throw badRequest(`Unable to type assert values from HTTP Post Body: cannot set array element for non-numeric key '${key}'`);
    const index = Number(key);
    while (node.length < index) node.push(null);
    node[index] = value;
    return;
  }
  node[key] = value;
}

/** sjson.Set: missing or scalar parents become objects (arrays when the next key is an index). */
function setPath(root: Rec, segments: string[], value: unknown): void {
  let node: Rec | unknown[] = root;
  for (let i = 0; i < segments.length - 1; i++) {
    let next = child(node, segments[i]);
    if (!isContainer(next)) {
      next = isIndex(segments[i + 1]) ? [] : {};
      put(node, segments[i], next);
    }
    node = next as Rec | unknown[];
  }
  put(node, segments[segments.length - 1], value);
}

function exists(root: Rec, segments: string[]): boolean {
  let node: unknown = root;
  for (const segment of segments) {
    if (!isContainer(node)) return false;
    if (Array.isArray(node) ? !(isIndex(segment) && Number(segment) < node.length) : !Object.hasOwn(node, segment)) return false;
    node = child(node, segment);
  }
  return true;
}

// ---------------------------------------------------------------------------------------------------------
// Schema paths, as jsonschemax.ListPathsWithRecursion lists them

interface Doc { root: unknown; base: string | undefined }

const pathCache = new WeakMap<object, WeakMap<object, SchemaPath[]>>();
const NO_DOCUMENTS: readonly object[] = [];

/**
 * The paths decoderx would decode for `schema`, sorted by name. Cached per schema object: pass the same
 * object (and documents array) for every request.
 */
export function schemaPaths(schema: object, documents: readonly object[] = NO_DOCUMENTS): SchemaPath[] {
  let perDocs = pathCache.get(schema);
  if (!perDocs) pathCache.set(schema, (perDocs = new WeakMap()));
  let paths = perDocs.get(documents);
  if (!paths) {
    paths = listPaths(schema, documents);
    perDocs.set(documents, paths);
  }
  return paths;
}

function listPaths(schema: object, documents: readonly object[]): SchemaPath[] {
  const docs = [schema, ...documents].map((root): Doc => ({ root, base: idOf(root) }));
  const listed: SchemaPath[] = [];
  walk(schema, docs[0], undefined, [], new Set(), 0, listed, docs);
  // makeUnique: among same-named paths the first one with a default wins, otherwise the last one listed.
  const unique = new Map<string, SchemaPath>();
  for (const p of listed) {
    const kept = unique.get(p.name);
    if (!kept || !kept.hasDefault) unique.set(p.name, p);
  }
  return [...unique.values()]
    .filter((p) => safeSegments(p.name))
    .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
}

function idOf(root: unknown): string | undefined {
  const id = isRecord(root) ? root.$id : undefined;
  return typeof id === 'string' ? id.replace(/#$/, '') : undefined;
}

const isRecord = (v: unknown): v is Rec => typeof v === 'object' && v !== null && !Array.isArray(v);
/** `true`/`false` schemas have no keywords that matter here. */
const asSchema = (v: unknown): Rec => (isRecord(v) ? v : {});
const refOf = (s: Rec): string | undefined => (typeof s.$ref === 'string' ? s.$ref : undefined);

function walk(
  raw: unknown, doc: Doc, parent: Rec | undefined, parents: string[], ancestors: ReadonlySet<object>,
  recursion: number, out: SchemaPath[], docs: Doc[],
): void {
  const schema = asSchema(raw);
  const ref = refOf(schema);
  // Draft-07: "All other properties in a $ref object MUST be ignored" (ory/jsonschema compiles it so).
  if (!ref) {
    const path = pathOf(schema, doc, parent, parents, docs);
    if (path) out.push(path);
  }
  if (ancestors.has(schema)) {
    if (recursion > MAX_CIRCULAR_DEPTH) return;
    recursion++;
  }
  const seen = new Set(ancestors).add(schema);
  if (ref) {
    const target = resolveRef(ref, doc, docs);
    walk(target.schema, target.doc, schema, parents, seen, recursion, out, docs);
    return;
  }
  for (const key of ['not', 'if', 'then', 'else']) {
    if (schema[key] !== undefined) walk(schema[key], doc, schema, parents, seen, recursion, out, docs);
  }
  for (const key of ['allOf', 'anyOf', 'oneOf']) {
    const subs = schema[key];
    if (Array.isArray(subs)) for (const sub of subs) walk(sub, doc, schema, parents, seen, recursion, out, docs);
  }
  if (isRecord(schema.properties)) {
    for (const [name, sub] of Object.entries(schema.properties)) {
      walk(sub, doc, schema, [...parents, name], seen, recursion, out, docs);
    }
  }
}

function typesOf(schema: Rec): string[] {
  if (refOf(schema)) return [];
  const t = schema.type;
  if (typeof t === 'string') return [t];
  return Array.isArray(t) ? t.filter((x): x is string => typeof x === 'string') : [];
}

function pathOf(schema: Rec, doc: Doc, parent: Rec | undefined, parents: string[], docs: Doc[]): SchemaPath | undefined {
  if (parents.length === 0) return undefined;
  const hasDefault = schema.default !== undefined && schema.default !== null;
  let kind: PathKind | undefined;
  let json = false;
  if (Object.hasOwn(schema, 'const')) {
    const c = schema.const;
    if (typeof c === 'number') kind = 'number';
    else if (typeof c === 'string') kind = 'string';
    else if (typeof c === 'boolean') kind = 'boolean';
    else {
      json = true;
      kind = c === null ? undefined : Array.isArray(c) ? 'values' : 'object';
    }
  } else {
    const types = typesOf(schema);
    if (types.length === 1) {
      switch (types[0]) {
        case 'boolean': kind = 'boolean'; break;
        case 'number': case 'integer': kind = 'number'; break;
        case 'string': kind = 'string'; break;
        case 'object': kind = 'object'; json = true; break;
        case 'array': ({ kind, json } = arrayKind(schema, doc, docs)); break;
      }
    } else if (types.length > 2) {
      json = true;
    }
  }
  if (kind === undefined && !hasDefault) return undefined;
  const name = parents[parents.length - 1];
  const required = parent !== undefined && !refOf(parent) && Array.isArray(parent.required) && parent.required.includes(name);
  return { name: parents.join('.'), kind: kind ?? 'none', json, required, hasDefault };
}

function arrayKind(schema: Rec, doc: Doc, docs: Doc[]): { kind: PathKind; json: boolean } {
  if (schema.items === undefined) return { kind: 'values', json: false };
  const items = Array.isArray(schema.items) ? schema.items : [schema.items];
  const types: string[] = [];
  for (const item of items) {
    const s = asSchema(item);
    types.push(...typesOf(s));
    const ref = refOf(s);
    if (ref) types.push(...typesOf(asSchema(resolveRef(ref, doc, docs).schema)));
  }
  const compact = types.filter((t, i) => i === 0 || t !== types[i - 1]);
  if (compact.length !== 1) return { kind: 'values', json: false };
  switch (compact[0]) {
    case 'boolean': return { kind: 'booleans', json: false };
    case 'number': case 'integer': return { kind: 'numbers', json: false };
    case 'string': return { kind: 'strings', json: false };
    default: return { kind: 'values', json: true };
  }
}

function normalizeUri(uri: string): string {
  try {
    return new URL(uri).toString();
  } catch {
    return uri;
  }
}

/** `#/json/pointer` within the current document, or `<$id>#/pointer` into `schema` or one of `documents`. */
function resolveRef(ref: string, from: Doc, docs: Doc[]): { schema: unknown; doc: Doc } {
  const hash = ref.indexOf('#');
  const uri = hash < 0 ? ref : ref.slice(0, hash);
  const fragment = hash < 0 ? '' : ref.slice(hash + 1);
  let doc = from;
  if (uri !== '') {
    let absolute: string;
    try {
      absolute = new URL(uri, from.base).toString();
    } catch {
      throw new Error(`decodeBody: cannot resolve $ref "${ref}": not a URL and no base $id`);
    }
    const found = docs.find((d) => d.base !== undefined && normalizeUri(d.base) === absolute);
    if (!found) throw new Error(`decodeBody: cannot resolve $ref "${ref}": no schema document with that $id`);
    doc = found;
  }
  let node: unknown = doc.root;
  if (fragment !== '') {
    if (!fragment.startsWith('/')) throw new Error(`decodeBody: cannot resolve $ref "${ref}": only JSON pointers are supported`);
    for (const token of fragment.slice(1).split('/')) {
      const key = decodeURIComponent(token).replace(/~1/g, '/').replace(/~0/g, '~');
      if (Array.isArray(node) && isIndex(key)) node = node[Number(key)];
      else if (isRecord(node) && Object.hasOwn(node, key)) node = node[key];
      else throw new Error(`decodeBody: cannot resolve $ref "${ref}": nothing at that pointer`);
    }
  }
  return { schema: node, doc };
}
