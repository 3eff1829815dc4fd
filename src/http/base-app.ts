import express, { type Express } from 'express';
import type { Metrics } from '../../observability/metrics.ts';
import { requestId } from './middleware/request-id.ts';
import { httpMetrics } from './middleware/http-metrics.ts';
import { refuseNulInUrl } from './middleware/body.ts';

/**
 * What the public and admin apps share: no X-Powered-By or ETags (Kratos sends none), request ids, metrics, no NUL in
 * URLs, and who the client is: the connection's address, or — only on a connection from one of `trustedProxies` — the
 * right-most X-Forwarded-For address that is not a trusted proxy (Express's `trust proxy`). Anyone else's
 * X-Forwarded-For is ignored, so a client can not choose the address rate limits count (ASVS 15.3.4 style).
 */
export function createBaseApp(metrics: Pick<Metrics, 'httpRequestSeconds'>, trustedProxies: readonly string[] = [], key = 'serve.*.trusted_proxies'): Express {
  const app = express();
  app.disable('x-powered-by');
  app.disable('etag'); // hashing every body would cost the hot paths, whoami first
  try {
    app.set('trust proxy', trustedProxies.length > 0 ? [...trustedProxies] : false);
  } catch (err) {
    throw new Error(`${key}: ${(err as Error).message}`, { cause: err });
  }
  app.use(requestId);
  app.use(httpMetrics(metrics));
  app.use(refuseNulInUrl);
  return app;
}
