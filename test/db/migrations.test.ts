import { afterAll, describe, expect, it } from 'vitest';
import { testDatabases } from '../support/databases.ts';
import { openOrm } from '../../src/persistence/orm.ts';
import { assertMigrated, migrateUp, migrationStatus, NotMigratedError } from '../../src/persistence/migrate.ts';

for (const db of testDatabases()) {
  describe(`migrations (${db.name})`, () => {
    const drops: Array<() => Promise<void>> = [];
    afterAll(async () => {
      for (const drop of drops) await drop();
    });

    it('applies every migration once, is idempotent, and leaves the schema equal to the entities', async () => {
      const created = await db.create();
      drops.push(created.drop);
      // a file-backed database for SQLite so a second connection sees the same data
      const dsn = created.dsn === 'memory' ? `sqlite://${process.env.TMPDIR ?? '/tmp'}/idflow-mig-${crypto.randomUUID()}.sqlite?_fk=true` : created.dsn;
      const orm = await openOrm(dsn);
      try {
        // No migrations table yet: the check without the Migrator counts every migration as pending.
        await expect(assertMigrated(orm, 'x')).rejects.toBeInstanceOf(NotMigratedError);
        const before = await migrationStatus(orm);
        expect(before.executed).toEqual([]);
        expect(before.pending.length).toBeGreaterThan(0);
        await expect(assertMigrated(orm, 'x')).rejects.toBeInstanceOf(NotMigratedError);
        await expect(assertMigrated(orm, 'x')).rejects.toThrow(/idflow migrate sql/);

        const applied = await migrateUp(orm);
        expect(applied).toEqual(before.pending);
        expect(await migrateUp(orm)).toEqual([]);
        const after = await migrationStatus(orm);
        expect(after.pending).toEqual([]);
        await assertMigrated(orm, 'x');

        // The committed migrations produce exactly the schema the entities describe.
        const diff = await orm.getSchemaGenerator().getUpdateSchemaSQL({ wrap: false });
        expect(diff.trim()).toBe('');
      } finally {
        await orm.close(true);
      }
      const again = await openOrm(dsn);
      try {
        expect((await migrationStatus(again)).pending).toEqual([]);
      } finally {
        await again.close(true);
      }
    });
  });
}
