import type { Request, RequestHandler } from 'express';
import type { Metrics } from '../../../observability/metrics.ts';

const METHODS = new Set(['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS']);

/**
 * The route template that handled the request: the matched route's path joined with the base of the router it
 * is mounted under (`/admin/identities/:id`), `unmatched` when no route matched. Never the raw URL, so no ids,
 * tokens or query strings reach a label.
 */
export function routeTemplate(req: Request, base: string): string {
  const route = (req as { route?: { path?: unknown } }).route;
  if (!route || typeof route.path !== 'string') return 'unmatched';
  const joined = `${base}${req.baseUrl ?? ''}${route.path}`.replace(/\/{2,}/g, '/');
  return joined.length > 1 && joined.endsWith('/') ? joined.slice(0, -1) : joined || '/';
}

/**
 * Observes every request in `idflow_http_request_duration_seconds{method,route,status_code}`. Mount first.
 * One listener per request: a ServerResponse emits 'close' both when it completed and when the connection went away.
 * The route is read then: a route handler that answered leaves `req.route` and `req.baseUrl` in place (routers restore
 * them only when a handler passes control on, as error handling does, which then labels the route as matched last).
 */
export function httpMetrics(metrics: Pick<Metrics, 'httpRequestSeconds'>, options: { base?: string } = {}): RequestHandler {
  const base = options.base ?? '';
  const histogram = metrics.httpRequestSeconds;
  return (req, res, next) => {
    const started = performance.now();
    res.on('close', () => {
      histogram.observe({
        method: METHODS.has(req.method) ? req.method : 'OTHER',
        route: routeTemplate(req, base),
        status_code: String(res.statusCode),
      }, (performance.now() - started) / 1000);
    });
    next();
  };
}
