import type { IdentityRecord } from '../../identity/identity.ts';
import { normalizeIdentifier, type IdentitySchemaRegistry } from '../../identity/schema/index.ts';
import { MessageId } from '../../text/ids.ts';
import { message } from '../../text/message.ts';
import { inputNode, submitNode } from '../../ui/node.ts';
import { identifierLabel } from '../../ui/trait-nodes.ts';
import { payloadProblems } from '../../x/body-validator.ts';
import { problemsToMessages } from '../form-messages.ts';
import type { Json, Method, MethodContext, Outcome } from '../method.ts';

export const IDENTIFIER_FIRST = 'identifier_first';
/** The login screen after the identifier: the methods that identity can sign in with. */
export const IDENTIFIED_SCREEN = 'identified';

/**
 * What the identifier step learnt, kept in the flow: the identifier, and the login methods its identity has — none
 * recorded (`methods` absent) under account-enumeration mitigation, when every method is offered whoever it is.
 */
export interface IdentifiedHint {
  identifier: string;
  methods?: string[];
}

export interface IdentifierFirstDeps {
  schemas: IdentitySchemaRegistry;
  /** `security.account_enumeration.mitigate`. */
  mitigate: boolean;
  /** The identity holding this (normalised) identifier in any credential that has identifiers. */
  findByIdentifier(identifier: string): Promise<IdentityRecord | null>;
  /** The first-factor login methods an identity can use (`password` with a hash, `code`, `passkey` with keys ...). */
  loginMethodsOf(identity: IdentityRecord): string[];
}

const SCHEMA = 'methods/identifier-first/login.json';

export function identifiedHint(internal: Json | undefined): IdentifiedHint | undefined {
  const hint = internal as Partial<IdentifiedHint> | undefined;
  return typeof hint?.identifier === 'string' ? { identifier: hint.identifier, methods: Array.isArray(hint.methods) ? hint.methods : undefined } : undefined;
}

/**
 * Identifier-first login (Kratos `selfservice.flows.login.style: identifier_first`, strategy `idfirst`): the first
 * screen asks only for the identifier; the next shows the methods that identity has, the identifier travelling hidden.
 * With account-enumeration mitigation every method is shown for every identifier, known or not; without it an unknown
 * identifier is told so (4000037). It never signs anybody in itself.
 */
export function createIdentifierFirstMethod(deps: IdentifierFirstDeps): Method {
  return {
    id: IDENTIFIER_FIRST,
    group: 'identifier_first',
    login: {
      aal: 'aal1',
      payloadSchema: SCHEMA,
      nodes(ctx: MethodContext) {
        if (ctx.flow.refresh) return { nodes: [] };
        const hint = identifiedHint(ctx.internal);
        if (ctx.flow.screen === IDENTIFIED_SCREEN && hint) {
          return { nodes: [inputNode('identifier_first', 'identifier', 'hidden', { value: hint.identifier, autocomplete: 'username webauthn' })] };
        }
        const label = identifierLabel(deps.schemas.require(deps.schemas.defaultId), message(MessageId.InfoNodeLabelID));
        const value = typeof ctx.flow.values.identifier === 'string' ? ctx.flow.values.identifier : undefined;
        return {
          nodes: [
            inputNode('identifier_first', 'identifier', 'text', { value, required: true, autocomplete: 'username webauthn', label }),
            submitNode('identifier_first', 'method', IDENTIFIER_FIRST, message(MessageId.InfoNodeLabelContinue)),
          ],
        };
      },
      async submit(ctx, payload): Promise<Outcome> {
        const values = typeof payload.identifier === 'string' ? { identifier: payload.identifier } : {};
        const problems = payloadProblems(SCHEMA, payload);
        if (problems.length > 0) return { kind: 'rejected', values, ...problemsToMessages(problems, payload) };
        const typed = String(payload.identifier).trim();
        const identifier = normalizeIdentifier(typed, typed.includes('@') ? 'email' : 'text');
        // Kratos idfirst: the next screen is an ordinary form answer (303 for browsers, 400 with the flow for JSON).
        if (deps.mitigate) {
          // The same screen for everybody: no lookup whose cost or answer could tell accounts apart.
          return { kind: 'next_screen', screen: IDENTIFIED_SCREEN, values: { identifier }, internal: { identifier }, asForm: true };
        }
        const identity = await deps.findByIdentifier(identifier);
        const methods = identity && identity.state === 'active' ? deps.loginMethodsOf(identity) : [];
        if (methods.length === 0) {
          return { kind: 'rejected', values: { identifier: typed }, fieldMessages: { identifier: [message(MessageId.ErrorValidationAccountNotFound)] } };
        }
        return { kind: 'next_screen', screen: IDENTIFIED_SCREEN, values: { identifier }, internal: { identifier, methods }, asForm: true };
      },
    },
  };
}
