/**
 * Connections whose `execute` sends values as bound parameters (see bind-values.ts) instead of MikroORM 6's values
 * formatted into the SQL text. Every MikroORM query (em.find, flush, QueryBuilder) and every `execute(sql, params)`
 * passes through `execute`; query logs carry the SQL with placeholders, never the values.
 */
import { Utils, type Configuration, type Transaction } from '@mikro-orm/core';
import { AbstractSqlConnection, AbstractSqlDriver, type AbstractSqlPlatform } from '@mikro-orm/knex';
import { setTimeout as sleep } from 'node:timers/promises';
import { bindValues, type BindPlatform } from './bind-values.ts';
import type { Write } from './statements.ts';

type ConnectionClass = abstract new (...args: any[]) => AbstractSqlConnection;
type Knexish = { toSQL(): { sql: string; bindings?: readonly unknown[] }; client?: object };
type ExecuteArgs = Parameters<AbstractSqlConnection['execute']>;

/** A connection that can run one of idflow's own statements as a prepared statement (statements.ts). */
export interface PreparedExecute {
  executePrepared<T>(sql: string, params: unknown[], method: 'all' | 'run', ctx?: Transaction): Promise<T>;
}

/**
 * PostgreSQL: idflow's own statements (explicit column lists, see statements.ts) are sent as NAMED prepared statements,
 * parsed once per connection and planned from a cached plan, instead of parsed and planned on every run (~0.2-0.5 ms
 * of PostgreSQL's CPU each for the identity select and a submit's one statement). The first PG_STATEMENT_LIMIT texts
 * get names, so a connection holds at most that many; MikroORM's own queries (which select `alias.*`, whose result
 * would change under a prepared statement when a migration adds a column) stay unnamed.
 */
const PG_STATEMENT_LIMIT = 256;
const pgStatementNames = new Map<string, string>();

function pgStatementName(sql: string): string | undefined {
  let name = pgStatementNames.get(sql);
  if (name === undefined && pgStatementNames.size < PG_STATEMENT_LIMIT) {
    name = `idflow_s${pgStatementNames.size}`;
    pgStatementNames.set(sql, name);
  }
  return name;
}

/**
 * SQLite: writes run in one transaction of their own straight on the pool's libsql connection, synchronously between
 * BEGIN IMMEDIATE and COMMIT, with the connection's compiled statements — not statement by statement through knex
 * and the ORM (~0.3 ms of JavaScript each). Resolves to the index of the first write that had to change a row (its
 * `conflict`) and changed none (everything rolled back), else undefined (committed).
 */
export interface AtomicWrites {
  runAtomically(writes: readonly Write[]): Promise<number | undefined>;
}

interface KnexSqliteDialect {
  getCallMethod(obj: KnexQuery): 'all' | 'run';
  _formatBindings(bindings: unknown): unknown[];
}

interface KnexPool<C> {
  acquireConnection(): Promise<C>;
  releaseConnection(connection: C): Promise<unknown>;
}

function withBoundValues<C extends ConnectionClass>(Base: C, bindDate: (value: Date) => unknown, namedStatements = false) {
  abstract class BoundConnection extends Base implements PreparedExecute {
    protected binder(): BindPlatform {
      const platform = this.platform as AbstractSqlPlatform;
      return {
        quoteIdentifier: (id) => platform.quoteIdentifier(id),
        bindDate,
        isKnexRaw: (value) => platform.isRaw(value),
      };
    }

    executePrepared<T>(sql: string, params: unknown[], method: 'all' | 'run', ctx?: Transaction): Promise<T> {
      return this.#execute<T>(sql, params, method, ctx, undefined, namedStatements);
    }

    override execute<T>(queryOrKnex: ExecuteArgs[0], params: unknown[] = [], method: 'all' | 'get' | 'run' = 'all', ctx?: Transaction, loggerContext?: ExecuteArgs[4]): Promise<T> {
      return this.#execute<T>(queryOrKnex, params, method, ctx, loggerContext, false);
    }

    async #execute<T>(queryOrKnex: ExecuteArgs[0], params: unknown[], method: 'all' | 'get' | 'run', ctx: Transaction | undefined, loggerContext: ExecuteArgs[4], prepared: boolean): Promise<T> {
      await this.ensureConnection();
      let sql: string;
      if (Utils.isObject<Knexish>(queryOrKnex)) {
        ctx ??= ((queryOrKnex.client as { transacting?: unknown } | undefined)?.transacting ? queryOrKnex : undefined) as Transaction | undefined;
        const compiled = queryOrKnex.toSQL();
        sql = compiled.sql;
        params = [...(compiled.bindings ?? [])];
      } else sql = queryOrKnex as string;
      sql = this.config.get('onQuery')(sql, params);
      const bound = bindValues(sql, params, this.binder());
      return this.executeQuery<T>(sql, async () => {
        const knex = this.getKnex();
        // Without bindings knex must not look for placeholders (MikroORM's patch: `?` in DDL text stays as it is).
        const query = bound.bindings.length > 0 ? knex.raw(bound.sql, bound.bindings as never[]) : knex.raw(bound.sql);
        const name = prepared && bound.bindings.length > 0 ? pgStatementName(bound.sql) : undefined;
        if (name) query.options({ name });
        if (ctx) query.transacting(ctx as never);
        const res = await query;
        return this.transformRawResult<T>(res, method);
      }, { query: sql, params: [], ...loggerContext });
    }
  }
  return BoundConnection;
}

/**
 * SQLite through libSQL (`@mikro-orm/libsql`: the `libsql` package, a better-sqlite3-compatible Node-API add-on that
 * ships prebuilt per platform, so installing needs no compiler and Deno can load it). Local files and `:memory:`
 * only: the DSN parser never hands it a `libsql://` URL. Dates are stored as epoch milliseconds (what MikroORM's
 * SQLite platforms inline).
 */
export async function boundSqliteDriver(): Promise<new (config: Configuration) => AbstractSqlDriver> {
  const { LibSqlConnection, LibSqlPlatform } = await import('@mikro-orm/libsql');
  const { LibSqlKnexDialect } = await import('@mikro-orm/knex');

  /**
   * libsql runs statements synchronously on the event loop, so SQLite's busy handler would SLEEP THE WHOLE PROCESS
   * while another connection holds the write lock, and when that connection belongs to this process (a second store,
   * `courier watch` next to the server in one test) it can never commit meanwhile: every such wait ran the full busy
   * timeout, then failed. So the connections have no busy handler (PRAGMA busy_timeout = 0, see orm.ts) and SQLITE_BUSY
   * is waited out here, asynchronously, where a retry is sound: transactions start with BEGIN IMMEDIATE (the write
   * lock is taken up front, so no statement inside one meets SQLITE_BUSY), and BEGIN, COMMIT and statements outside a
   * transaction have changed nothing when they report it (https://sqlite.org/rescode.html#busy).
   * libsql leaves a statement that reported SQLITE_BUSY active until it is garbage-collected (a later COMMIT on the
   * connection then fails with "SQL statements in progress"), so the retry runs the SAME statement again (`run` and
   * `all` reset it first), and BEGIN / COMMIT / ROLLBACK go through `exec`, which keeps no statement.
   */
  class AsyncBusyDialect extends LibSqlKnexDialect {
    override async _query(connection: LibsqlConnection, obj: KnexQuery): Promise<KnexQuery> {
      const control = /^\s*(begin|commit|rollback)\s*;?\s*$/i.exec(obj.sql)?.[1].toLowerCase();
      if (control) {
        const sql = control === 'begin' ? 'BEGIN IMMEDIATE' : control.toUpperCase();
        await retryWhileBusy(() => connection.exec(sql), control !== 'rollback');
        obj.response = [];
        obj.context = { changes: 0 };
        return obj;
      }
      const dialect = this as unknown as KnexSqliteDialect;
      const method = dialect.getCallMethod(obj);
      const statement = preparedStatement(connection, obj.sql);
      const bindings = dialect._formatBindings(obj.bindings);
      let response: unknown;
      try {
        response = await retryWhileBusy(() => statement[method](bindings), !connection.inTransaction, connection);
      } catch (err) {
        forgetStatement(connection, obj.sql, statement);
        throw err;
      }
      obj.response = response;
      obj.context = { lastID: (response as { lastInsertRowid?: unknown }).lastInsertRowid, changes: (response as { changes?: unknown }).changes };
      return obj;
    }
  }
  class SqliteConnection extends LibSqlConnection {
    override createKnex() {
      this.client = this.createKnexClient(AsyncBusyDialect as never);
      this.connected = true;
    }
  }
  const Bound = withBoundValues(SqliteConnection, (value) => value.getTime());
  class Connection extends Bound implements AtomicWrites {
    async runAtomically(writes: readonly Write[]): Promise<number | undefined> {
      // The knex client is the dialect: its own pool, and the value formatting every statement gets (`_formatBindings`).
      const client = this.getKnex().client as unknown as KnexPool<LibsqlConnection> & KnexSqliteDialect;
      const binder = this.binder();
      const connection = await client.acquireConnection();
      try {
        await retryWhileBusy(() => connection.exec('BEGIN IMMEDIATE'), true);
        try {
          for (const [index, write] of writes.entries()) {
            const bound = bindValues(write.sql, write.params, binder);
            if (bound.bindings.includes(undefined)) throw new TypeError('a statement was given an undefined value (knex refuses them too)');
            const statement = preparedStatement(connection, bound.sql);
            let changes: number;
            try {
              changes = (statement.run(client._formatBindings(bound.bindings)) as { changes: number }).changes;
            } catch (err) {
              forgetStatement(connection, bound.sql, statement);
              throw err;
            }
            if (write.conflict !== undefined && changes === 0) {
              connection.exec('ROLLBACK');
              return index;
            }
          }
          await retryWhileBusy(() => connection.exec('COMMIT'), true);
          return undefined;
        } catch (err) {
          if (connection.inTransaction) connection.exec('ROLLBACK');
          throw err;
        }
      } finally {
        await client.releaseConnection(connection);
      }
    }
  }
  return class BoundSqliteDriver extends AbstractSqlDriver {
    constructor(config: Configuration) {
      super(config, new LibSqlPlatform(), Connection as never, ['knex', 'libsql']);
    }
  };
}

/**
 * Compiled statements per connection, by SQL text, the least recently used dropped beyond STATEMENT_CACHE_SIZE:
 * compiling cost 10-60 us a statement (the identity select the most), more than running it on a small table. A
 * statement is reused only once the previous run finished (libsql runs it synchronously; `run` and `all` reset it
 * first). One that failed is dropped, as before (libsql keeps a statement that reported SQLITE_BUSY active until it
 * is collected). A connection the pool replaced takes its statements with it (WeakMap).
 */
const STATEMENT_CACHE_SIZE = 256;
const statementCaches = new WeakMap<LibsqlConnection, Map<string, LibsqlStatement>>();

function preparedStatement(connection: LibsqlConnection, sql: string): LibsqlStatement {
  let cache = statementCaches.get(connection);
  if (!cache) {
    cache = new Map();
    statementCaches.set(connection, cache);
  }
  let statement = cache.get(sql);
  if (statement) {
    cache.delete(sql);
  } else {
    statement = connection.prepare(sql);
    if (cache.size >= STATEMENT_CACHE_SIZE) cache.delete(cache.keys().next().value!);
  }
  cache.set(sql, statement);
  return statement;
}

function forgetStatement(connection: LibsqlConnection, sql: string, statement: LibsqlStatement): void {
  const cache = statementCaches.get(connection);
  if (cache?.get(sql) === statement) cache.delete(sql);
}

/** How long a SQLite statement waits for another connection's write lock in all (what busy_timeout used to be). */
export const SQLITE_BUSY_BUDGET_MS = 10_000;
const BUSY_MAX_DELAY_MS = 50;

type LibsqlStatement = Record<'all' | 'run', (bindings: unknown) => unknown>;

interface LibsqlConnection {
  inTransaction: boolean;
  exec(sql: string): void;
  prepare(sql: string): LibsqlStatement;
  /** knex-libsql's pool validation: a file connection created more than 10 s ago is replaced on its next checkout. */
  __created?: number;
}
interface KnexQuery {
  sql: string;
  bindings?: unknown;
  response?: unknown;
  context?: Record<string, unknown>;
}

/**
 * Runs `attempt` until it stops reporting SQLITE_BUSY, sleeping 1, 2, 4 … 50 ms in between, for at most the budget.
 * A statement given up on stays active inside libsql, so its connection is marked for replacement by the pool.
 */
async function retryWhileBusy<T>(attempt: () => T, retryable: boolean, connection?: LibsqlConnection): Promise<T> {
  let waited = 0;
  for (let delay = 1; ; delay = Math.min(delay * 2, BUSY_MAX_DELAY_MS)) {
    try {
      return attempt();
    } catch (err) {
      if ((err as { code?: unknown }).code !== 'SQLITE_BUSY') throw err;
      if (!retryable || waited >= SQLITE_BUSY_BUDGET_MS) {
        if (connection) connection.__created = 0;
        throw err;
      }
    }
    await sleep(delay);
    waited += delay;
  }
}

/** PostgreSQL gets dates as ISO strings in UTC (MikroORM's format with `forceUtcTimezone`). */
export async function boundPostgreSqlDriver(): Promise<new (config: Configuration) => AbstractSqlDriver> {
  const { PostgreSqlConnection, PostgreSqlPlatform } = await import('@mikro-orm/postgresql');
  const Connection = withBoundValues(PostgreSqlConnection, (value) => value.toISOString(), true);
  return class BoundPostgreSqlDriver extends AbstractSqlDriver {
    constructor(config: Configuration) {
      super(config, new PostgreSqlPlatform(), Connection as never, ['knex', 'pg']);
    }
  };
}
