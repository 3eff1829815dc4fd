import type { SessionListQuery, SessionPatch, SessionRecord, SessionRepository, SessionSelection } from '../store.ts';
import {
  byString, copy, date, deepFreeze, foreignKeyViolation, isUuid, json, uniqueViolation, type Source,
} from './memory-tables.ts';


const sessionRow = (s: SessionRecord): SessionRecord => deepFreeze({
  id: s.id, identityId: s.identityId, active: s.active, aal: s.aal, authenticationMethods: json(s.authenticationMethods),
  devices: json(s.devices), authenticatedAt: date(s.authenticatedAt), issuedAt: date(s.issuedAt), expiresAt: date(s.expiresAt),
  createdAt: date(s.createdAt), updatedAt: date(s.updatedAt), tokenHash: s.tokenHash, logoutTokenHash: s.logoutTokenHash,
});

/** Active: the flag set and not expired at `now`; inactive: revoked or expired. */
function activity(active: boolean | undefined, now: Date): (s: SessionRecord) => boolean {
  if (active === undefined) return () => true;
  const live = (s: SessionRecord) => s.active && s.expiresAt.getTime() > now.getTime();
  return active ? live : (s) => !live(s);
}

function selected(rows: Iterable<SessionRecord>, selection: SessionSelection, also: (s: SessionRecord) => boolean): SessionRecord[] {
  const all = [...rows].filter(also);
  if ('all' in selection) return all.slice(0, selection.limit);
  if ('sessionIds' in selection) return all.filter((s) => selection.sessionIds.includes(s.id));
  return all.filter((s) => selection.identityIds.includes(s.identityId));
}

export class MemorySessionRepository implements SessionRepository {
  readonly #source: Source;

  constructor(source: Source) {
    this.#source = source;
  }

  insert(session: SessionRecord): Promise<void> {
    return this.#source.write((w) => {
      const sessions = w.read('sessions');
      if (!w.read('identities').has(session.identityId)) throw foreignKeyViolation('sessions', 'identity_id', session.identityId);
      if (sessions.has(session.id)) throw uniqueViolation('sessions_pkey', session.id);
      for (const other of sessions.values()) {
        if (other.tokenHash === session.tokenHash) throw uniqueViolation('sessions_token_hash_unique', '(token_hash)');
        if (other.logoutTokenHash === session.logoutTokenHash) throw uniqueViolation('sessions_logout_token_hash_unique', '(logout_token_hash)');
      }
      w.write('sessions').set(session.id, sessionRow(session));
    });
  }

  async get(id: string): Promise<SessionRecord | null> {
    const row = isUuid(id) ? this.#source.read('sessions').get(id) : undefined;
    return row ? copy(row) : null;
  }

  async findByTokenHash(tokenHash: string): Promise<SessionRecord | null> {
    return this.#one((s) => s.tokenHash === tokenHash);
  }

  async findByLogoutTokenHash(logoutTokenHash: string): Promise<SessionRecord | null> {
    return this.#one((s) => s.logoutTokenHash === logoutTokenHash);
  }

  #one(match: (s: SessionRecord) => boolean): SessionRecord | null {
    for (const row of this.#source.read('sessions').values()) if (match(row)) return copy(row);
    return null;
  }

  async listForIdentity(identityId: string, query: SessionListQuery): Promise<SessionRecord[]> {
    if (!isUuid(identityId)) return [];
    return this.#list((s) => s.identityId === identityId, query);
  }

  async listAll(query: SessionListQuery): Promise<SessionRecord[]> {
    return this.#list(() => true, query);
  }

  /** Keyset pages by ascending id. */
  #list(base: (s: SessionRecord) => boolean, query: SessionListQuery): SessionRecord[] {
    const active = activity(query.active, query.now);
    const except = isUuid(query.exceptSessionId) ? query.exceptSessionId : undefined;
    return [...this.#source.read('sessions').values()]
      .filter((s) => base(s) && active(s) && (!query.afterId || s.id > query.afterId) && s.id !== except)
      .sort((a, b) => byString(a.id, b.id))
      .slice(0, query.limit)
      .map(copy);
  }

  /** True when a row matched, even one that had ended already. */
  async deactivate(where: { id: string; identityId?: string }, at: Date): Promise<boolean> {
    if (!isUuid(where.id) || (where.identityId !== undefined && !isUuid(where.identityId))) return false;
    return this.#source.write((w) => {
      const row = w.read('sessions').get(where.id);
      if (!row || (where.identityId && row.identityId !== where.identityId)) return false;
      w.write('sessions').set(row.id, deepFreeze({ ...row, active: false, updatedAt: date(at) }));
      return true;
    });
  }

  async deactivateAllForIdentity(identityId: string, at: Date, exceptSessionId?: string): Promise<number> {
    if (!isUuid(identityId)) return 0;
    const except = isUuid(exceptSessionId) ? exceptSessionId : undefined;
    return this.#source.write((w) => {
      const ending = [...w.read('sessions').values()].filter((s) => s.identityId === identityId && s.active && s.id !== except);
      if (ending.length === 0) return 0;
      const sessions = w.write('sessions');
      for (const row of ending) sessions.set(row.id, deepFreeze({ ...row, active: false, updatedAt: date(at) }));
      return ending.length;
    });
  }

  async deleteAllForIdentity(identityId: string): Promise<number> {
    if (!isUuid(identityId)) return 0;
    return this.#source.write((w) => {
      const doomed = [...w.read('sessions').values()].filter((s) => s.identityId === identityId);
      if (doomed.length === 0) return 0;
      const sessions = w.write('sessions');
      for (const row of doomed) sessions.delete(row.id);
      return doomed.length;
    });
  }

  async deactivateSelected(selection: SessionSelection, at: Date): Promise<number> {
    return this.#source.write((w) => {
      const ending = selected(w.read('sessions').values(), selection, (s) => s.active);
      if (ending.length === 0) return 0;
      const sessions = w.write('sessions');
      for (const row of ending) sessions.set(row.id, deepFreeze({ ...row, active: false, updatedAt: date(at) }));
      return ending.length;
    });
  }

  async deleteSelected(selection: SessionSelection): Promise<number> {
    return this.#source.write((w) => {
      const doomed = selected(w.read('sessions').values(), selection, () => true);
      if (doomed.length === 0) return 0;
      const sessions = w.write('sessions');
      for (const row of doomed) sessions.delete(row.id);
      return doomed.length;
    });
  }

  async update(id: string, patch: SessionPatch, at: Date): Promise<void> {
    if (!isUuid(id)) return;
    await this.#source.write((w) => {
      const row = w.read('sessions').get(id);
      if (!row) return;
      const next: SessionRecord = { ...row, updatedAt: date(at) };
      if (patch.expiresAt !== undefined) next.expiresAt = date(patch.expiresAt);
      if (patch.authenticatedAt !== undefined) next.authenticatedAt = date(patch.authenticatedAt);
      if (patch.issuedAt !== undefined) next.issuedAt = date(patch.issuedAt);
      if (patch.tokenHash !== undefined) next.tokenHash = patch.tokenHash;
      if (patch.logoutTokenHash !== undefined) next.logoutTokenHash = patch.logoutTokenHash;
      if (patch.aal !== undefined) next.aal = patch.aal;
      if (patch.authenticationMethods !== undefined) next.authenticationMethods = json(patch.authenticationMethods);
      if (patch.devices !== undefined) next.devices = json(patch.devices);
      w.write('sessions').set(id, deepFreeze(next));
    });
  }
}
