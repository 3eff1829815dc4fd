import type { Migrator } from '@mikro-orm/migrations';
import type { Orm } from './orm.ts';

export interface MigrationStatus {
  executed: string[];
  pending: string[];
}

function migrator(orm: Orm): Migrator {
  return orm.getMigrator() as Migrator;
}

export async function migrationStatus(orm: Orm): Promise<MigrationStatus> {
  const m = migrator(orm);
  const executed = (await m.getExecutedMigrations()).map((row) => row.name);
  const pending = (await m.getPendingMigrations()).map((row) => row.name);
  return { executed, pending };
}

/** Applies pending migrations; idempotent. Returns the names applied now. */
export async function migrateUp(orm: Orm): Promise<string[]> {
  const applied = await migrator(orm).up();
  return applied.map((row) => row.name);
}

export class NotMigratedError extends Error {}

/** Refuses to serve a database whose schema is behind this build. */
export async function assertMigrated(orm: Orm, dsnForMessage: string): Promise<void> {
  const { pending } = await migrationStatus(orm);
  if (pending.length > 0) {
    throw new NotMigratedError(
      `the database has ${pending.length} pending migration(s); run \`idflow migrate sql "${dsnForMessage}" --yes\` (or \`idflow migrate sql -e --yes\` with DSN set) first`,
    );
  }
}
