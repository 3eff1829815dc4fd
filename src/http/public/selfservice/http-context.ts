import type { Request, Response } from 'express';
import type { Registry } from '../../../registry.ts';
import type { CallerSession } from '../../../flows/flow-request.ts';
import { isJsonRequest } from '../../../x/negotiate.ts';
import { CSRF_COOKIE_MAX_AGE_SECONDS, generateCsrfToken } from '../../../x/csrf-token.ts';
import { readCookie, sessionCookieHeader, sessionCookieName, sessionCookieOptions, clearSessionCookieHeader, sessionTokenFrom } from '../../../session/index.ts';
import type { KratosError } from '../../../errors/kratos-error.ts';

/** Kratos's JSON-client test: Content-Type application/json or Accept negotiation (no Accept = browser). */
export function wantsJson(req: Request): boolean {
  return isJsonRequest({ contentType: req.headers['content-type'], accept: req.headers.accept });
}

/** The full public URL of this request, from the configured base URL (never from Host/forwarded headers). */
export function publicRequestUrl(registry: Registry, req: Request): string {
  return new URL(req.originalUrl.replace(/^\/+/, ''), registry.urls.public).toString();
}

export function appendSetCookie(res: Response, cookie: string): void {
  const existing = res.getHeader('Set-Cookie');
  const list = existing === undefined ? [] : Array.isArray(existing) ? existing : [String(existing)];
  res.setHeader('Set-Cookie', [...list, cookie]);
}

function csrfCookieAttributes(registry: Registry): string {
  const { cookies, dev } = registry.config;
  const secure = cookies.secure ?? !dev;
  const sameSite = !secure && cookies.same_site === 'None' ? 'Lax' : cookies.same_site;
  return [
    `Path=${cookies.path || '/'}`,
    ...(cookies.domain ? [`Domain=${cookies.domain}`] : []),
    `Max-Age=${CSRF_COOKIE_MAX_AGE_SECONDS}`,
    'HttpOnly',
    ...(secure ? ['Secure'] : []),
    `SameSite=${sameSite}`,
  ].join('; ');
}

export function readCsrfCookie(registry: Registry, req: Request): string | undefined {
  return readCookie(req.headers.cookie, registry.csrfCookieName);
}

/** `Set-Cookie` value for the CSRF cookie holding `token`. */
export function csrfCookieHeader(registry: Registry, token: string): string {
  return `${registry.csrfCookieName}=${token}; ${csrfCookieAttributes(registry)}`;
}

/** Sets a fresh CSRF cookie (logout rotates it); returns the token. */
export function rotateCsrfCookie(registry: Registry, res: Response): string {
  const token = generateCsrfToken();
  appendSetCookie(res, csrfCookieHeader(registry, token));
  return token;
}

/**
 * An Origin header or a cookie other than a CDN's: a browser is talking. API flows are for native apps and refuse
 * such requests, so a browser session can't drive a flow that returns tokens.
 */
export function hasBrowserMarkers(req: Request): boolean {
  const cookies = (req.headers.cookie ?? '').split(';').map((c) => c.trim().split('=')[0]).filter(Boolean);
  return Boolean(req.headers.origin) || cookies.some((name) => !/^(__cf|_cf|cf_)/.test(name));
}

export type RequestSession = CallerSession;

/** The caller's session (X-Session-Token, cookie, or Bearer), or undefined. */
export async function currentSession(registry: Registry, req: Request): Promise<RequestSession | undefined> {
  const found = sessionTokenFrom({
    xSessionToken: req.get('x-session-token'),
    cookieHeader: req.headers.cookie,
    authorization: req.get('authorization'),
  }, sessionCookieName(registry.config));
  if (!found) return undefined;
  const session = await registry.sessions.findByToken(found.token);
  registry.metrics.sessionChecks.inc({ result: session ? 'valid' : 'invalid' });
  return session ? { session, token: found.token, source: found.source } : undefined;
}

export function setSessionCookie(registry: Registry, res: Response, token: string, expiresAt: Date): void {
  appendSetCookie(res, sessionCookieHeader(token, sessionCookieOptions(registry.config, { expiresAt }, registry.clock.now())));
}

export function clearSessionCookie(registry: Registry, res: Response): void {
  const { maxAgeSeconds: _m, now: _n, ...options } = sessionCookieOptions(registry.config);
  appendSetCookie(res, clearSessionCookieHeader(options));
}

/** The client: `req.ip` honours X-Forwarded-For only from `serve.public.trusted_proxies` (base-app.ts). */
export function deviceOf(req: Request): { ip?: string; userAgent?: string } {
  return { ip: req.ip ?? req.socket.remoteAddress ?? undefined, userAgent: req.get('user-agent') ?? undefined };
}

/**
 * Kratos's `SelfServiceErrorManager().Forward` for HTML browsers: the error is stored and the browser is sent to
 * `flows.error.ui_url?id=<uuid>`, where the error UI reads it back from `/self-service/errors`.
 */
export async function forwardToErrorUi(registry: Registry, req: Request, res: Response, err: KratosError): Promise<void> {
  redirect(res, await registry.flowService.recordError(err, readCsrfCookie(registry, req)));
}

/** A 303 (or 302) redirect with no body. */
export function redirect(res: Response, to: string, status = 303): void {
  res.status(status).setHeader('Location', to).end();
}
