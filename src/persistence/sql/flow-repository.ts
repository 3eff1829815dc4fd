import { Flow, FlowTransition, type FlowRow } from '../../../entities/index.ts';
import { StoreConflictError, type FlowRecord, type FlowRepository, type FlowTransitionRecord } from '../store.ts';
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

  async appendHistory(rows: FlowTransitionRecord[]): Promise<void> {
    if (rows.length === 0) return;
    await this.#source.em().insertMany(FlowTransition, rows.map((r) => ({
      id: crypto.randomUUID(), flowId: r.flowId, flowVersion: r.flowVersion, position: r.position, event: r.event,
      fromState: r.from, toState: r.to, method: r.method, createdAt: r.at,
    })));
  }

  async delete(id: string): Promise<boolean> {
    if (!UUID.test(id)) return false;
    const em = this.#source.em();
    await em.nativeDelete(FlowTransition, { flowId: id.toLowerCase() });
    return (await em.nativeDelete(Flow, { id: id.toLowerCase() })) > 0;
  }

  async history(flowId: string): Promise<FlowTransitionRecord[]> {
    if (!UUID.test(flowId)) return [];
    const rows = await this.#source.em().find(FlowTransition, { flowId: flowId.toLowerCase() }, { orderBy: { flowVersion: 'asc', position: 'asc' }, disableIdentityMap: true });
    return rows.map((r) => ({
      flowId: r.flowId, flowVersion: r.flowVersion, position: r.position, event: r.event, from: r.fromState, to: r.toState, method: r.method ?? null, at: r.createdAt,
    }));
  }
}
