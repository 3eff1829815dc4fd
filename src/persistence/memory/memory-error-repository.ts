import type { ErrorRepository, SelfServiceErrorRecord } from '../store.ts';
import { copy, date, deepFreeze, isUuid, json, nullableDate, uniqueViolation, type Source } from './memory-tables.ts';

export class MemoryErrorRepository implements ErrorRepository {
  readonly #source: Source;

  constructor(source: Source) {
    this.#source = source;
  }

  insert(error: SelfServiceErrorRecord): Promise<void> {
    return this.#source.write((w) => {
      if (w.read('errors').has(error.id)) throw uniqueViolation('selfservice_errors_pkey', error.id);
      w.write('errors').set(error.id, deepFreeze({
        id: error.id, error: json(error.error), csrfToken: error.csrfToken ?? null, seenAt: nullableDate(error.seenAt),
        createdAt: date(error.createdAt), updatedAt: date(error.updatedAt),
      }));
    });
  }

  async get(id: string): Promise<SelfServiceErrorRecord | null> {
    const row = isUuid(id) ? this.#source.read('errors').get(id.toLowerCase()) : undefined;
    return row ? copy(row) : null;
  }

  /** Only the first time counts. */
  markSeen(id: string, at: Date): Promise<void> {
    return this.#source.write((w) => {
      const row = w.read('errors').get(id);
      if (row && row.seenAt === null) w.write('errors').set(id, deepFreeze({ ...copy(row), seenAt: date(at), updatedAt: date(at) }));
    });
  }
}
