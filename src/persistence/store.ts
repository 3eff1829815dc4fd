/**
 * idflow's own storage interfaces, one repository per domain as Kratos's persisters. Domain code, flows and tests
 * depend on these; only src/persistence/ (and entities/) know MikroORM. Two implementations: `sql/` (SQLite and
 * PostgreSQL through MikroORM) and `memory/` (unit tests, no database).
 *
 * Write semantics: outside a transaction every write commits on its own, at once. Inside `transaction(fn)` the writes
 * are all or nothing and reads see them; a write may be sent with the transaction's next statement or at its end (on
 * PostgreSQL blind writes go out together as one statement), so the conflict it meets (StoreConflictError, a
 * UniqueViolationError) may surface from a later call or from `transaction` itself. Reads outside a transaction
 * always see committed data.
 */
import type { IdentityRecord } from '../identity/identity.ts';
import type { CodeReader, CodeRecord } from '../methods/code/code-record.ts';
import type { ActiveSession, AuthenticationMethodRecord, SessionDeviceRecord, SessionView } from '../session/session.ts';

export type FlowKind = 'login' | 'registration' | 'settings' | 'recovery' | 'verification';
export type FlowType = 'api' | 'browser';

/** A self-service flow: its persisted machine snapshot plus the columns queries need. */
export interface FlowRecord {
  id: string;
  kind: FlowKind;
  type: FlowType;
  /** Top-level machine state (Kratos's `state`). */
  state: string;
  requestUrl: string;
  returnTo: string | null;
  csrfToken: string | null;
  identityId: string | null;
  /** The machine's persisted snapshot (plain JSON; nothing secret). */
  snapshot: unknown;
  /** Sealed per-method internal state (challenges, pending changes); never projected, never inspected. */
  internal: string | null;
  issuedAt: Date;
  expiresAt: Date;
  createdAt: Date;
  updatedAt: Date;
  /** Optimistic lock: an update names the version it read and fails when another writer moved it on. */
  version: number;
}

/** A stored session row: the view plus the hashes of its tokens. */
export interface SessionRecord extends SessionView {
  tokenHash: string;
  logoutTokenHash: string;
}

export type CourierStatus = 'queued' | 'processing' | 'sent' | 'abandoned';

/** An outbox row, rendered when it was queued. */
export interface CourierMessageRecord {
  id: string;
  type: 'email' | 'phone';
  status: CourierStatus;
  recipient: string;
  subject: string;
  body: string;
  htmlBody: string | null;
  templateType: string;
  templateData: Record<string, unknown> | null;
  channel: string | null;
  traceContext: Record<string, string> | null;
  sendCount: number;
  nextAttemptAt: Date;
  leaseUntil: Date | null;
  leasedBy: string | null;
  createdAt: Date;
  updatedAt: Date;
}

export interface CourierDispatchRecord {
  id: string;
  messageId: string;
  status: 'failed' | 'success';
  error: unknown;
  createdAt: Date;
  updatedAt: Date;
}

/** A message the sender claimed: what it needs to deliver it. */
export type ClaimedMessage = Pick<CourierMessageRecord,
  'id' | 'recipient' | 'subject' | 'body' | 'htmlBody' | 'templateType' | 'templateData' | 'traceContext' | 'sendCount' | 'createdAt' | 'channel'>;

/** An error stored for a browser's error UI (`GET /self-service/errors?id=`). */
export interface SelfServiceErrorRecord {
  id: string;
  error: unknown;
  csrfToken: string | null;
  seenAt: Date | null;
  createdAt: Date;
  updatedAt: Date;
}

/** The flow row was changed by a concurrent writer (optimistic lock) or a unique index refused a write. */
export class StoreConflictError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'StoreConflictError';
  }
}

/** A unique index refused a write (identifier or address taken by a concurrent writer). */
export class UniqueViolationError extends StoreConflictError {
  constructor(cause?: unknown) {
    super('a unique constraint refused the write', { cause });
    this.name = 'UniqueViolationError';
  }
}

export interface IdentityPageQuery {
  limit: number;
  afterId?: string;
  ids?: string[];
  credentialsIdentifier?: string;
}

export interface IdentityRepository {
  get(id: string): Promise<IdentityRecord | null>;
  getMany(ids: string[]): Promise<IdentityRecord[]>;
  exists(id: string): Promise<boolean>;
  /** The identity owning a credential identifier of this type (`password`/`webauthn`/`code`/`oidc` ...). */
  findByCredentialIdentifier(type: string, identifier: string): Promise<IdentityRecord | null>;
  /**
   * Only the credential behind an identifier: its identity's id and its config, in one query. A login checks the
   * secret against this first and loads the identity only when it matched, so a wrong password costs the same for an
   * identifier that exists as for one that does not (one lookup, one hash verification).
   */
  findCredentialByIdentifier(type: string, identifier: string): Promise<{ identityId: string; config: Record<string, unknown> } | null>;
  findIdByExternalId(externalId: string): Promise<string | undefined>;
  /** The identity holding this verifiable (or recovery) address. */
  findIdByAddress(kind: 'verifiable' | 'recovery', via: 'email' | 'sms', value: string): Promise<string | undefined>;
  /** Owners of any of these identifiers, except `exceptIdentityId`. */
  identifierOwners(identifiers: Array<{ type: string; identifier: string }>, exceptIdentityId?: string): Promise<string[]>;
  /** Owners of any of these addresses (verifiable or recovery), except `exceptIdentityId`. */
  addressOwners(addresses: Array<{ via: string; value: string }>, exceptIdentityId?: string): Promise<string[]>;
  /** Identity ids, ascending (keyset pagination). */
  listIds(query: IdentityPageQuery): Promise<string[]>;
  /**
   * The stored config of an identity's credential of this type (null without one). Inside a transaction the row stays
   * locked until the transaction ends (PostgreSQL `FOR UPDATE`; SQLite's writer lock holds everything), so a
   * compare-then-write of a single-use secret cannot interleave with another.
   */
  lockCredentialConfig(identityId: string, type: string): Promise<Record<string, unknown> | null>;
  /** Makes the stored identity equal to `record` (insert or diff-update). Throws UniqueViolationError on clashes. */
  save(record: IdentityRecord, isNew: boolean): Promise<void>;
  delete(id: string): Promise<boolean>;
}

/** One transition of a flow's machine (its audit trail); never an event's payload. */
export interface FlowTransitionRecord {
  flowId: string;
  /** The flow version the submit moved on from; `position` orders the rows of one submit. */
  flowVersion: number;
  position: number;
  event: string;
  from: string;
  to: string;
  /** The method submitted, when the transition came from a submit. */
  method: string | null;
  at: Date;
}

export interface FlowRepository {
  get(id: string): Promise<FlowRecord | null>;
  insert(flow: FlowRecord): Promise<void>;
  /** Writes `flow` (its version + 1) if the stored version is still `flow.version`; else StoreConflictError. */
  update(flow: FlowRecord): Promise<FlowRecord>;
  /** Adds transitions to a flow's history. */
  appendHistory(rows: FlowTransitionRecord[]): Promise<void>;
  /** A flow's history, oldest first. */
  history(flowId: string): Promise<FlowTransitionRecord[]>;
  /** Deletes a flow and its history; whether the flow existed. */
  delete(id: string): Promise<boolean>;
}

export interface SessionListQuery {
  /** true: active flag set and not expired at `now`; false: revoked or expired; undefined: all. */
  active?: boolean;
  now: Date;
  limit: number;
  afterId?: string;
  exceptSessionId?: string;
}

export interface SessionRepository {
  insert(session: SessionRecord): Promise<void>;
  get(id: string): Promise<SessionRecord | null>;
  findByTokenHash(tokenHash: string): Promise<SessionRecord | null>;
  findByLogoutTokenHash(logoutTokenHash: string): Promise<SessionRecord | null>;
  listForIdentity(identityId: string, query: SessionListQuery): Promise<SessionRecord[]>;
  listAll(query: SessionListQuery): Promise<SessionRecord[]>;
  /** Sets `active = false`; returns whether a row matched. */
  deactivate(where: { id: string; identityId?: string }, at: Date): Promise<boolean>;
  /** Ends every active session of an identity except one; returns how many. */
  deactivateAllForIdentity(identityId: string, at: Date, exceptSessionId?: string): Promise<number>;
  deleteAllForIdentity(identityId: string): Promise<number>;
  /** Kratos manageSessions `disable`: ends the selected sessions; counts only those that were active before. */
  deactivateSelected(selection: SessionSelection, at: Date): Promise<number>;
  /** Kratos manageSessions `delete`: removes the selected rows; returns how many. */
  deleteSelected(selection: SessionSelection): Promise<number>;
  update(id: string, patch: SessionPatch, at: Date): Promise<void>;
}

/**
 * Sessions picked by id, by identity, or any `limit` of them (`all`: Kratos's network-wide wildcard, one bounded batch
 * per call). Ids that are not UUIDs match nothing.
 */
export type SessionSelection =
  | { sessionIds: readonly string[] }
  | { identityIds: readonly string[] }
  | { all: true; limit: number };

/** What may change in a stored session (extension, step-up, refresh: its token too). */
export type SessionPatch = Partial<Pick<SessionRecord,
  'expiresAt' | 'authenticationMethods' | 'aal' | 'authenticatedAt' | 'issuedAt' | 'devices' | 'tokenHash' | 'logoutTokenHash'>>;

/** The whoami hot path: one lookup by token hash, joined with the identity (no credential configs). */
export interface SessionLookup {
  findByTokenHash(tokenHash: string): Promise<ActiveSession | undefined>;
}

export interface CodeRepository extends CodeReader {
  insert(code: CodeRecord): Promise<void>;
  update(id: string, patch: Partial<Pick<CodeRecord, 'failedAttempts' | 'usedAt'>>, at: Date): Promise<void>;
  /** Marks every unused code of a flow used (a new code voids the earlier ones). */
  voidUnusedForFlow(flowId: string, at: Date): Promise<void>;
  /**
   * Marks every unused code of this purpose sent to this address used, whichever flow it belongs to: a new code for
   * an address voids the ones it was sent before (issue 15), so only the latest mail works.
   */
  voidUnusedForAddress(purpose: CodeRecord['purpose'], address: string, at: Date): Promise<void>;
}

/** A session token exchange (Kratos's exchanger): hashes of its codes, the session once the flow issued one. */
export interface TokenExchangeRecord {
  id: string;
  flowId: string;
  initCodeHash: string;
  returnToCodeHash: string | null;
  sessionId: string | null;
  expiresAt: Date;
  usedAt: Date | null;
  createdAt: Date;
  updatedAt: Date;
}

export interface TokenExchangeRepository {
  insert(record: TokenExchangeRecord): Promise<void>;
  findByInitCodeHash(hash: string): Promise<TokenExchangeRecord | null>;
  findForFlow(flowId: string): Promise<TokenExchangeRecord | null>;
  /** The flow continued in another one (a login that became a sign-up): the exchange follows it. */
  moveToFlow(oldFlowId: string, newFlowId: string, at: Date): Promise<void>;
  /** The flow issued a session: the return_to code's hash and the session wait for the exchange. */
  complete(flowId: string, returnToCodeHash: string, sessionId: string, expiresAt: Date, at: Date): Promise<void>;
  /** Uses the exchange up; false when it was used already (a concurrent exchange won). */
  markUsed(id: string, at: Date): Promise<boolean>;
}

export interface CourierMessageQuery {
  limit: number;
  status?: CourierStatus;
  recipient?: string;
  /** Keyset: messages strictly before this (createdAt desc, id desc). */
  before?: { createdAt: Date; id: string };
}

export interface CourierRepository {
  insert(message: CourierMessageRecord): Promise<void>;
  /** Removes a message written in this transaction that must not be sent (see MessageDraft.drop). */
  discard(id: string): Promise<void>;
  get(id: string): Promise<CourierMessageRecord | null>;
  list(query: CourierMessageQuery): Promise<CourierMessageRecord[]>;
  dispatchesOf(messageIds: string[]): Promise<CourierDispatchRecord[]>;
  /**
   * Claims up to `limit` due messages for `worker` until `leaseUntil`, atomically: a claim sets `processing`, the
   * lease and counts the attempt (`sendCount`); a message whose lease ran out is claimable again.
   */
  claim(worker: string, limit: number, now: Date, leaseUntil: Date): Promise<ClaimedMessage[]>;
  /** Extends the leases `worker` still holds on `ids`; returns the ids it still held. */
  renew(worker: string, ids: string[], leaseUntil: Date): Promise<string[]>;
  /** Returns claimed-but-unattempted messages to the queue, due now, without counting the attempt. */
  release(worker: string, ids: string[], now: Date): Promise<number>;
  /**
   * Records one attempt's outcome and the message's next state, fenced by (`worker`, `sendCount`). Returns false when
   * the lease was lost meanwhile (the dispatch is recorded all the same).
   */
  record(
    message: { id: string; sendCount: number },
    worker: string,
    outcome: { status: 'sent' | 'queued' | 'abandoned'; nextAttemptAt?: Date; error?: string },
    now: Date,
  ): Promise<boolean>;
  /** Makes every queued message due now (after an outage ended); returns how many. */
  expedite(now: Date): Promise<number>;
  countByStatus(): Promise<Record<string, number>>;
}

export interface ErrorRepository {
  insert(error: SelfServiceErrorRecord): Promise<void>;
  get(id: string): Promise<SelfServiceErrorRecord | null>;
  markSeen(id: string, at: Date): Promise<void>;
}

/** Everything a unit of work can read and write. */
export interface Repositories {
  identities: IdentityRepository;
  flows: FlowRepository;
  sessions: SessionRepository;
  codes: CodeRepository;
  courier: CourierRepository;
  errors: ErrorRepository;
  tokenExchanges: TokenExchangeRepository;
}

export interface Transaction extends Repositories {
  /** Runs after the transaction committed (never when it rolled back), e.g. to wake the courier's sender. */
  afterCommit(fn: () => void): void;
}

export interface Store extends Repositories {
  readonly dialect: 'sqlite' | 'postgresql' | 'memory';
  /** Runs `fn` in one transaction: all its writes commit together or none does. */
  transaction<T>(fn: (tx: Transaction) => Promise<T>): Promise<T>;
  /** The whoami lookup (its own fast path per backend). */
  sessionLookup: SessionLookup;
  /** Resolves when the database answers (readiness). */
  ping(): Promise<void>;
  close(): Promise<void>;
}

export type { AuthenticationMethodRecord, CodeRecord, SessionDeviceRecord };
