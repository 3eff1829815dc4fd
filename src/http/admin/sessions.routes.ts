import { Router, type Request, type Response } from 'express';
import type { Registry } from '../../registry.ts';
import { KratosError, badRequest } from '../../errors/kratos-error.ts';
import { toSessionJson, type SessionView } from '../../session/index.ts';
import { isUuid } from '../../identity/identity-service.ts';
import { em, queryList, queryString } from '../middleware/request-context.ts';
import { paginationLinks, parsePageSize } from './pagination.ts';

const notFound = () => new KratosError(404, undefined, { reason: 'The session could not be found.' });

/** Kratos parses path ids first: a malformed one is a 400 ("could not parse UUID"), not a 404. */
function uuidParam(req: Request, what: 'session' | 'identity'): string {
  const value = String(req.params.id);
  if (!isUuid(value)) throw badRequest(`The ${what} id must be a UUID.`);
  return value.toLowerCase();
}

function activeFilter(req: Request): boolean | undefined {
  const value = queryString(req, 'active');
  if (value === undefined) return undefined;
  if (value !== 'true' && value !== 'false') throw badRequest('active must be true or false.');
  return value === 'true';
}

export function adminSessionsRoutes(registry: Registry): Router {
  const router = Router();
  const expand = (req: Request) => queryList(req, 'expand');

  async function render(res: Response, sessions: SessionView[], withIdentity: boolean) {
    const list = withIdentity ? await registry.sessions.attachIdentities(em(res), sessions) : sessions;
    return list.map((s) => toSessionJson(s, { includeIdentity: withIdentity, admin: true, schemaUrl: registry.schemaUrl }));
  }

  router.get('/admin/sessions', async (req: Request, res: Response) => {
    const pageSize = parsePageSize(req, 250, 1000);
    const active = activeFilter(req);
    const context = `sessions:${active ?? ''}`;
    const token = queryString(req, 'page_token');
    const afterId = token ? (await registry.pageTokens.open<{ after: string }>(context, token)).after : undefined;
    const rows = await registry.sessions.listAll(em(res), { active, limit: pageSize + 1, afterId });
    const page = rows.slice(0, pageSize);
    const next = rows.length > pageSize ? await registry.pageTokens.seal(context, { after: page[page.length - 1].id }) : undefined;
    res.setHeader('Link', paginationLinks(new URL('admin/sessions', registry.urls.admin), req, pageSize, next));
    res.json(await render(res, page, expand(req).includes('identity')));
  });

  router.get('/admin/sessions/:id', async (req: Request, res: Response) => {
    const session = await registry.sessions.get(em(res), uuidParam(req, 'session'));
    if (!session) throw notFound();
    const [json] = await render(res, [session], expand(req).includes('identity') || expand(req).length === 0);
    res.json(json);
  });

  router.delete('/admin/sessions/:id', async (req: Request, res: Response) => {
    if (!(await registry.sessions.revoke(em(res), uuidParam(req, 'session')))) throw notFound();
    res.status(204).end();
  });

  router.patch('/admin/sessions/:id/extend', async (req: Request, res: Response) => {
    const session = await registry.sessions.extend(em(res), uuidParam(req, 'session'));
    if (!session) throw notFound();
    const [json] = await render(res, [session], true);
    res.json(json);
  });

  router.get('/admin/identities/:id/sessions', async (req: Request, res: Response) => {
    const identityId = uuidParam(req, 'identity');
    if (!(await registry.identities.exists(em(res), identityId))) {
      throw new KratosError(404, undefined, { reason: 'The identity could not be found.' });
    }
    const pageSize = parsePageSize(req, 250, 1000);
    const active = activeFilter(req);
    const context = `identity-sessions:${identityId}:${active ?? ''}`;
    const token = queryString(req, 'page_token');
    const afterId = token ? (await registry.pageTokens.open<{ after: string }>(context, token)).after : undefined;
    const rows = await registry.sessions.listForIdentity(em(res), identityId, { active, limit: pageSize + 1, afterId });
    const page = rows.slice(0, pageSize);
    const next = rows.length > pageSize ? await registry.pageTokens.seal(context, { after: page[page.length - 1].id }) : undefined;
    res.setHeader('Link', paginationLinks(new URL(`admin/identities/${identityId}/sessions`, registry.urls.admin), req, pageSize, next));
    // Kratos lists an identity's sessions with ExpandEverything: the identity is always included.
    res.json(await render(res, page, true));
  });

  router.delete('/admin/identities/:id/sessions', async (req: Request, res: Response) => {
    const identityId = uuidParam(req, 'identity');
    if (!(await registry.identities.exists(em(res), identityId))) {
      throw new KratosError(404, undefined, { reason: 'The identity could not be found.' });
    }
    // Kratos DeleteSessionsByIdentity: the rows are deleted ("irrecoverably and permanently"), not just deactivated.
    await registry.sessions.deleteAllForIdentity(em(res), identityId);
    res.status(204).end();
  });

  return router;
}
