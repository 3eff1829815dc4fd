/**
 * Validates idflow JSON bodies against Kratos's OpenAPI 3.0.3 document (`../shared/reference/kratos-openapi.json`, vendored in test/fixtures/reference).
 *
 * OpenAPI 3.0 schemas are not JSON Schema, so they are rewritten for ajv:
 * - `nullable: true` -> `"null"` added to `type` (and to `enum` when present); without `type` the schema becomes
 *   `anyOf: [<schema>, {type: "null"}]`;
 * - `$ref: '#/components/schemas/X'` -> the absolute id of component X (every component is registered once);
 * - OpenAPI-only keywords (`discriminator`, `example`, `xml`, `externalDocs`, `readOnly`, `writeOnly`, `x-*`) dropped;
 * - go-swagger formats ajv-formats does not know (`int64`, `uint64`, `uint32`, `uint8`, `uuid4`) are defined.
 * Nothing else is loosened: where the spec is stricter than real Kratos responses, the validation fails (see the
 * QUIRKS list below) and the caller has to decide.
 *
 * QUIRKS (spec vs. real Kratos):
 * - `genericError.details` has `additionalProperties: false`, so any error carrying `details` (CSRF 403 with
 *   `reject_reason`/`hint`/`docs`, `session_aal2_required` with `details.redirect_browser_to`) fails.
 * - `successfulNativeLogin/Registration.continue_with` is a non-nullable array, but Kratos can send `null`.
 * - `nullTime` (verified_at, state_changed_at) is not nullable: emit the field only when set.
 */
import { readFileSync } from 'node:fs';
import { Ajv } from 'ajv';
import type { ErrorObject, ValidateFunction } from 'ajv';
import addFormatsModule from 'ajv-formats';
import { referenceUrl } from './reference.ts';

const addFormats = addFormatsModule.default;

export const OPENAPI_URL = referenceUrl('kratos-openapi.json');
const SCHEMA_ID_BASE = 'https://idflow.invalid/kratos-openapi/components/schemas/';
const OPENAPI_ONLY_KEYWORDS = new Set(['discriminator', 'example', 'xml', 'externalDocs', 'readOnly', 'writeOnly']);

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
type JsonObject = { [key: string]: Json };

interface OpenApiResponse {
  description?: string;
  content?: Record<string, { schema?: JsonObject }>;
  $ref?: string;
}
interface OpenApiOperation {
  operationId?: string;
  responses?: Record<string, OpenApiResponse>;
}
interface OpenApiDocument {
  openapi: string;
  paths: Record<string, Record<string, OpenApiOperation | unknown>>;
  components: { schemas: Record<string, JsonObject>; responses?: Record<string, OpenApiResponse> };
}

const isObject = (v: unknown): v is JsonObject => typeof v === 'object' && v !== null && !Array.isArray(v);

/** Keywords whose value is a map of name -> schema. */
const SCHEMA_MAP_KEYWORDS = new Set(['properties', 'patternProperties', 'definitions', '$defs', 'dependentSchemas']);
/** Keywords whose value is a schema. */
const SCHEMA_KEYWORDS = new Set([
  'items', 'additionalProperties', 'additionalItems', 'not', 'if', 'then', 'else', 'contains', 'propertyNames',
  'unevaluatedProperties', 'unevaluatedItems',
]);
/** Keywords whose value is an array of schemas. */
const SCHEMA_ARRAY_KEYWORDS = new Set(['allOf', 'anyOf', 'oneOf', 'prefixItems']);

function convertRef(ref: string): string {
  const prefix = '#/components/schemas/';
  if (!ref.startsWith(prefix)) throw new Error(`openapi: unsupported $ref ${ref}`);
  return SCHEMA_ID_BASE + ref.slice(prefix.length);
}

/** Rewrites one OpenAPI 3.0 Schema Object (recursively) into JSON Schema draft-07 for ajv. */
export function convertSchema(schema: Json): Json {
  if (typeof schema === 'boolean') return schema;
  if (!isObject(schema)) return schema;
  const out: JsonObject = {};
  let nullable = false;
  for (const [key, value] of Object.entries(schema)) {
    if (key === 'nullable') {
      nullable = value === true;
      continue;
    }
    if (OPENAPI_ONLY_KEYWORDS.has(key) || key.startsWith('x-')) continue;
    if (key === '$ref' && typeof value === 'string') out.$ref = convertRef(value);
    else if (SCHEMA_MAP_KEYWORDS.has(key) && isObject(value)) {
      out[key] = Object.fromEntries(Object.entries(value).map(([k, v]) => [k, convertSchema(v)]));
    } else if (SCHEMA_KEYWORDS.has(key)) out[key] = convertSchema(value);
    else if (SCHEMA_ARRAY_KEYWORDS.has(key) && Array.isArray(value)) out[key] = value.map(convertSchema);
    else out[key] = value;
  }
  if (!nullable) return out;
  if (out.$ref !== undefined || out.type === undefined) {
    // No `type` to widen (or a $ref, whose siblings OpenAPI ignores): accept null beside the schema.
    return { anyOf: [out, { type: 'null' }] };
  }
  const types = Array.isArray(out.type) ? out.type : [out.type];
  if (!types.includes('null')) out.type = [...types, 'null'];
  if (Array.isArray(out.enum) && !out.enum.includes(null)) out.enum = [...out.enum, null];
  return out;
}

const INT_RANGES: Record<string, [number, number]> = {
  int32: [-(2 ** 31), 2 ** 31 - 1],
  int64: [Number.MIN_SAFE_INTEGER, Number.MAX_SAFE_INTEGER],
  uint8: [0, 255],
  uint32: [0, 2 ** 32 - 1],
  uint64: [0, Number.MAX_SAFE_INTEGER],
};

function createAjv(): Ajv {
  const ajv = new Ajv({ strict: false, allErrors: true, validateFormats: true });
  addFormats(ajv);
  for (const [name, [min, max]] of Object.entries(INT_RANGES)) {
    ajv.addFormat(name, { type: 'number', validate: (n: number) => Number.isInteger(n) && n >= min && n <= max });
  }
  // go-swagger `uuid4`: an RFC 4122 version-4 UUID.
  ajv.addFormat('uuid4', /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/i);
  ajv.addFormat('float', { type: 'number', validate: (n: number) => Number.isFinite(n) });
  ajv.addFormat('double', { type: 'number', validate: (n: number) => Number.isFinite(n) });
  return ajv;
}

interface Loaded {
  doc: OpenApiDocument;
  ajv: Ajv;
  operations: Map<string, OpenApiOperation & { method: string; path: string }>;
  validators: Map<string, ValidateFunction>;
}

let loaded: Loaded | undefined;

/**
 * Known defects of Kratos's generated spec, corrected here and nowhere else:
 * - `genericError.details` is Go's `map[string]interface{}`; go-swagger rendered it as an object that admits
 *   no property at all, which every real error with details (CSRF 403, session_aal2_required) would fail.
 */
function applyErrata(doc: OpenApiDocument): void {
  const generic = doc.components.schemas.genericError as { properties?: { details?: Record<string, unknown> } };
  if (generic.properties?.details) generic.properties.details.additionalProperties = true;
}

function load(): Loaded {
  if (loaded) return loaded;
  const doc = JSON.parse(readFileSync(OPENAPI_URL, 'utf8')) as OpenApiDocument;
  if (!String(doc.openapi).startsWith('3.0')) throw new Error(`openapi: expected OpenAPI 3.0.x, got ${doc.openapi}`);
  applyErrata(doc);
  const ajv = createAjv();
  for (const [name, schema] of Object.entries(doc.components.schemas)) {
    const converted = convertSchema(schema);
    const $id = SCHEMA_ID_BASE + name;
    // Never put `$id` beside a top-level `$ref` (draft-07 ignores the siblings of `$ref`).
    const usable = isObject(converted) && converted.$ref === undefined;
    ajv.addSchema(usable ? { ...converted, $id } : { $id, allOf: [converted] });
  }
  const operations: Loaded['operations'] = new Map();
  for (const [path, item] of Object.entries(doc.paths)) {
    for (const [method, op] of Object.entries(item)) {
      if (isObject(op) && typeof op.operationId === 'string') {
        operations.set(op.operationId, { ...(op as OpenApiOperation), method: method.toUpperCase(), path });
      }
    }
  }
  loaded = { doc, ajv, operations, validators: new Map() };
  return loaded;
}

function formatErrors(errors: readonly ErrorObject[] | null | undefined): string {
  return (errors ?? [])
    .map((e) => {
      const extra =
        e.keyword === 'additionalProperties'
          ? ` (${String((e.params as { additionalProperty?: string }).additionalProperty)})`
          : e.keyword === 'enum'
            ? ` ${JSON.stringify((e.params as { allowedValues?: unknown }).allowedValues)}`
            : '';
      return `  - ${e.instancePath || '(root)'} ${e.message ?? e.keyword}${extra}  [${e.schemaPath}]`;
    })
    .join('\n');
}

function snippet(body: unknown, max = 600): string {
  let text: string;
  try {
    text = JSON.stringify(body) ?? String(body);
  } catch {
    text = String(body);
  }
  return text.length > max ? text.slice(0, max) + `… (${text.length} chars)` : text;
}

function run(validate: ValidateFunction, label: string, body: unknown): void {
  if (validate(body)) return;
  throw new Error(`${label}: body does not match the schema\n${formatErrors(validate.errors)}\nbody: ${snippet(body)}`);
}

function componentValidator(name: string): ValidateFunction {
  const l = load();
  if (!(name in l.doc.components.schemas)) throw new Error(`openapi: no component schema named ${JSON.stringify(name)}`);
  const key = `component:${name}`;
  let v = l.validators.get(key);
  if (!v) {
    v = l.ajv.getSchema(SCHEMA_ID_BASE + name);
    if (!v) throw new Error(`openapi: failed to compile component ${name}`);
    l.validators.set(key, v);
  }
  return v;
}

/** Throws unless `body` is valid against `#/components/schemas/<componentName>`. */
export function expectSchema(componentName: string, body: unknown): void {
  run(componentValidator(componentName), `schema ${componentName}`, body);
}

function resolveResponse(l: Loaded, response: OpenApiResponse): OpenApiResponse {
  let r = response;
  for (let depth = 0; r.$ref !== undefined; depth++) {
    const prefix = '#/components/responses/';
    const target = r.$ref.startsWith(prefix) ? l.doc.components.responses?.[r.$ref.slice(prefix.length)] : undefined;
    if (!target || depth > 8) throw new Error(`openapi: cannot resolve response $ref ${r.$ref}`);
    r = target;
  }
  return r;
}

function findResponse(operationId: string, status: number): { l: Loaded; response: OpenApiResponse; key: string } {
  const l = load();
  const op = l.operations.get(operationId);
  if (!op) throw new Error(`openapi: no operation with operationId ${JSON.stringify(operationId)}`);
  const responses = op.responses ?? {};
  const key = String(status) in responses ? String(status) : 'default' in responses ? 'default' : undefined;
  if (key === undefined) {
    throw new Error(
      `openapi: ${operationId} (${op.method} ${op.path}) documents no ${status} response ` +
        `(documented: ${Object.keys(responses).join(', ')})`,
    );
  }
  return { l, response: resolveResponse(l, responses[key]), key };
}

/**
 * The converted JSON Schema of `operationId`'s `application/json` response for `status` (or `default`);
 * `undefined` when that response is documented without a JSON body (204, 303, text/plain). Throws when the
 * operation or the status is not documented.
 */
export function responseSchemaFor(operationId: string, status: number): Json | undefined {
  const { response } = findResponse(operationId, status);
  const schema = response.content?.['application/json']?.schema;
  return schema === undefined ? undefined : convertSchema(schema);
}

/**
 * Throws unless `body` is a valid `status` response of `operationId` (falling back to the `default` response).
 * For responses documented without a JSON body, `body` must be undefined or ''.
 */
export function expectResponse(operationId: string, status: number, body: unknown): void {
  const { l, response, key } = findResponse(operationId, status);
  const schema = response.content?.['application/json']?.schema;
  const label = `${operationId} ${status}${key === 'default' ? ' (default)' : ''}`;
  if (schema === undefined) {
    if (body === undefined || body === '') return;
    throw new Error(`${label}: documented without an application/json body, got ${snippet(body)}`);
  }
  const cacheKey = `response:${operationId}:${key}`;
  let v = l.validators.get(cacheKey);
  if (!v) {
    v = l.ajv.compile(convertSchema(schema) as JsonObject);
    l.validators.set(cacheKey, v);
  }
  run(v, label, body);
}

/** All component schema names in the document. */
export function componentNames(): string[] {
  return Object.keys(load().doc.components.schemas);
}

/** All operationIds in the document (for coverage checks). */
export function operationIds(): string[] {
  return [...load().operations.keys()];
}
