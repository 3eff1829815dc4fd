import { Router, type Request, type Response } from 'express';
import { SelfServiceError } from '../../../entities/index.ts';
import { KratosError } from '../../errors/kratos-error.ts';
import { isUuid } from '../../identity/identity-service.ts';
import { em, queryString } from '../middleware/request-context.ts';

/** Errors stored for browsers (`flows.error.ui_url?id=`), read back by the error UI. */
export function selfServiceErrorsRoutes(): Router {
  const router = Router();
  router.get('/self-service/errors', async (req: Request, res: Response) => {
    const id = queryString(req, 'id') ?? '';
    if (id === 'stub:500') {
      const now = new Date().toISOString();
      res.json({ id, error: { code: 500, status: 'Internal Server Error', reason: 'This is a stub error.', message: 'An internal server error occurred, please contact the system administrator' }, created_at: now, updated_at: now });
      return;
    }
    const row = isUuid(id) ? await em(res).findOne(SelfServiceError, { id }) : null;
    if (!row) throw new KratosError(404, undefined, { reason: 'The error could not be found.' });
    if (!row.seenAt) {
      row.seenAt = new Date();
      await em(res).flush();
    }
    res.json({ id: row.id, error: row.error, created_at: row.createdAt.toISOString(), updated_at: row.updatedAt.toISOString() });
  });
  return router;
}
