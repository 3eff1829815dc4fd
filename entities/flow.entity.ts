import { defineEntity, p, type InferEntity } from '@mikro-orm/core';

export type FlowKind = 'login' | 'registration' | 'settings' | 'recovery' | 'verification';

/**
 * A self-service flow: the persisted XState snapshot plus the columns queries need.
 * `version` makes a concurrent submit of the same flow fail cleanly (optimistic locking).
 */
export const Flow = defineEntity({
  name: 'Flow',
  tableName: 'selfservice_flows',
  properties: {
    id: p.uuid().primary(),
    kind: p.string().length(16).$type<FlowKind>(),
    type: p.string().length(16).$type<'api' | 'browser'>(),
    state: p.string().length(64),
    requestUrl: p.text(),
    returnTo: p.text().nullable(),
    csrfToken: p.string().length(64).nullable(),
    identityId: p.uuid().nullable().index(),
    snapshot: p.json<unknown>(),
    /** Per-method internal state (challenges, pending changes), sealed with the cipher secret; never projected. */
    internal: p.text().nullable(),
    issuedAt: p.datetime(),
    expiresAt: p.datetime(),
    createdAt: p.datetime(),
    updatedAt: p.datetime(),
    version: p.integer().version(),
  },
});
export type FlowRow = InferEntity<typeof Flow>;

/**
 * A flow's history: one row per transition of its machine (from, to, the event's type, the submitted method) — never
 * an event's payload. Rows of one submit share the flow version they moved on from, in order.
 */
export const FlowTransition = defineEntity({
  name: 'FlowTransition',
  tableName: 'selfservice_flow_transitions',
  indexes: [{ properties: ['flowId', 'flowVersion', 'position'] }],
  properties: {
    id: p.uuid().primary(),
    flowId: p.uuid(),
    flowVersion: p.integer(),
    position: p.integer(),
    event: p.string().length(64),
    fromState: p.string().length(128),
    toState: p.string().length(128),
    method: p.string().length(64).nullable(),
    createdAt: p.datetime(),
  },
});
export type FlowTransitionRow = InferEntity<typeof FlowTransition>;

/** Errors shown to browsers through `GET /self-service/errors?id=`. */
export const SelfServiceError = defineEntity({
  name: 'SelfServiceError',
  tableName: 'selfservice_errors',
  properties: {
    id: p.uuid().primary(),
    error: p.json<unknown>(),
    csrfToken: p.string().length(64).nullable(),
    seenAt: p.datetime().nullable(),
    createdAt: p.datetime(),
    updatedAt: p.datetime(),
  },
});
export type SelfServiceErrorRow = InferEntity<typeof SelfServiceError>;
