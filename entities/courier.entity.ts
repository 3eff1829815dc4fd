import { defineEntity, p, type InferEntity } from '@mikro-orm/core';

export type CourierStatus = 'queued' | 'processing' | 'sent' | 'abandoned';

/**
 * Outbox rows: written in the same transaction as the flow change that causes them.
 * A claimed row carries a lease (`leaseUntil`); when its sender dies the row returns to the queue.
 */
export const CourierMessage = defineEntity({
  name: 'CourierMessage',
  tableName: 'courier_messages',
  indexes: [{ properties: ['status', 'nextAttemptAt'] }],
  properties: {
    id: p.uuid().primary(),
    type: p.string().length(16).$type<'email' | 'phone'>(),
    status: p.string().length(16).$type<CourierStatus>(),
    recipient: p.string().length(400).index(),
    subject: p.text(),
    body: p.text(),
    htmlBody: p.text().nullable(),
    templateType: p.string().length(64),
    /** The values the message was rendered from (Kratos's `template_data`); the HTTP delivery strategy sends them. */
    templateData: p.json<Record<string, unknown>>().nullable(),
    channel: p.string().length(32).nullable(),
    /**
     * W3C trace context (`traceparent`, `tracestate`) of the request that enqueued the message, so its delivery,
     * minutes later and maybe in another process, continues that trace. Null when tracing is off.
     */
    traceContext: p.json<Record<string, string>>().nullable(),
    sendCount: p.integer().default(0),
    nextAttemptAt: p.datetime(),
    leaseUntil: p.datetime().nullable(),
    leasedBy: p.string().length(64).nullable(),
    createdAt: p.datetime().index(),
    updatedAt: p.datetime(),
  },
});
export type CourierMessageRow = InferEntity<typeof CourierMessage>;

export const CourierDispatch = defineEntity({
  name: 'CourierDispatch',
  tableName: 'courier_message_dispatches',
  properties: {
    id: p.uuid().primary(),
    message: () => p.manyToOne(CourierMessage).mapToPk().deleteRule('cascade').index(),
    status: p.string().length(16).$type<'failed' | 'success'>(),
    error: p.json<unknown>().nullable(),
    createdAt: p.datetime(),
    updatedAt: p.datetime(),
  },
});
export type CourierDispatchRow = InferEntity<typeof CourierDispatch>;
