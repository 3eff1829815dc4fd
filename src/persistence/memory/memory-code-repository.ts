import type { CodeRecord, CodeRepository } from '../store.ts';
import { byTime, copy, date, deepFreeze, nullableDate, uniqueViolation, type Source } from './memory-tables.ts';

export class MemoryCodeRepository implements CodeRepository {
  readonly #source: Source;

  constructor(source: Source) {
    this.#source = source;
  }

  insert(code: CodeRecord): Promise<void> {
    return this.#source.write((w) => {
      if (w.read('codes').has(code.id)) throw uniqueViolation('selfservice_codes_pkey', code.id);
      w.write('codes').set(code.id, deepFreeze({
        id: code.id, flowId: code.flowId, purpose: code.purpose, kind: code.kind, via: code.via, address: code.address,
        identityId: code.identityId ?? null, secretHmac: code.secretHmac, failedAttempts: code.failedAttempts,
        expiresAt: date(code.expiresAt), usedAt: nullableDate(code.usedAt), createdAt: date(code.createdAt), updatedAt: date(code.updatedAt),
      }));
    });
  }

  /** The newest by creation time (of equal times, the one stored last). */
  async latestUnused(flowId: string, purpose: CodeRecord['purpose']): Promise<CodeRecord | null> {
    let latest: CodeRecord | undefined;
    for (const row of this.#source.read('codes').values()) {
      if (row.flowId !== flowId || row.purpose !== purpose || row.usedAt !== null) continue;
      if (!latest || byTime(row.createdAt, latest.createdAt) >= 0) latest = row;
    }
    return latest ? copy(latest) : null;
  }

  async unusedForFlow(flowId: string, purpose: CodeRecord['purpose']): Promise<CodeRecord[]> {
    const rows = [...this.#source.read('codes').values()].filter((row) => row.flowId === flowId && row.purpose === purpose && row.usedAt === null);
    return rows.sort((a, b) => byTime(b.createdAt, a.createdAt)).map(copy);
  }

  /** `since` is inclusive; used codes count. */
  async failuresSince(purpose: CodeRecord['purpose'], address: string, since: Date): Promise<number> {
    let sum = 0;
    for (const row of this.#source.read('codes').values()) {
      if (row.purpose === purpose && row.address === address && byTime(row.createdAt, since) >= 0) sum += row.failedAttempts;
    }
    return sum;
  }

  update(id: string, patch: Partial<Pick<CodeRecord, 'failedAttempts' | 'usedAt'>>, at: Date): Promise<void> {
    return this.#source.write((w) => {
      const row = w.read('codes').get(id);
      if (!row) return;
      const next = { ...copy(row), updatedAt: date(at) };
      if (patch.failedAttempts !== undefined) next.failedAttempts = patch.failedAttempts;
      if (patch.usedAt !== undefined) next.usedAt = nullableDate(patch.usedAt);
      w.write('codes').set(id, deepFreeze(next));
    });
  }

  voidUnusedForAddress(purpose: CodeRecord['purpose'], address: string, at: Date): Promise<void> {
    return this.#source.write((w) => {
      const unused = [...w.read('codes').values()].filter((row) => row.purpose === purpose && row.address === address && row.usedAt === null);
      if (unused.length === 0) return;
      const codes = w.write('codes');
      for (const row of unused) codes.set(row.id, deepFreeze({ ...copy(row), usedAt: date(at), updatedAt: date(at) }));
    });
  }

  voidUnusedForFlow(flowId: string, at: Date): Promise<void> {
    return this.#source.write((w) => {
      const unused = [...w.read('codes').values()].filter((row) => row.flowId === flowId && row.usedAt === null);
      if (unused.length === 0) return;
      const codes = w.write('codes');
      for (const row of unused) codes.set(row.id, deepFreeze({ ...copy(row), usedAt: date(at), updatedAt: date(at) }));
    });
  }
}
