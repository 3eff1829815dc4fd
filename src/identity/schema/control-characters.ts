/**
 * Control characters in traits: identifiers and addresses allow none, free text tab and line breaks (x/control-characters).
 * Identifiers and addresses also refuse labels that mix scripts (x/mixed-script: look-alike accounts).
 */
import { MessageId } from '../../text/ids.ts';
import { traitError } from './errors.ts';
import { isPlainObject, joinPointer, resolveLocalRef } from './pointer.ts';
import type { TraitError } from './types.ts';
import { CONTROL_CHARACTER_REASON, hasFreeTextControl, hasIdentifierControl } from '../../x/control-characters.ts';
import { hasMixedScripts, MIXED_SCRIPT_REASON } from '../../x/mixed-script.ts';


function resolve(root: unknown, schema: unknown): Record<string, unknown> | undefined {
  let node = schema;
  for (let hops = 0; hops < 32 && isPlainObject(node) && typeof node.$ref === 'string'; hops++) node = resolveLocalRef(root, node.$ref);
  return isPlainObject(node) ? node : undefined;
}

function isIdentifierField(schema: Record<string, unknown> | undefined): boolean {
  const ext = schema?.['ory.sh/kratos'];
  return isPlainObject(ext) && ('credentials' in ext || 'verification' in ext || 'recovery' in ext);
}

/** One 4000001 per string with a forbidden control character, walking the traits alongside their schema. */
export function controlCharacterErrors(root: Record<string, unknown>, traitsSchema: unknown, traits: unknown): TraitError[] {
  const errors: TraitError[] = [];
  const walk = (value: unknown, schema: Record<string, unknown> | undefined, pointer: string, identifier: boolean) => {
    if (typeof value === 'string') {
      if (identifier ? hasIdentifierControl(value) : hasFreeTextControl(value)) {
        errors.push(traitError(pointer, MessageId.ErrorValidationGeneric, { reason: CONTROL_CHARACTER_REASON }));
      } else if (identifier && hasMixedScripts(value)) {
        errors.push(traitError(pointer, MessageId.ErrorValidationGeneric, { reason: MIXED_SCRIPT_REASON }));
      }
    } else if (Array.isArray(value)) {
      const items = resolve(root, schema?.items);
      value.forEach((item, i) => walk(item, items, joinPointer(pointer, i), identifier || isIdentifierField(items)));
    } else if (isPlainObject(value)) {
      const properties = isPlainObject(schema?.properties) ? schema.properties : {};
      for (const [key, child] of Object.entries(value)) {
        const sub = resolve(root, properties[key]);
        walk(child, sub, joinPointer(pointer, key), isIdentifierField(sub));
      }
    }
  };
  walk(traits, resolve(root, traitsSchema), '/traits', false);
  return errors;
}
