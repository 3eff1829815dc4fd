import { FlushMode, MikroORM, type Options } from '@mikro-orm/core';
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { allEntities } from '../../entities/index.ts';
import { parseDsn, type ParsedDsn } from './dsn.ts';
import { boundPostgreSqlDriver, boundSqliteDriver } from './sql/bound-connection.ts';

export type Orm = MikroORM;

export const MIGRATIONS_TABLE = 'idflow_migrations';

const dialects = new WeakMap<Orm, ParsedDsn['dialect']>();

/** The dialect an Orm was opened for. */
export function dialectOf(orm: Orm): ParsedDsn['dialect'] {
  const dialect = dialects.get(orm);
  if (!dialect) throw new Error('not an Orm from openOrm');
  return dialect;
}

export interface OpenOrmOptions {
  debug?: boolean;
}

// busy_timeout 0: libsql would busy-wait on the event loop; bound-connection.ts waits for the write lock instead.
const SQLITE_PRAGMAS = 'PRAGMA foreign_keys = ON; PRAGMA busy_timeout = 0; PRAGMA synchronous = NORMAL;';

/** Opens a MikroORM instance for a Kratos-style DSN. The driver module is loaded only for the dialect in use. */
export async function openOrm(dsn: string | ParsedDsn, options: OpenOrmOptions = {}): Promise<Orm> {
  const parsed = typeof dsn === 'string' ? parseDsn(dsn) : dsn;
  const common: Options = {
    entities: allEntities,
    // The Migrator and the migrations are registered on first use (migrate.ts): serving needs neither.
    migrations: {
      tableName: MIGRATIONS_TABLE,
      transactional: true,
      allOrNothing: true,
      snapshot: false,
      silent: true,
    },
    debug: options.debug ?? false,
    allowGlobalContext: false,
    // Never flush behind a query: a request's effects only persist, and the one explicit flush commits the flow
    // together with everything they persisted (or nothing, when its version check fails).
    flushMode: FlushMode.COMMIT,
    forceUtcTimezone: true,
    ensureDatabase: false,
    discovery: { warnWhenNoEntities: true },
    serialization: { forceObject: true },
  };
  const orm = await init(parsed, common);
  dialects.set(orm, parsed.dialect);
  return orm;
}

async function init(parsed: ParsedDsn, common: Options): Promise<Orm> {
  if (parsed.dialect === 'sqlite') {
    if (!parsed.memory) mkdirSync(dirname(parsed.file), { recursive: true });
    return MikroORM.init({
      ...common,
      driver: await boundSqliteDriver(),
      dbName: parsed.file,
      pool: {
        min: 1,
        max: 1,
        idleTimeoutMillis: Number.MAX_SAFE_INTEGER,
        // libsql's `exec` is synchronous (better-sqlite3's API) and runs every statement of the string.
        afterCreate: (conn: { exec(sql: string): void }, done: (err: Error | null, conn: unknown) => void) => {
          const pragmas = parsed.memory ? SQLITE_PRAGMAS : SQLITE_PRAGMAS + ' PRAGMA journal_mode = WAL;';
          try {
            conn.exec(pragmas);
          } catch (err) {
            return done(err as Error, conn);
          }
          done(null, conn);
        },
      },
    } as Options);
  }
  return MikroORM.init({
    ...common,
    driver: await boundPostgreSqlDriver(),
    clientUrl: parsed.clientUrl,
    pool: { min: 0, max: parsed.poolMax ?? 20 },
    // A database host that drops packets fails a connection attempt after 10 s instead of the OS's minutes.
    driverOptions: { connection: { connectionTimeoutMillis: 10_000 } },
  } as Options);
}
