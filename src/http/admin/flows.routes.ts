import { Router, type Request, type Response } from 'express';
import { KratosError } from '../../errors/kratos-error.ts';
import type { FlowService } from '../../flows/flow-service.ts';
import type { FlowRepository } from '../../persistence/store.ts';

/**
 * `POST /admin/test-login-flows` (Kratos createTestLoginFlow): a dry-run OpenID Connect login of one provider, answered
 * 201 with the login flow (its `test_context` names the provider).
 */
export function adminTestLoginRoutes(flows: Pick<FlowService, 'createTestLogin'>, requestUrl: () => string): Router {
  const router = Router();
  router.post('/admin/test-login-flows', async (req: Request, res: Response) => {
    res.status(201).json(await flows.createTestLogin(req.is('application/json') ? req.body : undefined, requestUrl()));
  });
  return router;
}

/**
 * `GET /admin/flows/{id}/history` (idflow; Kratos has no such endpoint): a flow's audit trail — every transition of
 * its machine with the event's type, the method submitted and the time, oldest first. Never an event's payload, so
 * no password, code or token can be in it.
 */
export function adminFlowsRoutes(flows: Pick<FlowRepository, 'get' | 'history'>): Router {
  const router = Router();
  router.get('/admin/flows/:id/history', async (req: Request, res: Response) => {
    const id = String(req.params.id);
    const flow = await flows.get(id);
    if (!flow) throw new KratosError(404, undefined, { reason: 'The flow could not be found.' });
    const history = await flows.history(flow.id);
    res.json({
      flow_id: flow.id,
      kind: flow.kind,
      type: flow.type,
      state: flow.state,
      issued_at: flow.issuedAt.toISOString(),
      transitions: history.map((t) => ({ event: t.event, from: t.from, to: t.to, ...(t.method ? { method: t.method } : {}), at: t.at.toISOString() })),
    });
  });
  return router;
}
