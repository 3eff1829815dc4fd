import type { FlowContext } from '../../machines/flow-types.ts';
import type { IdentityJson } from '../identity/identity.ts';
import type { FlowRecord } from '../persistence/store.ts';
import { csrfNode, type UiNode, type UiText } from '../ui/node.ts';

export interface FlowJsonInput {
  flow: FlowRecord;
  state: string;
  context: FlowContext;
  /** Every method's nodes for this state (csrf excluded). */
  nodes: UiNode[];
  /** `ui.action` (the submit endpoint, or where a finished verification continues). */
  action: string;
  /** `ui.method`: POST, or GET for a link that continues elsewhere. */
  method: 'POST' | 'GET';
  /** A freshly masked CSRF token for browser flows (never stored in the flow). */
  csrfValue?: string;
  /** Settings: the owner as its client sees it. */
  identity?: IdentityJson;
  continueWith?: unknown[];
  /** Login: an administrator's test login (Kratos `test_context`: the provider, and once captured the debug payload). */
  testContext?: unknown;
}

const iso = (d: Date) => d.toISOString();

/** Kratos's `active` is one of these; an unknown submitted method name is never echoed. */
const ACTIVE_METHODS = new Set(['password', 'oidc', 'totp', 'lookup_secret', 'webauthn', 'code', 'link', 'passkey', 'profile', 'saml', 'identifier_first']);

/**
 * Messages the machine keeps by node name go onto those nodes (those without a node go to `ui.messages`);
 * default-group inputs (identifier, traits) come before method groups, csrf first, as in Kratos.
 */
export function arrangeNodes(nodes: UiNode[], fieldMessages: Record<string, UiText[]>, csrf: UiNode): { nodes: UiNode[]; orphans: UiText[] } {
  const inputName = (node: UiNode) => (node.attributes.node_type === 'input' ? node.attributes.name : undefined);
  const isSubmit = (node: UiNode) => node.attributes.node_type === 'input' && node.attributes.type === 'submit';
  // A name may sit on several nodes (a hidden identifier and a visible one, an address and its resend button): the
  // messages go to the first field that is not a button, else to the first button of that name.
  const target = new Map<string, UiNode>();
  for (const name of Object.keys(fieldMessages)) {
    const named = nodes.filter((n) => inputName(n) === name);
    const chosen = named.find((n) => !isSubmit(n)) ?? named[0];
    if (chosen) target.set(name, chosen);
  }
  const withMessages = nodes.map((node) => {
    const name = inputName(node);
    if (!name || target.get(name) !== node || fieldMessages[name].length === 0) return node;
    return { ...node, messages: [...node.messages, ...fieldMessages[name]] } as UiNode;
  });
  const orphans = Object.entries(fieldMessages).filter(([name]) => !target.has(name)).flatMap(([, messages]) => messages);
  const defaults = withMessages.filter((n) => n.group === 'default');
  const rest = withMessages.filter((n) => n.group !== 'default');
  return { nodes: [csrf, ...defaults, ...rest], orphans };
}

/**
 * Kratos's flow JSON as a whitelist projection of the row and the machine context: nothing internal (CSRF token,
 * internal state, owner ids) leaves this function.
 */
export function projectFlow(input: FlowJsonInput): Record<string, unknown> {
  const { flow, state, context } = input;
  const csrf = csrfNode(flow.type === 'browser' ? input.csrfValue : undefined);
  const arranged = arrangeNodes(input.nodes, context.fieldMessages, csrf);
  const messages: UiText[] = [...context.messages, ...arranged.orphans];
  const ui: Record<string, unknown> = { action: input.action, method: input.method, nodes: arranged.nodes };
  if (messages.length > 0) ui.messages = messages;
  const json: Record<string, unknown> = {
    id: flow.id,
    type: flow.type,
    expires_at: iso(flow.expiresAt),
    issued_at: iso(flow.issuedAt),
    request_url: flow.requestUrl,
    ...(flow.returnTo ? { return_to: flow.returnTo } : {}),
    ...(context.active && ACTIVE_METHODS.has(context.active) ? { active: context.active } : {}),
    ui,
    state,
    ...(context.transientPayload !== undefined && context.transientPayload !== null ? { transient_payload: context.transientPayload } : {}),
    organization_id: null,
  };
  if (flow.kind === 'login') {
    Object.assign(json, {
      refresh: context.refresh,
      requested_aal: context.requestedAal,
      created_at: iso(flow.createdAt),
      updated_at: iso(flow.updatedAt),
      ...(input.testContext !== undefined ? { test_context: input.testContext } : {}),
    });
  }
  if (flow.kind === 'settings' && input.identity) json.identity = input.identity;
  if ((flow.kind === 'settings' || flow.kind === 'recovery') && input.continueWith) json.continue_with = input.continueWith;
  return json;
}
