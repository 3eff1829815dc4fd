/**
 * `serve.public.cors` / `serve.admin.cors` as Kratos runs them (rs/cors v1.11 with ory/x corsx.CheckOrigin as the
 * origin check): a preflight (OPTIONS with Access-Control-Request-Method) is answered here with 204 — with the CORS
 * headers only when the origin, the method and every requested header are allowed; an actual request gets them when
 * the origin and its method are allowed. A refused origin simply gets no CORS headers: the browser blocks the read.
 */
import type { NextFunction, Request, Response } from 'express';
import type { CorsConfig } from '../../../config/types.ts';
import { WILDCARD_FORBIDDEN_SUFFIXES } from '../../x/return-to.ts';

export class CorsConfigError extends Error {
  override name = 'CorsConfigError';
}

/**
 * corsx.ClassifyOrigin: a wildcard must be bounded by a registrable domain after it (`https://*.example.com`), or it
 * could match origins anyone can register (`https://*.com`, `https://*`, `https://*.github.io`). Kratos skips such
 * patterns unless `feature_flags.legacy_allow_insecure_origins`; idflow always does (that flag is only warned about).
 */
export function isUnboundedWildcard(pattern: string): boolean {
  const star = pattern.lastIndexOf('*');
  if (star < 0) return false;
  const dot = pattern.indexOf('.', star);
  if (dot < 0) return true;
  const base = pattern.slice(dot + 1).toLowerCase().split(':')[0];
  const labels = base.split('.').filter((l) => l !== '');
  if (labels.length < 2 || /^\d+$/.test(labels[labels.length - 1])) return true;
  return WILDCARD_FORBIDDEN_SUFFIXES.has(base);
}

/** corsx.CheckOrigin: `*` (or no list) allows all; a pattern is lower-cased and may hold one `*` (prefix*suffix). */
function originMatcher(allowed: readonly string[]): (origin: string) => boolean {
  if (allowed.length === 0 || allowed.includes('*')) return () => true;
  const exact = new Set<string>();
  const wildcards: Array<{ prefix: string; suffix: string }> = [];
  for (const raw of allowed) {
    const pattern = raw.toLowerCase();
    const star = pattern.indexOf('*');
    if (star < 0) exact.add(pattern);
    else if (!isUnboundedWildcard(pattern)) wildcards.push({ prefix: pattern.slice(0, star), suffix: pattern.slice(star + 1) });
  }
  return (origin) => exact.has(origin)
    || wildcards.some((w) => origin.length >= w.prefix.length + w.suffix.length && origin.startsWith(w.prefix) && origin.endsWith(w.suffix));
}

export interface CorsOptions {
  /** The config key (`serve.public.cors`), for messages. */
  key: string;
  /** --dev: an unsafe combination is warned about instead of refused. */
  dev: boolean;
  warn: (message: string) => void;
}

/**
 * The middleware for one port, or undefined when `enabled` is false. Refuses (outside --dev) to allow every origin
 * with credentials: Kratos then reflects any Origin with `Access-Control-Allow-Credentials: true`, so any web site
 * could read the answers meant for the signed-in user (STYLE.md #9: unsafe defaults are refused outside --dev).
 */
export function corsMiddleware(config: CorsConfig | undefined, options: CorsOptions) {
  if (!config?.enabled) return undefined;
  const allowed = config.allowed_origins ?? ['*'];
  const allowsAll = allowed.length === 0 || allowed.includes('*');
  if (allowsAll && config.allow_credentials) {
    const why = `${options.key}: allowed_origins "*" with allow_credentials: true lets every web site read answers meant for the signed-in user; list the origins (wildcards like https://*.example.com are fine) or set allow_credentials: false`;
    if (!options.dev) throw new CorsConfigError(why);
    options.warn(`${why} (allowed in --dev only)`);
  }
  for (const pattern of allowed) {
    if (pattern !== '*' && isUnboundedWildcard(pattern)) {
      options.warn(`${options.key}.allowed_origins: "${pattern}" is ignored: a wildcard must be followed by a registrable domain (e.g. https://*.example.com)`);
    }
  }

  const originAllowed = originMatcher(allowed);
  const methods = new Set((config.allowed_methods ?? []).map((m) => m.toUpperCase()));
  const headersAll = (config.allowed_headers ?? []).includes('*');
  // rs/cors always allows `Origin`, which some browsers list in every preflight.
  const headers = new Set([...(config.allowed_headers ?? []), 'Origin'].map((h) => h.toLowerCase()));
  const exposed = (config.exposed_headers ?? []).join(', ');
  const maxAge = config.max_age ?? 0;
  const methodAllowed = (method: string) => methods.size > 0 && (method === 'OPTIONS' || methods.has(method));

  return function cors(req: Request, res: Response, next: NextFunction): void {
    const origin = req.headers.origin;
    const requestedMethod = req.headers['access-control-request-method'];
    if (req.method === 'OPTIONS' && typeof requestedMethod === 'string' && requestedMethod !== '') {
      res.vary('Origin').vary('Access-Control-Request-Method').vary('Access-Control-Request-Headers');
      const requestedHeaders = String(req.headers['access-control-request-headers'] ?? '')
        .split(',').map((h) => h.trim()).filter((h) => h !== '');
      const ok = typeof origin === 'string' && origin !== '' && originAllowed(origin)
        && methodAllowed(requestedMethod.toUpperCase())
        && (headersAll || requestedHeaders.every((h) => headers.has(h.toLowerCase())));
      if (ok) {
        res.setHeader('Access-Control-Allow-Origin', allowsAll && !config.allow_credentials ? '*' : origin);
        res.setHeader('Access-Control-Allow-Methods', requestedMethod.toUpperCase());
        if (requestedHeaders.length > 0) res.setHeader('Access-Control-Allow-Headers', requestedHeaders.join(', '));
        if (config.allow_credentials) res.setHeader('Access-Control-Allow-Credentials', 'true');
        if (maxAge > 0) res.setHeader('Access-Control-Max-Age', String(maxAge));
      }
      // Preflights stop here, allowed or not (rs/cors): no route, authentication or CSRF check sees them.
      res.status(204).end();
      return;
    }
    if (req.method !== 'OPTIONS') {
      res.vary('Origin');
      if (typeof origin === 'string' && origin !== '' && originAllowed(origin) && methodAllowed(req.method)) {
        res.setHeader('Access-Control-Allow-Origin', allowsAll && !config.allow_credentials ? '*' : origin);
        if (exposed !== '') res.setHeader('Access-Control-Expose-Headers', exposed);
        if (config.allow_credentials) res.setHeader('Access-Control-Allow-Credentials', 'true');
      }
    }
    next();
  };
}
