/** ajv set-up for identity schemas: one instance per schema, by dialect, with strict formats and the Kratos keyword. */
import { Ajv, type AnySchemaObject, type ValidateFunction } from 'ajv';
import { Ajv2019 } from 'ajv/dist/2019.js';
import { Ajv2020 } from 'ajv/dist/2020.js';
import * as ajvFormats from 'ajv-formats';
import type { SchemaDialect } from './meta.ts';
import { isStrictEmail, isTel } from './formats.ts';

type AjvInstance = Ajv | Ajv2019 | Ajv2020;
type FormatsPluginFn = (ajv: AjvInstance) => unknown;

// ajv-formats is CommonJS with `exports.default`; pick the callable whatever the interop layer hands us.
const addFormats: FormatsPluginFn = (() => {
  const mod = ajvFormats as unknown as { default?: unknown };
  const candidate = typeof mod.default === 'function' ? mod.default : (mod.default as { default?: unknown })?.default;
  if (typeof candidate !== 'function') throw new Error('ajv-formats: plugin function not found');
  return candidate as FormatsPluginFn;
})();

export function createAjv(dialect: SchemaDialect): AjvInstance {
  const opts = {
    allErrors: true,
    strict: false,
    verbose: true,
    validateFormats: true,
    logger: false as const,
  };
  const ajv: AjvInstance =
    dialect === '2020-12' ? new Ajv2020(opts) : dialect === '2019-09' ? new Ajv2019(opts) : new Ajv(opts);
  addFormats(ajv);
  ajv.addFormat('email', { type: 'string', validate: isStrictEmail });
  ajv.addFormat('tel', { type: 'string', validate: isTel });
  ajv.addFormat('no-validate', true);
  ajv.addFormat('noformat', true);
  // `ory.sh/kratos` cannot be registered as an ajv keyword (ajv refuses "." and "/" in keyword names); with
  // `strict: false` ajv ignores it like any annotation. Its content is checked by meta.ts instead.
  return ajv;
}

export interface CompiledSchema {
  ajv: AjvInstance;
  validate: ValidateFunction;
  /** A validator for the subschema at `pointer` (a JSON pointer into the compiled document), cached. */
  sub(pointer: string): ValidateFunction | undefined;
}

/** Compiles a schema document; throws ajv's error (one line) when the schema itself is invalid. */
export function compileSchema(raw: AnySchemaObject, dialect: SchemaDialect, key: string): CompiledSchema {
  const ajv = createAjv(dialect);
  // Compile a copy under a private $id so that subschemas can be fetched by pointer for `extract`.
  const doc: AnySchemaObject = { ...raw };
  const base = typeof raw.$id === 'string' && raw.$id !== '' ? raw.$id.replace(/#.*$/, '') : `idflow:identity-schema:${key}`;
  doc.$id = base;
  const validate = ajv.compile(doc);
  const cache = new Map<string, ValidateFunction | undefined>();
  return {
    ajv,
    validate,
    sub(pointer: string) {
      if (!cache.has(pointer)) {
        let fn: ValidateFunction | undefined;
        try {
          fn = ajv.getSchema(`${base}#${pointer.split('/').map((t) => encodeURIComponent(t).replace(/%7E/gi, '~')).join('/')}`);
        } catch {
          fn = undefined;
        }
        cache.set(pointer, fn);
      }
      return cache.get(pointer);
    },
  };
}
