import type {
  ClaimedMessage, CourierDispatchRecord, CourierMessageQuery, CourierMessageRecord, CourierRepository,
} from '../store.ts';
import {
  byString, byTime, copy, date, deepFreeze, foreignKeyViolation, isUuid, json, nullableDate, uniqueViolation,
  type Source, type Working,
} from './memory-tables.ts';

/**
 * The outbox with the SQL store's semantics: due = queued and next attempt at or before now, or processing with a
 * lease that ran out; claims in (created_at, id) order; every write after a claim is fenced by (worker, send count),
 * so a sender that lost its lease never overwrites the outcome of the one that reclaimed the message.
 */

const messageRow = (m: CourierMessageRecord): CourierMessageRecord => deepFreeze({
  id: m.id, type: m.type, status: m.status, recipient: m.recipient, subject: m.subject, body: m.body, htmlBody: m.htmlBody ?? null,
  templateType: m.templateType, templateData: json(m.templateData), channel: m.channel ?? null, traceContext: json(m.traceContext),
  sendCount: m.sendCount, nextAttemptAt: date(m.nextAttemptAt), leaseUntil: nullableDate(m.leaseUntil), leasedBy: m.leasedBy ?? null,
  createdAt: date(m.createdAt), updatedAt: date(m.updatedAt),
});

const byCreatedThenId = (a: CourierMessageRecord, b: CourierMessageRecord) => byTime(a.createdAt, b.createdAt) || byString(a.id, b.id);

const isDue = (m: CourierMessageRecord, now: Date) =>
  (m.status === 'queued' && m.nextAttemptAt.getTime() <= now.getTime())
  || (m.status === 'processing' && m.leaseUntil !== null && m.leaseUntil.getTime() < now.getTime());

/** Messages `worker` holds among `ids`, in the order asked. */
function held(w: Working, worker: string, ids: string[]): CourierMessageRecord[] {
  const messages = w.read('courier');
  return [...new Set(ids)].flatMap((id) => {
    const m = messages.get(id);
    return m && m.leasedBy === worker && m.status === 'processing' ? [m] : [];
  });
}

export class MemoryCourierRepository implements CourierRepository {
  readonly #source: Source;

  constructor(source: Source) {
    this.#source = source;
  }

  discard(id: string): Promise<void> {
    return this.#source.write((w) => {
      const row = w.write('courier').get(id);
      if (row && row.status === 'queued' && row.sendCount === 0) w.write('courier').delete(id);
    });
  }

  insert(message: CourierMessageRecord): Promise<void> {
    return this.#source.write((w) => {
      if (w.read('courier').has(message.id)) throw uniqueViolation('courier_messages_pkey', message.id);
      w.write('courier').set(message.id, messageRow(message));
    });
  }

  async get(id: string): Promise<CourierMessageRecord | null> {
    const row = isUuid(id) ? this.#source.read('courier').get(id.toLowerCase()) : undefined;
    return row ? copy(row) : null;
  }

  /** Newest first (created_at desc, id desc); `before` is a keyset cursor. */
  async list(query: CourierMessageQuery): Promise<CourierMessageRecord[]> {
    const before = query.before;
    return [...this.#source.read('courier').values()]
      .filter((m) => (!query.status || m.status === query.status) && (!query.recipient || m.recipient === query.recipient))
      .filter((m) => !before || m.createdAt.getTime() < before.createdAt.getTime() || (m.createdAt.getTime() === before.createdAt.getTime() && m.id < before.id))
      .sort((a, b) => byCreatedThenId(b, a))
      .slice(0, query.limit)
      .map(copy);
  }

  async dispatchesOf(messageIds: string[]): Promise<CourierDispatchRecord[]> {
    if (messageIds.length === 0) return [];
    return [...this.#source.read('dispatches').values()]
      .filter((d) => messageIds.includes(d.messageId))
      .sort((a, b) => byTime(a.createdAt, b.createdAt) || byString(a.id, b.id))
      .map(copy);
  }

  claim(worker: string, limit: number, now: Date, leaseUntil: Date): Promise<ClaimedMessage[]> {
    return this.#source.write((w) => {
      const due = [...w.read('courier').values()].filter((m) => isDue(m, now)).sort(byCreatedThenId).slice(0, Math.max(0, limit));
      if (due.length === 0) return [];
      const messages = w.write('courier');
      return due.map((m) => {
        const claimed = deepFreeze({ ...m, status: 'processing' as const, leaseUntil: date(leaseUntil), leasedBy: worker, sendCount: m.sendCount + 1, updatedAt: date(now) });
        messages.set(m.id, claimed);
        return copy({
          id: claimed.id, recipient: claimed.recipient, subject: claimed.subject, body: claimed.body, htmlBody: claimed.htmlBody,
          templateType: claimed.templateType, templateData: claimed.templateData, traceContext: claimed.traceContext,
          sendCount: claimed.sendCount, createdAt: claimed.createdAt, channel: claimed.channel,
        });
      });
    });
  }

  /** Extends only leases `worker` still holds (whether or not they ran out meanwhile). */
  renew(worker: string, ids: string[], leaseUntil: Date): Promise<string[]> {
    if (ids.length === 0) return Promise.resolve([]);
    return this.#source.write((w) => {
      const mine = held(w, worker, ids);
      if (mine.length === 0) return [];
      const messages = w.write('courier');
      for (const m of mine) messages.set(m.id, deepFreeze({ ...m, leaseUntil: date(leaseUntil) }));
      return mine.map((m) => m.id);
    });
  }

  /** Back to the queue, due now; the claim's attempt is not counted. */
  release(worker: string, ids: string[], now: Date): Promise<number> {
    if (ids.length === 0) return Promise.resolve(0);
    return this.#source.write((w) => {
      const mine = held(w, worker, ids);
      if (mine.length === 0) return 0;
      const messages = w.write('courier');
      for (const m of mine) {
        messages.set(m.id, deepFreeze({
          ...m, status: 'queued' as const, leaseUntil: null, leasedBy: null, nextAttemptAt: date(now), updatedAt: date(now),
          sendCount: Math.max(0, m.sendCount - 1),
        }));
      }
      return mine.length;
    });
  }

  /** The dispatch is recorded even when the lease was lost (then the message is left to its new holder). */
  record(
    message: { id: string; sendCount: number },
    worker: string,
    outcome: { status: 'sent' | 'queued' | 'abandoned'; nextAttemptAt?: Date; error?: string },
    now: Date,
  ): Promise<boolean> {
    return this.#source.write((w) => {
      const stored = w.read('courier').get(message.id);
      if (!stored) throw foreignKeyViolation('courier_message_dispatches', 'message_id', message.id);
      const dispatch: CourierDispatchRecord = deepFreeze({
        id: crypto.randomUUID(), messageId: message.id, status: outcome.status === 'sent' ? 'success' : 'failed',
        error: outcome.error === undefined ? null : { message: outcome.error }, createdAt: date(now), updatedAt: date(now),
      });
      const owned = stored.leasedBy === worker && stored.sendCount === message.sendCount && stored.status === 'processing';
      if (owned) {
        w.write('courier').set(stored.id, deepFreeze({
          ...stored, status: outcome.status, leaseUntil: null, leasedBy: null, updatedAt: date(now),
          nextAttemptAt: outcome.nextAttemptAt ? date(outcome.nextAttemptAt) : stored.nextAttemptAt,
        }));
      }
      w.write('dispatches').set(dispatch.id, dispatch);
      return owned;
    });
  }

  expedite(now: Date): Promise<number> {
    return this.#source.write((w) => {
      const later = [...w.read('courier').values()].filter((m) => m.status === 'queued' && m.nextAttemptAt.getTime() > now.getTime());
      if (later.length === 0) return 0;
      const messages = w.write('courier');
      for (const m of later) messages.set(m.id, deepFreeze({ ...m, nextAttemptAt: date(now) }));
      return later.length;
    });
  }

  async countByStatus(): Promise<Record<string, number>> {
    const counts: Record<string, number> = {};
    for (const m of this.#source.read('courier').values()) counts[m.status] = (counts[m.status] ?? 0) + 1;
    return counts;
  }
}
