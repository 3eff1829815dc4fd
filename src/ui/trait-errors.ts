/** Bridges trait validation errors to UI messages on the matching `traits.*` input nodes. */
import type { TraitError } from '../identity/schema/types.ts';
import type { UiNode, UiText } from './node.ts';

export function traitErrorText(err: TraitError): UiText {
  const t: UiText = { id: err.id, text: err.message, type: 'error' };
  if (Object.keys(err.context).length > 0) t.context = err.context;
  return t;
}

/** `/traits/name/first` -> `traits.name.first`. */
export function pointerToNodeName(pointer: string): string {
  return pointer
    .split('/')
    .filter((t) => t !== '')
    .map((t) => t.replace(/~1/g, '/').replace(/~0/g, '~'))
    .join('.');
}

/**
 * Adds each error to the input node whose name matches its pointer; errors without such a node (the traits object
 * itself, additional properties, ...) are returned for the container's `messages`.
 */
export function attachTraitErrors(nodes: UiNode[], errors: TraitError[]): UiText[] {
  const rest: UiText[] = [];
  for (const err of errors) {
    const name = pointerToNodeName(err.pointer);
    const node = nodes.find((n) => n.attributes.node_type === 'input' && n.attributes.name === name);
    if (node) node.messages.push(traitErrorText(err));
    else rest.push(traitErrorText(err));
  }
  return rest;
}
