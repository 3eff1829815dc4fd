import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { rmSync } from 'node:fs';
import { loadConfig } from '../../../config/load-config.ts';
import type { CourierConfig } from '../../../config/types.ts';
import { createLogger, type Logger } from '../../../observability/logger.ts';
import { createMetrics, type Metrics } from '../../../observability/metrics.ts';
import { CourierDispatch, CourierMessage, type CourierMessageRow } from '../../../entities/index.ts';
import { Courier, type MessageDraft } from '../../../src/courier/courier.ts';
import type { Transport } from '../../../src/courier/transports/transport.ts';
import { openOrm, type Orm } from '../../../src/persistence/orm.ts';
import { migrateUp } from '../../../src/persistence/migrate.ts';
import { parseDsn } from '../../../src/persistence/dsn.ts';
import { deepMerge, TEST_SECRETS, type Overlay } from '../../support/server.ts';
import type { TestDatabase } from '../../support/databases.ts';
import { until } from '../../support/until.ts';

export { until };

export interface CourierHarness {
  dsn: string;
  dialect: 'sqlite' | 'postgresql';
  orm: Orm;
  logs: string[];
  logger: Logger;
  metrics: Metrics;
  /** The `courier.*` config the overlay produced (schema defaults filled in). */
  config(overlay?: Overlay): CourierConfig;
  /** A courier on the harness's ORM (or on `orm`); stopped/killed by `close`. */
  courier(overlay?: Overlay, options?: { orm?: Orm; transport?: Transport; now?: () => Date }): Courier;
  enqueue(courier: Courier, draft: MessageDraft): Promise<CourierMessageRow>;
  message(id: string): Promise<CourierMessageRow>;
  messages(): Promise<CourierMessageRow[]>;
  dispatches(id: string): Promise<Array<{ status: string; error: unknown; createdAt: Date }>>;
  /** Another ORM on the same database (another "process"). */
  openOrm(): Promise<Orm>;
  close(): Promise<void>;
}

/**
 * A database (a file for SQLite, so several ORMs share it) migrated to head, with couriers built straight from
 * `courier.*` config overlays; no HTTP server.
 */
export async function openCourierHarness(db: TestDatabase, base: Overlay = {}): Promise<CourierHarness> {
  const created = await db.create();
  const file = created.dsn === 'memory' ? join(tmpdir(), `idflow-courier-${crypto.randomUUID()}.sqlite`) : undefined;
  const dsn = file ? `sqlite://${file}?_fk=true` : created.dsn;
  const orm = await openOrm(dsn);
  await migrateUp(orm);
  const logs: string[] = [];
  const logger = createLogger({ level: 'debug', format: 'json', write: (line) => logs.push(line) });
  const metrics = createMetrics();
  const couriers: Courier[] = [];
  const orms: Orm[] = [];
  const config = (overlay: Overlay = {}) =>
    loadConfig({ env: {}, dev: true, overrides: { dsn, secrets: TEST_SECRETS, courier: deepMerge(base, overlay) } }).config.courier;
  return {
    dsn,
    dialect: parseDsn(dsn).dialect,
    orm,
    logs,
    logger,
    metrics,
    config,
    courier(overlay = {}, options = {}) {
      const courier = new Courier(config(overlay), { orm: options.orm ?? orm, dialect: parseDsn(dsn).dialect, logger, metrics, transport: options.transport, now: options.now });
      couriers.push(courier);
      return courier;
    },
    async enqueue(courier, draft) {
      const em = orm.em.fork();
      const row = courier.enqueue(em, draft);
      await em.flush();
      return row;
    },
    message: (id) => orm.em.fork().findOneOrFail(CourierMessage, { id }),
    messages: () => orm.em.fork().find(CourierMessage, {}, { orderBy: { createdAt: 'asc', id: 'asc' } }),
    dispatches: (id) => orm.em.fork().find(CourierDispatch, { message: id }, { orderBy: { createdAt: 'asc', id: 'asc' } }),
    async openOrm() {
      const other = await openOrm(dsn);
      orms.push(other);
      return other;
    },
    async close() {
      for (const courier of couriers) {
        if (courier.sender?.running) courier.sender.kill();
      }
      for (const other of orms) await other.close(true);
      await orm.close(true);
      await created.drop();
      if (file) for (const suffix of ['', '-wal', '-shm']) rmSync(file + suffix, { force: true });
    },
  };
}

