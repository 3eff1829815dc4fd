import { Router, type Request, type Response } from 'express';
import { KratosError, badRequest } from '../../errors/kratos-error.ts';
import { toMessageJson } from '../../courier/message-json.ts';
import { isUuid } from '../../identity/identity-service.ts';
import type { CourierDispatchRecord, CourierRepository, CourierStatus } from '../../persistence/store.ts';
import type { PageTokenSealer } from '../../x/page-token.ts';
import { queryString } from '../middleware/request-context.ts';
import { paginationLinks, parsePageSize } from './pagination.ts';

export interface CourierRoutesDeps {
  pageTokens: PageTokenSealer;
  messages: CourierRepository;
  adminBaseUrl: () => string;
}

const STATUSES: readonly CourierStatus[] = ['queued', 'processing', 'sent', 'abandoned'];
const notFound = () => new KratosError(404, undefined, { reason: 'The courier message could not be found.' });

async function dispatchesOf(messages: CourierRepository, ids: string[]): Promise<Map<string, CourierDispatchRecord[]>> {
  const byMessage = new Map<string, CourierDispatchRecord[]>(ids.map((id) => [id, []]));
  for (const row of await messages.dispatchesOf(ids)) byMessage.get(row.messageId)?.push(row);
  return byMessage;
}

/** `GET /admin/courier/messages` (newest first, keyset-paginated, filters `status`, `recipient`) and `/{id}`. */
export function courierRoutes(deps: CourierRoutesDeps): Router {
  const router = Router();

  router.get('/admin/courier/messages', async (req: Request, res: Response) => {
    const pageSize = parsePageSize(req, 10, 1000);
    const status = queryString(req, 'status');
    if (status !== undefined && status !== '' && !(STATUSES as readonly string[]).includes(status)) {
      throw badRequest(`status must be one of ${STATUSES.join(', ')}.`);
    }
    const recipient = queryString(req, 'recipient');
    const context = `courier-messages:${status ?? ''}:${recipient ?? ''}`;
    const token = queryString(req, 'page_token');
    const after = token ? await deps.pageTokens.open<{ t: number; id: string }>(context, token) : undefined;
    const rows = await deps.messages.list({
      limit: pageSize + 1,
      status: status ? status as CourierStatus : undefined,
      recipient: recipient || undefined,
      before: after ? { createdAt: new Date(after.t), id: after.id } : undefined,
    });
    const page = rows.slice(0, pageSize);
    const last = page[page.length - 1];
    const next = rows.length > pageSize ? await deps.pageTokens.seal(context, { t: last.createdAt.getTime(), id: last.id }) : undefined;
    const dispatches = await dispatchesOf(deps.messages, page.map((m) => m.id));
    res.setHeader('Link', paginationLinks(new URL('admin/courier/messages', deps.adminBaseUrl()), req, pageSize, next));
    res.json(page.map((m) => toMessageJson(m, dispatches.get(m.id) ?? [])));
  });

  router.get('/admin/courier/messages/:id', async (req: Request, res: Response) => {
    const id = String(req.params.id);
    // As Kratos: a malformed id is a 400 ("could not parse UUID"), an unknown one a 404.
    if (!isUuid(id)) throw badRequest('The message id must be a UUID.');
    const message = await deps.messages.get(id);
    if (!message) throw notFound();
    const dispatches = await dispatchesOf(deps.messages, [message.id]);
    res.json(toMessageJson(message, dispatches.get(message.id) ?? []));
  });

  return router;
}
