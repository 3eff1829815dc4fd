/**
 * Session cookie helpers without any framework dependency. The cookie value is the session token itself (Kratos's
 * cookie is a securecookie blob, opaque to clients, so idflow may choose its own format; section 8).
 */
import type { Config, SameSite } from '../../config/types.ts';

export interface SessionCookieOptions {
  name: string;
  domain?: string;
  path: string;
  sameSite: SameSite;
  secure: boolean;
  /** Persistent cookies only (`Max-Age` + `Expires`); omit for a browser-session cookie. */
  maxAgeSeconds?: number;
  /** Clock for `Expires` (defaults to the current time). */
  now?: Date;
}

export type ClearSessionCookieOptions = Omit<SessionCookieOptions, 'maxAgeSeconds' | 'now'>;

/** RFC 6265 `token` (cookie names). */
const COOKIE_NAME = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
/** RFC 6265 `cookie-octet` (no space, DQUOTE, comma, semicolon, backslash, controls). */
const COOKIE_VALUE = /^[\x21\x23-\x2B\x2D-\x3A\x3C-\x5B\x5D-\x7E]*$/;
const COOKIE_DOMAIN = /^\.?[A-Za-z0-9](?:[A-Za-z0-9.-]*[A-Za-z0-9])?$/;
/** Printable ASCII except `;`. */
const COOKIE_PATH = /^\/[\x20-\x3A\x3C-\x7E]*$/;

function attributes(options: ClearSessionCookieOptions): string[] {
  if (!COOKIE_NAME.test(options.name)) throw new TypeError('invalid cookie name');
  if (!COOKIE_PATH.test(options.path)) throw new TypeError('invalid cookie path');
  if (options.domain !== undefined && options.domain !== '' && !COOKIE_DOMAIN.test(options.domain)) {
    throw new TypeError('invalid cookie domain');
  }
  const parts = [`Path=${options.path}`];
  if (options.domain) parts.push(`Domain=${options.domain}`);
  parts.push('HttpOnly');
  if (options.secure) parts.push('Secure');
  // Browsers drop `SameSite=None` cookies that are not Secure: fall back to Lax, as Kratos does.
  const sameSite = options.sameSite === 'None' && !options.secure ? 'Lax' : options.sameSite;
  parts.push(`SameSite=${sameSite}`);
  return parts;
}

/** `Set-Cookie` value carrying the session token. HttpOnly always. */
export function sessionCookieHeader(token: string, options: SessionCookieOptions): string {
  if (typeof token !== 'string' || token === '' || !COOKIE_VALUE.test(token)) throw new TypeError('invalid cookie value');
  const parts = [`${options.name}=${token}`];
  const attrs = attributes(options);
  if (options.maxAgeSeconds !== undefined) {
    const maxAge = Math.max(0, Math.floor(options.maxAgeSeconds));
    const now = options.now ?? new Date();
    attrs.splice(1, 0, `Expires=${new Date(now.getTime() + maxAge * 1000).toUTCString()}`, `Max-Age=${maxAge}`);
  }
  return [...parts, ...attrs].join('; ');
}

/**
 * `Set-Cookie` value deleting the session cookie (empty value, `Max-Age=0` - what Go writes for `MaxAge: -1` - and an
 * `Expires` in the past). Use the same name/domain/path as when it was set.
 */
export function clearSessionCookieHeader(options: ClearSessionCookieOptions): string {
  const attrs = attributes(options);
  attrs.splice(1, 0, 'Expires=Thu, 01 Jan 1970 00:00:00 GMT', 'Max-Age=0');
  return [`${options.name}=`, ...attrs].join('; ');
}

/**
 * The value of the first cookie named `name` in a `Cookie` request header (`a=1; b=2`), or undefined. Tolerates
 * whitespace, empty pairs, pairs without `=`, and values wrapped in double quotes. Values are not URL-decoded.
 */
export function readCookie(cookieHeader: string | undefined, name: string): string | undefined {
  if (typeof cookieHeader !== 'string' || cookieHeader === '' || !name) return undefined;
  let start = 0;
  while (start <= cookieHeader.length) {
    let end = cookieHeader.indexOf(';', start);
    if (end === -1) end = cookieHeader.length;
    const pair = cookieHeader.slice(start, end);
    const eq = pair.indexOf('=');
    if (eq !== -1 && pair.slice(0, eq).trim() === name) {
      let value = pair.slice(eq + 1).trim();
      if (value.length >= 2 && value.startsWith('"') && value.endsWith('"')) value = value.slice(1, -1);
      return value;
    }
    start = end + 1;
  }
  return undefined;
}

/**
 * `__Host-<name>` when `cookies.host_prefix` (default on) and the cookie qualifies — Secure, no Domain, Path=/ (RFC
 * 6265bis 4.1.3.2): browsers then accept it only from this very host over HTTPS, so a sibling subdomain or a
 * plain-HTTP response can not plant or overwrite it. Reading uses the same name, so an unprefixed cookie is ignored.
 */
export function prefixedCookieName(name: string, attrs: { secure: boolean; domain?: string; path: string }, config: Pick<Config, 'cookies'>): string {
  const qualifies = attrs.secure && !attrs.domain && attrs.path === '/';
  return config.cookies?.host_prefix !== false && qualifies ? `__Host-${name}` : name;
}

/** The session cookie's name as set and read (see prefixedCookieName). */
export function sessionCookieName(config: Pick<Config, 'session' | 'cookies' | 'dev'>): string {
  return sessionCookieOptions(config).name;
}

/**
 * Cookie options from config: `session.cookie.*` overriding `cookies.*`; Secure unless `--dev` when unset; persistent
 * cookies live for the session's remaining life.
 */
export function sessionCookieOptions(
  config: Pick<Config, 'session' | 'cookies' | 'dev'>,
  session?: { expiresAt: Date },
  now: Date = new Date(),
): SessionCookieOptions {
  const cookie = config.session.cookie;
  const domain = cookie.domain || config.cookies?.domain || undefined;
  const path = cookie.path || config.cookies?.path || '/';
  const secure = cookie.secure ?? config.cookies?.secure ?? !config.dev;
  const options: SessionCookieOptions = {
    name: prefixedCookieName(cookie.name, { secure, domain, path }, config),
    path,
    sameSite: cookie.same_site || config.cookies?.same_site || 'Lax',
    secure,
    now,
    ...(domain ? { domain } : {}),
  };
  if (cookie.persistent && session) {
    options.maxAgeSeconds = Math.max(0, Math.floor((session.expiresAt.getTime() - now.getTime()) / 1000));
  }
  return options;
}
