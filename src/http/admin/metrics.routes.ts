import { Router } from 'express';
import type { Metrics } from '../../../observability/metrics.ts';

/** Kratos's `GET /admin/metrics/prometheus` (also answered unprefixed): the Prometheus text exposition. */
export function metricsRoutes(registry: Metrics['registry']): Router {
  const router = Router();
  router.get(['/admin/metrics/prometheus', '/metrics/prometheus'], async (_req, res, next) => {
    try {
      const body = await registry.metrics();
      res.setHeader('Content-Type', registry.contentType);
      res.setHeader('Cache-Control', 'no-store');
      res.send(body);
    } catch (err) {
      next(err);
    }
  });
  return router;
}
