import { StoreConflictError, type FlowRecord, type FlowRepository, type FlowTransitionRecord } from '../store.ts';
import { copy, date, deepFreeze, isUuid, json, uniqueViolation, type Source } from './memory-tables.ts';

const flowRow = (flow: FlowRecord): FlowRecord => deepFreeze({
  id: flow.id, kind: flow.kind, type: flow.type, state: flow.state, requestUrl: flow.requestUrl,
  returnTo: flow.returnTo ?? null, csrfToken: flow.csrfToken ?? null, identityId: flow.identityId ?? null,
  snapshot: json(flow.snapshot), internal: flow.internal ?? null, issuedAt: date(flow.issuedAt), expiresAt: date(flow.expiresAt),
  createdAt: date(flow.createdAt), updatedAt: date(flow.updatedAt), version: flow.version,
});

export class MemoryFlowRepository implements FlowRepository {
  readonly #source: Source;

  constructor(source: Source) {
    this.#source = source;
  }

  async get(id: string): Promise<FlowRecord | null> {
    const row = isUuid(id) ? this.#source.read('flows').get(id.toLowerCase()) : undefined;
    return row ? copy(row) : null;
  }

  insert(flow: FlowRecord): Promise<void> {
    return this.#source.write((w) => {
      if (w.read('flows').has(flow.id)) throw uniqueViolation('selfservice_flows_pkey', flow.id);
      w.write('flows').set(flow.id, flowRow(flow));
    });
  }

  /** Optimistic lock: only the version the caller read may be moved on; the row's creation time never changes. */
  update(flow: FlowRecord): Promise<FlowRecord> {
    return this.#source.write((w) => {
      const stored = w.read('flows').get(flow.id);
      if (!stored || stored.version !== flow.version) throw new StoreConflictError(`flow ${flow.id} was changed by a concurrent request`);
      const next = { ...flow, version: flow.version + 1 };
      w.write('flows').set(flow.id, flowRow({ ...next, createdAt: stored.createdAt }));
      return next;
    });
  }

  appendHistory(rows: FlowTransitionRecord[]): Promise<void> {
    return this.#source.write((w) => {
      const table = w.write('flowTransitions');
      for (const row of rows) table.set(crypto.randomUUID(), deepFreeze({ ...row, at: date(row.at) }));
    });
  }

  delete(id: string): Promise<boolean> {
    return this.#source.write((w) => {
      if (!isUuid(id)) return false;
      const key = id.toLowerCase();
      const transitions = w.write('flowTransitions');
      for (const [rowId, row] of [...transitions]) if (row.flowId === key) transitions.delete(rowId);
      return w.write('flows').delete(key);
    });
  }

  async history(flowId: string): Promise<FlowTransitionRecord[]> {
    const rows = [...this.#source.read('flowTransitions').values()].filter((r) => r.flowId === flowId.toLowerCase());
    return rows.sort((a, b) => a.flowVersion - b.flowVersion || a.position - b.position).map(copy);
  }
}
