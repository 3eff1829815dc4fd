import type { MigrationObject } from '@mikro-orm/core';
import { MIGRATION_NAMES } from './names.ts';

/** The migrations' names in order, without loading them (see names.ts). */
export function migrationNamesFor(dialect: 'sqlite' | 'postgresql'): readonly string[] {
  return MIGRATION_NAMES[dialect];
}

/**
 * Migrations are listed explicitly (no filesystem discovery) so they run from source, from dist/ and on Deno. Loaded
 * on demand: only migrating (or reporting status) needs them and the @mikro-orm/migrations package they extend.
 */
export async function migrationsFor(dialect: 'sqlite' | 'postgresql'): Promise<MigrationObject[]> {
  return dialect === 'sqlite' ? (await import('./sqlite/index.ts')).sqliteMigrations : (await import('./postgresql/index.ts')).postgresqlMigrations;
}
