import type { EntityManager, FilterQuery, MikroORM } from '@mikro-orm/core';
import { Session, type SessionRow } from '../../entities/session.entity.ts';
import type { Config } from '../../config/types.ts';
import { parseDuration } from '../x/duration.ts';
import { randomToken } from '../x/random.ts';
import { deriveLogoutToken, hashToken } from './token-hash.ts';
import { KratosError } from '../errors/kratos-error.ts';
import { loadIdentityRecords } from '../persistence/identity-repository.ts';
import { createSessionLookup, type SessionLookup } from './session-lookup.ts';
import { toSessionJson, type SessionJson } from './session-json.ts';
import {
  computeAal, isSessionActive,
  type ActiveSession, type AuthenticationMethodInput, type AuthenticationMethodRecord, type SessionView, type SessionWithIdentity,
} from './session.ts';

export const SESSION_TOKEN_PREFIX = 'ory_st_';
export const LOGOUT_TOKEN_PREFIX = 'ory_lo_';
/** 48 symbols of [A-Za-z0-9] = 48 * log2(62) ~ 285 bits (Kratos uses 32 ~ 190 bits). */
export const TOKEN_RANDOM_LENGTH = 48;

/** Shape check before hashing: anything else cannot be a token we issued, so no database round trip. */
const SESSION_TOKEN_SHAPE = /^ory_st_[A-Za-z0-9]{32,128}$/;
const LOGOUT_TOKEN_SHAPE = /^ory_lo_[A-Za-z0-9]{32,128}$/;

const MAX_USER_AGENT_LENGTH = 1024;
const MAX_IP_LENGTH = 64;

export interface SessionServiceDeps {
  orm: MikroORM;
  config: Pick<Config, 'session'>;
  /** `<public base>/schemas/<base64url(id)>` builder (the registry's `schemaUrl`). */
  schemaUrl: (schemaId: string) => string;
  now?: () => Date;
}

export interface IssueSessionInput {
  identityId: string;
  methods: AuthenticationMethodInput[];
  device?: { ip?: string; userAgent?: string };
}

export interface IssuedSession {
  session: SessionView;
  /** `ory_st_...` (48 CSPRNG alphanumerics): hand it to the client once; only its SHA-256 is stored. */
  token: string;
  /**
   * `ory_lo_...` (48 alphanumerics derived from the token hash, see `deriveLogoutToken`; `logoutTokenFor` yields the
   * same value later): for the browser logout URL; only its SHA-256 is stored.
   */
  logoutToken: string;
}

export interface SessionListOptions {
  /** true: active flag set and not expired; false: revoked or expired (Kratos's admin filter); undefined: all. */
  active?: boolean;
  limit: number;
  /** Keyset pagination: ids strictly greater (ascending id order). */
  afterId?: string;
}

export interface SessionJsonOutputOptions {
  includeIdentity: boolean;
  /** Admin view: the identity carries `metadata_admin`. */
  admin?: boolean;
}

/**
 * Issues, finds, lists, extends and revokes sessions. Tokens are compared only by looking up their SHA-256 hash and
 * are never logged or stored.
 *
 * Write semantics:
 * - `issue`, `upgrade`: persist only (no flush): the caller commits together with its flow in one flush.
 * - `revoke`, `revokeAllForIdentity`, `deleteAllForIdentity`, `revokeByToken`, `revokeByLogoutToken`, `extend`:
 *   standalone actions that write immediately with ONE native UPDATE (or DELETE) each (auto-committed, or inside the
 *   caller's `em.transactional`); they never call `em.flush()`, so whatever else the caller has pending in `em` is
 *   left untouched.
 * - Reads (`get`, `listForIdentity`, `listAll`, ...) bypass the identity map, so they always see committed rows.
 * - `findByToken` uses no EntityManager at all (see session-lookup.ts).
 */
export class SessionService {
  readonly #deps: SessionServiceDeps;
  readonly #lifespanMs: number;
  readonly #earliestExtendMs: number | undefined;
  #lookup: SessionLookup | undefined;

  constructor(deps: SessionServiceDeps) {
    this.#deps = deps;
    this.#lifespanMs = parseDuration(deps.config.session.lifespan);
    if (!(this.#lifespanMs > 0)) throw new RangeError('session.lifespan must be positive');
    const earliest = deps.config.session.earliest_possible_extend;
    this.#earliestExtendMs = earliest ? parseDuration(earliest) : undefined;
  }

  #now(): Date {
    return this.#deps.now?.() ?? new Date();
  }

  get #sessionLookup(): SessionLookup {
    this.#lookup ??= createSessionLookup(this.#deps.orm);
    return this.#lookup;
  }

  /** Closes the whoami reader (before the ORM closes); lookups after this fail. */
  close(): void {
    this.#lookup?.close();
  }

  /** Creates a session row (persist only; the caller flushes). */
  async issue(em: EntityManager, input: IssueSessionInput): Promise<IssuedSession> {
    if (input.methods.length === 0) throw new TypeError('a session needs at least one authentication method');
    const now = this.#now();
    const token = randomToken(SESSION_TOKEN_PREFIX, TOKEN_RANDOM_LENGTH);
    const tokenHash = await hashToken(token);
    const logoutToken = await deriveLogoutToken(LOGOUT_TOKEN_PREFIX, tokenHash, TOKEN_RANDOM_LENGTH);
    const logoutTokenHash = await hashToken(logoutToken);
    const methods = input.methods.map((m) => methodRecord(m, now));
    const device = {
      id: crypto.randomUUID(),
      ...(input.device?.ip ? { ip_address: input.device.ip.slice(0, MAX_IP_LENGTH) } : {}),
      ...(input.device?.userAgent ? { user_agent: input.device.userAgent.slice(0, MAX_USER_AGENT_LENGTH) } : {}),
    };
    const row = em.create(Session, {
      id: crypto.randomUUID(),
      tokenHash,
      logoutTokenHash,
      identity: input.identityId,
      active: true,
      aal: computeAal(methods),
      authenticationMethods: methods,
      devices: [device],
      authenticatedAt: now,
      issuedAt: now,
      expiresAt: new Date(now.getTime() + this.#lifespanMs),
      createdAt: now,
      updatedAt: now,
    });
    em.persist(row);
    return { session: viewOf(row), token, logoutToken };
  }

  /**
   * Appends an authentication method (second factor, refresh), recomputes the AAL and sets authenticated_at = now.
   * Persist only (the caller flushes). Returns null when the session does not exist.
   */
  async upgrade(em: EntityManager, sessionId: string, method: AuthenticationMethodInput): Promise<SessionView | null> {
    const row = await em.findOne(Session, { id: sessionId });
    if (!row) return null;
    const now = this.#now();
    const methods = [...row.authenticationMethods, methodRecord(method, now)];
    em.assign(row, { authenticationMethods: methods, aal: computeAal(methods), authenticatedAt: now, updatedAt: now });
    em.persist(row);
    return viewOf(row);
  }

  /**
   * The `whoami` hot path: one prepared statement by token hash (session + identity + addresses), no ORM.
   * Null when the token is malformed or unknown, the session revoked or expired, or the identity inactive.
   */
  async findByToken(token: string): Promise<ActiveSession | null> {
    if (typeof token !== 'string' || !SESSION_TOKEN_SHAPE.test(token)) return null;
    const found = await this.#sessionLookup.findByTokenHash(await hashToken(token));
    if (!found || !isSessionActive(found, this.#now())) return null;
    return found;
  }

  toSessionJson(session: SessionView | SessionWithIdentity, options: SessionJsonOutputOptions): SessionJson {
    return toSessionJson(session, { schemaUrl: this.#deps.schemaUrl, includeIdentity: options.includeIdentity, admin: options.admin });
  }

  /** Whether a loaded session is usable right now (active flag, expiry, identity state when attached). */
  isActive(session: SessionView | SessionWithIdentity): boolean {
    return isSessionActive(session, this.#now());
  }

  async get(em: EntityManager, id: string): Promise<SessionView | null> {
    if (!isUuid(id)) return null;
    const row = await em.findOne(Session, { id }, { disableIdentityMap: true });
    return row ? viewOf(row) : null;
  }

  /** Adds each session's identity (one batch load; credentials are loaded but never serialized by toSessionJson). */
  async attachIdentities(em: EntityManager, sessions: SessionView[]): Promise<SessionWithIdentity[]> {
    const records = await loadIdentityRecords(em, [...new Set(sessions.map((s) => s.identityId))]);
    const byId = new Map(records.map((r) => [r.id, r]));
    return sessions.flatMap((s) => {
      const identity = byId.get(s.identityId);
      return identity ? [{ ...s, identity }] : [];
    });
  }

  /** Sessions of one identity, ascending id (keyset). */
  async listForIdentity(
    em: EntityManager,
    identityId: string,
    options: SessionListOptions & { exceptSessionId?: string },
  ): Promise<SessionView[]> {
    if (!isUuid(identityId)) return [];
    const idFilter: Record<string, string> = {};
    if (options.afterId) idFilter.$gt = options.afterId;
    if (options.exceptSessionId) idFilter.$ne = options.exceptSessionId;
    const where = {
      identity: identityId,
      ...(Object.keys(idFilter).length > 0 ? { id: idFilter } : {}),
      ...this.#activeFilter(options.active),
    } as FilterQuery<SessionRow>;
    const rows = await em.find(Session, where, { orderBy: { id: 'asc' }, limit: options.limit, disableIdentityMap: true });
    return rows.map(viewOf);
  }

  /** All sessions (admin list), ascending id (keyset). */
  async listAll(em: EntityManager, options: SessionListOptions): Promise<SessionView[]> {
    const where = {
      ...(options.afterId ? { id: { $gt: options.afterId } } : {}),
      ...this.#activeFilter(options.active),
    } as FilterQuery<SessionRow>;
    const rows = await em.find(Session, where, { orderBy: { id: 'asc' }, limit: options.limit, disableIdentityMap: true });
    return rows.map(viewOf);
  }

  /**
   * Sets active = false. Returns whether the session existed (and, with `identityId`, belongs to that identity:
   * self-service callers must pass it so nobody can end someone else's session). Writes immediately.
   */
  async revoke(em: EntityManager, id: string, options: { identityId?: string } = {}): Promise<boolean> {
    if (!isUuid(id)) return false;
    const where = { id, ...(options.identityId ? { identity: options.identityId } : {}) } as FilterQuery<SessionRow>;
    const affected = await em.nativeUpdate(Session, where, { active: false, updatedAt: this.#now() });
    return affected > 0;
  }

  /** Ends every active session of an identity except `exceptSessionId`; returns how many were ended. Writes immediately. */
  async revokeAllForIdentity(em: EntityManager, identityId: string, options: { exceptSessionId?: string } = {}): Promise<number> {
    if (!isUuid(identityId)) return 0;
    const where = {
      identity: identityId,
      active: true,
      // A non-uuid id matches no session, so it excepts nothing (and PostgreSQL would reject it as a uuid).
      ...(options.exceptSessionId && isUuid(options.exceptSessionId) ? { id: { $ne: options.exceptSessionId } } : {}),
    } as FilterQuery<SessionRow>;
    return em.nativeUpdate(Session, where, { active: false, updatedAt: this.#now() });
  }

  /**
   * Deletes every session row of an identity (Kratos `DELETE /admin/identities/{id}/sessions` removes them
   * permanently); returns how many were deleted. Writes immediately.
   */
  async deleteAllForIdentity(em: EntityManager, identityId: string): Promise<number> {
    if (!isUuid(identityId)) return 0;
    return em.nativeDelete(Session, { identity: identityId } as FilterQuery<SessionRow>);
  }

  /**
   * The session's logout token (for `GET /self-service/logout/browser`): the same value `issue` returned, re-derived
   * from the stored session-token hash (one primary-key read, no write), so repeated calls yield the same logout URL.
   * Throws 401 `session_inactive` when the session does not exist.
   */
  async logoutTokenFor(em: EntityManager, sessionId: string): Promise<string> {
    const row = isUuid(sessionId)
      ? await em.findOne(Session, { id: sessionId }, { fields: ['id', 'tokenHash'], disableIdentityMap: true })
      : null;
    if (!row) throw new KratosError(401, 'session_inactive', { reason: 'No active session was found in this request.' });
    return deriveLogoutToken(LOGOUT_TOKEN_PREFIX, row.tokenHash, TOKEN_RANDOM_LENGTH);
  }

  /**
   * API logout (`DELETE /self-service/logout/api`): ends the session holding this session token. Returns the session
   * (as it was before) or null for an unknown token. Writes immediately.
   */
  async revokeByToken(em: EntityManager, token: string): Promise<SessionView | null> {
    if (typeof token !== 'string' || !SESSION_TOKEN_SHAPE.test(token)) return null;
    return this.#revokeWhere(em, { tokenHash: await hashToken(token) });
  }

  /**
   * Browser logout (`GET /self-service/logout?token=`): ends the session holding this logout token. With `sessionId`
   * (the caller's cookie session) a token of another session is refused (null; Kratos answers 403). Writes immediately.
   */
  async revokeByLogoutToken(em: EntityManager, logoutToken: string, options: { sessionId?: string } = {}): Promise<SessionView | null> {
    if (typeof logoutToken !== 'string' || !LOGOUT_TOKEN_SHAPE.test(logoutToken)) return null;
    if (options.sessionId !== undefined && !isUuid(options.sessionId)) return null;
    return this.#revokeWhere(em, {
      logoutTokenHash: await hashToken(logoutToken),
      ...(options.sessionId ? { id: options.sessionId } : {}),
    });
  }

  async #revokeWhere(em: EntityManager, where: { tokenHash?: string; logoutTokenHash?: string; id?: string }): Promise<SessionView | null> {
    const row = await em.findOne(Session, where as FilterQuery<SessionRow>, { disableIdentityMap: true });
    if (!row) return null;
    await em.nativeUpdate(Session, { id: row.id }, { active: false, updatedAt: this.#now() });
    return viewOf(row);
  }

  /**
   * Kratos `PATCH /admin/sessions/{id}/extend`: expires_at = now + lifespan, but when `earliest_possible_extend` is
   * set only once `now >= expires_at - earliest_possible_extend` (otherwise the session is returned unchanged).
   * Returns null when the session does not exist. Writes immediately (one UPDATE) when it extends.
   */
  async extend(em: EntityManager, id: string): Promise<SessionView | null> {
    if (!isUuid(id)) return null;
    const row = await em.findOne(Session, { id }, { disableIdentityMap: true });
    if (!row) return null;
    const view = viewOf(row);
    const now = this.#now();
    if (this.#earliestExtendMs !== undefined && now.getTime() < view.expiresAt.getTime() - this.#earliestExtendMs) {
      return view;
    }
    const expiresAt = new Date(now.getTime() + this.#lifespanMs);
    await em.nativeUpdate(Session, { id }, { expiresAt, updatedAt: now });
    return { ...view, expiresAt, updatedAt: now };
  }

  #activeFilter(active: boolean | undefined): Record<string, unknown> {
    if (active === undefined) return {};
    const now = this.#now();
    return active
      ? { active: true, expiresAt: { $gt: now } }
      : { $or: [{ active: false }, { expiresAt: { $lte: now } }] };
  }
}

function methodRecord(input: AuthenticationMethodInput, now: Date): AuthenticationMethodRecord {
  return {
    method: input.method,
    aal: input.aal,
    completed_at: now.toISOString(),
    ...(input.provider ? { provider: input.provider } : {}),
  };
}

const UUID_SHAPE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** PostgreSQL rejects non-uuid text for uuid columns with an error: answer "not found" instead. */
function isUuid(value: string): boolean {
  return typeof value === 'string' && UUID_SHAPE.test(value);
}

function viewOf(row: SessionRow): SessionView {
  return {
    id: row.id,
    identityId: row.identity,
    active: row.active,
    aal: row.aal,
    authenticationMethods: [...row.authenticationMethods],
    devices: [...row.devices],
    authenticatedAt: row.authenticatedAt,
    issuedAt: row.issuedAt,
    expiresAt: row.expiresAt,
    createdAt: row.createdAt,
    updatedAt: row.updatedAt,
  };
}
