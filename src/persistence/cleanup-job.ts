/**
 * The optional in-process cleanup (`database.cleanup.interval`, off by default): every interval, the same work as
 * `idflow cleanup sql` (src/persistence/sql/cleanup.ts), counted in `idflow_cleanup_deleted_rows_total`. A run that
 * fails is logged and the next one tries again; runs never overlap in one process. Replicas on one PostgreSQL may
 * all run it: each batch locks the rows it deletes and skips rows another run holds (see sql/cleanup.ts).
 */
import type { Config } from '../../config/types.ts';
import type { Logger } from '../../observability/logger.ts';
import type { Metrics } from '../../observability/metrics.ts';
import type { Clock } from '../x/clock.ts';
import { parseDuration } from '../x/duration.ts';
import { cleanupSql, type CleanupResult } from './sql/cleanup.ts';
import type { SqlStore } from './sql/sql-store.ts';
import type { Store } from './store.ts';

export interface CleanupJob {
  /** One run now (tests; the timer calls it too). */
  runOnce(): Promise<CleanupResult | undefined>;
  stop(): Promise<void>;
}

export function startCleanupJob(deps: { config: Config; store: Store; logger: Logger; metrics: Pick<Metrics, 'cleanupDeleted'>; clock: Clock }): CleanupJob | undefined {
  const settings = deps.config.database?.cleanup;
  if (!settings?.interval) return undefined;
  if (!('orm' in deps.store)) {
    deps.logger.warn('database.cleanup.interval is set but this store has no SQL database; the cleanup job does not run');
    return undefined;
  }
  const { orm, dialect } = deps.store as SqlStore;
  const intervalMs = parseDuration(settings.interval);
  let running: Promise<CleanupResult | undefined> | undefined;
  let stopped = false;
  const runOnce = () => {
    running ??= cleanupSql(orm, {
      dialect,
      keepLastMs: parseDuration(settings.keep_last ?? '0s'),
      batchSize: settings.batch_size ?? 100,
      sleepMs: parseDuration(settings.sleep?.tables ?? '0s'),
      now: deps.clock.now(),
      onDeleted: (table, rows) => deps.metrics.cleanupDeleted.inc({ table }, rows),
    }).then((deleted) => {
      deps.logger.info('database cleanup finished', { deleted });
      return deleted;
    }, (err: unknown) => {
      deps.logger.warn('database cleanup failed; the next run tries again', { reason: (err as Error).message });
      return undefined;
    }).finally(() => {
      running = undefined;
    });
    return running;
  };
  const timer = setInterval(() => {
    if (!stopped) void runOnce();
  }, intervalMs);
  timer.unref();
  deps.logger.info('database cleanup job started', { interval: settings.interval });
  return {
    runOnce,
    async stop() {
      stopped = true;
      clearInterval(timer);
      await running;
    },
  };
}
