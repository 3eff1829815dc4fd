/**
 * The in-memory store's tables and its unit of work. Rows are frozen once stored and never changed in place: a
 * write replaces the row. A transaction works on a copy-on-write view of the committed tables (its first write to a
 * table copies that table's Map, not its rows), so nobody else sees its writes before it commits, and a rollback
 * is dropping the view.
 */
import type { CredentialType, IdentityRecord } from '../../identity/identity.ts';
import {
  UniqueViolationError,
  type CodeRecord, type CourierDispatchRecord, type CourierMessageRecord, type FlowRecord, type FlowTransitionRecord, type SelfServiceErrorRecord,
  type TokenExchangeRecord,
  type SessionRecord,
} from '../store.ts';

/** One row of `identity_credential_identifiers`, kept with its credential. */
export interface IdentifierRow {
  identifier: string;
  createdAt: Date;
}

export interface CredentialRow {
  id: string;
  type: CredentialType;
  config: Record<string, unknown>;
  version: number;
  createdAt: Date;
  updatedAt: Date;
  identifiers: IdentifierRow[];
}

/** An identity with its credentials and addresses, in the order they were stored (reads sort like the SQL store). */
export interface IdentityRow extends Omit<IdentityRecord, 'credentials'> {
  credentials: CredentialRow[];
}

export interface Tables {
  identities: Map<string, IdentityRow>;
  flows: Map<string, FlowRecord>;
  flowTransitions: Map<string, FlowTransitionRecord>;
  sessions: Map<string, SessionRecord>;
  codes: Map<string, CodeRecord>;
  courier: Map<string, CourierMessageRecord>;
  dispatches: Map<string, CourierDispatchRecord>;
  errors: Map<string, SelfServiceErrorRecord>;
  tokenExchanges: Map<string, TokenExchangeRecord>;
}

export type TableName = keyof Tables;

export function emptyTables(): Tables {
  return {
    identities: new Map(), flows: new Map(), flowTransitions: new Map(), sessions: new Map(), codes: new Map(), courier: new Map(),
    dispatches: new Map(), errors: new Map(), tokenExchanges: new Map(),
  };
}

/**
 * What one unit of work reads and writes. Reads see the tables it was opened on plus its own writes. With
 * `copyOnWrite`, the first write to a table copies its Map, so the tables it was opened on never change; without,
 * it writes them in place (an autocommit write, which holds the writer lock and checks before it changes anything).
 */
export class Working {
  readonly #tables: Tables;
  readonly #owned = new Set<TableName>();
  readonly #copyOnWrite: boolean;

  constructor(base: Tables, copyOnWrite: boolean) {
    this.#tables = { ...base };
    this.#copyOnWrite = copyOnWrite;
  }

  read<K extends TableName>(name: K): Tables[K] {
    return this.#tables[name];
  }

  write<K extends TableName>(name: K): Tables[K] {
    if (this.#copyOnWrite && !this.#owned.has(name)) {
      this.#tables[name] = new Map(this.#tables[name] as Map<string, unknown>) as Tables[K];
      this.#owned.add(name);
    }
    return this.#tables[name];
  }

  /** The tables with every write made through this view. */
  get tables(): Tables {
    return this.#tables;
  }
}

// ---- values in and out ---------------------------------------------------------------------------------------

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
/** PostgreSQL rejects non-uuid text for uuid columns, the SQL store answers "nothing": so does this one. */
export const isUuid = (id: unknown): id is string => typeof id === 'string' && UUID.test(id);

/** A JSON column: what the SQL store would read back (a copy; `undefined` members dropped, a Date as its string). */
export function json<T>(value: T): T {
  if (value === undefined || value === null) return null as T;
  return JSON.parse(JSON.stringify(value)) as T;
}

export const date = (value: Date): Date => new Date(value);
export const nullableDate = (value: Date | null | undefined): Date | null => (value === null || value === undefined ? null : new Date(value));

/** A copy for a caller: nothing it does to the result reaches a stored row. */
export const copy = <T>(row: T): T => structuredClone(row);

export function deepFreeze<T>(value: T): T {
  if (value && typeof value === 'object' && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const inner of Object.values(value as object)) deepFreeze(inner);
  }
  return value;
}

/** A unique index (or primary key) refused the write, as the SQL store reports it. */
export function uniqueViolation(index: string, key: string): UniqueViolationError {
  return new UniqueViolationError(new Error(`memory store: duplicate key ${key} violates unique index "${index}"`));
}

/** A foreign key refused the write (the SQL store passes the driver's error through, not a UniqueViolationError). */
export function foreignKeyViolation(table: string, column: string, value: string): Error {
  return new Error(`memory store: insert into "${table}" violates its foreign key: ${column} ${value} does not exist`);
}

export const byString = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);
export const byTime = (a: Date, b: Date) => a.getTime() - b.getTime();

/** Where a repository reads and writes: the committed tables (autocommit), or one transaction's view. */
export interface Source {
  /** Outside a transaction the committed tables; inside, the transaction's view (its own writes included). */
  read<K extends TableName>(name: K): Tables[K];
  /** Applies one write, all or nothing: `op` checks everything before it changes anything. */
  write<T>(op: (w: Working) => T): Promise<T>;
}
