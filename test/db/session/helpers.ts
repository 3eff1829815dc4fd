import type { EntityManager } from '@mikro-orm/core';
import type { Orm } from '../../../src/persistence/orm.ts';
import { openStore } from '../../../src/persistence/open-store.ts';
import type { SqlStore } from '../../../src/persistence/sql/sql-store.ts';
import type { Store } from '../../../src/persistence/store.ts';
import type { IdentityRecord } from '../../../src/identity/identity.ts';
import type { SessionConfig } from '../../../config/types.ts';
import { SessionService, type IssueSessionInput, type IssuedSession } from '../../../src/session/session-service.ts';
import type { TestDatabase } from '../../support/databases.ts';

export const schemaUrl = (id: string) => `https://idflow.test/schemas/${Buffer.from(id).toString('base64url')}`;

export function sessionConfig(overrides: Partial<SessionConfig> = {}): { session: SessionConfig } {
  return {
    session: {
      lifespan: '24h',
      cookie: { name: 'ory_kratos_session', path: '/', same_site: 'Lax', persistent: true },
      whoami: { required_aal: 'highest_available' },
      ...overrides,
    },
  };
}

/** A controllable clock shared by a service and its test. */
export class Clock {
  current: Date;
  constructor(start = new Date()) {
    this.current = new Date(start.getTime());
  }
  now = (): Date => new Date(this.current.getTime());
  advance(ms: number): void {
    this.current = new Date(this.current.getTime() + ms);
  }
}

export interface Harness {
  store: SqlStore;
  /** The store's ORM, for tests that inspect or change raw rows. */
  orm: Orm;
  clock: Clock;
  service: SessionService;
  /** A fresh EntityManager on the store's ORM (raw rows only). */
  em(): EntityManager;
  /** `service.issue` and the caller's insert of the issued row (what a flow does in its transaction). */
  issue(input: IssueSessionInput, service?: SessionService): Promise<IssuedSession>;
  close(): Promise<void>;
}

export async function openHarness(db: TestDatabase, overrides: Partial<SessionConfig> = {}): Promise<Harness> {
  const created = await db.create();
  const { store } = await openStore(created.dsn, { migrations: 'auto' });
  const clock = new Clock();
  const service = new SessionService({ store, config: sessionConfig(overrides), schemaUrl, clock });
  return {
    store,
    orm: store.orm,
    clock,
    service,
    em: () => store.orm.em.fork(),
    async issue(input, via = service) {
      const issued = await via.issue(input);
      await store.sessions.insert(issued.record);
      return issued;
    },
    async close() {
      await store.close();
      await created.drop();
    },
  };
}

let counter = 0;

/** Saves an identity with two verifiable addresses and one recovery address; returns its record. */
export async function createIdentity(
  store: Pick<Store, 'identities'>,
  init: { state?: 'active' | 'inactive'; metadataAdmin?: unknown; extraCredentials?: Array<'totp' | 'lookup_secret'> } = {},
): Promise<IdentityRecord> {
  const now = new Date();
  const tag = `${Date.now().toString(36)}-${++counter}-${Math.random().toString(36).slice(2, 8)}`;
  const email = `user-${tag}@example.com`;
  const alt = `alt-${tag}@example.com`;
  const record: IdentityRecord = {
    id: crypto.randomUUID(),
    schemaId: 'default',
    state: init.state ?? 'active',
    stateChangedAt: null,
    traits: { email, name: { first: 'Ada', last: 'Lovelace' } },
    metadataPublic: { plan: 'free' },
    metadataAdmin: init.metadataAdmin ?? { internal: 'secret' },
    externalId: null,
    organizationId: null,
    createdAt: now,
    updatedAt: now,
    verifiableAddresses: [
      { id: crypto.randomUUID(), value: email, via: 'email', verified: true, verifiedAt: now, status: 'completed', createdAt: now, updatedAt: now },
      { id: crypto.randomUUID(), value: alt, via: 'email', verified: false, verifiedAt: null, status: 'pending', createdAt: new Date(now.getTime() + 1), updatedAt: now },
    ],
    recoveryAddresses: [{ id: crypto.randomUUID(), value: email, via: 'email', createdAt: now, updatedAt: now }],
    credentials: [{
      id: crypto.randomUUID(), type: 'password', identifiers: [email], config: { hashed_password: '$argon2id$v=19$m=64,t=1,p=1$c2FsdHNhbHQ$aGFzaGhhc2g' },
      version: 0, createdAt: now, updatedAt: now,
    }, ...(init.extraCredentials ?? []).map((type) => ({
      id: crypto.randomUUID(), type, identifiers: [] as string[], config: { secret: 'never-exposed' }, version: 0, createdAt: now, updatedAt: now,
    }))],
  };
  await store.identities.save(record, true);
  return record;
}

export const HOUR = 3_600_000;
