import { Flow, type FlowRow } from '../../../entities/index.ts';
import { StoreConflictError, type FlowRecord, type FlowRepository } from '../store.ts';
import type { EmSource } from './em-source.ts';
import { storableJson } from './storable-json.ts';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

function toRecord(row: FlowRow): FlowRecord {
  return {
    id: row.id, kind: row.kind, type: row.type, state: row.state, requestUrl: row.requestUrl,
    returnTo: row.returnTo ?? null, csrfToken: row.csrfToken ?? null, identityId: row.identityId ?? null,
    snapshot: row.snapshot, internal: row.internal ?? null, issuedAt: row.issuedAt, expiresAt: row.expiresAt,
    createdAt: row.createdAt, updatedAt: row.updatedAt, version: row.version,
  };
}

export class SqlFlowRepository implements FlowRepository {
  readonly #source: EmSource;

  constructor(source: EmSource) {
    this.#source = source;
  }

  async get(id: string): Promise<FlowRecord | null> {
    if (!UUID.test(id)) return null;
    const row = await this.#source.em().findOne(Flow, { id: id.toLowerCase() }, { disableIdentityMap: true });
    return row ? toRecord(row) : null;
  }

  async insert(flow: FlowRecord): Promise<void> {
    await this.#source.em().insert(Flow, { ...flow, snapshot: storableJson(flow.snapshot), internal: storableJson(flow.internal) });
  }

  async update(flow: FlowRecord): Promise<FlowRecord> {
    const next = { ...flow, version: flow.version + 1 };
    const { id: _id, version: _v, createdAt: _c, ...changes } = next;
    const stored = { ...changes, snapshot: storableJson(changes.snapshot), internal: storableJson(changes.internal), version: next.version };
    const affected = await this.#source.em().nativeUpdate(Flow, { id: flow.id, version: flow.version }, stored);
    if (affected === 0) throw new StoreConflictError(`flow ${flow.id} was changed by a concurrent request`);
    return next;
  }
}
