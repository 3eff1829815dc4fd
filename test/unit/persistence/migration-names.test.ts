import { describe, expect, it } from 'vitest';
import { migrationNamesFor, migrationsFor } from '../../../entities/migrations/index.ts';

describe('migration names', () => {
  for (const dialect of ['sqlite', 'postgresql'] as const) {
    it(`lists the ${dialect} migrations, in order, by the names they run under`, async () => {
      const migrations = await migrationsFor(dialect);
      expect(migrationNamesFor(dialect)).toEqual(migrations.map((m) => m.name));
      for (const m of migrations) expect((m.class as { name: string }).name).toBe(m.name);
    });
  }
});
