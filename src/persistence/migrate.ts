import type { AbstractSqlPlatform } from '@mikro-orm/knex';
import type { Migrator } from '@mikro-orm/migrations';
import { migrationNamesFor, migrationsFor } from '../../entities/migrations/index.ts';
import { dialectOf, MIGRATIONS_TABLE, type Orm } from './orm.ts';

export interface MigrationStatus {
  executed: string[];
  pending: string[];
}

const MIGRATOR = '@mikro-orm/migrator';

/** MikroORM's Migrator with this build's migrations, registered on first use (serving never loads it). */
async function migrator(orm: Orm): Promise<Migrator> {
  if (!orm.config.getExtension(MIGRATOR)) {
    const [{ Migrator }, migrationsList] = await Promise.all([import('@mikro-orm/migrations'), migrationsFor(dialectOf(orm))]);
    orm.config.set('migrations', { ...orm.config.get('migrations'), migrationsList });
    Migrator.register(orm);
  }
  return orm.getMigrator() as Migrator;
}

export async function migrationStatus(orm: Orm): Promise<MigrationStatus> {
  const m = await migrator(orm);
  const executed = (await m.getExecutedMigrations()).map((row) => row.name);
  const pending = (await m.getPendingMigrations()).map((row) => row.name);
  return { executed, pending };
}

/** Applies pending migrations; idempotent. Returns the names applied now. */
export async function migrateUp(orm: Orm): Promise<string[]> {
  const applied = await (await migrator(orm)).up();
  return applied.map((row) => row.name);
}

/**
 * The names in the migrations table, read the way MikroORM's MigrationStorage reads them (an extension stripped),
 * without loading the Migrator; none when the table does not exist yet (this does not create it).
 */
async function executedNames(orm: Orm): Promise<Set<string>> {
  const connection = orm.em.getConnection();
  const platform = orm.em.getPlatform() as AbstractSqlPlatform;
  const schema = orm.config.get('schema', platform.getDefaultSchemaName());
  const tables = await connection.execute(platform.getSchemaHelper()!.getListTablesSQL()) as Array<{ table_name: string; schema_name?: string }>;
  if (!tables.some((t) => t.table_name === MIGRATIONS_TABLE && (!t.schema_name || t.schema_name === schema))) return new Set();
  const table = platform.quoteIdentifier(schema ? `${schema}.${MIGRATIONS_TABLE}` : MIGRATIONS_TABLE);
  const rows = await connection.execute(`select name from ${table}`) as Array<{ name: string }>;
  return new Set(rows.map((row) => row.name.replace(/\.[jt]s$/, '')));
}

export class NotMigratedError extends Error {}

/** Refuses to serve a database whose schema is behind this build. */
export async function assertMigrated(orm: Orm, dsnForMessage: string): Promise<void> {
  const executed = await executedNames(orm);
  const pending = migrationNamesFor(dialectOf(orm)).filter((name) => !executed.has(name));
  if (pending.length > 0) {
    throw new NotMigratedError(
      `the database has ${pending.length} pending migration(s); run \`idflow migrate sql "${dsnForMessage}" --yes\` (or \`idflow migrate sql -e --yes\` with DSN set) first`,
    );
  }
}
