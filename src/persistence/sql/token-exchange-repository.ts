import { SessionTokenExchange, type SessionTokenExchangeRow } from '../../../entities/index.ts';
import type { TokenExchangeRecord, TokenExchangeRepository } from '../store.ts';
import type { EmSource } from './em-source.ts';

const toRecord = (row: SessionTokenExchangeRow): TokenExchangeRecord => ({
  id: row.id, flowId: row.flowId, initCodeHash: row.initCodeHash, returnToCodeHash: row.returnToCodeHash ?? null,
  sessionId: row.sessionId ?? null, expiresAt: row.expiresAt, usedAt: row.usedAt ?? null, createdAt: row.createdAt, updatedAt: row.updatedAt,
});

export class SqlTokenExchangeRepository implements TokenExchangeRepository {
  readonly #source: EmSource;

  constructor(source: EmSource) {
    this.#source = source;
  }

  async insert(record: TokenExchangeRecord): Promise<void> {
    await (await this.#source.em()).insert(SessionTokenExchange, { ...record });
  }

  async findByInitCodeHash(hash: string): Promise<TokenExchangeRecord | null> {
    const row = await (await this.#source.em()).findOne(SessionTokenExchange, { initCodeHash: hash }, { disableIdentityMap: true });
    return row ? toRecord(row) : null;
  }

  async findForFlow(flowId: string): Promise<TokenExchangeRecord | null> {
    const row = await (await this.#source.em()).findOne(SessionTokenExchange, { flowId }, { disableIdentityMap: true });
    return row ? toRecord(row) : null;
  }

  async moveToFlow(oldFlowId: string, newFlowId: string, at: Date): Promise<void> {
    await (await this.#source.em()).nativeUpdate(SessionTokenExchange, { flowId: oldFlowId }, { flowId: newFlowId, updatedAt: at });
  }

  async complete(flowId: string, returnToCodeHash: string, sessionId: string, expiresAt: Date, at: Date): Promise<void> {
    await (await this.#source.em()).nativeUpdate(SessionTokenExchange, { flowId, usedAt: null }, { returnToCodeHash, sessionId, expiresAt, updatedAt: at });
  }

  async markUsed(id: string, at: Date): Promise<boolean> {
    return (await (await this.#source.em()).nativeUpdate(SessionTokenExchange, { id, usedAt: null }, { usedAt: at, updatedAt: at })) === 1;
  }
}
