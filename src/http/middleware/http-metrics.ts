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

/** Observes every request in `idflow_http_request_duration_seconds{method,route,status_code}`. Mount first. */
export function httpMetrics(metrics: Pick<Metrics, 'httpRequestSeconds'>, options: { base?: string } = {}): RequestHandler {
  const base = options.base ?? '';
  return (req, res, next) => {
    const started = process.hrtime.bigint();
    let route: string | undefined;
    // The route is known while the handler runs; capture it when the response starts, before routers unwind.
    const writeHead = res.writeHead;
    res.writeHead = function (this: typeof res, ...args: unknown[]) {
      route ??= routeTemplate(req, base);
      return (writeHead as (...a: unknown[]) => typeof res).apply(this, args);
    } as typeof res.writeHead;
    let observed = false;
    const observe = () => {
      if (observed) return;
      observed = true;
      const seconds = Number(process.hrtime.bigint() - started) / 1e9;
      metrics.httpRequestSeconds.observe({
        method: METHODS.has(req.method) ? req.method : 'OTHER',
        route: route ?? routeTemplate(req, base),
        status_code: String(res.statusCode),
      }, seconds);
    };
    res.once('finish', observe);
    res.once('close', observe);
    next();
  };
}
