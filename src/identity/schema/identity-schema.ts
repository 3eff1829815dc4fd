/** One loaded, compiled identity schema. */
import type { AnySchemaObject } from 'ajv';
import { compileSchema, type CompiledSchema } from './compile.ts';
import { mapAjvErrors, traitError, jsonType } from './errors.ts';
import { MessageId } from '../../text/ids.ts';
import { controlCharacterErrors } from './control-characters.ts';
import { extractTraits } from './extension.ts';
import { checkSchemaDocument, schemaDialect } from './meta.ts';
import { isPlainObject } from './pointer.ts';
import type { ExtractedTraits, TraitError } from './types.ts';

export interface IdentitySchemaInit {
  id: string;
  /** The configured URL (file://, base64://, http(s)://). */
  url: string;
  raw: Record<string, unknown>;
  selfserviceSelectable?: boolean;
}

export class IdentitySchema {
  readonly id: string;
  readonly url: string;
  /** The schema document exactly as loaded (served by `GET /schemas/{id}`). */
  readonly raw: Record<string, unknown>;
  readonly selfserviceSelectable: boolean;
  private readonly compiled: CompiledSchema;

  /** Checks and compiles; throws an Error with a one-line problem description (without the schema id). */
  constructor(init: IdentitySchemaInit) {
    this.id = init.id;
    this.url = init.url;
    this.raw = init.raw;
    this.selfserviceSelectable = init.selfserviceSelectable ?? false;
    const problem = checkSchemaDocument(init.raw);
    if (problem) throw new Error(problem);
    try {
      this.compiled = compileSchema(init.raw as AnySchemaObject, schemaDialect(init.raw) ?? 'draft-07', init.id);
    } catch (err) {
      const msg = err instanceof Error ? err.message : String(err);
      throw new Error(`invalid JSON Schema: ${msg.replace(/\s+/g, ' ')}`);
    }
  }

  /** The `properties.traits` subschema. */
  get traitsSchema(): Record<string, unknown> {
    return (this.raw.properties as Record<string, Record<string, unknown>>).traits;
  }

  /**
   * Validates traits against the schema (as `{"traits": ...}`, like Kratos). Returns [] when valid.
   * Pointers address the identity document: "/traits/email", "/traits/name/first", "/traits" for the object itself.
   */
  validateTraits(traits: unknown): TraitError[] {
    if (!isPlainObject(traits)) {
      return [traitError('/traits', MessageId.ErrorValidationWrongType, { allowed_types: ['object'], actual_type: traits === undefined ? 'null' : jsonTypeName(traits) })];
    }
    const control = controlCharacterErrors(this.raw, this.traitsSchema, traits);
    const ok = this.compiled.validate({ traits });
    if (ok) return control;
    const errors = [...mapAjvErrors(this.compiled.validate.errors), ...control];
    // Never report an invalid document as valid, even if every ajv error was a summary.
    return errors.length > 0 ? errors : [traitError('/traits', MessageId.ErrorValidationGeneric, { reason: 'the traits do not match the identity schema' })];
  }

  /** Identifiers and addresses from the `ory.sh/kratos` extension; call with traits that passed validateTraits. */
  extract(traits: unknown): ExtractedTraits {
    return extractTraits(this.raw, this.compiled, traits);
  }
}

function jsonTypeName(value: unknown): string {
  const t = jsonType(value);
  return t === 'integer' ? 'number' : t;
}
