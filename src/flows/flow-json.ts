import type { FlowRow } from '../../entities/index.ts';
import type { FlowContext } from '../../machines/flow-types.ts';
import type { IdentityRecord } from '../identity/identity.ts';
import type { IdentityJson } from '../identity/identity.ts';
import type { Method, NodeContext } from '../methods/method.ts';
import { csrfNode, type UiNode, type UiText } from '../ui/node.ts';

export interface FlowJsonDeps {
  publicBaseUrl: () => string;
  /** Methods enabled for this flow kind, in display order. */
  methodsFor: (kind: FlowRow['kind'], context: FlowContext) => Method[];
  identityJson?: (record: IdentityRecord) => IdentityJson;
  /** Recovery and verification render their nodes from the challenge method in use. */
  challengeNodes?: (kind: 'recovery' | 'verification', state: string, context: FlowContext, continueUrl?: string) => UiNode[];
}

export interface ProjectOptions {
  /** A freshly masked CSRF token for browser flows (never stored in the flow). */
  csrfValue?: string;
  identity?: IdentityRecord;
  continueWith?: unknown[];
  /** Set by projectFlow: the top-level state, for challenge nodes. */
  state?: string;
  /** Verification: where a passed flow continues (ui.method GET, ui.action this URL). */
  continueUrl?: string;
}

const iso = (d: Date) => d.toISOString();

/** Kratos's `active` is one of these; an unknown submitted method name is never echoed. */
const ACTIVE_METHODS = new Set(['password', 'oidc', 'totp', 'lookup_secret', 'webauthn', 'code', 'passkey', 'profile', 'saml', 'identifier_first']);

/** Builds the nodes of a flow from its settled context: csrf first, then each enabled method's nodes. */
export function flowNodes(deps: FlowJsonDeps, row: FlowRow, context: FlowContext, options: ProjectOptions): UiNode[] {
  const nodeContext: NodeContext = {
    flowType: row.type, values: context.values, identity: options.identity, schemaId: context.schemaId,
    screen: context.screen, fieldMessages: context.fieldMessages,
  };
  const csrf = csrfNode(row.type === 'browser' ? options.csrfValue : undefined);
  if ((row.kind === 'recovery' || row.kind === 'verification') && deps.challengeNodes) {
    return [csrf, ...deps.challengeNodes(row.kind, options.state ?? 'choose_method', context, options.continueUrl)];
  }
  const methods = deps.methodsFor(row.kind, context);
  const groups = methods.flatMap((method) => {
    const capability = row.kind === 'login' ? method.login : row.kind === 'registration' ? method.registration : method.settings;
    return capability ? capability.nodes(nodeContext) : [];
  });
  // Default-group inputs (identifier, traits) come before method groups, as in Kratos.
  const defaults = groups.filter((n) => n.group === 'default');
  const rest = groups.filter((n) => n.group !== 'default');
  return [csrf, ...defaults, ...rest];
}

/**
 * Kratos's flow JSON as a whitelist projection of the row and the machine context: nothing internal (CSRF
 * token, secrets, owner ids) leaves this function.
 */
export function projectFlow(deps: FlowJsonDeps, row: FlowRow, state: string, context: FlowContext, options: ProjectOptions = {}): Record<string, unknown> {
  const action = new URL(`self-service/${row.kind}?flow=${row.id}`, deps.publicBaseUrl()).toString();
  const messages: UiText[] = context.messages;
  const passedVerification = row.kind === 'verification' && state === 'passed_challenge' && options.continueUrl;
  const ui: Record<string, unknown> = {
    action: passedVerification ? options.continueUrl : action,
    method: passedVerification ? 'GET' : 'POST',
    nodes: flowNodes(deps, row, context, { ...options, state }),
  };
  if (messages.length > 0) ui.messages = messages;
  const json: Record<string, unknown> = {
    id: row.id,
    type: row.type,
    expires_at: iso(row.expiresAt),
    issued_at: iso(row.issuedAt),
    request_url: row.requestUrl,
    ...(row.returnTo ? { return_to: row.returnTo } : {}),
    ...(context.active && ACTIVE_METHODS.has(context.active) ? { active: context.active } : {}),
    ui,
    state,
    ...(context.transientPayload !== undefined ? { transient_payload: context.transientPayload } : {}),
    organization_id: null,
  };
  if (row.kind === 'login') {
    Object.assign(json, {
      refresh: context.refresh,
      requested_aal: context.requestedAal,
      created_at: iso(row.createdAt),
      updated_at: iso(row.updatedAt),
    });
  }
  if (row.kind === 'settings' && options.identity && deps.identityJson) {
    json.identity = deps.identityJson(options.identity);
  }
  if ((row.kind === 'settings' || row.kind === 'recovery') && options.continueWith) json.continue_with = options.continueWith;
  return json;
}
