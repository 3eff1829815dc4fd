import { Router } from 'express';
import { notFound } from '../../errors/kratos-error.ts';
import type { IdentitySchemaRegistry } from '../../identity/schema/index.ts';
import { parsePageSize } from '../admin/pagination.ts';
import { queryString } from '../middleware/request-context.ts';

export function schemasRoutes(schemas: IdentitySchemaRegistry): Router {
  const router = Router();
  router.get('/schemas', (req, res) => {
    const all = schemas.list();
    const pageSize = parsePageSize(req, 250, 1000);
    const page = Math.max(1, Number(queryString(req, 'page') ?? 1) || 1);
    res.json(all.slice((page - 1) * pageSize, page * pageSize));
  });
  router.get('/schemas/:id', (req, res) => {
    const schema = schemas.getByIdOrEncoded(String(req.params.id));
    if (!schema) throw notFound('The requested identity schema does not exist.');
    res.json(schema.raw);
  });
  return router;
}
