import { Router, type Request, type Response } from 'express';
import type { Registry } from '../../registry.ts';
import { KratosError, badRequest } from '../../errors/kratos-error.ts';
import { toSessionJson, type SessionView } from '../../session/index.ts';
import { isUuid } from '../../identity/identity-service.ts';
import { queryList, queryString } from '../middleware/request-context.ts';
import { keysetPage } from './pagination.ts';

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
    const list = withIdentity ? await registry.sessions.attachIdentities(sessions) : sessions;
    return list.map((s) => toSessionJson(s, { includeIdentity: withIdentity, admin: true, schemaUrl: registry.schemaUrl }));
  }

  router.get('/admin/sessions', async (req: Request, res: Response) => {
    const active = activeFilter(req);
    const page = await keysetPage(req, res, {
      tokens: registry.pageTokens, context: `sessions:${active ?? ''}`, base: new URL('admin/sessions', registry.urls.admin), fallback: 250, max: 1000,
    }, ({ afterId, limit }) => registry.sessions.listAll({ active, limit, afterId }));
    res.json(await render(res, page, expand(req).includes('identity')));
  });

  router.get('/admin/sessions/:id', async (req: Request, res: Response) => {
    const session = await registry.sessions.get(uuidParam(req, 'session'));
    if (!session) throw notFound();
    const [json] = await render(res, [session], expand(req).includes('identity') || expand(req).length === 0);
    res.json(json);
  });

  router.delete('/admin/sessions/:id', async (req: Request, res: Response) => {
    if (!(await registry.sessions.revoke(uuidParam(req, 'session')))) throw notFound();
    res.status(204).end();
  });

  router.patch('/admin/sessions/:id/extend', async (req: Request, res: Response) => {
    const session = await registry.sessions.extend(uuidParam(req, 'session'));
    if (!session) throw notFound();
    const [json] = await render(res, [session], true);
    res.json(json);
  });

  router.get('/admin/identities/:id/sessions', async (req: Request, res: Response) => {
    const identityId = uuidParam(req, 'identity');
    if (!(await registry.identities.exists(identityId))) {
      throw new KratosError(404, undefined, { reason: 'The identity could not be found.' });
    }
    const active = activeFilter(req);
    const page = await keysetPage(req, res, {
      tokens: registry.pageTokens, context: `identity-sessions:${identityId}:${active ?? ''}`,
      base: new URL(`admin/identities/${identityId}/sessions`, registry.urls.admin), fallback: 250, max: 1000,
    }, ({ afterId, limit }) => registry.sessions.listForIdentity(identityId, { active, limit, afterId }));
    // Kratos lists an identity's sessions with ExpandEverything: the identity is always included.
    res.json(await render(res, page, true));
  });

  router.delete('/admin/identities/:id/sessions', async (req: Request, res: Response) => {
    const identityId = uuidParam(req, 'identity');
    if (!(await registry.identities.exists(identityId))) {
      throw new KratosError(404, undefined, { reason: 'The identity could not be found.' });
    }
    // Kratos DeleteSessionsByIdentity: the rows are deleted ("irrecoverably and permanently"), not just deactivated.
    await registry.sessions.deleteAllForIdentity(identityId);
    res.status(204).end();
  });

  return router;
}
