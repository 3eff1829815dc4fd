import Database from 'libsql';
import type { Orm } from '../../src/persistence/orm.ts';

type Fn = (...args: unknown[]) => unknown;

interface KnexClient {
  dialect: string;
  acquireConnection(): Promise<object>;
  releaseConnection(c: unknown): Promise<void>;
}

interface Knex {
  client: KnexClient;
  on(event: 'query', listener: (query: { sql: string }) => void): void;
  off(event: 'query', listener: (query: { sql: string }) => void): void;
}

/** What reached the database driver while a piece of code ran. */
export interface DriverCalls {
  /** Calls per driver method: `db.prepare`, `db.exec`, `statement.all` … (libsql), `pg.query` (PostgreSQL). */
  counts: Record<string, number>;
  /** The SQL knex saw, in order (for messages: what the counts are made of). */
  statements: string[];
}

/**
 * Counts every call into the raw driver while `fn` runs, by wrapping the methods on the driver's own prototypes
 * (reached through a connection borrowed from the ORM's knex pool): libsql `Database` / `Statement`, pg `Client`.
 * Whatever the ORM, a raw statement or the whoami lookup sends to the database passes through these.
 */
export async function countDriverCalls(orm: Orm, fn: () => Promise<unknown>): Promise<DriverCalls> {
  const knex = (orm.em.getConnection() as unknown as { getKnex(): Knex }).getKnex();
  const client = knex.client;
  const conn = await client.acquireConnection();
  const targets: Array<[object, string[], string]> = [];
  if (client.dialect === 'sqlite3') {
    const scratch = new Database(':memory:');
    targets.push([Object.getPrototypeOf(scratch), ['prepare', 'exec'], 'db']);
    targets.push([Object.getPrototypeOf(scratch.prepare('select 1')), ['get', 'all', 'run', 'iterate'], 'statement']);
    scratch.close();
  } else {
    targets.push([Object.getPrototypeOf(conn), ['query'], 'pg']);
  }
  await client.releaseConnection(conn);

  const calls: DriverCalls = { counts: {}, statements: [] };
  // libsql's `all` runs `iterate`: only the outermost call is one statement.
  let depth = 0;
  const restore: Array<() => void> = [];
  for (const [proto, methods, label] of targets) {
    for (const method of methods) {
      const original = (proto as Record<string, Fn>)[method];
      if (typeof original !== 'function') continue;
      (proto as Record<string, Fn>)[method] = function (this: object, ...args: unknown[]) {
        if (depth > 0) return original.apply(this, args);
        calls.counts[`${label}.${method}`] = (calls.counts[`${label}.${method}`] ?? 0) + 1;
        depth++;
        let result: unknown;
        try {
          result = original.apply(this, args);
        } finally {
          depth--;
        }
        return result;
      };
      restore.push(() => {
        (proto as Record<string, Fn>)[method] = original;
      });
    }
  }
  const listen = (query: { sql: string }) => calls.statements.push(query.sql);
  knex.on('query', listen);
  try {
    await fn();
  } finally {
    knex.off('query', listen);
    for (const undo of restore) undo();
  }
  return calls;
}

/** Statements executed (round trips): every call but `prepare`, which only compiles one. */
export const executions = (calls: DriverCalls) =>
  Object.entries(calls.counts).filter(([k]) => k !== 'db.prepare').reduce((n, [, v]) => n + v, 0);
