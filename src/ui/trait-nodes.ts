/**
 * Input nodes for an identity schema's traits (registration/settings profile forms), in schema property order.
 */
import type { IdentitySchema } from '../identity/schema/identity-schema.ts';
import { isPlainObject, resolveLocalRef } from '../identity/schema/pointer.ts';
import type { UiInputNode, UiNodeAutocomplete, UiNodeGroup, UiNodeInputOption, UiNodeInputType, UiText } from './node.ts';
import { inputNode } from './node.ts';
import { MessageId } from '../text/ids.ts';
import { message } from '../text/message.ts';

type SchemaNode = Record<string, unknown>;

const MAX_DEPTH = 32;

function deref(root: SchemaNode, node: unknown, depth = 0): SchemaNode | undefined {
  if (!isPlainObject(node)) return undefined;
  if (typeof node.$ref === 'string' && depth < MAX_DEPTH) {
    const target = deref(root, resolveLocalRef(root, node.$ref), depth + 1);
    // Sibling keywords (title, format, ...) next to $ref win over the target's.
    if (target) {
      const { $ref: _ignored, ...rest } = node;
      return { ...target, ...rest };
    }
  }
  return node;
}

function primaryType(node: SchemaNode): string | undefined {
  const t = node.type;
  if (typeof t === 'string') return t;
  if (Array.isArray(t)) return t.find((x): x is string => typeof x === 'string' && x !== 'null');
  if (t === undefined && isPlainObject(node.properties)) return 'object';
  if (t === undefined && Array.isArray(node.enum) && node.enum.length > 0) {
    const v = node.enum[0];
    return typeof v === 'boolean' ? 'boolean' : typeof v === 'number' ? 'number' : 'string';
  }
  return undefined;
}

function inputType(node: SchemaNode): { type: UiNodeInputType; autocomplete?: UiNodeAutocomplete } {
  switch (node.format) {
    case 'email':
      return { type: 'email', autocomplete: 'email' };
    case 'tel':
      return { type: 'tel', autocomplete: 'tel' };
    case 'date':
      return { type: 'date' };
    case 'date-time':
      return { type: 'datetime-local' };
    case 'uri':
      return { type: 'url' };
  }
  switch (primaryType(node)) {
    case 'number':
    case 'integer':
      return { type: 'number' };
    case 'boolean':
      return { type: 'checkbox' };
    default:
      return { type: 'text' };
  }
}

function isEmpty(value: unknown): boolean {
  return value === undefined || value === null || value === '';
}

/** The label Kratos generates from a schema `title` (id 1070002). */
export function generatedLabel(title: string, name: string): UiText {
  return message(MessageId.InfoNodeLabelGenerated, { title, name });
}

/**
 * One input node per leaf trait property (`traits.<dotted path>`), in schema property order.
 * `values` are the identity's (or the submitted) traits; a node carries `value` only when one is present.
 */
export function traitNodes(schema: IdentitySchema, values?: object, group: UiNodeGroup = 'default'): UiInputNode[] {
  const root = schema.raw;
  const nodes: UiInputNode[] = [];

  const visit = (node: SchemaNode, path: string[], required: boolean, value: unknown, depth: number): void => {
    const name = ['traits', ...path].join('.');
    if (primaryType(node) === 'object' && depth < MAX_DEPTH) {
      const props = isPlainObject(node.properties) ? node.properties : {};
      const req = Array.isArray(node.required) ? node.required : [];
      for (const [key, sub] of Object.entries(props)) {
        const child = deref(root, sub);
        if (!child) continue;
        const childValue = isPlainObject(value) ? value[key] : undefined;
        visit(child, [...path, key], required && req.includes(key), childValue, depth + 1);
      }
      return;
    }
    const { type, autocomplete } = inputType(node);
    const options: UiNodeInputOption[] | undefined = Array.isArray(node.enum)
      ? node.enum
          .filter((v): v is string | number | boolean | null => v === null || ['string', 'number', 'boolean'].includes(typeof v))
          .map((v) => ({ value: v }))
      : undefined;
    const title = typeof node.title === 'string' && node.title !== '' ? node.title : undefined;
    nodes.push(
      inputNode(group, name, type, {
        value: isEmpty(value) ? undefined : value,
        required: required || undefined,
        autocomplete,
        pattern: typeof node.pattern === 'string' ? node.pattern : undefined,
        maxlength: typeof node.maxLength === 'number' ? node.maxLength : undefined,
        options,
        label: title ? generatedLabel(title, name) : undefined,
      }),
    );
  };

  const traits = deref(root, schema.traitsSchema);
  if (traits) visit({ ...traits, type: 'object' }, [], true, values, 0);
  return nodes;
}

const IDENTIFIER_FLAGS: Array<[string, string]> = [
  ['password', 'identifier'], ['webauthn', 'identifier'], ['passkey', 'display_name'], ['totp', 'account_name'], ['code', 'identifier'],
];

function isIdentifierField(node: SchemaNode): boolean {
  const ext = node['ory.sh/kratos'];
  const credentials = isPlainObject(ext) && isPlainObject(ext.credentials) ? ext.credentials : undefined;
  if (!credentials) return false;
  return IDENTIFIER_FLAGS.some(([type, flag]) => isPlainObject(credentials[type]) && (credentials[type] as SchemaNode)[flag] === true);
}

/**
 * The login `identifier` label, as Kratos derives it (`login.GetIdentifierLabelFromSchema`): when exactly one trait is
 * an identifier of any kind and it has a title, that title (1070002); otherwise "ID" (1070004).
 */
export function identifierLabel(schema: IdentitySchema, fallback: UiText): UiText {
  const root = schema.raw;
  const found: Array<{ name: string; title?: string }> = [];
  const visit = (node: SchemaNode, path: string[], depth: number): void => {
    if (isIdentifierField(node)) found.push({ name: ['traits', ...path].join('.'), title: typeof node.title === 'string' ? node.title : undefined });
    if (depth >= MAX_DEPTH || !isPlainObject(node.properties)) return;
    for (const [key, sub] of Object.entries(node.properties)) {
      const child = deref(root, sub);
      if (child) visit(child, [...path, key], depth + 1);
    }
  };
  const traits = deref(root, schema.traitsSchema);
  if (traits) visit(traits, [], 0);
  return found.length === 1 && found[0].title ? generatedLabel(found[0].title, found[0].name) : fallback;
}
