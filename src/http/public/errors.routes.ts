import { Router, type Request, type Response } from 'express';
import { KratosError } from '../../errors/kratos-error.ts';
import type { ErrorRepository } from '../../persistence/store.ts';
import type { Clock } from '../../x/clock.ts';
import { queryString } from '../middleware/request-context.ts';

/** Errors stored for browsers (`flows.error.ui_url?id=`), read back by the error UI. */
export function selfServiceErrorsRoutes(deps: { errors: ErrorRepository; clock: Clock }): Router {
  const router = Router();
  router.get('/self-service/errors', async (req: Request, res: Response) => {
    const id = queryString(req, 'id') ?? '';
    if (id === 'stub:500') {
      const now = deps.clock.now().toISOString();
      res.json({ id, error: { code: 500, status: 'Internal Server Error', reason: 'This is a stub error.', message: 'An internal server error occurred, please contact the system administrator' }, created_at: now, updated_at: now });
      return;
    }
    const found = await deps.errors.get(id);
    if (!found) throw new KratosError(404, undefined, { reason: 'The error could not be found.' });
    if (!found.seenAt) await deps.errors.markSeen(found.id, deps.clock.now());
    res.json({ id: found.id, error: found.error, created_at: found.createdAt.toISOString(), updated_at: found.updatedAt.toISOString() });
  });
  return router;
}
