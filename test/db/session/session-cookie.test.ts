import { describe, expect, it } from 'vitest';
import {
  clearSessionCookieHeader, readCookie, sessionCookieHeader, sessionCookieOptions,
} from '../../../src/session/session-cookie.ts';
import { sessionTokenFrom } from '../../../src/session/token-from-request.ts';
import type { Config } from '../../../config/types.ts';

const TOKEN = 'ory_st_' + 'aB3'.repeat(16);
const attrs = (header: string) => header.split('; ').slice(1);

describe('sessionCookieHeader', () => {
  const now = new Date(Date.UTC(2026, 0, 1, 0, 0, 0));

  it('writes a persistent, HttpOnly, Secure cookie with Max-Age and Expires', () => {
    const header = sessionCookieHeader(TOKEN, {
      name: 'ory_kratos_session', domain: 'example.com', path: '/', sameSite: 'Lax', secure: true, maxAgeSeconds: 86_400, now,
    });
    expect(header.startsWith(`ory_kratos_session=${TOKEN}; `)).toBe(true);
    expect(attrs(header)).toEqual([
      'Path=/', 'Expires=Fri, 02 Jan 2026 00:00:00 GMT', 'Max-Age=86400', 'Domain=example.com', 'HttpOnly', 'Secure', 'SameSite=Lax',
    ]);
  });

  it('omits Max-Age/Expires for a non-persistent cookie and Domain when unset', () => {
    const header = sessionCookieHeader(TOKEN, { name: 'sid', path: '/app', sameSite: 'Strict', secure: true });
    expect(attrs(header)).toEqual(['Path=/app', 'HttpOnly', 'Secure', 'SameSite=Strict']);
  });

  it('is always HttpOnly; SameSite=None without Secure is forced to Lax', () => {
    const insecureNone = sessionCookieHeader(TOKEN, { name: 'sid', path: '/', sameSite: 'None', secure: false });
    expect(attrs(insecureNone)).toEqual(['Path=/', 'HttpOnly', 'SameSite=Lax']);
    const secureNone = sessionCookieHeader(TOKEN, { name: 'sid', path: '/', sameSite: 'None', secure: true });
    expect(attrs(secureNone)).toEqual(['Path=/', 'HttpOnly', 'Secure', 'SameSite=None']);
    const insecureStrict = sessionCookieHeader(TOKEN, { name: 'sid', path: '/', sameSite: 'Strict', secure: false });
    expect(attrs(insecureStrict)).toEqual(['Path=/', 'HttpOnly', 'SameSite=Strict']);
  });

  it('clamps Max-Age to a non-negative integer', () => {
    const header = sessionCookieHeader(TOKEN, { name: 'sid', path: '/', sameSite: 'Lax', secure: true, maxAgeSeconds: -5.5, now });
    expect(header).toContain('Max-Age=0');
    expect(sessionCookieHeader(TOKEN, { name: 'sid', path: '/', sameSite: 'Lax', secure: true, maxAgeSeconds: 10.9, now })).toContain('Max-Age=10;');
  });

  it('refuses header injection through name, value, domain or path', () => {
    const base = { name: 'sid', path: '/', sameSite: 'Lax' as const, secure: true };
    expect(() => sessionCookieHeader('a;b', base)).toThrow(TypeError);
    expect(() => sessionCookieHeader('a\r\nSet-Cookie: x=y', base)).toThrow(TypeError);
    expect(() => sessionCookieHeader('', base)).toThrow(TypeError);
    expect(() => sessionCookieHeader(TOKEN, { ...base, name: 'a b' })).toThrow(TypeError);
    expect(() => sessionCookieHeader(TOKEN, { ...base, name: 'a=b' })).toThrow(TypeError);
    expect(() => sessionCookieHeader(TOKEN, { ...base, domain: 'evil.com; Secure' })).toThrow(TypeError);
    expect(() => sessionCookieHeader(TOKEN, { ...base, path: '/; Domain=evil.com' })).toThrow(TypeError);
    expect(() => sessionCookieHeader(TOKEN, { ...base, path: 'relative' })).toThrow(TypeError);
  });
});

describe('clearSessionCookieHeader', () => {
  it('empties the cookie with Max-Age=0 and an Expires in the past, keeping scope attributes', () => {
    const header = clearSessionCookieHeader({ name: 'ory_kratos_session', domain: 'example.com', path: '/', sameSite: 'Lax', secure: true });
    expect(header).toBe(
      'ory_kratos_session=; Path=/; Expires=Thu, 01 Jan 1970 00:00:00 GMT; Max-Age=0; Domain=example.com; HttpOnly; Secure; SameSite=Lax',
    );
  });
});

describe('readCookie', () => {
  it('finds a cookie among others and returns the first occurrence', () => {
    expect(readCookie('a=1; ory_kratos_session=tok; b=2', 'ory_kratos_session')).toBe('tok');
    expect(readCookie('ory_kratos_session=first; ory_kratos_session=second', 'ory_kratos_session')).toBe('first');
  });

  it('tolerates whitespace, empty pairs, pairs without "=" and quoted values', () => {
    expect(readCookie('  ;;a ;  sid =  tok  ; x', 'sid')).toBe('tok');
    expect(readCookie('sid="quoted"', 'sid')).toBe('quoted');
    expect(readCookie('sid=a=b=c', 'sid')).toBe('a=b=c');
    expect(readCookie('sid=', 'sid')).toBe('');
  });

  it('matches names exactly and handles absent headers', () => {
    expect(readCookie('xsid=1; sidx=2', 'sid')).toBeUndefined();
    expect(readCookie('SID=1', 'sid')).toBeUndefined();
    expect(readCookie(undefined, 'sid')).toBeUndefined();
    expect(readCookie('', 'sid')).toBeUndefined();
    expect(readCookie('sid', 'sid')).toBeUndefined();
  });

  it('round-trips what sessionCookieHeader wrote', () => {
    const header = sessionCookieHeader(TOKEN, { name: 'ory_kratos_session', path: '/', sameSite: 'Lax', secure: true });
    expect(readCookie(header.split(';')[0], 'ory_kratos_session')).toBe(TOKEN);
  });
});

describe('sessionCookieOptions', () => {
  const config = (over: Partial<Config['session']['cookie']> = {}, dev = false, cookies: Partial<Config['cookies']> = {}) => ({
    dev,
    cookies: { path: '/', same_site: 'Lax' as const, ...cookies },
    session: {
      lifespan: '24h',
      cookie: { name: 'ory_kratos_session', path: '/', same_site: 'Lax' as const, persistent: true, ...over },
      whoami: { required_aal: 'highest_available' as const },
    },
  });
  const now = new Date(Date.UTC(2026, 0, 1));
  const session = { expiresAt: new Date(now.getTime() + 3_600_500) };

  it('persistent cookies live for the remaining session life; Secure unless --dev', () => {
    const opts = sessionCookieOptions(config(), session, now);
    // Secure, no domain, Path=/: the `__Host-` prefix (cookies.host_prefix, on by default).
    expect(opts).toMatchObject({ name: '__Host-ory_kratos_session', path: '/', sameSite: 'Lax', secure: true, maxAgeSeconds: 3600 });
    expect(sessionCookieOptions(config({}, false, { host_prefix: false }), session, now).name).toBe('ory_kratos_session');
    expect(sessionCookieOptions(config({}, true), session, now).name).toBe('ory_kratos_session');
    expect(opts.domain).toBeUndefined();
    expect(sessionCookieOptions(config({}, true), session, now).secure).toBe(false);
    expect(sessionCookieOptions(config({ secure: true }, true), session, now).secure).toBe(true);
  });

  it('non-persistent cookies have no Max-Age; session.cookie.domain overrides cookies.domain', () => {
    expect(sessionCookieOptions(config({ persistent: false }), session, now).maxAgeSeconds).toBeUndefined();
    expect(sessionCookieOptions(config({}, false, { domain: 'a.example' }), session, now).domain).toBe('a.example');
    expect(sessionCookieOptions(config({ domain: 'b.example' }, false, { domain: 'a.example' }), session, now).domain).toBe('b.example');
  });
});

describe('sessionTokenFrom', () => {
  const cookieName = 'ory_kratos_session';
  const all = { xSessionToken: 'H', cookieHeader: `${cookieName}=C`, authorization: 'Bearer B' };

  it('prefers X-Session-Token, then the session cookie, then Authorization: Bearer', () => {
    expect(sessionTokenFrom(all, cookieName)).toEqual({ token: 'H', source: 'header' });
    expect(sessionTokenFrom({ ...all, xSessionToken: undefined }, cookieName)).toEqual({ token: 'C', source: 'cookie' });
    expect(sessionTokenFrom({ authorization: 'Bearer B' }, cookieName)).toEqual({ token: 'B', source: 'bearer' });
    expect(sessionTokenFrom({ xSessionToken: '', cookieHeader: `${cookieName}=`, authorization: 'Bearer B' }, cookieName))
      .toEqual({ token: 'B', source: 'bearer' });
  });

  it('uses only the configured cookie name and well-formed bearer headers', () => {
    expect(sessionTokenFrom({ cookieHeader: 'other=C' }, cookieName)).toBeUndefined();
    expect(sessionTokenFrom({ authorization: 'Basic dXNlcjpwYXNz' }, cookieName)).toBeUndefined();
    expect(sessionTokenFrom({ authorization: 'Bearer' }, cookieName)).toBeUndefined();
    expect(sessionTokenFrom({ authorization: 'Bearer a b' }, cookieName)).toBeUndefined();
    expect(sessionTokenFrom({ authorization: 'bearer   tok ' }, cookieName)).toEqual({ token: 'tok', source: 'bearer' });
    expect(sessionTokenFrom({}, cookieName)).toBeUndefined();
  });
});
