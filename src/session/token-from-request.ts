import { readCookie } from './session-cookie.ts';

export type SessionTokenSource = 'header' | 'cookie' | 'bearer';

export interface SessionTokenCarriers {
  /** `X-Session-Token` header. */
  xSessionToken?: string;
  /** `Cookie` header. */
  cookieHeader?: string;
  /** `Authorization` header. */
  authorization?: string;
}

const BEARER = /^Bearer[ \t]+([^\s]+)[ \t]*$/i;

/**
 * Kratos's lookup order (section 8): `X-Session-Token`, then the session cookie, then `Authorization: Bearer`. The
 * first carrier present wins; there is no fallback to a later one when its token turns out to be invalid.
 */
export function sessionTokenFrom(
  carriers: SessionTokenCarriers,
  cookieName: string,
): { token: string; source: SessionTokenSource } | undefined {
  const header = carriers.xSessionToken?.trim();
  if (header) return { token: header, source: 'header' };
  const cookie = readCookie(carriers.cookieHeader, cookieName);
  if (cookie) return { token: cookie, source: 'cookie' };
  const bearer = carriers.authorization ? BEARER.exec(carriers.authorization)?.[1] : undefined;
  if (bearer) return { token: bearer, source: 'bearer' };
  return undefined;
}
