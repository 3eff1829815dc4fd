import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createSessionLookup, parseDbDate } from '../../../src/session/session-lookup.ts';
import type { IssuedSession } from '../../../src/session/session-service.ts';
import { testDatabases } from '../../support/databases.ts';
import { createIdentity, openHarness, schemaUrl, sessionConfig, type Harness } from './helpers.ts';
import { openOrm } from '../../../src/persistence/orm.ts';
import { migrateUp } from '../../../src/persistence/migrate.ts';
import { SessionService } from '../../../src/session/session-service.ts';

type Fn = (...args: unknown[]) => unknown;

interface KnexClient {
  dialect: string;
  acquireConnection(): Promise<Record<string, unknown>>;
  releaseConnection(c: unknown): Promise<void>;
}

const knexClient = (h: Harness) => (h.orm.em.getConnection() as unknown as { getKnex(): { client: KnexClient } }).getKnex().client;

/**
 * Counts every call into the raw driver while `fn` runs, by wrapping the methods on the driver's own prototypes
 * (reached through a connection borrowed from the same knex pool): sqlite3 `Database` / `Statement`, pg `Client`.
 * Anything the ORM or the lookup sends to the database passes through these.
 */
async function countDriverCalls(h: Harness, fn: () => Promise<unknown>): Promise<Record<string, number>> {
  const client = knexClient(h);
  const conn = await client.acquireConnection();
  const targets: Array<[object, string[], string]> = [];
  if (client.dialect === 'sqlite3') {
    const db = conn as unknown as { prepare(sql: string, cb: (err: Error | null) => void): { finalize(cb: () => void): void } };
    const probe = await new Promise<{ finalize(cb: () => void): void }>((resolve, reject) => {
      const st = db.prepare('select 1', (err) => (err ? reject(err) : resolve(st)));
    });
    targets.push([Object.getPrototypeOf(db), ['all', 'get', 'run', 'each', 'exec', 'prepare', 'map'], 'db']);
    targets.push([Object.getPrototypeOf(probe), ['all', 'get', 'run', 'each', 'map'], 'statement']);
    await new Promise<void>((resolve) => probe.finalize(resolve));
  } else {
    targets.push([Object.getPrototypeOf(conn), ['query'], 'pg']);
  }
  await client.releaseConnection(conn);

  const counts: Record<string, number> = {};
  const restore: Array<() => void> = [];
  for (const [proto, methods, label] of targets) {
    for (const method of methods) {
      const original = (proto as Record<string, Fn>)[method];
      if (typeof original !== 'function') continue;
      (proto as Record<string, Fn>)[method] = function (this: unknown, ...args: unknown[]) {
        counts[`${label}.${method}`] = (counts[`${label}.${method}`] ?? 0) + 1;
        return original.apply(this, args);
      };
      restore.push(() => {
        (proto as Record<string, Fn>)[method] = original;
      });
    }
  }
  try {
    await fn();
  } finally {
    for (const undo of restore) undo();
  }
  return counts;
}

const executions = (counts: Record<string, number>) =>
  Object.entries(counts).filter(([k]) => !k.endsWith('.prepare')).reduce((n, [, v]) => n + v, 0);

for (const db of testDatabases()) {
  describe(`session lookup (${db.name})`, () => {
    let h: Harness;
    beforeAll(async () => {
      h = await openHarness(db);
    });
    afterAll(async () => {
      await h?.close();
    });

    it('findByToken sends exactly one SQL statement to the driver (and no ORM query)', async () => {
      const identity = await createIdentity(h.orm);
      const em = h.em();
      const { token } = await h.service.issue(em, { identityId: identity.id, methods: [{ method: 'password', aal: 'aal1' }] });
      await em.flush();

      const fresh = createSessionLookup(h.orm);
      // first call on a connection: prepare + one execution
      const first = await countDriverCalls(h, () => h.service.findByToken(token));
      expect(executions(first)).toBe(1);
      if (db.name === 'sqlite') expect(first['db.prepare']).toBe(1);
      // warmed: exactly one execution, no prepare
      let found: unknown;
      const warm = await countDriverCalls(h, async () => {
        found = await h.service.findByToken(token);
      });
      expect(found).not.toBeNull();
      expect(warm).toEqual(db.name === 'sqlite' ? { 'statement.all': 1 } : { 'pg.query': 1 });
      // a miss is one statement too
      const miss = await countDriverCalls(h, () => h.service.findByToken('ory_st_' + 'Z'.repeat(48)));
      expect(miss).toEqual(warm);
      // a malformed token never reaches the database
      expect(await countDriverCalls(h, () => h.service.findByToken('garbage'))).toEqual({});
      // separate lookup instances share the per-connection statement
      const viaOther = await countDriverCalls(h, () => fresh.findByTokenHash('0'.repeat(64)));
      expect(viaOther).toEqual(warm);
      // positive control: the counter does see ORM traffic
      const orm = await countDriverCalls(h, () => h.service.listForIdentity(h.em(), identity.id, { limit: 10 }));
      expect(executions(orm)).toBeGreaterThanOrEqual(1);
    });

    it('serves concurrent lookups next to ORM writes on the same pool', async () => {
      const identity = await createIdentity(h.orm);
      const em = h.em();
      const issued: IssuedSession[] = [];
      for (let n = 0; n < 10; n++) issued.push(await h.service.issue(em, { identityId: identity.id, methods: [{ method: 'password', aal: 'aal1' }] }));
      await em.flush();
      const writer = h.orm.em.fork().transactional(async (tx) => {
        await h.service.revoke(tx, issued[0].session.id);
      });
      const results = await Promise.all([
        ...issued.slice(1).flatMap((i) => [h.service.findByToken(i.token), h.service.findByToken(i.token)]),
        writer,
      ]);
      const sessions = results.slice(0, -1) as Array<{ id: string } | null>;
      expect(sessions.every((s) => s !== null)).toBe(true);
      expect(sessions.map((s) => s!.id)).toEqual(issued.slice(1).flatMap((i) => [i.session.id, i.session.id]));
      expect(await h.service.findByToken(issued[0].token)).toBeNull();
    });

    it('parses every datetime shape the drivers return', () => {
      const ms = Date.UTC(2026, 0, 2, 3, 4, 5, 678);
      expect(parseDbDate(ms).getTime()).toBe(ms);
      expect(parseDbDate(String(ms)).getTime()).toBe(ms);
      expect(parseDbDate('2026-01-02 03:04:05.678+00').getTime()).toBe(ms);
      expect(parseDbDate('2026-01-02 03:04:05.678912+00').getTime()).toBe(ms);
      expect(parseDbDate('2026-01-02 05:04:05.678+02').getTime()).toBe(ms);
      expect(parseDbDate('2026-01-02 08:34:05.678+05:30').getTime()).toBe(ms);
      expect(parseDbDate('2026-01-02T03:04:05.678+00:00').getTime()).toBe(ms);
      expect(parseDbDate('2026-01-02T03:04:05.678Z').getTime()).toBe(ms);
      expect(parseDbDate('2026-01-02 03:04:05+00').getTime()).toBe(ms - 678);
      expect(() => parseDbDate('yesterday')).toThrow(TypeError);
      expect(() => parseDbDate(null)).toThrow(TypeError);
    });
  });
}

for (const db of testDatabases()) {
  describe(`session lookup before migrations (${db.name})`, () => {
    it('rejects (never hangs) while the statement cannot be prepared, and recovers once the schema exists', async () => {
      const created = await db.create();
      const orm = await openOrm(created.dsn);
      try {
        const service = new SessionService({ orm, config: sessionConfig(), schemaUrl });
        const token = 'ory_st_' + 'q'.repeat(48);
        await expect(service.findByToken(token)).rejects.toThrow(/sessions|relation|table/i);
        await expect(service.findByToken(token)).rejects.toThrow(/sessions|relation|table/i);
        await migrateUp(orm);
        expect(await service.findByToken(token)).toBeNull();
      } finally {
        await orm.close(true);
        await created.drop();
      }
    });
  });
}

describe('session lookup (sqlite): closing the ORM finalizes the prepared statement', () => {
  it('the raw connection really closes (node-sqlite3 refuses while a statement is unfinalized)', async () => {
    const sqlite = testDatabases().find((d) => d.name === 'sqlite')!;
    const h = await openHarness(sqlite);
    let raw: { all(sql: string, params: unknown[], cb: (err: Error | null) => void): void } | undefined;
    try {
      expect(await h.service.findByToken('ory_st_' + 'a'.repeat(48))).toBeNull(); // prepares the statement
      const client = knexClient(h);
      raw = (await client.acquireConnection()) as unknown as typeof raw;
      await client.releaseConnection(raw);
    } finally {
      await h.close();
    }
    const error = await new Promise<Error | null>((resolve) => raw!.all('select 1', [], (err) => resolve(err)));
    expect(error?.message).toMatch(/SQLITE_MISUSE|closed/i);
  });
});
