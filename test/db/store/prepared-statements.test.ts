/**
 * Issue 16: on PostgreSQL idflow's own statements (statements.ts: explicit column lists) are sent as named prepared
 * statements, one name per text; MikroORM's generated queries (which select `alias.*`) are not.
 */
import { describe, expect, it } from 'vitest';
import pg from 'pg';
import { Session } from '../../../entities/index.ts';
import type { SqlStore } from '../../../src/persistence/sql/sql-store.ts';
import { testDatabases } from '../../support/databases.ts';
import { flowRecord } from '../../support/flow-record.ts';
import { identityRecord } from '../../support/identity-record.ts';
import { useScratchStore } from '../../support/scratch-store.ts';

const T0 = new Date('2030-01-01T00:00:00.000Z');


interface Sent { text: string; name?: string }

/** The query configs pg's Client was given while `fn` ran. */
async function sentQueries(fn: () => Promise<unknown>): Promise<Sent[]> {
  const proto = pg.Client.prototype as unknown as { query: (...args: unknown[]) => unknown };
  const original = proto.query;
  const sent: Sent[] = [];
  proto.query = function (this: unknown, ...args: unknown[]) {
    const config = args[0];
    if (typeof config === 'string') sent.push({ text: config });
    else if (config && typeof config === 'object') sent.push({ text: String((config as Sent).text), name: (config as Sent).name });
    return original.apply(this, args);
  };
  try {
    await fn();
  } finally {
    proto.query = original;
  }
  return sent;
}

for (const db of testDatabases().filter((d) => d.name === 'postgresql')) {
  describe('named prepared statements (postgresql)', () => {
    let store: SqlStore;
    useScratchStore(db, (opened) => { store = opened; });

    it('idflow\'s own statements run by name, one name per text, and read what was written', async () => {
      const identity = identityRecord(T0);
      const [first, second] = [flowRecord(T0), flowRecord(T0)];
      const sent = await sentQueries(async () => {
        await store.identities.save(identity, true);
        await store.flows.insert(first);
        await store.flows.insert(second);
        expect((await store.flows.get(first.id))?.id).toBe(first.id);
        expect((await store.flows.get(second.id))?.id).toBe(second.id);
        expect((await store.identities.get(identity.id))?.traits).toEqual(identity.traits);
      });
      const flowReads = sent.filter((q) => q.text.startsWith('SELECT') && q.text.includes('FROM selfservice_flows'));
      const flowInserts = sent.filter((q) => q.text.startsWith('INSERT INTO selfservice_flows'));
      expect(flowReads).toHaveLength(2);
      expect(flowInserts).toHaveLength(2);
      for (const group of [flowReads, flowInserts]) {
        expect(group[0].name).toMatch(/^idflow_s\d+$/);
        expect(group[1].name).toBe(group[0].name);
      }
      expect(flowReads[0].name).not.toBe(flowInserts[0].name);
      expect(sent.find((q) => q.text.includes('FROM identities i'))?.name).toMatch(/^idflow_s\d+$/);
    });

    it('queries MikroORM builds are not named', async () => {
      const sent = await sentQueries(() => store.orm.em.fork().find(Session, { tokenHash: 'f'.repeat(64) }));
      const select = sent.find((q) => /^select/i.test(q.text));
      expect(select?.text).toContain('.*');
      expect(select?.name).toBeUndefined();
    });
  });
}
