import { Router, type Request, type Response } from 'express';
import type { Registry } from '../../registry.ts';
import { KratosError, sessionAal2Required, sessionInactive } from '../../errors/kratos-error.ts';
import { satisfiesAal } from '../../session/aal.ts';
import { sessionWithIdentityText, toSessionJson } from '../../session/index.ts';
import { exchangeSessionToken } from '../../session/token-exchange.ts';
import { isUuid } from '../../identity/identity-service.ts';
import { keysetPage } from '../admin/pagination.ts';
import { currentSession, setSessionCookie, type RequestSession } from './selfservice/http-context.ts';

/** whoami without credentials: Kratos answers 401 with no error id (ory/kratos#4129). */
const noSession = () => new KratosError(401, undefined, { reason: 'No valid session credentials found in the request.' });
const inactive = () => sessionInactive();

/**
 * `session.whoami.required_aal` (Kratos DoesSessionSatisfy): with `highest_available` an aal1 session of an identity
 * that has a second factor answers 403 `session_aal2_required`, pointing the browser at the aal2 login. Decided from
 * the credential types the lookup already read (no second query).
 */
function requireWhoamiAal(registry: Registry, session: RequestSession['session']): void {
  if (satisfiesAal(session.aal, registry.config.session.whoami.required_aal, session.credentialTypes, registry.secondFactors)) return;
  throw sessionAal2Required(new URL('self-service/login/browser?aal=aal2', registry.urls.public).toString());
}

export const WHOAMI_PATH = '/sessions/whoami';

/**
 * whoami is the hottest path of any deployment: one indexed lookup, no credentials loaded. Mounted at WHOAMI_PATH
 * for every method, ahead of body parsing, which it doesn't need.
 */
export function whoamiHandler(registry: Registry): (req: Request, res: Response) => Promise<void> {
  // The lookup hands back the same frozen session object while its row is unchanged (SessionRowMemo), so its
  // serialized body is computed once per row version.
  const bodies = new WeakMap<RequestSession['session'], string>();
  const body = (s: RequestSession['session']) => {
    let text = bodies.get(s);
    if (text === undefined) {
      text = sessionWithIdentityText(s, registry.schemaUrl);
      bodies.set(s, text);
    }
    return text;
  };

  return async (req: Request, res: Response) => {
    if (req.method === 'OPTIONS') {
      res.status(204).end();
      return;
    }
    const current = await currentSession(registry, req);
    if (!current) throw noSession();
    requireWhoamiAal(registry, current.session);
    // Kratos tokenizes before answering: an unknown template or a failing mapper is the answer (400).
    const tokenizeAs = typeof req.query.tokenize_as === 'string' ? req.query.tokenize_as : '';
    let text: string;
    if (tokenizeAs !== '') {
      const json = toSessionJson(current.session, { includeIdentity: true, schemaUrl: registry.schemaUrl });
      const tokenized = await registry.tokenizer.tokenize(tokenizeAs, {
        session: json as typeof json & { identity: { id: string } }, externalId: current.session.identity.externalId,
      });
      text = JSON.stringify({ ...json, tokenized });
    } else {
      // Written directly: res.json's extra work (etag, freshness, Buffer round trip) is measurable on this path.
      text = body(current.session);
    }
    if (current.source === 'cookie' && registry.config.session.cookie.persistent) {
      setSessionCookie(registry, res, current.token, current.session.expiresAt);
    }
    res.setHeader('X-Kratos-Authenticated-Identity-Id', current.session.identityId);
    if (req.method === 'HEAD') {
      res.status(200).end();
      return;
    }
    res.setHeader('Content-Type', 'application/json; charset=utf-8');
    res.setHeader('Content-Length', Buffer.byteLength(text));
    res.end(text);
  };
}

export function sessionsRoutes(registry: Registry): Router {
  const router = Router();

  router.get('/sessions', async (req: Request, res: Response) => {
    const current = await currentSession(registry, req);
    if (!current) throw inactive();
    requireWhoamiAal(registry, current.session);
    const identityId = current.session.identityId;
    // Page tokens are sealed for this identity's list: another caller's token opens nothing here.
    const others = await keysetPage(req, res, {
      tokens: registry.pageTokens, context: `my-sessions:${identityId}`, base: new URL('sessions', registry.urls.public), fallback: 250, max: 1000,
    }, ({ afterId, limit }) => registry.sessions.listForIdentity(identityId, { active: true, limit, afterId, exceptSessionId: current.session.id }));
    // Kratos lists them with ExpandEverything: each carries the (caller's own) identity, without credentials.
    const identity = current.session.identity;
    res.json(others.map((s) => toSessionJson({ ...s, identity }, { includeIdentity: true, schemaUrl: registry.schemaUrl })));
  });

  // Kratos exchangeSessionToken: a native app's init code and return_to code, once, for the session token.
  router.get('/sessions/token-exchange', async (req: Request, res: Response) => {
    const code = (name: string) => (typeof req.query[name] === 'string' ? req.query[name] : '');
    const { token, session } = await exchangeSessionToken(registry, code('init_code'), code('return_to_code'));
    res.setHeader('Cache-Control', 'no-store');
    res.json({ session_token: token, session: toSessionJson(session, { includeIdentity: true, schemaUrl: registry.schemaUrl }) });
  });

  router.delete('/sessions', async (req: Request, res: Response) => {
    const current = await currentSession(registry, req);
    if (!current) throw inactive();
    const count = await registry.sessions.revokeAllForIdentity(current.session.identityId, { exceptSessionId: current.session.id });
    res.json({ count });
  });

  router.delete('/sessions/:id', async (req: Request, res: Response) => {
    const current = await currentSession(registry, req);
    if (!current) throw inactive();
    const raw = String(req.params.id);
    // Kratos: a malformed id is a 400 ("could not parse UUID"), checked before the current-session rule; the parsed
    // (canonical, lower-case) id is compared, so an upper-case spelling of the current id is still the current one.
    if (!isUuid(raw)) throw new KratosError(400, undefined, { reason: 'The session id must be a UUID.' });
    const id = raw.toLowerCase();
    if (id === current.session.id.toLowerCase()) {
      throw new KratosError(400, undefined, { reason: 'You can not revoke the session you are currently using; use the logout flow instead.' });
    }
    // Only the caller's own sessions: another identity's session id is a 404, never revoked.
    if (!(await registry.sessions.revoke(id, { identityId: current.session.identityId }))) {
      throw new KratosError(404, undefined, { reason: 'The session could not be found.' });
    }
    res.status(204).end();
  });

  return router;
}


