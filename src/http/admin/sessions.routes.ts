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

/** Kratos ParseExpandable: `identity` and `devices`, any case; anything else is a 400. */
function expandOptions(req: Request): { identity: boolean; devices: boolean } {
  const out = { identity: false, devices: false };
  for (const raw of queryList(req, 'expand')) {
    const value = raw.toLowerCase();
    if (value !== 'identity' && value !== 'devices') throw badRequest(`Could not parse expand option: ${raw}`);
    out[value] = true;
  }
  return out;
}

const EVERYTHING = { identity: true, devices: true };

/** Kratos ManageSessionsMaxIDs: explicit ids per call. */
const MANAGE_MAX_IDS = 500;
/** Kratos manageSessionsWildcardBatchSize: rows per wildcard call (`more` tells the caller to call again). */
const MANAGE_WILDCARD_BATCH = 5000;
const WILDCARD = '*';

function manageIds(raw: unknown[], field: 'identities' | 'sessions'): string[] {
  const fail = (why: string) => badRequest(`Could not parse '${field}' field: ${why}`);
  if (raw.length > MANAGE_MAX_IDS) throw fail(`at most ${MANAGE_MAX_IDS} IDs may be provided per call`);
  return raw.map((value) => {
    if (value === WILDCARD) throw fail("the wildcard '*' is not accepted here");
    if (typeof value !== 'string' || !isUuid(value)) throw fail(`could not parse ${JSON.stringify(value)} as UUID`);
    return value.toLowerCase();
  });
}

/** Where Kratos's admin port sends a public route: the same path and query on the public base URL (307). */
function toPublic(registry: Registry, req: Request): string {
  const url = new URL(req.originalUrl.replace(/^\/admin(?=\/)/, ''), 'http://x');
  const base = new URL(registry.urls.public);
  return new URL(base.pathname.replace(/\/$/, '') + url.pathname + url.search, base).toString();
}

const TRUE = new Set(['1', 't', 'T', 'TRUE', 'true', 'True']);
const FALSE = new Set(['0', 'f', 'F', 'FALSE', 'false', 'False']);

function activeFilter(req: Request): boolean | undefined {
  const value = queryString(req, 'active');
  if (value === undefined) return undefined;
  // Kratos reads it with Go's strconv.ParseBool.
  if (TRUE.has(value)) return true;
  if (FALSE.has(value)) return false;
  throw badRequest('could not parse parameter active');
}

export function adminSessionsRoutes(registry: Registry): Router {
  const router = Router();

  async function render(sessions: SessionView[], expand: { identity: boolean; devices: boolean }) {
    const list = expand.identity ? await registry.sessions.attachIdentities(sessions) : sessions;
    return list.map((s) => toSessionJson(s, {
      includeIdentity: expand.identity, includeDevices: expand.devices, admin: true, schemaUrl: registry.schemaUrl,
    }));
  }

  router.get('/admin/sessions', async (req: Request, res: Response) => {
    const active = activeFilter(req);
    const expand = expandOptions(req);
    const page = await keysetPage(req, res, {
      tokens: registry.pageTokens, context: `sessions:${active ?? ''}`, base: new URL('admin/sessions', registry.urls.admin), fallback: 250, max: 1000,
    }, ({ afterId, limit }) => registry.sessions.listAll({ active, limit, afterId }));
    res.json(await render(page, expand));
  });

  // Kratos manageSessions: disable or delete sessions in bulk, by session ids or identity ids (or every session).
  router.post('/admin/sessions', async (req: Request, res: Response) => {
    const body: unknown = req.body;
    if (typeof body !== 'object' || body === null || Array.isArray(body)) throw badRequest('Invalid JSON body.');
    const { action, identities, sessions } = body as Record<string, unknown>;
    if (action !== 'disable' && action !== 'delete') throw badRequest("The 'action' field must be one of 'disable' or 'delete'.");
    const list = (value: unknown, field: string): unknown[] => {
      if (value === undefined || value === null) return [];
      if (!Array.isArray(value)) throw badRequest('Invalid JSON body.', { debug: `${field} must be an array of strings` });
      return value;
    };
    const byIdentity = list(identities, 'identities');
    const bySession = list(sessions, 'sessions');
    if ((byIdentity.length > 0) === (bySession.length > 0)) throw badRequest("Exactly one of 'identities' or 'sessions' must be a non-empty array.");
    if (byIdentity.length === 1 && byIdentity[0] === WILDCARD) {
      const processed = await registry.sessions.manage(action, { all: true, limit: MANAGE_WILDCARD_BATCH });
      res.json({ processed, more: processed === MANAGE_WILDCARD_BATCH });
      return;
    }
    const processed = byIdentity.length > 0
      ? await registry.sessions.manage(action, { identityIds: manageIds(byIdentity, 'identities') })
      : await registry.sessions.manage(action, { sessionIds: manageIds(bySession, 'sessions') });
    res.json({ processed, more: false });
  });

  // Kratos: the admin port answers the public session routes with a redirect there.
  router.get('/admin/sessions/whoami', (req: Request, res: Response) => res.redirect(307, toPublic(registry, req)));
  router.delete('/admin/sessions', (req: Request, res: Response) => res.redirect(307, toPublic(registry, req)));

  router.get('/admin/sessions/:id', async (req: Request, res: Response) => {
    const id = uuidParam(req, 'session');
    const expand = expandOptions(req);
    const session = await registry.sessions.get(id);
    if (!session) throw notFound();
    const [json] = await render([session], expand);
    if (!json) throw notFound();
    res.json(json);
  });

  router.delete('/admin/sessions/:id', async (req: Request, res: Response) => {
    if (!(await registry.sessions.revoke(uuidParam(req, 'session')))) throw notFound();
    res.status(204).end();
  });

  router.patch('/admin/sessions/:id/extend', async (req: Request, res: Response) => {
    const session = await registry.sessions.extend(uuidParam(req, 'session'));
    if (!session) throw notFound();
    // Kratos's feature flag: 204 and no body (the default answer will become that one).
    if (registry.config.feature_flags?.faster_session_extend === true) {
      res.status(204).end();
      return;
    }
    // Kratos reads the session back with ExpandDefault: the identity, not the devices.
    const [json] = await render([session], { identity: true, devices: false });
    res.json(json);
  });

  router.get('/admin/identities/:id/sessions', async (req: Request, res: Response) => {
    const identityId = uuidParam(req, 'identity');
    // Kratos lists by identity id without looking the identity up: an unknown one simply has no sessions.
    const active = activeFilter(req);
    const page = await keysetPage(req, res, {
      tokens: registry.pageTokens, context: `identity-sessions:${identityId}:${active ?? ''}`,
      base: new URL(`admin/identities/${identityId}/sessions`, registry.urls.admin), fallback: 250, max: 1000,
    }, ({ afterId, limit }) => registry.sessions.listForIdentity(identityId, { active, limit, afterId }));
    // Kratos lists an identity's sessions with ExpandEverything: the identity and the devices.
    res.json(await render(page, EVERYTHING));
  });

  router.delete('/admin/identities/:id/sessions', async (req: Request, res: Response) => {
    const identityId = uuidParam(req, 'identity');
    // Kratos DeleteSessionsByIdentity: the rows are deleted ("irrecoverably and permanently"), not just deactivated;
    // when none was deleted (an unknown identity, or one without sessions) it answers 404.
    if ((await registry.sessions.deleteAllForIdentity(identityId)) === 0) throw notFound();
    res.status(204).end();
  });

  return router;
}
