import { Router, type Request, type Response } from 'express';
import type { Registry } from '../../../registry.ts';
import type { MethodRoute } from '../../../methods/method.ts';
import type { FlowAnswer } from '../../../flows/flow-request.ts';
import { KratosError } from '../../../errors/kratos-error.ts';
import { forwardToErrorUi, redirect, wantsJson } from './http-context.ts';

/**
 * Mounts the endpoints methods own (`Method.routes`): content is sent as is; a submission goes to the flow service
 * like a browser navigation. `answerFlow` is the flow routes' answer writer, so both answer alike.
 */
export function methodRoutes(
  registry: Registry,
  routes: MethodRoute[],
  answerFlow: (req: Request, res: Response, call: () => Promise<FlowAnswer>) => Promise<void>,
  facts: (req: Request) => Promise<Parameters<Registry['flowService']['submit']>[2]>,
): Router {
  const router = Router();
  // Methods may share an endpoint (WebAuthn and passkeys both serve webauthn.js): each path is mounted once.
  const seen = new Set<string>();
  for (const route of routes) {
    const key = `${route.method} ${route.path}`;
    if (seen.has(key)) continue;
    seen.add(key);
    const handler = async (req: Request, res: Response): Promise<void> => {
      const query = Object.fromEntries(Object.entries(req.query).filter((e): e is [string, string] => typeof e[1] === 'string'));
      const body = req.body && typeof req.body === 'object' && !Array.isArray(req.body) ? req.body as Record<string, unknown> : {};
      const answer = await route.handle({ path: req.path, params: { ...req.params } as Record<string, string>, query, body });
      if (answer.kind === 'redirect') {
        redirect(res, new URL(answer.to.replace(/^\/+/, ''), registry.urls.public).toString(), answer.status);
        return;
      }
      if (answer.kind === 'error') {
        const error = new KratosError(answer.status, undefined, { reason: answer.reason });
        // A browser navigation sees the error UI (Kratos's SelfServiceErrorManager().Forward); a JSON client the error.
        if (wantsJson(req)) throw error;
        await forwardToErrorUi(registry, req, res, error);
        return;
      }
      if (answer.kind === 'content') {
        if (answer.cacheControl) res.setHeader('Cache-Control', answer.cacheControl);
        if (answer.shareable) {
          res.setHeader('Access-Control-Allow-Origin', '*');
          res.setHeader('Cross-Origin-Resource-Policy', 'cross-origin');
        }
        // Written as is: Express's send() would rewrite the charset of the content type (Kratos sends `UTF-8`).
        res.status(answer.status).setHeader('Content-Type', answer.contentType);
        res.setHeader('Content-Length', Buffer.byteLength(answer.body));
        res.end(answer.body);
        return;
      }
      await answerFlow(req, res, async () => registry.flowService.submit(answer.flowKind, answer.flowId, await facts(req), { body: answer.payload, source: 'json', callback: true }));
    };
    if (route.method === 'GET') router.get(route.path, handler);
    else router.post(route.path, handler);
  }
  return router;
}
