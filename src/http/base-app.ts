import express, { type Express } from 'express';
import type { Metrics } from '../../observability/metrics.ts';
import { requestId } from './middleware/request-id.ts';
import { httpMetrics } from './middleware/http-metrics.ts';
import { refuseNulInUrl } from './middleware/body.ts';

/** What the public and admin apps share: no X-Powered-By or ETags (Kratos sends none), request ids, metrics, no NUL in URLs. */
export function createBaseApp(metrics: Pick<Metrics, 'httpRequestSeconds'>): Express {
  const app = express();
  app.disable('x-powered-by');
  app.disable('etag'); // hashing every body would cost the hot paths, whoami first
  app.set('trust proxy', false);
  app.use(requestId);
  app.use(httpMetrics(metrics));
  app.use(refuseNulInUrl);
  return app;
}
