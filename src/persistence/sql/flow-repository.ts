import { Flow, FlowTransition } from '../../../entities/index.ts';
import type { FlowKind, FlowRecord, FlowRepository, FlowTransitionRecord, FlowType } from '../store.ts';
import { runOrKeep, type EmSource } from './em-source.ts';
import { jsonColumn, parseDbDate } from './row-values.ts';
import { insertSql, jsonParam, queryRows, type SqlDialect } from './statements.ts';
import { storableJson } from './storable-json.ts';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

const FLOW_COLUMNS = [
  'id', 'kind', 'type', 'state', 'request_url', 'return_to', 'csrf_token', 'identity_id', 'snapshot', 'internal', 'issued_at', 'expires_at',
  'created_at', 'updated_at', 'version',
];
const FLOW_BY_ID = `SELECT ${FLOW_COLUMNS.join(', ')} FROM selfservice_flows WHERE id = ?`;
const INSERT_FLOW = insertSql('selfservice_flows', FLOW_COLUMNS, 1);
const UPDATE_FLOW = `UPDATE selfservice_flows SET kind = ?, type = ?, state = ?, request_url = ?, return_to = ?, csrf_token = ?,
  identity_id = ?, snapshot = ?, internal = ?, issued_at = ?, expires_at = ?, updated_at = ?, version = ? WHERE id = ? AND version = ?`;
const TRANSITION_COLUMNS = ['id', 'flow_id', 'flow_version', 'position', 'event', 'from_state', 'to_state', 'method', 'created_at'];

type FlowRow = Record<string, unknown>;

function toRecord(row: FlowRow, dialect: SqlDialect): FlowRecord {
  return {
    id: row.id as string, kind: row.kind as FlowKind, type: row.type as FlowType, state: row.state as string, requestUrl: row.request_url as string,
    returnTo: (row.return_to as string | null) ?? null, csrfToken: (row.csrf_token as string | null) ?? null, identityId: (row.identity_id as string | null) ?? null,
    snapshot: jsonColumn(dialect, row.snapshot), internal: (row.internal as string | null) ?? null, issuedAt: parseDbDate(row.issued_at), expiresAt: parseDbDate(row.expires_at),
    createdAt: parseDbDate(row.created_at), updatedAt: parseDbDate(row.updated_at), version: Number(row.version),
  };
}

/**
 * Flows: what every submit does (read the flow, write its next version, append its history) and creating one are raw
 * bound statements (see statements.ts); the rest goes through the ORM.
 */
export class SqlFlowRepository implements FlowRepository {
  readonly #source: EmSource;
  readonly #dialect: SqlDialect;

  constructor(source: EmSource, dialect: SqlDialect) {
    this.#source = source;
    this.#dialect = dialect;
  }

  async get(id: string): Promise<FlowRecord | null> {
    if (!UUID.test(id)) return null;
    const rows = await queryRows<FlowRow>(await this.#source.em(), FLOW_BY_ID, [id.toLowerCase()]);
    return rows.length > 0 ? toRecord(rows[0], this.#dialect) : null;
  }

  async insert(flow: FlowRecord): Promise<void> {
    await runOrKeep(this.#source, {
      sql: INSERT_FLOW,
      params: [
        flow.id, flow.kind, flow.type, flow.state, flow.requestUrl, flow.returnTo, flow.csrfToken, flow.identityId,
        jsonParam(storableJson(flow.snapshot)), storableJson(flow.internal), flow.issuedAt, flow.expiresAt, flow.createdAt, flow.updatedAt, flow.version,
      ],
    });
  }

  /** Inside a transaction the conflict may surface later, from the transaction's next statement or its end. */
  async update(flow: FlowRecord): Promise<FlowRecord> {
    const next = { ...flow, version: flow.version + 1 };
    await runOrKeep(this.#source, {
      sql: UPDATE_FLOW,
      params: [
        next.kind, next.type, next.state, next.requestUrl, next.returnTo, next.csrfToken, next.identityId,
        jsonParam(storableJson(next.snapshot)), storableJson(next.internal), next.issuedAt, next.expiresAt, next.updatedAt, next.version,
        flow.id, flow.version,
      ],
      conflict: `flow ${flow.id} was changed by a concurrent request`,
    });
    return next;
  }

  async appendHistory(rows: FlowTransitionRecord[]): Promise<void> {
    if (rows.length === 0) return;
    await runOrKeep(this.#source, {
      sql: insertSql('selfservice_flow_transitions', TRANSITION_COLUMNS, rows.length),
      params: rows.flatMap((r) => [crypto.randomUUID(), r.flowId, r.flowVersion, r.position, r.event, r.from, r.to, r.method, r.at]),
    });
  }

  async delete(id: string): Promise<boolean> {
    if (!UUID.test(id)) return false;
    const em = await this.#source.em();
    await em.nativeDelete(FlowTransition, { flowId: id.toLowerCase() });
    return (await em.nativeDelete(Flow, { id: id.toLowerCase() })) > 0;
  }

  async history(flowId: string): Promise<FlowTransitionRecord[]> {
    if (!UUID.test(flowId)) return [];
    const rows = await (await this.#source.em()).find(FlowTransition, { flowId: flowId.toLowerCase() }, { orderBy: { flowVersion: 'asc', position: 'asc' }, disableIdentityMap: true });
    return rows.map((r) => ({
      flowId: r.flowId, flowVersion: r.flowVersion, position: r.position, event: r.event, from: r.fromState, to: r.toState, method: r.method ?? null, at: r.createdAt,
    }));
  }
}
