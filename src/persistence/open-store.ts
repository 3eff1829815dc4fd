import { assertMigrated, migrateUp } from './migrate.ts';
import { openOrm } from './orm.ts';
import { parseDsn, redactDsn } from './dsn.ts';
import { createSqlStore, type SqlStore } from './sql/sql-store.ts';

export interface OpenStoreOptions {
  /** `auto` applies pending migrations; `require` refuses a database with pending ones (`memory` always migrates). */
  migrations: 'auto' | 'require';
}

/** Opens the store for a Kratos-style DSN, migrated (or checked) per `options`. Returns the migrations applied. */
export async function openStore(dsn: string, options: OpenStoreOptions): Promise<{ store: SqlStore; applied: string[] }> {
  const parsed = parseDsn(dsn);
  const orm = await openOrm(parsed);
  try {
    const check = await orm.checkConnection();
    if (!check.ok) throw new Error(`can not reach the database ${redactDsn(dsn)}: ${check.reason.split('\n')[0]}`);
    let applied: string[] = [];
    if (options.migrations === 'auto' || (parsed.dialect === 'sqlite' && parsed.memory)) applied = await migrateUp(orm);
    else await assertMigrated(orm, redactDsn(dsn));
    return { store: createSqlStore(orm, parsed.dialect), applied };
  } catch (err) {
    await orm.close(true);
    throw err;
  }
}
