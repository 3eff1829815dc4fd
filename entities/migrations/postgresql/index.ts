import type { MigrationObject } from '@mikro-orm/core';
import { Migration20261124210829_initial } from './Migration20261124210829_initial.ts';

export const postgresqlMigrations: MigrationObject[] = [
  { name: 'Migration20261124210829_initial', class: Migration20261124210829_initial },
];
