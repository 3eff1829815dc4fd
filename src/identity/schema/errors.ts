/** Maps ajv validation errors to Kratos-style per-field trait errors (message ids from `text/id.go`). */
import type { ErrorObject } from 'ajv';
import { MessageId } from '../../text/ids.ts';
import { messageText } from '../../ui/messages.ts';
import { joinPointer } from './pointer.ts';
import type { TraitError } from './types.ts';

export function jsonType(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'array';
  if (typeof value === 'number') return Number.isInteger(value) ? 'integer' : 'number';
  if (typeof value === 'bigint') return 'integer';
  return typeof value;
}

/** Kratos reports JSON numbers as "number" (an integer is still a number on the wire). */
function actualType(value: unknown): string {
  const t = jsonType(value);
  return t === 'integer' ? 'number' : t;
}

function codePoints(value: unknown): number {
  return typeof value === 'string' ? [...value].length : 0;
}

function lastToken(pointer: string): string {
  const i = pointer.lastIndexOf('/');
  return pointer.slice(i + 1).replace(/~1/g, '/').replace(/~0/g, '~');
}

export function traitError(pointer: string, id: number, context: Record<string, unknown>): TraitError {
  return { pointer, message: messageText(id, context), id, context };
}

export function generic(pointer: string, reason: string): TraitError {
  return traitError(pointer, MessageId.ErrorValidationGeneric, { reason });
}

/** Maps one ajv error, or returns undefined for errors that only summarise others (`if`). */
export function mapAjvError(e: ErrorObject): TraitError | undefined {
  const at = e.instancePath;
  const p = e.params as Record<string, unknown>;
  switch (e.keyword) {
    case 'required':
    case 'dependencies':
    case 'dependentRequired': {
      const property = String(p.missingProperty);
      return traitError(joinPointer(at, property), MessageId.ErrorValidationRequired, { property });
    }
    case 'minLength':
      return traitError(at, MessageId.ErrorValidationMinLength, { min_length: p.limit, actual_length: codePoints(e.data) });
    case 'maxLength':
      return traitError(at, MessageId.ErrorValidationMaxLength, { max_length: p.limit, actual_length: codePoints(e.data) });
    case 'pattern':
      return traitError(at, MessageId.ErrorValidationInvalidFormat, { pattern: p.pattern });
    case 'format':
      // Kratos (schema/errors.go): e-mail and phone formats have texts of their own; any other format is a 4000001
      // with ory/jsonschema's wording.
      if (p.format === 'email' || p.format === 'idn-email') return traitError(at, MessageId.ErrorValidationEmail, { value: e.data });
      if (p.format === 'tel') return traitError(at, MessageId.ErrorValidationPhone, { value: e.data });
      return generic(at, `${JSON.stringify(e.data)} is not valid ${JSON.stringify(p.format)}`);
    case 'type': {
      const allowed = Array.isArray(p.type) ? p.type.map(String) : String(p.type).split(',');
      return traitError(at, MessageId.ErrorValidationWrongType, { allowed_types: allowed, actual_type: actualType(e.data) });
    }
    case 'minimum':
      return traitError(at, MessageId.ErrorValidationMinimum, { minimum: p.limit, actual: e.data });
    case 'exclusiveMinimum':
      return traitError(at, MessageId.ErrorValidationExclusiveMinimum, { minimum: p.limit, actual: e.data });
    case 'maximum':
      return traitError(at, MessageId.ErrorValidationMaximum, { maximum: p.limit, actual: e.data });
    case 'exclusiveMaximum':
      return traitError(at, MessageId.ErrorValidationExclusiveMaximum, { maximum: p.limit, actual: e.data });
    case 'multipleOf':
      return traitError(at, MessageId.ErrorValidationMultipleOf, { base: p.multipleOf, actual: e.data });
    case 'maxItems':
      return traitError(at, MessageId.ErrorValidationMaxItems, { max_items: p.limit, actual_items: Array.isArray(e.data) ? e.data.length : 0 });
    case 'minItems':
      return traitError(at, MessageId.ErrorValidationMinItems, { min_items: p.limit, actual_items: Array.isArray(e.data) ? e.data.length : 0 });
    case 'uniqueItems':
      // ajv reports the two equal indexes as i (later) and j (earlier).
      return traitError(at, MessageId.ErrorValidationUniqueItems, { index_a: p.j, index_b: p.i });
    case 'const':
      return traitError(at, MessageId.ErrorValidationConst, { expected: p.allowedValue });
    case 'enum': {
      const allowed = Array.isArray(p.allowedValues) ? p.allowedValues : [];
      return generic(at, `value must be one of ${allowed.map((v) => JSON.stringify(v)).join(', ')}`);
    }
    case 'additionalProperties':
      return generic(at, `additionalProperties ${JSON.stringify(String(p.additionalProperty))} not allowed`);
    case 'unevaluatedProperties':
      return generic(at, `unevaluatedProperties ${JSON.stringify(String(p.unevaluatedProperty))} not allowed`);
    case 'maxProperties':
      return generic(at, `maximum ${String(p.limit)} properties allowed`);
    case 'minProperties':
      return generic(at, `minimum ${String(p.limit)} properties required`);
    case 'if':
      return undefined;
    case 'false schema':
      return generic(at, at ? `property ${JSON.stringify(lastToken(at))} is not allowed` : 'not allowed');
    case 'anyOf':
      return generic(at, 'value does not match any of the allowed schemas');
    case 'oneOf':
      return generic(at, 'value must match exactly one of the allowed schemas');
    case 'not':
      return generic(at, 'value matches a schema it must not match');
    default:
      return generic(at, e.message ?? `${e.keyword} validation failed`);
  }
}

/** Maps and de-duplicates ajv's errors, keeping their order. */
export function mapAjvErrors(errors: readonly ErrorObject[] | null | undefined): TraitError[] {
  const out: TraitError[] = [];
  const seen = new Set<string>();
  for (const e of errors ?? []) {
    const t = mapAjvError(e);
    if (!t) continue;
    const key = `${t.pointer}\u0000${t.id}\u0000${t.message}`;
    if (seen.has(key)) continue;
    seen.add(key);
    out.push(t);
  }
  return out;
}
