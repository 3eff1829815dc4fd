import { Router, type Request, type Response } from 'express';
import type { Registry } from '../../registry.ts';
import { KratosError, sessionInactive, securityCsrfViolation } from '../../errors/kratos-error.ts';
import { queryString } from '../middleware/request-context.ts';
import { clearSessionCookie, currentSession, forwardToErrorUi, redirect, rotateCsrfCookie, wantsJson } from './selfservice/http-context.ts';

/**
 * Browser logout is a two-step, CSRF-safe exchange: `/logout/browser` hands out a URL carrying a logout token
 * bound to the session; following it revokes that session. Native apps revoke with their session token.
 */
export function logoutRoutes(registry: Registry): Router {
  const router = Router();
  const afterLogout = () => registry.config.selfservice.flows.logout?.after?.default_browser_return_url ?? registry.config.selfservice.default_browser_return_url;

  router.get('/self-service/logout/browser', async (req: Request, res: Response) => {
    const current = await currentSession(registry, req);
    if (!current || current.source !== 'cookie') {
      throw sessionInactive();
    }
    const requested = queryString(req, 'return_to');
    const returnTo = requested ? registry.returnTo.resolve(requested) : undefined;
    const logoutToken = await registry.sessions.logoutTokenFor(current.session.id);
    const url = new URL('self-service/logout', registry.urls.public);
    url.searchParams.set('token', logoutToken);
    if (returnTo) url.searchParams.set('return_to', returnTo);
    res.json({ logout_url: url.toString(), logout_token: logoutToken });
  });

  router.get('/self-service/logout', async (req: Request, res: Response) => {
    try {
      await logout(req, res);
    } catch (err) {
      // As Kratos's error manager: HTML browsers are sent to the error UI, JSON clients get the error.
      if (!wantsJson(req) && err instanceof KratosError) return forwardToErrorUi(registry, req, res, err);
      throw err;
    }
  });

  async function logout(req: Request, res: Response): Promise<void> {
    const token = queryString(req, 'token');
    if (!token) throw new KratosError(400, undefined, { reason: 'Please include a token in the URL query.' });
    const requested = queryString(req, 'return_to');
    // A return_to that isn't allow-listed falls back to the default: logout never redirects to an attacker.
    const target = requested && registry.returnTo.isAllowed(requested) ? registry.returnTo.safeOrDefault(requested) : afterLogout();
    // Only the browser holding the session can end it (Kratos): a leaked logout link alone revokes nothing.
    const current = await currentSession(registry, req);
    if (!current) throw sessionInactive();
    const revoked = await registry.sessions.revokeByLogoutToken(token, { sessionId: current.session.id });
    if (!revoked) {
      throw securityCsrfViolation('Unable to log out because the logout token in the URL query does not match the session cookie.');
    }
    clearSessionCookie(registry, res);
    rotateCsrfCookie(registry, res);
    if (wantsJson(req)) {
      res.status(204).end();
      return;
    }
    redirect(res, target);
  }

  router.delete('/self-service/logout/api', async (req: Request, res: Response) => {
    const token = (req.body as { session_token?: unknown } | undefined)?.session_token;
    if (typeof token !== 'string' || token === '') {
      throw new KratosError(400, undefined, { reason: 'The session_token is missing from the request body.' });
    }
    const revoked = await registry.sessions.revokeByToken(token);
    if (!revoked) throw new KratosError(403, undefined, { reason: 'The provided session token is not valid.' });
    res.status(204).end();
  });

  return router;
}
