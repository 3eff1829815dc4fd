/**
 * Connections whose `execute` sends values as bound parameters (see bind-values.ts) instead of MikroORM 6's values
 * formatted into the SQL text. Every MikroORM query (em.find, flush, QueryBuilder) and every `execute(sql, params)`
 * passes through `execute`; query logs carry the SQL with placeholders, never the values.
 */
import { Utils, type Configuration, type Transaction } from '@mikro-orm/core';
import { AbstractSqlConnection, AbstractSqlDriver, type AbstractSqlPlatform } from '@mikro-orm/knex';
import { bindValues, type BindPlatform } from './bind-values.ts';

type ConnectionClass = abstract new (...args: any[]) => AbstractSqlConnection;
type Knexish = { toSQL(): { sql: string; bindings?: readonly unknown[] }; client?: object };
type ExecuteArgs = Parameters<AbstractSqlConnection['execute']>;

function withBoundValues<C extends ConnectionClass>(Base: C, bindDate: (value: Date) => unknown) {
  abstract class BoundConnection extends Base {
    override async execute<T>(queryOrKnex: ExecuteArgs[0], params: unknown[] = [], method: 'all' | 'get' | 'run' = 'all', ctx?: Transaction, loggerContext?: ExecuteArgs[4]): Promise<T> {
      await this.ensureConnection();
      let sql: string;
      if (Utils.isObject<Knexish>(queryOrKnex)) {
        ctx ??= ((queryOrKnex.client as { transacting?: unknown } | undefined)?.transacting ? queryOrKnex : undefined) as Transaction | undefined;
        const compiled = queryOrKnex.toSQL();
        sql = compiled.sql;
        params = [...(compiled.bindings ?? [])];
      } else sql = queryOrKnex as string;
      sql = this.config.get('onQuery')(sql, params);
      const platform = this.platform as AbstractSqlPlatform;
      const binder: BindPlatform = {
        quoteIdentifier: (id) => platform.quoteIdentifier(id),
        bindDate,
        isKnexRaw: (value) => platform.isRaw(value),
      };
      const bound = bindValues(sql, params, binder);
      return this.executeQuery<T>(sql, async () => {
        const knex = this.getKnex();
        // Without bindings knex must not look for placeholders (MikroORM's patch: `?` in DDL text stays as it is).
        const query = bound.bindings.length > 0 ? knex.raw(bound.sql, bound.bindings as never[]) : knex.raw(bound.sql);
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
  const Connection = withBoundValues(LibSqlConnection, (value) => value.getTime());
  return class BoundSqliteDriver extends AbstractSqlDriver {
    constructor(config: Configuration) {
      super(config, new LibSqlPlatform(), Connection as never, ['knex', 'libsql']);
    }
  };
}

/** PostgreSQL gets dates as ISO strings in UTC (MikroORM's format with `forceUtcTimezone`). */
export async function boundPostgreSqlDriver(): Promise<new (config: Configuration) => AbstractSqlDriver> {
  const { PostgreSqlConnection, PostgreSqlPlatform } = await import('@mikro-orm/postgresql');
  const Connection = withBoundValues(PostgreSqlConnection, (value) => value.toISOString());
  return class BoundPostgreSqlDriver extends AbstractSqlDriver {
    constructor(config: Configuration) {
      super(config, new PostgreSqlPlatform(), Connection as never, ['knex', 'pg']);
    }
  };
}
