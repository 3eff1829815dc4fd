import type { Request, Response } from 'express';
import type { EntityManager } from '@mikro-orm/core';
import { SelfServiceError } from '../../../../entities/index.ts';
import type { Registry } from '../../../registry.ts';
import { isJsonRequest, prefersJsonForRedirect } from '../../../x/negotiate.ts';
import { CSRF_COOKIE_MAX_AGE_SECONDS, generateCsrfToken, verifyCsrfToken } from '../../../x/csrf-token.ts';
import { readCookie, sessionCookieHeader, sessionCookieOptions, clearSessionCookieHeader, sessionTokenFrom } from '../../../session/index.ts';
import type { ActiveSession } from '../../../session/index.ts';
import { KratosError } from '../../../errors/kratos-error.ts';

/** Kratos's JSON-client test: Content-Type application/json or Accept negotiation (no Accept = browser). */
export function wantsJson(req: Request): boolean {
  return isJsonRequest({ contentType: req.headers['content-type'], accept: req.headers.accept });
}

/** The stricter test Kratos applies to success redirects (Content-Type ignored). */
export function wantsJsonRedirect(req: Request): boolean {
  return prefersJsonForRedirect(req.headers.accept);
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

/** The browser's CSRF token, issuing the cookie when the browser has none (or when rotating). */
export function ensureCsrfToken(registry: Registry, req: Request, res: Response, rotate = false): string {
  const existing = rotate ? undefined : readCsrfCookie(registry, req);
  if (existing && /^[A-Za-z0-9+/]{43}=$/.test(existing)) return existing;
  const token = generateCsrfToken();
  appendSetCookie(res, `${registry.csrfCookieName}=${token}; ${csrfCookieAttributes(registry)}`);
  return token;
}

export function csrfViolation(): KratosError {
  return new KratosError(403, 'security_csrf_violation', {
    reason: 'Please retry the flow and optionally clear your cookies. The request was rejected to protect you from Cross-Site-Request-Forgery (CSRF) which could cause account takeover, leaking personal information, and other serious security issues.',
    message: 'the request was rejected to protect you from Cross-Site-Request-Forgery',
    details: {
      docs: 'https://www.ory.sh/kratos/docs/debug/csrf',
      hint: 'The anti-CSRF cookie was found but the CSRF token was not included in the HTTP request body (csrf_token) nor in the HTTP Header (X-CSRF-Token).',
      reject_reason: 'The HTTP Cookie Header was set and a CSRF token was sent but they do not match. We recommend deleting all cookies for this domain and retrying the flow.',
    },
  });
}

/** Body `csrf_token` or `X-CSRF-Token` must match the CSRF cookie (constant-time, masked or raw). */
export function assertCsrf(registry: Registry, req: Request, body: Record<string, unknown>): void {
  const cookie = readCsrfCookie(registry, req);
  const submitted = typeof body.csrf_token === 'string' ? body.csrf_token : req.get('x-csrf-token');
  if (!cookie || !submitted || !verifyCsrfToken(cookie, submitted)) throw csrfViolation();
}

/**
 * API flows are for native apps: a submission carrying browser state (an Origin header or a cookie other than a
 * CDN's) is refused, so a browser session can't drive a flow that returns tokens.
 */
export function assertNativeRequest(req: Request): void {
  const cookies = (req.headers.cookie ?? '').split(';').map((c) => c.trim().split('=')[0]).filter(Boolean);
  const foreign = cookies.filter((name) => !/^(__cf|_cf|cf_)/.test(name));
  if (req.headers.origin || foreign.length > 0) {
    throw new KratosError(400, undefined, {
      reason: 'API-based flows must not include cookies or an Origin header; use the browser flow for browsers.',
    });
  }
}

export interface RequestSession {
  session: ActiveSession;
  token: string;
  source: 'header' | 'cookie' | 'bearer';
}

/** The caller's session (X-Session-Token, cookie, or Bearer), or undefined. */
export async function currentSession(registry: Registry, req: Request): Promise<RequestSession | undefined> {
  const found = sessionTokenFrom({
    xSessionToken: req.get('x-session-token'),
    cookieHeader: req.headers.cookie,
    authorization: req.get('authorization'),
  }, registry.config.session.cookie.name);
  if (!found) return undefined;
  const session = await registry.sessions.findByToken(found.token);
  registry.metrics.sessionChecks.inc({ result: session ? 'valid' : 'invalid' });
  return session ? { session, token: found.token, source: found.source } : undefined;
}

export function setSessionCookie(registry: Registry, res: Response, token: string, expiresAt: Date): void {
  appendSetCookie(res, sessionCookieHeader(token, sessionCookieOptions(registry.config, { expiresAt })));
}

export function clearSessionCookie(registry: Registry, res: Response): void {
  const { maxAgeSeconds: _m, now: _n, ...options } = sessionCookieOptions(registry.config);
  appendSetCookie(res, clearSessionCookieHeader(options));
}

export function deviceOf(req: Request): { ip?: string; userAgent?: string } {
  return { ip: req.socket.remoteAddress ?? undefined, userAgent: req.get('user-agent') ?? undefined };
}

/** `selfservice.flows.error.ui_url` (default: `error` next to the default return URL). */
export function errorUiUrl(registry: Registry): string {
  const { selfservice } = registry.config;
  return selfservice.flows.error?.ui_url ?? new URL('error', selfservice.default_browser_return_url).toString();
}

/**
 * Kratos's `SelfServiceErrorManager().Forward` for HTML browsers: the error is stored and the browser is sent to
 * `flows.error.ui_url?id=<uuid>`, where the error UI reads it back from `/self-service/errors`.
 */
export async function forwardToErrorUi(registry: Registry, req: Request, res: Response, em: EntityManager, err: KratosError): Promise<void> {
  const now = new Date();
  const row = em.create(SelfServiceError, { id: crypto.randomUUID(), error: err.toJSON().error, csrfToken: readCsrfCookie(registry, req) ?? null, createdAt: now, updatedAt: now });
  await em.flush();
  const url = new URL(errorUiUrl(registry));
  url.searchParams.set('id', row.id);
  redirect(res, url.toString());
}

/** A 303 (or 302) redirect with no body. */
export function redirect(res: Response, to: string, status = 303): void {
  res.status(status).setHeader('Location', to).end();
}
