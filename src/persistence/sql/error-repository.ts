import { SelfServiceError, type SelfServiceErrorRow } from '../../../entities/index.ts';
import type { ErrorRepository, SelfServiceErrorRecord } from '../store.ts';
import type { EmSource } from './em-source.ts';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

const toRecord = (row: SelfServiceErrorRow): SelfServiceErrorRecord => ({
  id: row.id, error: row.error, csrfToken: row.csrfToken ?? null, seenAt: row.seenAt ?? null,
  createdAt: row.createdAt, updatedAt: row.updatedAt,
});

export class SqlErrorRepository implements ErrorRepository {
  readonly #source: EmSource;

  constructor(source: EmSource) {
    this.#source = source;
  }

  async insert(error: SelfServiceErrorRecord): Promise<void> {
    await (await this.#source.em()).insert(SelfServiceError, { ...error });
  }

  async get(id: string): Promise<SelfServiceErrorRecord | null> {
    if (!UUID.test(id)) return null;
    const row = await (await this.#source.em()).findOne(SelfServiceError, { id: id.toLowerCase() }, { disableIdentityMap: true });
    return row ? toRecord(row) : null;
  }

  async markSeen(id: string, at: Date): Promise<void> {
    await (await this.#source.em()).nativeUpdate(SelfServiceError, { id, seenAt: null }, { seenAt: at, updatedAt: at });
  }
}
