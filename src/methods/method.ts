import type { EntityManager } from '@mikro-orm/core';
import type { UiMessage, Outcome } from '../../machines/flow-types.ts';
import type { IdentityRecord } from '../identity/identity.ts';
import type { UiNode } from '../ui/node.ts';
import { uiText } from '../ui/messages.ts';
import type { PayloadProblem } from '../x/body-validator.ts';

export type { Outcome };

/** What a method sees of a submit: never the request itself. */
export interface MethodSubmitContext {
  em: EntityManager;
  flowId: string;
  flowType: 'api' | 'browser';
  /** Settings: the identity owning the flow (as loaded at submit time). */
  identity?: IdentityRecord;
  schemaId?: string;
  screen?: string;
  /** Settings: whether the session is recent enough for privileged changes. */
  privileged?: boolean;
  /** Settings: the session making the change (to keep it when others are revoked). */
  sessionId?: string;
}

export interface NodeContext {
  flowType: 'api' | 'browser';
  values: Record<string, unknown>;
  identity?: IdentityRecord;
  schemaId?: string;
  screen?: string;
  fieldMessages: Record<string, UiMessage[]>;
}

export const msg = (id: number, context?: Record<string, unknown>): UiMessage => {
  const text = uiText(id, context);
  return context ? { id: text.id, text: text.text, type: text.type, context } : { id: text.id, text: text.text, type: text.type };
};

/** Maps JSON-schema payload problems to node messages (required → 4000002, type → 4000026 ...). */
export function problemsToMessages(problems: PayloadProblem[], payload: Record<string, unknown>): { fieldMessages: Record<string, UiMessage[]>; messages: UiMessage[] } {
  const fieldMessages: Record<string, UiMessage[]> = {};
  const messages: UiMessage[] = [];
  for (const p of problems) {
    let message: UiMessage;
    const property = p.field.split('.').pop() ?? p.field;
    const value = p.field.split('.').reduce<unknown>((v, k) => (v && typeof v === 'object' ? (v as Record<string, unknown>)[k] : undefined), payload);
    if (p.keyword === 'required' || (p.keyword === 'minLength' && value === '')) message = msg(4000002, { property });
    else if (p.keyword === 'type') message = msg(4000026, { allowed_types: [p.params.type].flat(), actual_type: Array.isArray(value) ? 'array' : value === null ? 'null' : typeof value });
    else if (p.keyword === 'maxLength') message = msg(4000017, { max_length: p.params.limit, actual_length: typeof value === 'string' ? [...value].length : 0 });
    else if (p.keyword === 'minLength') message = msg(4000003, { min_length: p.params.limit, actual_length: typeof value === 'string' ? [...value].length : 0 });
    else message = msg(4000001, { reason: p.message });
    if (p.field && p.field !== 'method') (fieldMessages[p.field] ??= []).push(message);
    else messages.push(message);
  }
  return { fieldMessages, messages };
}

export interface LoginCapability {
  nodes(ctx: NodeContext): UiNode[];
  submit(ctx: MethodSubmitContext, payload: Record<string, unknown>): Promise<Outcome>;
}

export interface Method {
  id: 'password' | 'profile';
  login?: LoginCapability;
  registration?: LoginCapability;
  settings?: LoginCapability;
}
