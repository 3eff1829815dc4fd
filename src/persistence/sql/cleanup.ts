/**
 * `idflow cleanup sql` and the optional in-process job (`database.cleanup.interval`): deletes what has expired —
 * self-service flows with their transition history (the audit trail's retention), one-time codes, session token
 * exchanges, sessions — and courier messages that were delivered, each older than `keepLastMs` past its end.
 *
 * As Kratos's `kratos cleanup sql` (persistence/sql/persister.go CleanupDatabase): a cut-off of now − keep-last, table
 * after table, `batchSize` rows per statement, a pause (`sleepMs`) between statements. Beyond Kratos, each table is
 * emptied in as many batches as it takes (Kratos deletes one batch per table and asks to be re-run). Each batch is
 * its own short transaction: the ids are read first, then deleted by id, so no statement holds locks for long and
 * requests keep running meanwhile. Every value is a bound parameter.
 *
 * Several runs at once (the job on every replica, and `idflow cleanup sql` from a cron job) share the work on
 * PostgreSQL: a batch's ids are read `FOR UPDATE SKIP LOCKED`, so a run never waits for rows another run is deleting
 * and never counts them; each row is deleted, and counted, once. SQLite has one writer: runs take turns.
 */
import { LockMode, type EntityName, type FilterQuery } from '@mikro-orm/core';
import { CourierDispatch, CourierMessage, Flow, FlowTransition, SelfServiceCode, Session, SessionTokenExchange } from '../../../entities/index.ts';
import type { Orm } from '../orm.ts';

export interface CleanupOptions {
  dialect: 'sqlite' | 'postgresql';
  /** Rows whose end (expiry, delivery) is more recent than now − keepLastMs stay. */
  keepLastMs: number;
  batchSize: number;
  /** Pause between two batches (Kratos `--sleep`, `database.cleanup.sleep.tables`). */
  sleepMs: number;
  now: Date;
  /** Told each batch's deletions (the metrics counter). */
  onDeleted?: (table: CleanupTable, rows: number) => void;
  sleep?: (ms: number) => Promise<void>;
}

export type CleanupTable =
  | 'selfservice_flows' | 'selfservice_flow_transitions' | 'selfservice_codes' | 'session_token_exchanges' | 'sessions'
  | 'courier_messages' | 'courier_message_dispatches';

export type CleanupResult = Record<CleanupTable, number>;

type Row = { id: string };

export async function cleanupSql(orm: Orm, options: CleanupOptions): Promise<CleanupResult> {
  if (!Number.isInteger(options.batchSize) || options.batchSize < 1) throw new Error('the batch size must be a positive integer');
  const cutoff = new Date(options.now.getTime() - options.keepLastMs);
  // PostgreSQL: rows a concurrent run has locked are skipped rather than waited for (and found deleted).
  const lockMode = options.dialect === 'postgresql' ? LockMode.PESSIMISTIC_PARTIAL_WRITE : undefined;
  const sleep = options.sleep ?? ((ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms)));
  const result: CleanupResult = {
    selfservice_flows: 0, selfservice_flow_transitions: 0, selfservice_codes: 0, session_token_exchanges: 0, sessions: 0,
    courier_messages: 0, courier_message_dispatches: 0,
  };
  const count = (table: CleanupTable, rows: number) => {
    if (rows === 0) return;
    result[table] += rows;
    options.onDeleted?.(table, rows);
  };
  let first = true;
  const pause = async () => {
    if (!first && options.sleepMs > 0) await sleep(options.sleepMs);
    first = false;
  };

  /** Deletes `where` in batches; `children` removes dependent rows of a batch first, in the same transaction. */
  const inBatches = async <T extends Row>(
    entity: EntityName<T>, table: CleanupTable, where: FilterQuery<T>,
    children?: (em: ReturnType<Orm['em']['fork']>, ids: string[]) => Promise<void>,
  ) => {
    for (;;) {
      await pause();
      const deleted = await orm.em.fork().transactional(async (em) => {
        const rows = await em.find(entity, where, { fields: ['id'] as never, limit: options.batchSize, disableIdentityMap: true, lockMode }) as unknown as Row[];
        if (rows.length === 0) return 0;
        const ids = rows.map((r) => r.id);
        await children?.(em, ids);
        return em.nativeDelete(entity, { id: { $in: ids } } as unknown as FilterQuery<T>);
      });
      count(table, deleted);
      if (deleted < options.batchSize) return;
    }
  };

  await inBatches(SelfServiceCode, 'selfservice_codes', { expiresAt: { $lt: cutoff } });
  await inBatches(SessionTokenExchange, 'session_token_exchanges', { expiresAt: { $lt: cutoff } });
  await inBatches(Flow, 'selfservice_flows', { expiresAt: { $lt: cutoff } }, async (em, ids) => {
    count('selfservice_flow_transitions', await em.nativeDelete(FlowTransition, { flowId: { $in: ids } }));
  });
  await inBatches(Session, 'sessions', { expiresAt: { $lt: cutoff } });
  // Only delivered mail: queued, failing and abandoned messages stay for the courier and for operators to inspect.
  await inBatches(CourierMessage, 'courier_messages', { status: 'sent', updatedAt: { $lt: cutoff } }, async (em, ids) => {
    count('courier_message_dispatches', await em.nativeDelete(CourierDispatch, { message: { $in: ids } }));
  });
  return result;
}
