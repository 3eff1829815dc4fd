import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createSessionLookup, parseDbDate, SessionRowMemo, sessionColumnIndex } from '../../../src/persistence/sql/session-lookup.ts';
import { Identity, RecoveryAddress, Session, VerifiableAddress } from '../../../entities/index.ts';
import type { IssuedSession } from '../../../src/session/session-service.ts';
import type { ActiveSession } from '../../../src/session/session.ts';
import type { IdentityRecord } from '../../../src/identity/identity.ts';
import { sessionWithIdentityText, toSessionJson } from '../../../src/session/session-json.ts';
import { fastSha256Hex } from '../../../src/hash/sha256.ts';
import Database from 'libsql';
import { countDriverCalls as countCalls } from '../../support/driver-calls.ts';
import { sqliteFile, testDatabases } from '../../support/databases.ts';
import { Clock, createIdentity, openHarness, schemaUrl, sessionConfig, type Harness } from './helpers.ts';
import { openOrm } from '../../../src/persistence/orm.ts';
import { migrateUp } from '../../../src/persistence/migrate.ts';
import { parseDsn } from '../../../src/persistence/dsn.ts';
import { createSqlStore } from '../../../src/persistence/sql/sql-store.ts';
import { SessionService } from '../../../src/session/session-service.ts';

interface KnexClient {
  dialect: string;
  acquireConnection(): Promise<Record<string, unknown>>;
  releaseConnection(c: unknown): Promise<void>;
}

const knexClient = (h: Harness) => (h.orm.em.getConnection() as unknown as { getKnex(): { client: KnexClient } }).getKnex().client;

type Fn = (...args: unknown[]) => unknown;

/** Calls into the raw driver while `fn` runs (test/support/driver-calls.ts), by driver method. */
const countDriverCalls = async (h: Harness, fn: () => Promise<unknown>): Promise<Record<string, number>> => (await countCalls(h.orm, fn)).counts;

/** Statements executed, less the one-time set-up of a connection (prepare, the file reader's `PRAGMA query_only`). */
const setUp = (key: string) => key === 'db.prepare' || key === 'db.exec';
const executions = (counts: Record<string, number>) =>
  Object.entries(counts).filter(([k]) => !setUp(k)).reduce((n, [, v]) => n + v, 0);
const executed = (counts: Record<string, number>) => Object.fromEntries(Object.entries(counts).filter(([k]) => !setUp(k)));

for (const db of [...testDatabases(), sqliteFile]) {
  describe(`session lookup (${db.name})`, () => {
    let h: Harness;
    beforeAll(async () => {
      h = await openHarness(db);
    });
    afterAll(async () => {
      await h?.close();
    });

    it('findByToken sends exactly one SQL statement to the driver (and no ORM query)', async () => {
      const identity = await createIdentity(h.store);
      const { token } = await h.issue({ identityId: identity.id, methods: [{ method: 'password', aal: 'aal1' }] });

      const fresh = createSessionLookup(h.orm);
      // first call on a connection: prepare + one execution
      const first = await countDriverCalls(h, () => h.service.findByToken(token));
      expect(executions(first)).toBe(1);
      if (db.name !== 'postgresql') expect(first['db.prepare']).toBe(1);
      // warmed: exactly one execution, no prepare
      let found: unknown;
      const warm = await countDriverCalls(h, async () => {
        found = await h.service.findByToken(token);
      });
      expect(found).not.toBeNull();
      const expected = { sqlite: { 'statement.get': 1 }, 'sqlite-file': { 'statement.get': 1 }, postgresql: { 'pg.query': 1 } };
      expect(warm).toEqual(expected[db.name]);
      // a miss is one statement too
      const miss = await countDriverCalls(h, () => h.service.findByToken('ory_st_' + 'Z'.repeat(48)));
      expect(miss).toEqual(warm);
      // a malformed token never reaches the database
      expect(await countDriverCalls(h, () => h.service.findByToken('garbage'))).toEqual({});
      // separate lookup instances share the per-connection statement (a file lookup opens its own reader)
      const viaOther = await countDriverCalls(h, () => fresh.findByTokenHash('0'.repeat(64)));
      expect(db.name === 'sqlite-file' ? executed(viaOther) : viaOther).toEqual(warm);
      fresh.close();
      // positive control: the counter does see ORM traffic
      const orm = await countDriverCalls(h, () => h.service.listForIdentity(identity.id, { limit: 10 }));
      expect(executions(orm)).toBeGreaterThanOrEqual(1);
    });

    it('serves concurrent lookups next to ORM writes on the same pool', async () => {
      const identity = await createIdentity(h.store);
      const issued: IssuedSession[] = [];
      for (let n = 0; n < 10; n++) issued.push(await h.issue({ identityId: identity.id, methods: [{ method: 'password', aal: 'aal1' }] }));
      const writer = h.store.transaction(async (tx) => {
        await h.service.revokeByToken(issued[0].token, tx);
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

    it('concurrent lookups each get their own session; on PostgreSQL they share statements', async () => {
      const identity = await createIdentity(h.store);
      const issued: IssuedSession[] = [];
      for (let n = 0; n < 30; n++) issued.push(await h.issue({ identityId: identity.id, methods: [{ method: 'password', aal: 'aal1' }] }));
      const unknown = 'ory_st_' + 'U'.repeat(48);
      const tokens = [...issued.map((i) => i.token), unknown, issued[3].token, unknown, issued[7].token];
      let found: Array<{ id: string } | null> = [];
      const counts = await countDriverCalls(h, async () => {
        found = await Promise.all(tokens.map((t) => h.service.findByToken(t)));
      });
      expect(found.map((f) => f?.id ?? null)).toEqual([...issued.map((i) => i.session.id), null, issued[3].session.id, null, issued[7].session.id]);
      // 34 lookups: the first starts at once, the other 33 wait for it and share the next statement.
      if (db.name === 'postgresql') expect(counts['pg.query']).toBe(2);
      else expect(executions(counts)).toBe(tokens.length);
    });

    it('a repeated lookup of an unchanged row returns the same frozen session; any change maps afresh', async () => {
      const identity = await createIdentity(h.store);
      const { token } = await h.issue({ identityId: identity.id, methods: [{ method: 'password', aal: 'aal1' }] });
      const first = await h.service.findByToken(token);
      const again = await h.service.findByToken(token);
      expect(again).toBe(first);
      expect(Object.isFrozen(first)).toBe(true);
      expect(Object.isFrozen(first!.identity.traits)).toBe(true);
      expect(Object.isFrozen(first!.identity.verifiableAddresses[0])).toBe(true);

      const stored = (await h.store.identities.get(identity.id))!;
      await h.store.identities.save({ ...stored, traits: { ...stored.traits, name: { first: 'Grace', last: 'Hopper' } }, updatedAt: new Date() }, false);
      const renamed = await h.service.findByToken(token);
      expect(renamed).not.toBe(first);
      expect(renamed!.identity.traits).toMatchObject({ name: { first: 'Grace' } });

      const address = identity.verifiableAddresses.find((a) => !a.verified)!;
      const before = (await h.store.identities.get(identity.id))!;
      await h.store.identities.save({
        ...before,
        verifiableAddresses: before.verifiableAddresses.map((a) => (a.id === address.id ? { ...a, verified: true, status: 'completed' as const } : a)),
      }, false);
      const verified = await h.service.findByToken(token);
      expect(verified).not.toBe(renamed);
      expect(verified!.identity.verifiableAddresses.find((a) => a.id === address.id)).toMatchObject({ verified: true, status: 'completed' });
      expect(await h.service.findByToken(token)).toBe(verified);
    });

    it('reads every datetime of the row to the millisecond (PostgreSQL: microseconds cut, not rounded, before 1970 too)', async () => {
      const identity = await createIdentity(h.store);
      const { token, session } = await h.issue({ identityId: identity.id, methods: [{ method: 'password', aal: 'aal1' }] });
      const at = (ms: number) => new Date(Date.UTC(2031, 1, 3, 4, 5, 6, ms));
      const beforeEpoch = new Date(-2); // 1969-12-31T23:59:59.998Z
      const em = h.em();
      await em.nativeUpdate(Session, { id: session.id }, { authenticatedAt: at(101), issuedAt: at(102), expiresAt: at(103), createdAt: at(104), updatedAt: at(105) });
      await em.nativeUpdate(Identity, { id: identity.id }, { stateChangedAt: at(106), createdAt: at(107), updatedAt: at(108) });
      const [verifiedAddress, pendingAddress] = identity.verifiableAddresses;
      await em.nativeUpdate(VerifiableAddress, { id: verifiedAddress.id }, { verifiedAt: beforeEpoch, createdAt: at(109), updatedAt: at(110) });
      await em.nativeUpdate(VerifiableAddress, { id: pendingAddress.id }, { createdAt: at(111), updatedAt: at(112) });
      await em.nativeUpdate(RecoveryAddress, { id: identity.recoveryAddresses[0].id }, { createdAt: at(113), updatedAt: at(114) });
      // Rows edited by hand: the read model is cleared (README), so these are the identity's own columns and rows.
      await em.nativeUpdate(Identity, { id: identity.id }, { publicJson: null });
      if (db.name === 'postgresql') {
        // 999 microseconds more on every datetime: rounding would carry each into the next millisecond
        const plus = (table: string, columns: string[], id: string) => em.getConnection().execute(
          `UPDATE ${table} SET ${columns.map((c) => `${c} = ${c} + interval '999 microseconds'`).join(', ')} WHERE id = ?`, [id]);
        await plus('sessions', ['authenticated_at', 'issued_at', 'expires_at', 'created_at', 'updated_at'], session.id);
        await plus('identities', ['state_changed_at', 'created_at', 'updated_at'], identity.id);
        await plus('identity_verifiable_addresses', ['verified_at', 'created_at', 'updated_at'], verifiedAddress.id);
        await plus('identity_verifiable_addresses', ['created_at', 'updated_at'], pendingAddress.id);
        await plus('identity_recovery_addresses', ['created_at', 'updated_at'], identity.recoveryAddresses[0].id);
      }
      const found = await h.service.findByToken(token);
      const iso = (d: Date | null | undefined) => d?.toISOString() ?? null;
      expect([found!.authenticatedAt, found!.issuedAt, found!.expiresAt, found!.createdAt, found!.updatedAt].map(iso))
        .toEqual([101, 102, 103, 104, 105].map((ms) => at(ms).toISOString()));
      const i = found!.identity;
      expect([i.stateChangedAt, i.createdAt, i.updatedAt].map(iso)).toEqual([106, 107, 108].map((ms) => at(ms).toISOString()));
      expect(i.verifiableAddresses.map((a) => [a.id, iso(a.verifiedAt), iso(a.createdAt), iso(a.updatedAt)])).toEqual([
        [verifiedAddress.id, '1969-12-31T23:59:59.998Z', at(109).toISOString(), at(110).toISOString()],
        [pendingAddress.id, null, at(111).toISOString(), at(112).toISOString()],
      ]);
      expect(i.recoveryAddresses.map((a) => [iso(a.createdAt), iso(a.updatedAt)])).toEqual([[at(113).toISOString(), at(114).toISOString()]]);
    });

    it('reads the identity from its read model as its own rows show it, after every kind of write; whoami answers the same text', async () => {
      const identity = await createIdentity(h.store, { extraCredentials: ['totp'] });
      const { token } = await h.issue({ identityId: identity.id, methods: [{ method: 'password', aal: 'aal1' }] });
      const later = (ms: number) => new Date(identity.updatedAt.getTime() + ms);
      /** The lookup's identity (read model) against the identity's rows loaded afresh, and whoami's text both ways. */
      const expectLookupMatchesRows = async () => {
        const found = await h.service.findByToken(token);
        const rows = (await h.store.identities.get(identity.id))!;
        expect(found!.identityPublicJson).toBeDefined();
        expect({ ...found!.identity }).toEqual({ ...rows, credentials: [] });
        const spliced = sessionWithIdentityText(found!, schemaUrl);
        expect(JSON.parse(spliced)).toEqual(toSessionJson({ ...found!, identity: rows }, { includeIdentity: true, schemaUrl }));
        // The same bytes as serializing the looked-up session (keys in the same order).
        expect(spliced).toBe(JSON.stringify(toSessionJson({ ...found!, identity: { ...found!.identity } }, { includeIdentity: true, schemaUrl })));
        return found!;
      };
      await expectLookupMatchesRows();

      const save = async (change: (record: IdentityRecord) => IdentityRecord) => {
        await h.store.identities.save(change((await h.store.identities.get(identity.id))!), false);
      };
      await save((r) => ({ ...r, traits: { ...r.traits, name: { first: 'Ada', last: 'L' } }, metadataPublic: { plan: 'pro' }, metadataAdmin: { note: 'x' }, updatedAt: later(1) }));
      expect((await expectLookupMatchesRows()).identity.metadataAdmin).toEqual({ note: 'x' });
      await save((r) => ({
        ...r, updatedAt: later(2),
        verifiableAddresses: [
          ...r.verifiableAddresses.map((a) => ({ ...a, verified: true, verifiedAt: later(2), status: 'completed' as const, updatedAt: later(2) })),
          { id: crypto.randomUUID(), value: 'aaa-added@example.com', via: 'email' as const, verified: false, verifiedAt: null, status: 'pending' as const, createdAt: later(2), updatedAt: later(2) },
        ],
        recoveryAddresses: [],
      }));
      expect((await expectLookupMatchesRows()).identity.recoveryAddresses).toEqual([]);
      await save((r) => ({ ...r, state: 'inactive', stateChangedAt: later(3), externalId: `ext-${identity.id}`, updatedAt: later(3) }));
      expect(await h.service.findByToken(token)).toBeNull();
      await save((r) => ({ ...r, state: 'active', stateChangedAt: later(4), updatedAt: later(4) }));
      expect((await expectLookupMatchesRows()).identity.externalId).toBe(`ext-${identity.id}`);
    });

    it('decides on the identity\'s own rows, never on its read model: state and the credentials (AAL)', async () => {
      const identity = await createIdentity(h.store);
      const { token } = await h.issue({ identityId: identity.id, methods: [{ method: 'password', aal: 'aal1' }] });
      expect((await h.service.findByToken(token))?.credentialTypes).toEqual(['password']);
      // Edited by hand without clearing the read model: what whoami decides on still follows the rows.
      await h.em().getConnection().execute(`update identities set state = 'inactive' where id = ?`, [identity.id]);
      expect(await h.service.findByToken(token)).toBeNull();
      await h.em().getConnection().execute(`update identities set state = 'active' where id = ?`, [identity.id]);
      const reactivated = await h.service.findByToken(token);
      expect(JSON.parse(sessionWithIdentityText(reactivated!, schemaUrl)).identity.state).toBe('active');
      await h.store.identities.save({
        ...(await h.store.identities.get(identity.id))!,
        credentials: [...(await h.store.identities.get(identity.id))!.credentials,
          { id: crypto.randomUUID(), type: 'totp', identifiers: [identity.id], config: { secret: 's' }, version: 1, createdAt: new Date(), updatedAt: new Date() }],
      }, false);
      expect((await h.service.findByToken(token))?.credentialTypes).toEqual(['password', 'totp']);
      await h.em().getConnection().execute(`delete from identity_credentials where identity_id = ? and type = 'totp'`, [identity.id]);
      expect((await h.service.findByToken(token))?.credentialTypes).toEqual(['password']);
    });

    it('reads an identity without a read model (written before it existed) from its own rows, and whoami answers the same', async () => {
      const created = await createIdentity(h.store);
      // Metadata may be any JSON value: a string must come back a string on both paths (not parsed twice).
      await h.store.identities.save({ ...(await h.store.identities.get(created.id))!, metadataPublic: 'plain text', metadataAdmin: 7 }, false);
      const identity = (await h.store.identities.get(created.id))!;
      const { token } = await h.issue({ identityId: identity.id, methods: [{ method: 'password', aal: 'aal1' }] });
      const withModel = await h.service.findByToken(token);
      expect([withModel!.identity.metadataPublic, withModel!.identity.metadataAdmin]).toEqual(['plain text', 7]);
      const text = sessionWithIdentityText(withModel!, schemaUrl);
      await h.em().nativeUpdate(Identity, { id: identity.id }, { publicJson: null });
      const without = await h.service.findByToken(token);
      expect(without!.identityPublicJson).toBeUndefined();
      expect(without!.identity).toEqual({ ...withModel!.identity });
      expect(JSON.parse(sessionWithIdentityText(without!, schemaUrl))).toEqual(JSON.parse(text));
      // The next write of the identity writes its read model again.
      await h.store.identities.save({ ...(await h.store.identities.get(identity.id))!, updatedAt: new Date() }, false);
      expect((await h.service.findByToken(token))!.identityPublicJson).toBeDefined();
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

for (const db of [...testDatabases(), sqliteFile]) {
  describe(`session lookup before migrations (${db.name})`, () => {
    it('rejects (never hangs) while the statement cannot be prepared, and recovers once the schema exists', async () => {
      const created = await db.create();
      // openStore would migrate: build the store on an ORM whose database has no tables yet
      const orm = await openOrm(created.dsn);
      const store = createSqlStore(orm, parseDsn(created.dsn).dialect);
      try {
        const service = new SessionService({ store, config: sessionConfig(), schemaUrl, clock: new Clock() });
        const token = 'ory_st_' + 'q'.repeat(48);
        await expect(service.findByToken(token)).rejects.toThrow(/sessions|relation|table/i);
        await expect(service.findByToken(token)).rejects.toThrow(/sessions|relation|table/i);
        await migrateUp(orm);
        expect(await service.findByToken(token)).toBeNull();
      } finally {
        await store.close();
        await created.drop();
      }
    });
  });
}

describe('session lookup (sqlite): the statement lives on the pool connection', () => {
  it('closing the ORM closes that connection', async () => {
    const sqlite = testDatabases().find((d) => d.name === 'sqlite')!;
    const h = await openHarness(sqlite);
    let raw: { open: boolean; prepare(sql: string): unknown } | undefined;
    try {
      expect(await h.service.findByToken('ory_st_' + 'a'.repeat(48))).toBeNull(); // prepares the statement
      const client = knexClient(h);
      raw = (await client.acquireConnection()) as unknown as typeof raw;
      await client.releaseConnection(raw);
    } finally {
      await h.close();
    }
    expect(raw!.open).toBe(false);
    expect(() => raw!.prepare('select 1')).toThrow();
  });
});

/** libsql's Statement prototype: the reader's statements and the pool's share it, so patching it reaches both. */
function statementPrototype(): { get: Fn } {
  const scratch = new Database(':memory:');
  try {
    return Object.getPrototypeOf(scratch.prepare('select 1')) as { get: Fn };
  } finally {
    scratch.close();
  }
}

/** `count` sessions of one identity, with their token hashes (what a lookup is asked for). */
async function issueSessions(h: Harness, count: number): Promise<{ issued: IssuedSession[]; hashes: string[] }> {
  const identity = await createIdentity(h.store);
  const issued: IssuedSession[] = [];
  for (let n = 0; n < count; n++) issued.push(await h.issue({ identityId: identity.id, methods: [{ method: 'password', aal: 'aal1' }] }));
  return { issued, hashes: await Promise.all(issued.map((i) => fastSha256Hex(i.token))) };
}

describe('session lookup (sqlite-file): the read-only whoami reader', () => {
  it('answers a SQLITE_BUSY through the pool instead of failing or busy-waiting', async () => {
    const h = await openHarness(sqliteFile);
    const proto = statementPrototype();
    const originalGet = proto.get;
    try {
      const identity = await createIdentity(h.store);
      const { token, session } = await h.issue({ identityId: identity.id, methods: [{ method: 'password', aal: 'aal1' }] });
      expect((await h.service.findByToken(token))?.id).toBe(session.id); // the reader is open and warm
      // The reader's statement and the pool's share libsql's prototype: the first call (the reader's) is busy.
      let busy = 0;
      proto.get = function (this: unknown, ...args: unknown[]) {
        if (busy++ === 0) throw Object.assign(new Error('database is locked'), { code: 'SQLITE_BUSY' });
        return originalGet.apply(this, args);
      };
      const client = knexClient(h);
      const acquire = client.acquireConnection;
      let borrowed = 0;
      client.acquireConnection = function (this: KnexClient) {
        borrowed++;
        return acquire.call(this);
      };
      let viaPool: { id: string } | null = null;
      try {
        const counts = await countDriverCalls(h, async () => {
          viaPool = await h.service.findByToken(token);
        });
        expect(counts['statement.get']).toBe(2); // the reader's, busy; then the pool connection's
      } finally {
        client.acquireConnection = acquire;
      }
      expect(busy).toBe(2);
      expect(borrowed).toBe(2); // countDriverCalls borrows one to find the prototypes; the lookup the other
      expect(viaPool!.id).toBe(session.id);
      // any other error is the caller's to see
      proto.get = () => {
        throw Object.assign(new Error('disk I/O error'), { code: 'SQLITE_IOERR' });
      };
      await expect(h.service.findByToken(token)).rejects.toThrow('disk I/O error');
    } finally {
      proto.get = originalGet;
      await h.close();
    }
  });

  it('reads the first lookup of a turn at once and the rest together, in one read transaction begun after the last was asked', async () => {
    const h = await openHarness(sqliteFile);
    const lookup = createSessionLookup(h.orm);
    const file = String(h.orm.config.get('dbName'));
    // another connection, as another process would write: synchronous, committed when run() returns
    const otherWriter = new Database(file);
    try {
      const { issued, hashes } = await issueSessions(h, 3);
      expect((await lookup.findByTokenHash(hashes[0]))?.active).toBe(true); // the reader is open and warm
      const revoke = otherWriter.prepare('UPDATE sessions SET active = 0 WHERE id = ?');

      let answered: Array<ActiveSession | undefined> = [];
      const counts = await countDriverCalls(h, async () => {
        await new Promise((resolve) => setImmediate(resolve)); // a turn of its own
        const asked = [lookup.findByTokenHash(hashes[0]), lookup.findByTokenHash(hashes[1])];
        // committed after two lookups were asked: the first has been read already, the second not
        revoke.run(issued[0].session.id);
        asked.push(lookup.findByTokenHash(hashes[0]), lookup.findByTokenHash(hashes[2]), lookup.findByTokenHash('f'.repeat(64)));
        answered = await Promise.all(asked);
      });
      expect(answered.map((s) => s?.id)).toEqual([issued[0].session.id, issued[1].session.id, issued[0].session.id, issued[2].session.id, undefined]);
      expect(answered.map((s) => s?.active)).toEqual([true, true, false, true, undefined]);
      // the first on its own; the four after it between one BEGIN and COMMIT (and the other writer's run)
      expect(counts).toEqual({ 'db.exec': 2, 'statement.get': 5, 'statement.run': 1 });
      // ... and none left open: a full checkpoint finishes
      const [checkpoint] = await h.orm.em.getConnection().execute<Array<{ busy: number }>>('PRAGMA wal_checkpoint(TRUNCATE)');
      expect(checkpoint.busy).toBe(0);
    } finally {
      otherWriter.close();
      lookup.close();
      await h.close();
    }
  });

  it('sends the rest of a turn\'s lookups through the pool from the first SQLITE_BUSY on', async () => {
    const h = await openHarness(sqliteFile);
    const lookup = createSessionLookup(h.orm);
    const proto = statementPrototype();
    const originalGet = proto.get;
    try {
      const { issued, hashes } = await issueSessions(h, 3);
      expect(await lookup.findByTokenHash(hashes[0])).toBeDefined();
      let calls = 0;
      proto.get = function (this: unknown, ...args: unknown[]) {
        if (++calls === 2) throw Object.assign(new Error('database is locked'), { code: 'SQLITE_BUSY' });
        return originalGet.apply(this, args);
      };
      await new Promise((resolve) => setImmediate(resolve)); // a turn of its own
      const answered = await Promise.all(hashes.map((hash) => lookup.findByTokenHash(hash)));
      expect(answered.map((s) => s?.id)).toEqual(issued.map((i) => i.session.id));
      expect(calls).toBe(4); // the first at once; then the batch: its first busy, so both through the pool
      proto.get = originalGet;
      const [checkpoint] = await h.orm.em.getConnection().execute<Array<{ busy: number }>>('PRAGMA wal_checkpoint(TRUNCATE)');
      expect(checkpoint.busy).toBe(0);
    } finally {
      proto.get = originalGet;
      lookup.close();
      await h.close();
    }
  });

  it('is read-only, holds no read transaction between lookups, and closes with the store', async () => {
    const h = await openHarness(sqliteFile);
    const identity = await createIdentity(h.store);
    const { token } = await h.issue({ identityId: identity.id, methods: [{ method: 'password', aal: 'aal1' }] });
    const scratch = new Database(':memory:');
    const dbProto = Object.getPrototypeOf(scratch) as { prepare: Fn };
    scratch.close();
    const originalPrepare = dbProto.prepare;
    type Reader = { open: boolean; exec(sql: string): void };
    let reader: Reader | undefined;
    dbProto.prepare = function (this: Reader, ...args: unknown[]) {
      reader ??= this;
      return originalPrepare.apply(this, args);
    };
    try {
      expect(await h.service.findByToken(token)).not.toBeNull();
    } finally {
      dbProto.prepare = originalPrepare;
    }
    expect(reader?.open).toBe(true);
    expect(() => reader!.exec('DELETE FROM sessions')).toThrow(/readonly|read-only|query_only|attempt to write/i);
    expect(await h.service.findByToken(token)).not.toBeNull();
    // A statement left open would pin the reader's WAL snapshot: a full checkpoint could not finish (busy = 1).
    const [checkpoint] = await h.orm.em.getConnection().execute<Array<{ busy: number }>>('PRAGMA wal_checkpoint(TRUNCATE)');
    expect(checkpoint.busy).toBe(0);
    try {
      // the database file stays while the store is closed: a lookup now must not open a new reader on it
      await h.store.close();
      expect(reader?.open).toBe(false);
      await expect(h.service.findByToken('ory_st_' + 'b'.repeat(48))).rejects.toThrow(/closed/);
    } finally {
      await h.close();
    }
  });
});

describe('SessionRowMemo', () => {
  const names = sessionColumnIndex(['id', 'identity_id', 'active', 'aal', 'authentication_methods', 'devices', 'authenticated_at', 'issued_at', 'expires_at',
    'created_at', 'updated_at', 'schema_id', 'state', 'state_changed_at', 'traits', 'metadata_public', 'metadata_admin', 'external_id',
    'organization_id', 'identity_created_at', 'identity_updated_at', 'verifiable_addresses', 'recovery_addresses', 'credential_types', 'public_json']);
  /** A row of an identity without a read model (its own columns are read). */
  const values = (traits: unknown) => ['s1', 'i1', 1, 'aal1', '[]', '[]', 1, 1, 2, 1, 1, 'default', 'active', null, traits,
    null, null, null, null, 1, 1, '[]', '[]', '["password"]', null];

  it('compares every column, parsed JSON (PostgreSQL) by content', () => {
    const memo = new SessionRowMemo();
    const a = memo.map('h1', values('{"email":"a@example.com"}'), names);
    expect(memo.map('h1', values('{"email":"a@example.com"}'), names)).toBe(a);
    expect(memo.map('h1', values('{"email":"b@example.com"}'), names)).not.toBe(a);
    const parsed = memo.map('h2', values({ email: 'a@example.com' }), names);
    expect(memo.map('h2', values({ email: 'a@example.com' }), names)).toBe(parsed);
    expect(memo.map('h2', values({ email: 'c@example.com' }), names).identity.traits).toEqual({ email: 'c@example.com' });
    const changed = values('{"email":"b@example.com"}');
    changed[2] = 0; // revoked
    expect(memo.map('h1', changed, names).active).toBe(false);
  });

  it('hands out sessions frozen all the way down (they are shared between requests)', () => {
    const memo = new SessionRowMemo();
    const row = values('{"email":"a@example.com","name":{"first":"A"},"tags":[{"x":1}]}');
    row[4] = '[{"method":"password","aal":"aal1","completed_at":"2026-01-01T00:00:00.000Z"}]';
    row[21] = '[{"id":"a1","value":"a@example.com","via":"email","verified":0,"verified_at":null,"status":"pending","created_at":1,"updated_at":1}]';
    const session = memo.map('h', row, names);
    const traits = session.identity.traits as { name: { first: string }; tags: Array<{ x: number }> };
    for (const part of [session, session.identity, traits, traits.name, traits.tags, traits.tags[0], session.authenticationMethods,
      session.authenticationMethods[0], session.identity.verifiableAddresses, session.identity.verifiableAddresses[0], session.credentialTypes]) {
      expect(Object.isFrozen(part)).toBe(true);
    }
    expect(() => { traits.name.first = 'B'; }).toThrow(TypeError);

    // An identity read from its read model: the parts parsed on first read are frozen too.
    const modelled = values(null);
    modelled[24] = '{"state":"active","traits":{"name":{"first":"A"}},"verifiable_addresses":[{"id":"a1","value":"a@example.com","verified":false,'
      + '"via":"email","status":"pending","created_at":"2026-01-01T00:00:00.001Z","updated_at":"2026-01-01T00:00:00.002Z"}],"recovery_addresses":[],'
      + '"metadata_public":{"tags":["x"]},"created_at":"2026-01-01T00:00:00.000Z","updated_at":"2026-01-01T00:00:00.003Z","organization_id":null}';
    modelled[16] = '{"note":{"by":"admin"}}';
    const fromModel = memo.map('m', modelled, names);
    const identity = fromModel.identity;
    expect(identity.verifiableAddresses[0]).toMatchObject({ value: 'a@example.com', verifiedAt: null, createdAt: new Date('2026-01-01T00:00:00.001Z') });
    for (const part of [fromModel, identity, identity.traits, (identity.traits as { name: object }).name, identity.verifiableAddresses,
      identity.verifiableAddresses[0], identity.recoveryAddresses, identity.metadataPublic, identity.metadataAdmin, (identity.metadataAdmin as { note: object }).note]) {
      expect(Object.isFrozen(part)).toBe(true);
    }
    expect(identity.updatedAt).toEqual(new Date('2026-01-01T00:00:00.003Z'));
    expect({ ...identity }.traits).toEqual({ name: { first: 'A' } }); // a spread copies the parsed values
  });

  it('refuses a statement that lacks a column the mapping reads', () => {
    expect(() => sessionColumnIndex(['id', 'identity_id'])).toThrow(/no column "active"/);
  });

  it('keeps at most its bound, dropping the least recently used', () => {
    const memo = new SessionRowMemo(2);
    const one = memo.map('one', values('{}'), names);
    const two = memo.map('two', values('{}'), names);
    expect(memo.map('one', values('{}'), names)).toBe(one); // one is now the most recent
    memo.map('three', values('{}'), names); // evicts two
    expect(memo.map('one', values('{}'), names)).toBe(one);
    expect(memo.map('two', values('{}'), names)).not.toBe(two);
  });
});
