import type { FilterQuery } from '@mikro-orm/core';
import {
  CourierDispatch, CourierMessage, type CourierDispatchRow, type CourierMessageRow, type CourierStatus,
} from '../../../entities/index.ts';
import type {
  ClaimedMessage, CourierDispatchRecord, CourierMessageQuery, CourierMessageRecord, CourierRepository,
} from '../store.ts';
import { runOrKeep, type EmSource } from './em-source.ts';
import { insertSql, jsonParam } from './statements.ts';

/**
 * The queue's storage operations. Claims are one atomic statement: PostgreSQL locks the chosen rows and skips
 * rows other senders hold (FOR UPDATE SKIP LOCKED), SQLite runs the statement as its single writer. A claim sets
 * `processing`, a lease (`lease_until`, `leased_by`) and counts the attempt (`send_count`); a row whose lease ran
 * out is claimable again. Every later write is fenced by (`leased_by`, `send_count`), so a sender that lost its
 * lease never overwrites the outcome of the sender that reclaimed the message.
 */

const toDate = (value: unknown): Date => (value instanceof Date ? value : new Date(typeof value === 'string' && !/^\d+$/.test(value) ? value : Number(value)));

function toJson(value: unknown): Record<string, unknown> | null {
  if (value === null || value === undefined) return null;
  if (typeof value === 'string') {
    try {
      return JSON.parse(value) as Record<string, unknown>;
    } catch {
      return null;
    }
  }
  return value as Record<string, unknown>;
}

const CLAIMED_COLUMNS = ['id', 'recipient', 'subject', 'body', 'html_body', 'template_type', 'template_data', 'trace_context', 'send_count', 'created_at', 'channel'];

const DUE = `((status = 'queued' AND next_attempt_at <= ?) OR (status = 'processing' AND lease_until < ?))`;

const toMessage = (row: CourierMessageRow): CourierMessageRecord => ({
  id: row.id, type: row.type, status: row.status, recipient: row.recipient, subject: row.subject, body: row.body,
  htmlBody: row.htmlBody ?? null, templateType: row.templateType, templateData: row.templateData ?? null,
  channel: row.channel ?? null, traceContext: row.traceContext ?? null, sendCount: row.sendCount,
  nextAttemptAt: row.nextAttemptAt, leaseUntil: row.leaseUntil ?? null, leasedBy: row.leasedBy ?? null,
  createdAt: row.createdAt, updatedAt: row.updatedAt,
});

const toDispatch = (row: CourierDispatchRow): CourierDispatchRecord => ({
  id: row.id, messageId: row.message as unknown as string, status: row.status, error: row.error ?? null,
  createdAt: row.createdAt, updatedAt: row.updatedAt,
});

/** Every sign-up with verification enqueues one: a raw bound statement (statements.ts). */
const INSERT_MESSAGE = insertSql('courier_messages', [
  'id', 'type', 'status', 'recipient', 'subject', 'body', 'html_body', 'template_type', 'template_data', 'channel', 'trace_context',
  'send_count', 'next_attempt_at', 'lease_until', 'leased_by', 'created_at', 'updated_at',
], 1);

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export class SqlCourierRepository implements CourierRepository {
  readonly #source: EmSource;
  readonly #dialect: 'sqlite' | 'postgresql';

  constructor(source: EmSource, dialect: 'sqlite' | 'postgresql') {
    this.#source = source;
    this.#dialect = dialect;
  }

  async #execute<T = Record<string, unknown>>(sql: string, params: unknown[]): Promise<T[]> {
    return (await this.#source.em()).getConnection().execute(sql, params, 'all') as Promise<T[]>;
  }

  async insert(message: CourierMessageRecord): Promise<void> {
    await runOrKeep(this.#source, {
      sql: INSERT_MESSAGE,
      params: [
        message.id, message.type, message.status, message.recipient, message.subject, message.body, message.htmlBody, message.templateType,
        jsonParam(message.templateData), message.channel, jsonParam(message.traceContext), message.sendCount, message.nextAttemptAt,
        message.leaseUntil, message.leasedBy, message.createdAt, message.updatedAt,
      ],
    });
  }

  async discard(id: string): Promise<void> {
    await (await this.#source.em()).nativeDelete(CourierMessage, { id, status: 'queued', sendCount: 0 });
  }

  async get(id: string): Promise<CourierMessageRecord | null> {
    if (!UUID.test(id)) return null;
    const row = await (await this.#source.em()).findOne(CourierMessage, { id: id.toLowerCase() }, { disableIdentityMap: true });
    return row ? toMessage(row) : null;
  }

  async list(query: CourierMessageQuery): Promise<CourierMessageRecord[]> {
    const where: FilterQuery<CourierMessageRow> = {};
    if (query.status) where.status = query.status;
    if (query.recipient) where.recipient = query.recipient;
    if (query.before) {
      const at = query.before.createdAt;
      where.$or = [{ createdAt: { $lt: at } }, { createdAt: at, id: { $lt: query.before.id } }];
    }
    const rows = await (await this.#source.em()).find(CourierMessage, where, { orderBy: { createdAt: 'desc', id: 'desc' }, limit: query.limit, disableIdentityMap: true });
    return rows.map(toMessage);
  }

  async dispatchesOf(messageIds: string[]): Promise<CourierDispatchRecord[]> {
    if (messageIds.length === 0) return [];
    const rows = await (await this.#source.em()).find(CourierDispatch, { message: { $in: messageIds } }, { orderBy: { createdAt: 'asc', id: 'asc' }, disableIdentityMap: true });
    return rows.map(toDispatch);
  }

  /** Claims up to `limit` due messages for `worker` until `leaseUntil`. */
  async claim(worker: string, limit: number, now: Date, leaseUntil: Date): Promise<ClaimedMessage[]> {
    // PostgreSQL: the locking LIMIT runs once, in a materialized CTE. As an IN (...) subquery the planner may re-run
    // it per joined row, and one claim then takes far more than `limit` rows (every sender but one starves).
    const rows = this.#dialect === 'postgresql'
      ? await this.#execute(
        `WITH due AS MATERIALIZED (SELECT id FROM courier_messages WHERE ${DUE} ORDER BY created_at, id LIMIT ? FOR UPDATE SKIP LOCKED)
         UPDATE courier_messages m SET status = 'processing', lease_until = ?, leased_by = ?, send_count = m.send_count + 1, updated_at = ?
         FROM due WHERE m.id = due.id
         RETURNING ${CLAIMED_COLUMNS.map((c) => `m.${c}`).join(', ')}`,
        [now, now, limit, leaseUntil, worker, now],
      )
      : await this.#execute(
        `UPDATE courier_messages SET status = 'processing', lease_until = ?, leased_by = ?, send_count = send_count + 1, updated_at = ?
         WHERE id IN (SELECT id FROM courier_messages WHERE ${DUE} ORDER BY created_at, id LIMIT ?) AND ${DUE}
         RETURNING ${CLAIMED_COLUMNS.join(', ')}`,
        [leaseUntil, worker, now, now, now, limit, now, now],
      );
    return rows
      .map((r) => ({
        id: String(r.id),
        recipient: String(r.recipient),
        subject: String(r.subject),
        body: String(r.body),
        htmlBody: (r.html_body as string | null) ?? null,
        templateType: String(r.template_type),
        templateData: toJson(r.template_data),
        traceContext: toJson(r.trace_context) as Record<string, string> | null,
        sendCount: Number(r.send_count),
        createdAt: toDate(r.created_at),
        channel: (r.channel as string | null) ?? null,
      }))
      .sort((a, b) => a.createdAt.getTime() - b.createdAt.getTime());
  }

  /** Extends the leases `worker` still holds on `ids`; returns the ids it still held. */
  async renew(worker: string, ids: string[], leaseUntil: Date): Promise<string[]> {
    if (ids.length === 0) return [];
    const rows = await this.#execute<{ id: string }>(
      `UPDATE courier_messages SET lease_until = ? WHERE leased_by = ? AND status = 'processing' AND id IN (${ids.map(() => '?').join(', ')}) RETURNING id`,
      [leaseUntil, worker, ...ids],
    );
    return rows.map((r) => String(r.id));
  }

  /** Returns claimed-but-unattempted messages to the queue, due now, without counting the attempt. */
  async release(worker: string, ids: string[], now: Date): Promise<number> {
    if (ids.length === 0) return 0;
    const result = await (await this.#source.em()).getConnection().execute(
      `UPDATE courier_messages SET status = 'queued', lease_until = NULL, leased_by = NULL, next_attempt_at = ?, updated_at = ?,
         send_count = CASE WHEN send_count > 0 THEN send_count - 1 ELSE 0 END
       WHERE leased_by = ? AND status = 'processing' AND id IN (${ids.map(() => '?').join(', ')})`,
      [now, now, worker, ...ids],
      'run',
    );
    return Number((result as { affectedRows?: number }).affectedRows ?? 0);
  }

  /**
   * Records one attempt's outcome and the message's next state in one transaction. Returns false when the lease
   * was lost meanwhile (the dispatch is recorded all the same; the state is left to the lease's new holder).
   */
  async record(
    message: { id: string; sendCount: number },
    worker: string,
    outcome: { status: 'sent' | 'queued' | 'abandoned'; nextAttemptAt?: Date; error?: string },
    now: Date,
  ): Promise<boolean> {
    return this.#source.write(async (em) => {
      const changes: Record<string, unknown> = { status: outcome.status as CourierStatus, leaseUntil: null, leasedBy: null, updatedAt: now };
      if (outcome.nextAttemptAt) changes.nextAttemptAt = outcome.nextAttemptAt;
      const updated = await em.nativeUpdate(
        CourierMessage,
        { id: message.id, leasedBy: worker, sendCount: message.sendCount, status: 'processing' },
        changes,
      );
      await em.insert(CourierDispatch, {
        id: crypto.randomUUID(),
        message: message.id,
        status: outcome.status === 'sent' ? 'success' : 'failed',
        error: outcome.error === undefined ? null : { message: outcome.error },
        createdAt: now,
        updatedAt: now,
      });
      return updated > 0;
    });
  }

  /** Makes every queued message due now (after an outage ended); returns how many. */
  async expedite(now: Date): Promise<number> {
    const result = await (await this.#source.em()).getConnection().execute(
      `UPDATE courier_messages SET next_attempt_at = ? WHERE status = 'queued' AND next_attempt_at > ?`,
      [now, now],
      'run',
    );
    return Number((result as { affectedRows?: number }).affectedRows ?? 0);
  }

  /** Messages per status (for the queue-depth gauge). */
  async countByStatus(): Promise<Record<string, number>> {
    const rows = await this.#execute<{ status: string; n: number | string }>('SELECT status, COUNT(*) AS n FROM courier_messages GROUP BY status', []);
    return Object.fromEntries(rows.map((r) => [r.status, Number(r.n)]));
  }
}
