import type { FilterQuery } from '@mikro-orm/core';
import { Session, type SessionRow } from '../../../entities/index.ts';
import type { SessionListQuery, SessionPatch, SessionRecord, SessionRepository, SessionSelection } from '../store.ts';
import { runOrKeep, type EmSource } from './em-source.ts';
import { insertSql, jsonParam } from './statements.ts';

const INSERT_SESSION = insertSql('sessions', [
  'id', 'token_hash', 'logout_token_hash', 'identity_id', 'active', 'aal', 'authentication_methods', 'devices',
  'authenticated_at', 'issued_at', 'expires_at', 'created_at', 'updated_at',
], 1);

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
/** PostgreSQL rejects non-uuid text for uuid columns: such an id simply matches nothing. */
const isUuid = (id: string | undefined): id is string => typeof id === 'string' && UUID.test(id);

function toRecord(row: SessionRow): SessionRecord {
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
    tokenHash: row.tokenHash,
    logoutTokenHash: row.logoutTokenHash,
  };
}

/**
 * Sessions on MikroORM: every write is one native statement; reads bypass the identity map. The insert every login
 * makes is a raw bound statement (see statements.ts).
 */
export class SqlSessionRepository implements SessionRepository {
  readonly #source: EmSource;

  constructor(source: EmSource) {
    this.#source = source;
  }

  async insert(session: SessionRecord): Promise<void> {
    await runOrKeep(this.#source, {
      sql: INSERT_SESSION,
      params: [
        session.id, session.tokenHash, session.logoutTokenHash, session.identityId, session.active, session.aal,
        jsonParam(session.authenticationMethods), jsonParam(session.devices),
        session.authenticatedAt, session.issuedAt, session.expiresAt, session.createdAt, session.updatedAt,
      ],
    });
  }

  async get(id: string): Promise<SessionRecord | null> {
    if (!isUuid(id)) return null;
    return this.#one({ id });
  }

  findByTokenHash(tokenHash: string): Promise<SessionRecord | null> {
    return this.#one({ tokenHash });
  }

  findByLogoutTokenHash(logoutTokenHash: string): Promise<SessionRecord | null> {
    return this.#one({ logoutTokenHash });
  }

  async #one(where: FilterQuery<SessionRow>): Promise<SessionRecord | null> {
    const row = await (await this.#source.em()).findOne(Session, where, { disableIdentityMap: true });
    return row ? toRecord(row) : null;
  }

  async listForIdentity(identityId: string, query: SessionListQuery): Promise<SessionRecord[]> {
    if (!isUuid(identityId)) return [];
    return this.#list({ identity: identityId } as FilterQuery<SessionRow>, query);
  }

  listAll(query: SessionListQuery): Promise<SessionRecord[]> {
    return this.#list({}, query);
  }

  async #list(base: FilterQuery<SessionRow>, query: SessionListQuery): Promise<SessionRecord[]> {
    const idFilter: Record<string, string> = {};
    if (query.afterId) idFilter.$gt = query.afterId;
    if (isUuid(query.exceptSessionId)) idFilter.$ne = query.exceptSessionId;
    const activity = query.active === undefined ? {}
      : query.active ? { active: true, expiresAt: { $gt: query.now } }
        : { $or: [{ active: false }, { expiresAt: { $lte: query.now } }] };
    const where = { ...(base as object), ...(Object.keys(idFilter).length > 0 ? { id: idFilter } : {}), ...activity } as FilterQuery<SessionRow>;
    const rows = await (await this.#source.em()).find(Session, where, { orderBy: { id: 'asc' }, limit: query.limit, disableIdentityMap: true });
    return rows.map(toRecord);
  }

  async deactivate(where: { id: string; identityId?: string }, at: Date): Promise<boolean> {
    if (!isUuid(where.id) || (where.identityId !== undefined && !isUuid(where.identityId))) return false;
    const filter = { id: where.id, ...(where.identityId ? { identity: where.identityId } : {}) } as FilterQuery<SessionRow>;
    return (await (await this.#source.em()).nativeUpdate(Session, filter, { active: false, updatedAt: at })) > 0;
  }

  async deactivateAllForIdentity(identityId: string, at: Date, exceptSessionId?: string): Promise<number> {
    if (!isUuid(identityId)) return 0;
    const where = {
      identity: identityId,
      active: true,
      ...(isUuid(exceptSessionId) ? { id: { $ne: exceptSessionId } } : {}),
    } as FilterQuery<SessionRow>;
    return (await this.#source.em()).nativeUpdate(Session, where, { active: false, updatedAt: at });
  }

  async deleteAllForIdentity(identityId: string): Promise<number> {
    if (!isUuid(identityId)) return 0;
    return (await this.#source.em()).nativeDelete(Session, { identity: identityId } as FilterQuery<SessionRow>);
  }

  async deactivateSelected(selection: SessionSelection, at: Date): Promise<number> {
    const where = await this.#selected(selection, { active: true });
    return where ? (await this.#source.em()).nativeUpdate(Session, { ...where, active: true } as FilterQuery<SessionRow>, { active: false, updatedAt: at }) : 0;
  }

  async deleteSelected(selection: SessionSelection): Promise<number> {
    const where = await this.#selected(selection, {});
    return where ? (await this.#source.em()).nativeDelete(Session, where as FilterQuery<SessionRow>) : 0;
  }

  /**
   * The filter for a selection (null: nothing can match). `all` first reads one batch of ids (`extra` narrows it), as
   * neither an UPDATE nor a DELETE takes a LIMIT on every dialect; rows arriving in between wait for the next call.
   */
  async #selected(selection: SessionSelection, extra: Record<string, unknown>): Promise<Record<string, unknown> | null> {
    if ('all' in selection) {
      const rows = await (await this.#source.em()).find(Session, extra as FilterQuery<SessionRow>, {
        fields: ['id'], limit: selection.limit, disableIdentityMap: true,
      });
      return rows.length === 0 ? null : { id: { $in: rows.map((r) => r.id) } };
    }
    if ('sessionIds' in selection) {
      const ids = selection.sessionIds.filter(isUuid);
      return ids.length === 0 ? null : { id: { $in: ids } };
    }
    const ids = selection.identityIds.filter(isUuid);
    return ids.length === 0 ? null : { identity: { $in: ids } };
  }

  async update(id: string, patch: SessionPatch, at: Date): Promise<void> {
    if (!isUuid(id)) return;
    // MikroORM rewrites the parameters it is given in place, and sessions handed out by the lookup are frozen.
    const values: Record<string, unknown> = { ...patch, updatedAt: at };
    if (patch.authenticationMethods) values.authenticationMethods = structuredClone(patch.authenticationMethods);
    if (patch.devices) values.devices = structuredClone(patch.devices);
    await (await this.#source.em()).nativeUpdate(Session, { id }, values);
  }
}
