import { SelfServiceCode, type SelfServiceCodeRow } from '../../../entities/index.ts';
import type { CodeRecord, CodeRepository } from '../store.ts';
import { runOrKeep, type EmSource } from './em-source.ts';
import { insertSql } from './statements.ts';

const INSERT_CODE = insertSql('selfservice_codes', [
  'id', 'flow_id', 'purpose', 'kind', 'via', 'address', 'identity_id', 'secret_hmac', 'failed_attempts', 'expires_at', 'used_at', 'created_at', 'updated_at',
], 1);
const VOID_UNUSED_FOR_ADDRESS = 'UPDATE selfservice_codes SET used_at = ?, updated_at = ? WHERE purpose = ? AND address = ? AND used_at IS NULL';

const toRecord = (row: SelfServiceCodeRow): CodeRecord => ({
  id: row.id, flowId: row.flowId, purpose: row.purpose, kind: row.kind, via: row.via, address: row.address,
  identityId: row.identityId ?? null, secretHmac: row.secretHmac, failedAttempts: row.failedAttempts,
  expiresAt: row.expiresAt, usedAt: row.usedAt ?? null, createdAt: row.createdAt, updatedAt: row.updatedAt,
});

/** Codes on MikroORM; what every sign-up with verification writes (void older codes, insert) is raw (statements.ts). */
export class SqlCodeRepository implements CodeRepository {
  readonly #source: EmSource;

  constructor(source: EmSource) {
    this.#source = source;
  }

  async insert(code: CodeRecord): Promise<void> {
    await runOrKeep(this.#source, {
      sql: INSERT_CODE,
      params: [
        code.id, code.flowId, code.purpose, code.kind, code.via, code.address, code.identityId, code.secretHmac, code.failedAttempts,
        code.expiresAt, code.usedAt, code.createdAt, code.updatedAt,
      ],
    });
  }

  async latestUnused(flowId: string, purpose: CodeRecord['purpose']): Promise<CodeRecord | null> {
    const row = await (await this.#source.em()).findOne(SelfServiceCode, { flowId, purpose, usedAt: null }, { orderBy: { createdAt: 'desc' }, disableIdentityMap: true });
    return row ? toRecord(row) : null;
  }

  async unusedForFlow(flowId: string, purpose: CodeRecord['purpose']): Promise<CodeRecord[]> {
    const rows = await (await this.#source.em()).find(SelfServiceCode, { flowId, purpose, usedAt: null }, { orderBy: { createdAt: 'desc' }, disableIdentityMap: true });
    return rows.map(toRecord);
  }

  async failuresSince(purpose: CodeRecord['purpose'], address: string, since: Date): Promise<number> {
    const rows = await (await this.#source.em()).find(SelfServiceCode, { purpose, address, createdAt: { $gte: since } }, { fields: ['failedAttempts'], disableIdentityMap: true });
    return rows.reduce((sum, r) => sum + r.failedAttempts, 0);
  }

  async update(id: string, patch: Partial<Pick<CodeRecord, 'failedAttempts' | 'usedAt'>>, at: Date): Promise<void> {
    await (await this.#source.em()).nativeUpdate(SelfServiceCode, { id }, { ...patch, updatedAt: at });
  }

  async voidUnusedForAddress(purpose: CodeRecord['purpose'], address: string, at: Date): Promise<void> {
    await runOrKeep(this.#source, { sql: VOID_UNUSED_FOR_ADDRESS, params: [at, at, purpose, address] });
  }

  async voidUnusedForFlow(flowId: string, at: Date): Promise<void> {
    await (await this.#source.em()).nativeUpdate(SelfServiceCode, { flowId, usedAt: null }, { usedAt: at, updatedAt: at });
  }
}
