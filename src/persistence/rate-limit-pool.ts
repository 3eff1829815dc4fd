/**
 * The connection pool rate-limit counters use on PostgreSQL (rate-limiter-flexible's Postgres store runs its own
 * statements, atomic `INSERT … ON CONFLICT … RETURNING`, on the `rate_limits` table the migrations create). A small
 * pool of its own, so counting never waits behind the ORM's transactions and never holds one of their connections.
 */
import { createRequire } from 'node:module';
import { parseDsn } from './dsn.ts';

/** The statement interface of a `pg` pool, as the counter store calls it. */
export interface SqlQueryPool {
  query(statement: { text: string; values?: unknown[]; name?: string }): Promise<{ rows: Array<Record<string, unknown>>; rowCount: number | null }>;
  end(): Promise<void>;
}

interface PgModule {
  Pool: new (options: { connectionString: string; max: number; connectionTimeoutMillis: number; idleTimeoutMillis: number }) => SqlQueryPool & {
    on(event: 'error', listener: (err: Error) => void): void;
  };
}

/** A pool for the DSN's PostgreSQL database, or undefined for SQLite (whose counters stay in the process). */
export function openRateLimitPool(dsn: string, onError: (err: Error) => void): SqlQueryPool | undefined {
  const parsed = parseDsn(dsn);
  if (parsed.dialect !== 'postgresql') return undefined;
  const pg = createRequire(import.meta.url)('pg') as PgModule;
  const pool = new pg.Pool({ connectionString: parsed.clientUrl, max: 4, connectionTimeoutMillis: 10_000, idleTimeoutMillis: 30_000 });
  // An idle connection the server drops must not crash the process; the next query opens a new one.
  pool.on('error', onError);
  return pool;
}
