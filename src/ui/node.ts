/**
 * Kratos UI node model (`ui/node`, `ui/container`), as served in every flow's `ui` field.
 * `attributes.node_type` mirrors the node's `type` and is the SDK's discriminator.
 */

export type UiTextType = 'info' | 'error' | 'success';

export interface UiText {
  id: number;
  text: string;
  type: UiTextType;
  context?: Record<string, unknown>;
}

export type UiNodeGroup =
  | 'default'
  | 'password'
  | 'oidc'
  | 'profile'
  | 'link'
  | 'code'
  | 'totp'
  | 'lookup_secret'
  | 'webauthn'
  | 'passkey'
  | 'identifier_first'
  | 'captcha'
  | 'saml'
  | 'deviceauthn';

export const UI_NODE_GROUPS: readonly UiNodeGroup[] = [
  'default', 'password', 'oidc', 'profile', 'link', 'code', 'totp', 'lookup_secret', 'webauthn', 'passkey',
  'identifier_first', 'captcha', 'saml', 'deviceauthn',
];

export type UiNodeType = 'input' | 'text' | 'img' | 'a' | 'script' | 'div';

export type UiNodeInputType =
  | 'text'
  | 'password'
  | 'number'
  | 'checkbox'
  | 'hidden'
  | 'email'
  | 'tel'
  | 'submit'
  | 'button'
  | 'datetime-local'
  | 'date'
  | 'url';

export type UiNodeAutocomplete =
  | 'email'
  | 'tel'
  | 'url'
  | 'current-password'
  | 'new-password'
  | 'one-time-code'
  | 'username'
  | 'username webauthn';

export type UiNodeTrigger =
  | 'oryWebAuthnRegistration'
  | 'oryWebAuthnLogin'
  | 'oryPasskeyLogin'
  | 'oryPasskeyLoginAutocompleteInit'
  | 'oryPasskeyRegistration'
  | 'oryPasskeySettingsRegistration';

export interface UiNodeInputOption {
  value: string | number | boolean | null;
}

export interface UiNodeInputAttributes {
  node_type: 'input';
  name: string;
  type: UiNodeInputType;
  value?: unknown;
  required?: boolean;
  autocomplete?: UiNodeAutocomplete;
  label?: UiText;
  pattern?: string;
  disabled: boolean;
  /** @deprecated Kratos keeps the raw JS for old UIs; use onclickTrigger. */
  onclick?: string;
  /** @deprecated use onloadTrigger. */
  onload?: string;
  onclickTrigger?: UiNodeTrigger;
  onloadTrigger?: UiNodeTrigger;
  maxlength?: number;
  options?: UiNodeInputOption[];
}

export interface UiNodeTextAttributes {
  node_type: 'text';
  id: string;
  text: UiText;
}

export interface UiNodeImageAttributes {
  node_type: 'img';
  id: string;
  src: string;
  width: number;
  height: number;
}

export interface UiNodeAnchorAttributes {
  node_type: 'a';
  id: string;
  href: string;
  title: UiText;
}

export interface UiNodeScriptAttributes {
  node_type: 'script';
  id: string;
  src: string;
  async: boolean;
  referrerpolicy: string;
  crossorigin: string;
  integrity: string;
  type: string;
  nonce: string;
}

export interface UiNodeDivisionAttributes {
  node_type: 'div';
  id: string;
  class?: string;
  data?: Record<string, string>;
}

export type UiNodeAttributes =
  | UiNodeInputAttributes
  | UiNodeTextAttributes
  | UiNodeImageAttributes
  | UiNodeAnchorAttributes
  | UiNodeScriptAttributes
  | UiNodeDivisionAttributes;

export interface UiNodeMeta {
  label?: UiText;
}

interface UiNodeBase<T extends UiNodeType, A extends UiNodeAttributes> {
  type: T;
  group: UiNodeGroup;
  attributes: A;
  messages: UiText[];
  meta: UiNodeMeta;
}

export type UiInputNode = UiNodeBase<'input', UiNodeInputAttributes>;
export type UiTextNode = UiNodeBase<'text', UiNodeTextAttributes>;
export type UiImageNode = UiNodeBase<'img', UiNodeImageAttributes>;
export type UiAnchorNode = UiNodeBase<'a', UiNodeAnchorAttributes>;
export type UiScriptNode = UiNodeBase<'script', UiNodeScriptAttributes>;
export type UiDivisionNode = UiNodeBase<'div', UiNodeDivisionAttributes>;

export type UiNode = UiInputNode | UiTextNode | UiImageNode | UiAnchorNode | UiScriptNode | UiDivisionNode;

export interface UiContainer {
  action: string;
  method: string;
  nodes: UiNode[];
  /** Omitted from the wire when empty. */
  messages?: UiText[];
}

// ---------------------------------------------------------------------------------------------------------------
// Constructors. Every node gets `messages: []` and `meta: {}` (Kratos always serializes both).

export interface InputNodeOptions {
  value?: unknown;
  required?: boolean;
  autocomplete?: UiNodeAutocomplete;
  pattern?: string;
  disabled?: boolean;
  maxlength?: number;
  options?: UiNodeInputOption[];
  onclick?: string;
  onload?: string;
  onclickTrigger?: UiNodeTrigger;
  onloadTrigger?: UiNodeTrigger;
  /** Sets `meta.label`. */
  label?: UiText;
  messages?: UiText[];
}

/** An input node; `value` is omitted when undefined, optional attributes only when given. */
export function inputNode(
  group: UiNodeGroup,
  name: string,
  type: UiNodeInputType,
  opts: InputNodeOptions = {},
): UiInputNode {
  const attributes: UiNodeInputAttributes = { name, type } as UiNodeInputAttributes;
  if (opts.value !== undefined) attributes.value = opts.value;
  if (opts.required !== undefined) attributes.required = opts.required;
  if (opts.autocomplete !== undefined) attributes.autocomplete = opts.autocomplete;
  if (opts.pattern !== undefined) attributes.pattern = opts.pattern;
  attributes.disabled = opts.disabled ?? false;
  if (opts.onclick !== undefined) attributes.onclick = opts.onclick;
  if (opts.onclickTrigger !== undefined) attributes.onclickTrigger = opts.onclickTrigger;
  if (opts.onload !== undefined) attributes.onload = opts.onload;
  if (opts.onloadTrigger !== undefined) attributes.onloadTrigger = opts.onloadTrigger;
  if (opts.maxlength !== undefined) attributes.maxlength = opts.maxlength;
  if (opts.options !== undefined) attributes.options = opts.options;
  attributes.node_type = 'input';
  const meta: UiNodeMeta = {};
  if (opts.label) meta.label = opts.label;
  return { type: 'input', group, attributes, messages: opts.messages ?? [], meta };
}

/** A submit button (`name`, `value`), e.g. `method=password`. */
export function submitNode(group: UiNodeGroup, name: string, value: string, label?: UiText): UiInputNode {
  return inputNode(group, name, 'submit', { value, label });
}

/** The hidden `csrf_token` node; api flows pass no token (the node is still there, without `value`). */
export function csrfNode(token?: string): UiInputNode {
  return inputNode('default', 'csrf_token', 'hidden', { value: token, required: true });
}

export function textNode(group: UiNodeGroup, id: string, text: UiText, label?: UiText): UiTextNode {
  const meta: UiNodeMeta = {};
  if (label) meta.label = label;
  return { type: 'text', group, attributes: { id, text, node_type: 'text' }, messages: [], meta };
}

export function imageNode(group: UiNodeGroup, id: string, src: string, width: number, height: number, label?: UiText): UiImageNode {
  const meta: UiNodeMeta = {};
  if (label) meta.label = label;
  return { type: 'img', group, attributes: { src, id, width, height, node_type: 'img' }, messages: [], meta };
}

export function anchorNode(group: UiNodeGroup, id: string, href: string, title: UiText, label?: UiText): UiAnchorNode {
  return { type: 'a', group, attributes: { href, title, id, node_type: 'a' }, messages: [], meta: label ? { label } : {} };
}

export interface ScriptNodeOptions {
  async?: boolean;
  referrerpolicy?: string;
  crossorigin?: string;
  integrity?: string;
  type?: string;
  nonce?: string;
}

export function scriptNode(group: UiNodeGroup, id: string, src: string, opts: ScriptNodeOptions = {}): UiScriptNode {
  return {
    type: 'script',
    group,
    attributes: {
      src,
      async: opts.async ?? true,
      referrerpolicy: opts.referrerpolicy ?? 'no-referrer',
      crossorigin: opts.crossorigin ?? 'anonymous',
      integrity: opts.integrity ?? '',
      type: opts.type ?? 'text/javascript',
      id,
      nonce: opts.nonce ?? '',
      node_type: 'script',
    },
    messages: [],
    meta: {},
  };
}

export function divisionNode(group: UiNodeGroup, id: string, opts: { class?: string; data?: Record<string, string> } = {}): UiDivisionNode {
  const attributes: UiNodeDivisionAttributes = { id, node_type: 'div' };
  if (opts.class !== undefined) attributes.class = opts.class;
  if (opts.data !== undefined) attributes.data = opts.data;
  return { type: 'div', group, attributes, messages: [], meta: {} };
}

/** The `name` of an input node, the `id` of any other node. */
export function nodeKey(node: UiNode): string {
  return node.attributes.node_type === 'input' ? node.attributes.name : node.attributes.id;
}

/** A container; `messages` is left out when empty. */
export function uiContainer(action: string, nodes: UiNode[], messages: UiText[] = [], method = 'POST'): UiContainer {
  const c: UiContainer = { action, method, nodes };
  if (messages.length > 0) c.messages = messages;
  return c;
}
