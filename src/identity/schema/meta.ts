/**
 * Load-time checks of an identity schema document, before ajv compiles it:
 * - Kratos's identity meta-schema rule: `properties.traits` is an object schema with at least one property;
 * - `ory.sh/kratos` extension blocks use only the keys and values Kratos knows (KRATOS-API.md section 10);
 * - hardening (Kratos `security.disallow_ref_in_identity_schemas`): no `$ref` leaving the document.
 * Each check returns a one-line problem description, or undefined.
 */
import { escapePointerToken, isPlainObject, stripFragment } from './pointer.ts';

export const EXTENSION_KEY = 'ory.sh/kratos';

export type SchemaDialect = 'draft-07' | '2019-09' | '2020-12';

const DIALECTS: Record<string, SchemaDialect> = {
  'json-schema.org/draft-07/schema': 'draft-07',
  'json-schema.org/draft/2019-09/schema': '2019-09',
  'json-schema.org/draft/2020-12/schema': '2020-12',
};

/** The dialect named by `$schema` (draft-07 when absent); undefined for an unsupported one. */
export function schemaDialect(raw: Record<string, unknown>): SchemaDialect | undefined {
  const s = raw.$schema;
  if (s === undefined) return 'draft-07';
  if (typeof s !== 'string') return undefined;
  const key = s.replace(/^https?:\/\//, '').replace(/#$/, '');
  return DIALECTS[key];
}

/** Keywords whose values are data, not subschemas: never searched for `$ref` or extension blocks. */
const DATA_KEYWORDS = new Set(['enum', 'const', 'default', 'examples', 'example']);
/** Keywords whose value maps names to subschemas (the map's keys are not keywords). */
const NAME_MAP_KEYWORDS = new Set(['properties', 'patternProperties', 'definitions', '$defs', 'dependentSchemas', 'dependencies']);

type Visitor = (node: Record<string, unknown>, pointer: string) => string | undefined;

/** Visits every subschema object of a schema document (with its JSON pointer). */
export function walkSchema(node: unknown, pointer: string, visit: Visitor): string | undefined {
  if (Array.isArray(node)) {
    for (let i = 0; i < node.length; i++) {
      const p = walkSchema(node[i], `${pointer}/${i}`, visit);
      if (p) return p;
    }
    return undefined;
  }
  if (!isPlainObject(node)) return undefined;
  const problem = visit(node, pointer);
  if (problem) return problem;
  for (const [key, value] of Object.entries(node)) {
    if (DATA_KEYWORDS.has(key) || key === EXTENSION_KEY) continue;
    const p = `${pointer}/${escapePointerToken(key)}`;
    if (NAME_MAP_KEYWORDS.has(key) && isPlainObject(value)) {
      for (const [name, sub] of Object.entries(value)) {
        const found = walkSchema(sub, `${p}/${escapePointerToken(name)}`, visit);
        if (found) return found;
      }
      continue;
    }
    const found = walkSchema(value, p, visit);
    if (found) return found;
  }
  return undefined;
}

export function checkTraitsShape(raw: unknown): string | undefined {
  if (!isPlainObject(raw)) return 'the schema must be a JSON object';
  if (schemaDialect(raw) === undefined) {
    return `unsupported $schema ${JSON.stringify(raw.$schema)} (use draft-07, 2019-09 or 2020-12)`;
  }
  const props = raw.properties;
  if (!isPlainObject(props) || !isPlainObject(props.traits)) return 'the schema must define "properties.traits"';
  const traits = props.traits;
  if (traits.type !== undefined && traits.type !== 'object') {
    return '"properties.traits.type" must be "object"';
  }
  if (!isPlainObject(traits.properties) || Object.keys(traits.properties).length === 0) {
    return '"properties.traits.properties" must define at least one property';
  }
  return undefined;
}

const REF_KEYWORDS = ['$ref', '$dynamicRef', '$recursiveRef'];

export function checkRefs(raw: Record<string, unknown>): string | undefined {
  const rootId = typeof raw.$id === 'string' ? stripFragment(raw.$id) : undefined;
  return walkSchema(raw, '', (node, pointer) => {
    for (const kw of REF_KEYWORDS) {
      const ref = node[kw];
      if (typeof ref !== 'string') continue;
      if (ref.startsWith('#')) continue;
      if (rootId !== undefined && rootId !== '' && stripFragment(ref) === rootId) continue;
      return `${kw} ${JSON.stringify(ref)} at "${pointer || '/'}" leaves the schema document; only local "#/..." references are allowed`;
    }
    return undefined;
  });
}

type Spec = { [key: string]: Spec | 'boolean' | readonly string[] };

const EXTENSION_SPEC: Spec = {
  credentials: {
    password: { identifier: 'boolean' },
    webauthn: { identifier: 'boolean' },
    passkey: { display_name: 'boolean' },
    totp: { account_name: 'boolean' },
    code: { identifier: 'boolean', via: ['email', 'sms'] },
  },
  verification: { via: ['email', 'sms'] },
  recovery: { via: ['email', 'sms'] },
  organizations: { matcher: ['email_domain'] },
};

const VERIFICATION_FORMATS = new Set(['email', 'tel', 'date', 'time', 'date-time', 'no-validate', 'noformat']);

function checkAgainstSpec(value: unknown, spec: Spec, path: string): string | undefined {
  if (!isPlainObject(value)) return `"${path}" must be an object`;
  for (const [key, v] of Object.entries(value)) {
    const sub = spec[key];
    const p = `${path}.${key}`;
    if (sub === undefined) return `unknown key "${p}"`;
    if (sub === 'boolean') {
      if (typeof v !== 'boolean') return `"${p}" must be a boolean`;
    } else if (Array.isArray(sub)) {
      if (typeof v !== 'string' || !sub.includes(v)) return `"${p}" must be one of ${sub.map((s) => `"${s}"`).join(', ')}`;
    } else {
      const problem = checkAgainstSpec(v, sub as Spec, p);
      if (problem) return problem;
    }
  }
  return undefined;
}

export function checkExtensions(raw: Record<string, unknown>): string | undefined {
  return walkSchema(raw, '', (node, pointer) => {
    if (!(EXTENSION_KEY in node)) return undefined;
    const ext = node[EXTENSION_KEY];
    const where = `at "${pointer || '/'}"`;
    const problem = checkAgainstSpec(ext, EXTENSION_SPEC, EXTENSION_KEY);
    if (problem) return `${problem} ${where}`;
    const e = ext as Record<string, Record<string, unknown>>;
    if (e.verification !== undefined && node.format !== undefined) {
      if (typeof node.format !== 'string' || !VERIFICATION_FORMATS.has(node.format)) {
        return `a field with "${EXTENSION_KEY}.verification" must have format email, tel, date, time, date-time or no-validate, not ${JSON.stringify(node.format)} ${where}`;
      }
    }
    const code = e.credentials?.code as Record<string, unknown> | undefined;
    if (code?.identifier === true && code.via === undefined && node.format !== 'email' && node.format !== 'tel') {
      return `"${EXTENSION_KEY}.credentials.code.identifier" needs "via" (email or sms) or a field format of email or tel ${where}`;
    }
    return undefined;
  });
}

/** All load-time checks in order; the first problem found, or undefined. */
export function checkSchemaDocument(raw: unknown): string | undefined {
  return checkTraitsShape(raw) ?? checkRefs(raw as Record<string, unknown>) ?? checkExtensions(raw as Record<string, unknown>);
}
