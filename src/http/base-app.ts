import express, { type Express, type RequestHandler } from 'express';
import type { Metrics } from '../../observability/metrics.ts';
import { requestId } from './middleware/request-id.ts';
import { httpMetrics } from './middleware/http-metrics.ts';
import { refuseNulInUrl } from './middleware/body.ts';
import { sequence } from './middleware/sequence.ts';

/**
 * What the public and admin apps share: no X-Powered-By or ETags (Kratos sends none), request ids, metrics, no NUL in
 * URLs, and who the client is: the connection's address, or — only on a connection from one of `trustedProxies` — the
 * right-most X-Forwarded-For address that is not a trusted proxy (Express's `trust proxy`). Anyone else's
 * X-Forwarded-For is ignored, so a client can not choose the address rate limits count (ASVS 15.3.4 style).
 * `prelude`: the app's own middleware to run right after these, in the same router layer (see sequence.ts).
 */
export function createBaseApp(
  metrics: Pick<Metrics, 'httpRequestSeconds'>, trustedProxies: readonly string[] = [], key = 'serve.*.trusted_proxies', prelude: RequestHandler[] = [],
): Express {
  const app = express();
  app.disable('x-powered-by');
  app.disable('etag'); // hashing every body would cost the hot paths, whoami first
  try {
    app.set('trust proxy', trustedProxies.length > 0 ? [...trustedProxies] : false);
  } catch (err) {
    throw new Error(`${key}: ${(err as Error).message}`, { cause: err });
  }
  app.use(sequence(requestId, httpMetrics(metrics), refuseNulInUrl, ...prelude));
  return app;
}
