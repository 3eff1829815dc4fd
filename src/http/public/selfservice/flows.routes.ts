import { Router, type Request, type Response } from 'express';
import type { Registry } from '../../../registry.ts';
import { KratosError } from '../../../errors/kratos-error.ts';
import type { FlowAnswer, RequestFacts } from '../../../flows/flow-request.ts';
import type { FlowKind } from '../../../persistence/store.ts';
import { queryString } from '../../middleware/request-context.ts';
import {
  appendSetCookie, csrfCookieHeader, currentSession, deviceOf, hasBrowserMarkers, publicRequestUrl, readCsrfCookie,
  redirect, setSessionCookie, wantsJson,
} from './http-context.ts';
import { methodRoutes } from './method-routes.ts';

const KINDS: FlowKind[] = ['login', 'registration', 'settings', 'recovery', 'verification'];
/** Flows whose submit endpoint also takes GET: mailed links, and settings resuming after re-authentication. */
const GET_SUBMIT: FlowKind[] = ['settings', 'recovery', 'verification'];

/**
 * Kratos's self-service endpoints for every flow kind, and the endpoints methods own. Each route only translates:
 * the request into plain facts for the flow service, and its answer (or error) into JSON, a redirect, or the error UI.
 */
export function selfServiceFlowRoutes(registry: Registry): Router {
  const router = Router();
  const flows = registry.flowService;

  async function facts(req: Request, body?: Record<string, unknown>): Promise<RequestFacts> {
    const submitted = typeof body?.csrf_token === 'string' ? body.csrf_token : req.get('x-csrf-token');
    return {
      session: await currentSession(registry, req),
      csrfCookie: readCsrfCookie(registry, req),
      csrfSubmitted: submitted,
      browserMarkers: hasBrowserMarkers(req),
      device: deviceOf(req),
      requestUrl: publicRequestUrl(registry, req),
      hook: { method: req.method, url: publicRequestUrl(registry, req), headers: req.headers },
    };
  }

  /** Runs a flow call and writes its answer; HTML browsers of browser flows get redirects and the error UI. */
  async function answer(req: Request, res: Response, html: boolean, call: () => Promise<FlowAnswer>): Promise<void> {
    let result: FlowAnswer;
    try {
      result = await call();
    } catch (err) {
      if (err instanceof KratosError && err.flowType === 'browser' && html) {
        return redirect(res, err.browserLocation ?? await flows.recordError(err, readCsrfCookie(registry, req)));
      }
      throw err;
    }
    if (result.cookies.csrf) appendSetCookie(res, csrfCookieHeader(registry, result.cookies.csrf));
    if (result.cookies.session) setSessionCookie(registry, res, result.cookies.session.token, result.cookies.session.expiresAt);
    if (result.browserLocation && (result.status === 303 || (result.flowType === 'browser' && html))) {
      return redirect(res, result.browserLocation, result.browserStatus ?? 303);
    }
    res.status(result.status).json(result.body);
  }

  const handle = (html: (req: Request) => boolean, call: (req: Request) => Promise<FlowAnswer>) =>
    (req: Request, res: Response): Promise<void> => answer(req, res, html(req), () => call(req));
  const htmlClient = (req: Request) => !wantsJson(req);
  const always = () => true;
  const never = () => false;

  for (const kind of KINDS) {
    for (const type of ['api', 'browser'] as const) {
      router.get(`/self-service/${kind}/${type}`, handle(type === 'browser' ? htmlClient : never, async (req) => flows.create(kind, type, await facts(req), {
        returnTo: queryString(req, 'return_to'),
        returnSessionTokenExchangeCode: queryString(req, 'return_session_token_exchange_code') === 'true',
        refresh: queryString(req, 'refresh') === 'true',
        aal: queryString(req, 'aal'),
      })));
    }

    router.get(`/self-service/${kind}/flows`, handle(never, async (req) => flows.get(kind, queryString(req, 'id') ?? '', await facts(req))));

    router.post(`/self-service/${kind}`, handle(htmlClient, async (req) => {
      const form = req.is('application/x-www-form-urlencoded');
      if (!req.is('application/json') && !form) {
        throw new KratosError(415, undefined, { reason: 'Submit the flow as application/json or application/x-www-form-urlencoded.' });
      }
      const body: unknown = req.body ?? {};
      if (typeof body !== 'object' || Array.isArray(body) || body === null) {
        throw new KratosError(400, undefined, { reason: 'The request body must be a JSON object or a form.' });
      }
      const record = body as Record<string, unknown>;
      return flows.submit(kind, queryString(req, 'flow') ?? '', await facts(req, record), { body: record, source: form ? 'form' : 'json' });
    }));

    if (GET_SUBMIT.includes(kind)) {
      // Mail links are opened by browsers whatever they accept; a JSON client resuming settings gets JSON.
      router.get(`/self-service/${kind}`, handle(kind === 'settings' ? htmlClient : always, async (req) => {
        const query = Object.fromEntries(Object.entries(req.query).filter(([key]) => key !== 'flow')) as Record<string, unknown>;
        return flows.submit(kind, queryString(req, 'flow') ?? '', await facts(req), { body: query, source: 'query', viaLink: true });
      }));
    }
  }

  // Kratos deleteTestLoginFlow: an administrator's test login, by id (a captured one only from the browser that captured it).
  router.delete('/self-service/login/test', async (req: Request, res: Response) => {
    await flows.deleteTestLogin(queryString(req, 'id') ?? '', await facts(req));
    res.status(204).end();
  });

  // A method's callback is a browser navigation: answered like a link.
  router.use(methodRoutes(registry, registry.methods.flatMap((m) => m.routes ?? []), (req, res, call) => answer(req, res, true, call), (req) => facts(req)));
  return router;
}
