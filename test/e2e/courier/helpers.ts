import { CourierDispatch, CourierMessage, type CourierMessageRow } from '../../../entities/index.ts';
import type { MessageDraft } from '../../../src/courier/courier.ts';
import type { TestServer } from '../../support/server.ts';
import { until } from '../../support/until.ts';

export { until };

/** Enqueues in a transaction of its own, as a flow would. */
export async function enqueue(server: TestServer, draft: MessageDraft): Promise<CourierMessageRow> {
  const queued = await server.registry.store.transaction((tx) => server.registry.courier.enqueue(tx, draft));
  return messageRow(server, queued.id);
}

export async function messageRow(server: TestServer, id: string): Promise<CourierMessageRow> {
  return server.orm.em.fork().findOneOrFail(CourierMessage, { id });
}

export async function dispatchesOf(server: TestServer, id: string) {
  return server.orm.em.fork().find(CourierDispatch, { message: id }, { orderBy: { createdAt: 'asc' } });
}


/** Waits until the message has the given status. */
export function untilStatus(server: TestServer, id: string, status: string, timeoutMs?: number): Promise<CourierMessageRow> {
  return until(() => messageRow(server, id), (row) => row.status === status, timeoutMs, `message ${id} to be ${status}`);
}

/** Fast worker settings for tests. */
export { FAST_WORKER } from '../../support/smtp-server.ts';
