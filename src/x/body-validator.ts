import { Ajv, type ErrorObject, type ValidateFunction } from 'ajv';
import addFormats from 'ajv-formats';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { KratosError } from '../errors/kratos-error.ts';
import { packageRoot } from './paths.ts';
import { hasIdentifierControl, IDENTIFIER_FORMAT } from './control-characters.ts';

/** One ajv instance for request bodies; every schema under schemas/ (admin/, methods/) is compiled once, lazily. */
const ajv = new Ajv({ allErrors: true, strict: false, useDefaults: false });
(addFormats as unknown as (a: Ajv) => void)(ajv);
ajv.addFormat(IDENTIFIER_FORMAT, { type: 'string', validate: (value: string) => !hasIdentifierControl(value) });
const compiled = new Map<string, ValidateFunction>();

function load(relativePath: string): ValidateFunction {
  let fn = compiled.get(relativePath);
  if (!fn) {
    const schema = JSON.parse(readFileSync(join(packageRoot, 'schemas', relativePath), 'utf8'));
    for (const ref of findRefs(schema)) {
      if (!ajv.getSchema(ref)) ajv.addSchema(JSON.parse(readFileSync(join(packageRoot, 'schemas', refToPath(ref)), 'utf8')));
    }
    fn = ajv.getSchema(schema.$id) ?? ajv.compile(schema);
    compiled.set(relativePath, fn);
  }
  return fn;
}

function findRefs(node: unknown, out: string[] = []): string[] {
  if (Array.isArray(node)) node.forEach((n) => findRefs(n, out));
  else if (node && typeof node === 'object') {
    for (const [key, value] of Object.entries(node)) {
      if (key === '$ref' && typeof value === 'string' && value.startsWith('https://idflow.dev/schemas/')) out.push(value);
      else findRefs(value, out);
    }
  }
  return out;
}

function refToPath(ref: string): string {
  return ref.replace('https://idflow.dev/schemas/', '').replace(/#.*$/, '');
}

const rawSchemas = new Map<string, object>();

/** The JSON of schemas/<relativePath> (a method's payload schema, for the body decoder). */
export function payloadSchemaJson(relativePath: string): object {
  let schema = rawSchemas.get(relativePath);
  if (!schema) {
    schema = JSON.parse(readFileSync(join(packageRoot, 'schemas', relativePath), 'utf8')) as object;
    rawSchemas.set(relativePath, schema);
  }
  return schema;
}

export function describeAjvError(err: ErrorObject): string {
  const where = err.instancePath || '/';
  if (err.keyword === 'additionalProperties') {
    return `${where}: property "${(err.params as { additionalProperty: string }).additionalProperty}" is not allowed`;
  }
  if (err.keyword === 'required') {
    return `${where}: property "${(err.params as { missingProperty: string }).missingProperty}" is missing`;
  }
  return `${where}: ${err.message ?? 'is invalid'}`;
}

/** Validates a request body against schemas/<relativePath>; throws a Kratos 400 naming each problem. */
export function assertBody<T>(relativePath: string, body: unknown): T {
  const validate = load(relativePath);
  if (!validate(body)) {
    const problems = (validate.errors ?? []).map(describeAjvError);
    throw new KratosError(400, undefined, {
      reason: `The request body is invalid: ${problems.join('; ')}`,
      details: { errors: problems },
    });
  }
  return body as T;
}

export interface PayloadProblem {
  /** Field name in node form (`traits.email`, `password`). */
  field: string;
  keyword: string;
  params: Record<string, unknown>;
  message: string;
}

/** Validates a method payload against schemas/<relativePath> and returns problems by field (no throw). */
export function payloadProblems(relativePath: string, body: unknown): PayloadProblem[] {
  const validate = load(relativePath);
  if (validate(body)) return [];
  return (validate.errors ?? []).map((err) => {
    const base = err.instancePath.replace(/^\//, '').split('/').filter(Boolean).join('.');
    const missing = err.keyword === 'required' ? (err.params as { missingProperty: string }).missingProperty : undefined;
    return {
      field: missing ? (base ? `${base}.${missing}` : missing) : base,
      keyword: err.keyword,
      params: err.params as Record<string, unknown>,
      message: err.message ?? 'is invalid',
    };
  });
}
