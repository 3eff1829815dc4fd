import Database from 'libsql';
import type { Orm } from '../../src/persistence/orm.ts';

type Fn = (...args: unknown[]) => unknown;

interface KnexClient {
  dialect: string;
  acquireConnection(): Promise<object>;
  releaseConnection(c: unknown): Promise<void>;
}

/** What reached the database driver while a piece of code ran. */
export interface DriverCalls {
  /** Calls per driver method: `db.prepare`, `db.exec`, `statement.all` … (libsql), `pg.query` (PostgreSQL). */
  counts: Record<string, number>;
  /** The SQL of every statement sent, in order (BEGIN and COMMIT included). */
  statements: string[];
}

/**
 * Counts every call into the raw driver while `fn` runs, by wrapping the methods on the driver's own prototypes
 * (reached through a connection borrowed from the ORM's knex pool): libsql `Database` / `Statement`, pg `Client`.
 * Whatever the ORM, a raw statement or the whoami lookup sends to the database passes through these.
 */
export async function countDriverCalls(orm: Orm, fn: () => Promise<unknown>): Promise<DriverCalls> {
  const client = (orm.em.getConnection() as unknown as { getKnex(): { client: KnexClient } }).getKnex().client;
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
  const sqlOf = new WeakMap<object, string>();
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
        if (label === 'db' && method === 'prepare' && result && typeof result === 'object') sqlOf.set(result, String(args[0]));
        if (label === 'db' && method === 'exec') calls.statements.push(String(args[0]));
        if (label === 'statement') calls.statements.push(sqlOf.get(this) ?? '(a statement prepared earlier)');
        if (label === 'pg') {
          const q = args[0] as string | { text?: string };
          calls.statements.push(typeof q === 'string' ? q : String(q?.text));
        }
        return result;
      };
      restore.push(() => {
        (proto as Record<string, Fn>)[method] = original;
      });
    }
  }
  try {
    await fn();
  } finally {
    for (const undo of restore) undo();
  }
  return calls;
}

/** Statements executed (round trips): every call but `prepare`, which only compiles one. */
export const executions = (calls: DriverCalls) =>
  Object.entries(calls.counts).filter(([k]) => k !== 'db.prepare').reduce((n, [, v]) => n + v, 0);
