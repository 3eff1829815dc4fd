import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { rmSync } from 'node:fs';
import { loadConfig } from '../../../config/load-config.ts';
import type { CourierConfig } from '../../../config/types.ts';
import { createLogger, type Logger } from '../../../observability/logger.ts';
import { createMetrics, type Metrics } from '../../../observability/metrics.ts';
import { CourierMessage } from '../../../entities/index.ts';
import { Courier, type MessageDraft } from '../../../src/courier/courier.ts';
import type { Transport } from '../../../src/courier/transports/transport.ts';
import type { Orm } from '../../../src/persistence/orm.ts';
import { openStore } from '../../../src/persistence/open-store.ts';
import type { SqlStore } from '../../../src/persistence/sql/sql-store.ts';
import type { CourierDispatchRecord, CourierMessageRecord } from '../../../src/persistence/store.ts';
import { systemClock, type Clock } from '../../../src/x/clock.ts';
import { deepMerge, TEST_SECRETS, type Overlay } from '../../support/server.ts';
import type { TestDatabase } from '../../support/databases.ts';
import { until } from '../../support/until.ts';

export { until };

export interface CourierHarness {
  dsn: string;
  dialect: 'sqlite' | 'postgresql';
  store: SqlStore;
  /** The store's ORM (raw rows). */
  orm: Orm;
  logs: string[];
  logger: Logger;
  metrics: Metrics;
  /** The `courier.*` config the overlay produced (schema defaults filled in). */
  config(overlay?: Overlay): CourierConfig;
  /** A courier on the harness's store (or on `store`); stopped/killed by `close`. */
  courier(overlay?: Overlay, options?: { store?: SqlStore; transport?: Transport; clock?: Clock }): Courier;
  /** Enqueues `draft` in a transaction of its own (the sender is woken when it commits). */
  enqueue(courier: Courier, draft: MessageDraft): Promise<CourierMessageRecord>;
  message(id: string): Promise<CourierMessageRecord>;
  dispatches(id: string): Promise<CourierDispatchRecord[]>;
  /** Deletes every message (and, by cascade, its dispatches). */
  clear(): Promise<void>;
  /** Another store on the same database (another "process"); closed by `close`. */
  openStore(): Promise<SqlStore>;
  close(): Promise<void>;
}

/**
 * A database (a file for SQLite, so several stores share it) migrated to head, with couriers built straight from
 * `courier.*` config overlays; no HTTP server.
 */
export async function openCourierHarness(db: TestDatabase, base: Overlay = {}): Promise<CourierHarness> {
  const created = await db.create();
  const file = created.dsn === 'memory' ? join(tmpdir(), `idflow-courier-${crypto.randomUUID()}.sqlite`) : undefined;
  const dsn = file ? `sqlite://${file}?_fk=true` : created.dsn;
  const { store } = await openStore(dsn, { migrations: 'auto' });
  const logs: string[] = [];
  const logger = createLogger({ level: 'debug', format: 'json', write: (line) => logs.push(line) });
  const metrics = createMetrics();
  const couriers: Courier[] = [];
  const stores: SqlStore[] = [];
  const config = (overlay: Overlay = {}) =>
    loadConfig({ env: {}, dev: true, overrides: { dsn, secrets: TEST_SECRETS, courier: deepMerge(base, overlay) } }).config.courier;
  return {
    dsn,
    dialect: store.dialect,
    store,
    orm: store.orm,
    logs,
    logger,
    metrics,
    config,
    courier(overlay = {}, options = {}) {
      const courier = new Courier(config(overlay), {
        queue: (options.store ?? store).courier, clock: options.clock ?? systemClock, logger, metrics, transport: options.transport,
      });
      couriers.push(courier);
      return courier;
    },
    enqueue: (courier, draft) => store.transaction((tx) => courier.enqueue(tx, draft)),
    async message(id) {
      const found = await store.courier.get(id);
      if (!found) throw new Error(`courier message ${id} not found`);
      return found;
    },
    dispatches: (id) => store.courier.dispatchesOf([id]),
    async clear() {
      await store.orm.em.fork().nativeDelete(CourierMessage, {});
    },
    async openStore() {
      const other = (await openStore(dsn, { migrations: 'require' })).store;
      stores.push(other);
      return other;
    },
    async close() {
      for (const courier of couriers) {
        if (courier.sender?.running) courier.sender.kill();
      }
      for (const other of stores) await other.close();
      await store.close();
      await created.drop();
      if (file) for (const suffix of ['', '-wal', '-shm']) rmSync(file + suffix, { force: true });
    },
  };
}
