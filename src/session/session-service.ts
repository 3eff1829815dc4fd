import type { Config } from '../../config/types.ts';
import type { Repositories, SessionPatch, SessionRecord, SessionSelection, Store } from '../persistence/store.ts';
import type { Clock } from '../x/clock.ts';
import { parseDuration } from '../x/duration.ts';
import { randomToken } from '../x/random.ts';
import { deriveLogoutToken, hashToken } from './token-hash.ts';
import { sessionInactive } from '../errors/kratos-error.ts';
import { toSessionJson, type SessionJson } from './session-json.ts';
import {
  computeAal, isSessionActive,
  type ActiveSession, type AuthenticationMethodInput, type AuthenticationMethodRecord, type SessionDeviceRecord, type SessionView, type SessionWithIdentity,
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
  store: Pick<Store, 'sessions' | 'identities' | 'sessionLookup'>;
  config: Pick<Config, 'session'>;
  /** `<public base>/schemas/<base64url(id)>` builder (the registry's `schemaUrl`). */
  schemaUrl: (schemaId: string) => string;
  clock: Clock;
}

export interface IssueSessionInput {
  identityId: string;
  methods: AuthenticationMethodInput[];
  device?: { ip?: string; userAgent?: string };
}

export interface IssuedSession {
  session: SessionView;
  /** The row to insert (hashes only), in the same transaction as whatever authenticated the user. */
  record: SessionRecord;
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
  exceptSessionId?: string;
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
 * `issue` and `upgrade` write nothing: they return the row (or the change) for the caller to write in the same
 * transaction as the flow that authenticated the user. Every other write is one statement of its own.
 * `findByToken` is the whoami hot path (see the store's session lookup).
 */
export class SessionService {
  readonly #deps: SessionServiceDeps;
  readonly #lifespanMs: number;
  readonly #earliestExtendMs: number | undefined;
  readonly #idleMs: number | undefined;

  constructor(deps: SessionServiceDeps) {
    this.#deps = deps;
    this.#lifespanMs = parseDuration(deps.config.session.lifespan);
    if (!(this.#lifespanMs > 0)) throw new RangeError('session.lifespan must be positive');
    const earliest = deps.config.session.earliest_possible_extend;
    this.#earliestExtendMs = earliest ? parseDuration(earliest) : undefined;
    const idle = deps.config.session.inactivity_timeout;
    this.#idleMs = idle ? parseDuration(idle) : undefined;
    if (this.#idleMs !== undefined && !(this.#idleMs > 0)) throw new RangeError('session.inactivity_timeout must be positive');
  }

  #now(): Date {
    return this.#deps.clock.now();
  }

  /** A new session (nothing written): insert `record` in the caller's transaction, hand `token` to the client once. */
  async issue(input: IssueSessionInput): Promise<IssuedSession> {
    if (input.methods.length === 0) throw new TypeError('a session needs at least one authentication method');
    const now = this.#now();
    const token = randomToken(SESSION_TOKEN_PREFIX, TOKEN_RANDOM_LENGTH);
    const tokenHash = await hashToken(token);
    const logoutToken = await deriveLogoutToken(LOGOUT_TOKEN_PREFIX, tokenHash, TOKEN_RANDOM_LENGTH);
    const logoutTokenHash = await hashToken(logoutToken);
    const methods = input.methods.map((m) => methodRecord(m, now));
    const device = deviceRecord(input.device);
    const record: SessionRecord = {
      id: crypto.randomUUID(),
      tokenHash,
      logoutTokenHash,
      identityId: input.identityId,
      active: true,
      aal: computeAal(methods),
      authenticationMethods: methods,
      devices: [device],
      authenticatedAt: now,
      issuedAt: now,
      expiresAt: new Date(now.getTime() + this.#lifespanMs),
      createdAt: now,
      updatedAt: now,
    };
    return { session: viewOf(record), record, token, logoutToken };
  }

  /**
   * Appends an authentication method (second factor, refresh) to a session: the new method list, AAL and
   * authenticated_at, for the caller to write (`repos.sessions.update`) in its transaction.
   */
  upgrade(session: SessionView, method: AuthenticationMethodInput): Pick<SessionView, 'authenticationMethods' | 'aal' | 'authenticatedAt'> {
    const now = this.#now();
    const methods = [...session.authenticationMethods, methodRecord(method, now)];
    return { authenticationMethods: methods, aal: computeAal(methods), authenticatedAt: now };
  }

  /**
   * A login that proved its identity again on an existing session (an aal2 step-up, a refresh): Kratos's
   * ActivateSession keeps the session, appends the method, and makes it as fresh as a new one — authenticated and
   * issued now, expiring a full lifespan from now, the device recorded. With `rotateToken` the session also gets a new
   * token (returned once). The patch is for the caller's transaction.
   */
  async reactivate(
    session: SessionView, method: AuthenticationMethodInput, options: { device?: { ip?: string; userAgent?: string }; rotateToken?: boolean } = {},
  ): Promise<{ patch: SessionPatch; token?: string }> {
    const now = this.#now();
    const methods = [...session.authenticationMethods, methodRecord(method, now)];
    const patch: SessionPatch = {
      authenticationMethods: methods,
      aal: computeAal(methods),
      authenticatedAt: now,
      issuedAt: now,
      expiresAt: new Date(now.getTime() + this.#lifespanMs),
      devices: [...session.devices, deviceRecord(options.device)],
    };
    if (!options.rotateToken) return { patch };
    // A new token for the same session: the old token (and its logout token) stop working when the patch is written.
    const token = randomToken(SESSION_TOKEN_PREFIX, TOKEN_RANDOM_LENGTH);
    patch.tokenHash = await hashToken(token);
    patch.logoutTokenHash = await hashToken(await deriveLogoutToken(LOGOUT_TOKEN_PREFIX, patch.tokenHash, TOKEN_RANDOM_LENGTH));
    return { patch, token };
  }

  /** A new token for a session whose token nobody holds (a native app's token exchange); the old one stops working. */
  async newToken(): Promise<{ patch: SessionPatch; token: string }> {
    const token = randomToken(SESSION_TOKEN_PREFIX, TOKEN_RANDOM_LENGTH);
    const tokenHash = await hashToken(token);
    const logoutTokenHash = await hashToken(await deriveLogoutToken(LOGOUT_TOKEN_PREFIX, tokenHash, TOKEN_RANDOM_LENGTH));
    return { patch: { tokenHash, logoutTokenHash }, token };
  }

  /**
   * The `whoami` hot path: one prepared statement by token hash (session + identity + addresses), no ORM.
   * Null when the token is malformed or unknown, the session revoked or expired, or the identity inactive.
   */
  async findByToken(token: string): Promise<ActiveSession | null> {
    if (typeof token !== 'string' || !SESSION_TOKEN_SHAPE.test(token)) return null;
    const found = await this.#deps.store.sessionLookup.findByTokenHash(await hashToken(token));
    const now = this.#now();
    if (!found || !isSessionActive(found, now)) return null;
    if (this.#idleMs !== undefined) {
      // `session.inactivity_timeout`: the row's updated_at is the last activity recorded. It is moved forward only
      // once it is a tenth of the timeout old, so whoami, the hot path, writes once per window, not per request.
      const idle = now.getTime() - found.updatedAt.getTime();
      if (idle > this.#idleMs) return null;
      if (idle > this.#idleMs / 10) await this.#deps.store.sessions.update(found.id, {}, now);
    }
    return found;
  }

  toSessionJson(session: SessionView | SessionWithIdentity, options: SessionJsonOutputOptions): SessionJson {
    return toSessionJson(session, { schemaUrl: this.#deps.schemaUrl, includeIdentity: options.includeIdentity, admin: options.admin });
  }

  /** Whether a loaded session is usable right now (active flag, expiry, identity state when attached). */
  isActive(session: SessionView | SessionWithIdentity): boolean {
    return isSessionActive(session, this.#now());
  }

  async get(id: string): Promise<SessionView | null> {
    const row = await this.#deps.store.sessions.get(id);
    return row ? viewOf(row) : null;
  }

  /** Adds each session's identity (one batch load; credentials are loaded but never serialized by toSessionJson). */
  async attachIdentities(sessions: SessionView[]): Promise<SessionWithIdentity[]> {
    const records = await this.#deps.store.identities.getMany([...new Set(sessions.map((s) => s.identityId))]);
    const byId = new Map(records.map((r) => [r.id, r]));
    return sessions.flatMap((s) => {
      const identity = byId.get(s.identityId);
      return identity ? [{ ...s, identity }] : [];
    });
  }

  /** Sessions of one identity, ascending id (keyset). */
  async listForIdentity(identityId: string, options: SessionListOptions): Promise<SessionView[]> {
    const rows = await this.#deps.store.sessions.listForIdentity(identityId, { ...options, now: this.#now() });
    return rows.map(viewOf);
  }

  /** All sessions (admin list), ascending id (keyset). */
  async listAll(options: SessionListOptions): Promise<SessionView[]> {
    const rows = await this.#deps.store.sessions.listAll({ ...options, now: this.#now() });
    return rows.map(viewOf);
  }

  /**
   * Sets active = false. Returns whether the session existed (and, with `identityId`, belongs to that identity:
   * self-service callers must pass it so nobody can end someone else's session).
   */
  revoke(id: string, options: { identityId?: string } = {}): Promise<boolean> {
    return this.#deps.store.sessions.deactivate({ id, identityId: options.identityId }, this.#now());
  }

  /** Ends every active session of an identity except `exceptSessionId`; returns how many were ended. */
  revokeAllForIdentity(identityId: string, options: { exceptSessionId?: string } = {}, repos: Pick<Repositories, 'sessions'> = this.#deps.store): Promise<number> {
    return repos.sessions.deactivateAllForIdentity(identityId, this.#now(), options.exceptSessionId);
  }

  /** Deletes every session row of an identity (Kratos `DELETE /admin/identities/{id}/sessions` removes them). */
  deleteAllForIdentity(identityId: string): Promise<number> {
    return this.#deps.store.sessions.deleteAllForIdentity(identityId);
  }

  /**
   * Kratos manageSessions (`POST /admin/sessions`): `disable` ends the selected sessions (counting only those that were
   * active), `delete` removes them. `all` is one batch of `limit` rows; the caller repeats while a full batch was done.
   */
  manage(action: 'disable' | 'delete', selection: SessionSelection): Promise<number> {
    return action === 'disable'
      ? this.#deps.store.sessions.deactivateSelected(selection, this.#now())
      : this.#deps.store.sessions.deleteSelected(selection);
  }

  /**
   * The session's logout token (for `GET /self-service/logout/browser`): the same value `issue` returned, re-derived
   * from the stored session-token hash, so repeated calls yield the same logout URL. 401 when the session is gone.
   */
  async logoutTokenFor(sessionId: string): Promise<string> {
    const row = await this.#deps.store.sessions.get(sessionId);
    if (!row) throw sessionInactive();
    return deriveLogoutToken(LOGOUT_TOKEN_PREFIX, row.tokenHash, TOKEN_RANDOM_LENGTH);
  }

  /**
   * API logout (`DELETE /self-service/logout/api`) and re-authentication: ends the session holding this token.
   * Returns the session (as it was before) or null for an unknown token.
   */
  async revokeByToken(token: string, repos: Pick<Repositories, 'sessions'> = this.#deps.store): Promise<SessionView | null> {
    if (typeof token !== 'string' || !SESSION_TOKEN_SHAPE.test(token)) return null;
    const row = await repos.sessions.findByTokenHash(await hashToken(token));
    if (!row) return null;
    await repos.sessions.deactivate({ id: row.id }, this.#now());
    return viewOf(row);
  }

  /**
   * Browser logout (`GET /self-service/logout?token=`): ends the session holding this logout token. With `sessionId`
   * (the caller's cookie session) a token of another session is refused (null; Kratos answers 403).
   */
  async revokeByLogoutToken(logoutToken: string, options: { sessionId?: string } = {}): Promise<SessionView | null> {
    if (typeof logoutToken !== 'string' || !LOGOUT_TOKEN_SHAPE.test(logoutToken)) return null;
    const row = await this.#deps.store.sessions.findByLogoutTokenHash(await hashToken(logoutToken));
    if (!row || (options.sessionId !== undefined && row.id !== options.sessionId)) return null;
    await this.#deps.store.sessions.deactivate({ id: row.id }, this.#now());
    return viewOf(row);
  }

  /**
   * Kratos `PATCH /admin/sessions/{id}/extend`: expires_at = now + lifespan, but when `earliest_possible_extend` is
   * set only once `now >= expires_at - earliest_possible_extend` (otherwise the session is returned unchanged).
   * Returns null when the session does not exist.
   */
  async extend(id: string): Promise<SessionView | null> {
    const row = await this.#deps.store.sessions.get(id);
    if (!row) return null;
    const view = viewOf(row);
    const now = this.#now();
    if (this.#earliestExtendMs !== undefined && now.getTime() < view.expiresAt.getTime() - this.#earliestExtendMs) {
      return view;
    }
    const expiresAt = new Date(now.getTime() + this.#lifespanMs);
    await this.#deps.store.sessions.update(id, { expiresAt }, now);
    return { ...view, expiresAt, updatedAt: now };
  }
}

function deviceRecord(device: { ip?: string; userAgent?: string } | undefined): SessionDeviceRecord {
  return {
    id: crypto.randomUUID(),
    ...(device?.ip ? { ip_address: device.ip.slice(0, MAX_IP_LENGTH) } : {}),
    ...(device?.userAgent ? { user_agent: device.userAgent.slice(0, MAX_USER_AGENT_LENGTH) } : {}),
  };
}

function methodRecord(input: AuthenticationMethodInput, now: Date): AuthenticationMethodRecord {
  return {
    method: input.method,
    aal: input.aal,
    completed_at: now.toISOString(),
    ...(input.provider ? { provider: input.provider } : {}),
  };
}

/** The session as the service hands it out: without the token hashes. */
function viewOf(row: SessionRecord): SessionView {
  const { tokenHash: _token, logoutTokenHash: _logout, ...view } = row;
  return { ...view, authenticationMethods: [...view.authenticationMethods], devices: [...view.devices] };
}
