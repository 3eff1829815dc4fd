import type { TokenExchangeRecord, TokenExchangeRepository } from '../store.ts';
import { copy, date, deepFreeze, nullableDate, uniqueViolation, type Source } from './memory-tables.ts';

export class MemoryTokenExchangeRepository implements TokenExchangeRepository {
  readonly #source: Source;

  constructor(source: Source) {
    this.#source = source;
  }

  insert(record: TokenExchangeRecord): Promise<void> {
    return this.#source.write((w) => {
      const table = w.read('tokenExchanges');
      if (table.has(record.id)) throw uniqueViolation('session_token_exchanges_pkey', record.id);
      if ([...table.values()].some((r) => r.initCodeHash === record.initCodeHash)) throw uniqueViolation('session_token_exchanges_init_code_hash_unique', record.initCodeHash);
      w.write('tokenExchanges').set(record.id, deepFreeze({
        id: record.id, flowId: record.flowId, initCodeHash: record.initCodeHash, returnToCodeHash: record.returnToCodeHash ?? null,
        sessionId: record.sessionId ?? null, expiresAt: date(record.expiresAt), usedAt: nullableDate(record.usedAt),
        createdAt: date(record.createdAt), updatedAt: date(record.updatedAt),
      }));
    });
  }

  async findByInitCodeHash(hash: string): Promise<TokenExchangeRecord | null> {
    const row = [...this.#source.read('tokenExchanges').values()].find((r) => r.initCodeHash === hash);
    return row ? copy(row) : null;
  }

  async findForFlow(flowId: string): Promise<TokenExchangeRecord | null> {
    const row = [...this.#source.read('tokenExchanges').values()].find((r) => r.flowId === flowId);
    return row ? copy(row) : null;
  }

  moveToFlow(oldFlowId: string, newFlowId: string, at: Date): Promise<void> {
    return this.#patch((r) => r.flowId === oldFlowId, { flowId: newFlowId, updatedAt: date(at) }).then(() => undefined);
  }

  complete(flowId: string, returnToCodeHash: string, sessionId: string, expiresAt: Date, at: Date): Promise<void> {
    return this.#patch((r) => r.flowId === flowId && r.usedAt === null, { returnToCodeHash, sessionId, expiresAt: date(expiresAt), updatedAt: date(at) }).then(() => undefined);
  }

  async markUsed(id: string, at: Date): Promise<boolean> {
    return (await this.#patch((r) => r.id === id && r.usedAt === null, { usedAt: date(at), updatedAt: date(at) })) === 1;
  }

  #patch(match: (row: TokenExchangeRecord) => boolean, patch: Partial<TokenExchangeRecord>): Promise<number> {
    return this.#source.write((w) => {
      const hits = [...w.read('tokenExchanges').values()].filter(match);
      for (const row of hits) w.write('tokenExchanges').set(row.id, deepFreeze({ ...row, ...patch }));
      return hits.length;
    });
  }
}
