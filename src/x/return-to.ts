/**
 * The single redirect / link validator of idflow. Every `return_to`, `redirect_browser_to`, logout return URL and
 * e-mail link target that can carry caller input goes through one `ReturnToValidator`.
 *
 * Model (Kratos `x/redir` secure redirect, hardened per SECURITY-BASELINE): the allow-list is
 * `selfservice.allowed_return_urls` + the public base URL + the default return URL. A candidate is allowed when one
 * entry has the same scheme, the same host (exact, or `*.suffix` matching one or more whole DNS labels), the same
 * port (default ports normalised) and a path equal to or below the entry's path (segment-aware).
 *
 * Before any matching the raw string is screened so that our parser and the browser's cannot disagree
 * (Keycloak CVE-2023-6291, Better Auth open-redirect series): only `http(s)://host[:port]` absolute URLs or
 * `/path` relative ones; no userinfo, backslashes, whitespace/control/format characters, percent-encoding or
 * non-ASCII in the authority, no host the WHATWG parser would rewrite (IPv4 shorthand, IDNA, trailing dot), and no
 * encoded `/`, `\` or `.` in the path. Accepted values are returned as the normalised absolute `href` that was
 * checked, never as the raw input.
 */
import { KratosError } from '../errors/kratos-error.ts';

export const RETURN_TO_FORBIDDEN_ID = 'self_service_flow_return_to_forbidden';

/** 400 `self_service_flow_return_to_forbidden` (Kratos `text.ErrIDRedirectURLNotAllowed`). */
export class ReturnToForbiddenError extends KratosError {
  /** The rejected value (truncated); for logs, it is already quoted into `reason`. */
  readonly requested: string;

  constructor(requested: string) {
    const shown = requested.length > 512 ? requested.slice(0, 512) + '…' : requested;
    super(400, RETURN_TO_FORBIDDEN_ID, { reason: `Requested return_to URL ${JSON.stringify(shown)} is not allowed.` });
    this.name = 'ReturnToForbiddenError';
    this.requested = shown;
  }
}

export interface ReturnToValidatorOptions {
  /** The public base URL (always allowed, as a path prefix). */
  publicBaseUrl: string;
  /** `selfservice.allowed_return_urls`. Invalid entries (bad URL, bad wildcard) are ignored. */
  allowedReturnUrls: readonly string[];
  /** `selfservice.default_browser_return_url`: always allowed; relative `return_to` values resolve against it. */
  defaultUrl: string;
}

export interface ReturnToValidator {
  /** Whether `url` (absolute, or relative `/path` against `defaultUrl`) may be redirected to. */
  isAllowed(url: string): boolean;
  /**
   * The normalised absolute URL for `requested`; when `requested` is empty or undefined, `fallback` (server-side
   * configuration such as a per-flow `after.default_browser_return_url`, returned as is; never pass request input)
   * or else `defaultUrl`. Throws `ReturnToForbiddenError` when a requested value is not allowed.
   */
  resolve(requested: string | undefined | null, fallback?: string): string;
  /** Never throws: the normalised `requested` URL when allowed, else `defaultUrl` (e.g. logout `return_to`). */
  safeOrDefault(requested: string | undefined | null): string;
  /** The normalised default URL. */
  readonly defaultUrl: string;
  /** Allow-list entries that were ignored as invalid, for a startup warning. */
  readonly ignoredEntries: readonly string[];
}

/** Longest `return_to` we look at; anything longer is refused. */
export const MAX_RETURN_TO_LENGTH = 4096;

/**
 * Public suffixes with two or more labels that a `*.` wildcard must never cover (a one-label suffix such as `*.com`
 * is refused by the label count already). A small built-in list, not the full PSL.
 */
export const WILDCARD_FORBIDDEN_SUFFIXES: ReadonlySet<string> = new Set([
  // country-code second levels
  'co.uk', 'org.uk', 'me.uk', 'ltd.uk', 'plc.uk', 'net.uk', 'ac.uk', 'gov.uk', 'sch.uk', 'nhs.uk', 'police.uk',
  'com.au', 'net.au', 'org.au', 'edu.au', 'gov.au', 'asn.au', 'id.au',
  'co.nz', 'net.nz', 'org.nz', 'govt.nz', 'ac.nz',
  'co.jp', 'ne.jp', 'or.jp', 'ac.jp', 'go.jp', 'gr.jp', 'ad.jp', 'ed.jp', 'lg.jp',
  'co.kr', 'or.kr', 'ne.kr', 'go.kr', 'ac.kr',
  'com.br', 'net.br', 'org.br', 'gov.br',
  'com.cn', 'net.cn', 'org.cn', 'gov.cn', 'edu.cn',
  'com.hk', 'org.hk', 'net.hk', 'edu.hk', 'gov.hk',
  'com.tw', 'org.tw', 'net.tw', 'edu.tw', 'gov.tw',
  'com.sg', 'org.sg', 'net.sg', 'edu.sg', 'gov.sg',
  'com.my', 'com.ph', 'com.vn', 'co.th', 'in.th', 'co.id', 'or.id', 'web.id',
  'co.in', 'net.in', 'org.in', 'firm.in', 'gen.in', 'ind.in', 'gov.in', 'ac.in',
  'co.za', 'org.za', 'net.za', 'gov.za', 'ac.za',
  'com.mx', 'org.mx', 'gob.mx', 'com.ar', 'com.co', 'com.pe', 'com.ve', 'com.uy', 'com.ec', 'cl.cl',
  'com.tr', 'org.tr', 'net.tr', 'gov.tr', 'edu.tr',
  'co.il', 'org.il', 'ac.il', 'gov.il',
  'com.eg', 'com.sa', 'com.pk', 'com.ng', 'co.ke', 'com.ua', 'org.ua', 'com.ru', 'org.ru', 'com.pl', 'com.es',
  'com.pt', 'co.at', 'or.at', 'com.de', 'com.fr', 'co.it', 'com.gr', 'co.hu', 'com.ro',
  'eu.com', 'us.com', 'uk.com', 'br.com', 'cn.com', 'de.com', 'jpn.com', 'uk.net', 'gb.net', 'se.net',
  // private registries anyone can get a subdomain of
  'github.io', 'gitlab.io', 'githubusercontent.com', 'herokuapp.com', 'herokudns.com', 'vercel.app', 'now.sh',
  'netlify.app', 'netlify.com', 'pages.dev', 'workers.dev', 'web.app', 'firebaseapp.com', 'appspot.com',
  'blogspot.com', 'azurewebsites.net', 'cloudapp.net', 'azurestaticapps.net', 'trafficmanager.net',
  'cloudfront.net', 'amazonaws.com', 'elasticbeanstalk.com', 's3.amazonaws.com', 'onrender.com', 'fly.dev',
  'glitch.me', 'repl.co', 'ngrok.io', 'ngrok-free.app', 'ngrok.app', 'loca.lt', 'surge.sh', 'bitbucket.io',
  'readthedocs.io', 'r.appspot.com', 'run.app', 'deno.dev', 'supabase.co', 'railway.app', 'up.railway.app',
  'nip.io', 'sslip.io', 'xip.io', 'localtest.me', 'lvh.me',
]);

interface AllowEntry {
  protocol: string; // 'http:' | 'https:'
  /** Lower-case hostname (IPv6 with brackets); for wildcards the suffix after `*.`. */
  host: string;
  wildcard: boolean;
  /** WHATWG port: '' for the scheme's default port. */
  port: string;
  /** Path prefix without trailing slash; '' allows every path. */
  path: string;
}

// Raw-string screens. `\p{Cc}` control, `\p{Cf}` format (bidi overrides, zero-width), `\p{Z}` separators.
const FORBIDDEN_CHARS = /[\p{Cc}\p{Cf}\p{Z}\\]/u;
const ABSOLUTE_PREFIX = /^(https?):\/\/(?![/\\])/i;
/** host: dot-separated LDH labels (no trailing dot) or a bracketed IPv6 literal; optional 1..5 digit port. */
const RAW_AUTHORITY = /^(?:([A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)*)|(\[[0-9A-Fa-f:.]+\]))(?::(\d{1,5}))?$/;
const ENCODED_PATH_DELIMITER = /%(?:2f|5c|2e)/i;
const IPV4 = /^\d{1,3}(?:\.\d{1,3}){3}$/;

function isIpHost(hostname: string): boolean {
  return hostname.startsWith('[') || IPV4.test(hostname);
}

/** Parses a candidate; `undefined` when it fails any structural screen. */
function parseCandidate(raw: string, base: URL): URL | undefined {
  if (typeof raw !== 'string' || raw.length === 0 || raw.length > MAX_RETURN_TO_LENGTH) return undefined;
  if (FORBIDDEN_CHARS.test(raw)) return undefined;

  let url: URL;
  const abs = ABSOLUTE_PREFIX.exec(raw);
  if (abs) {
    const rest = raw.slice(abs[0].length);
    const end = rest.search(/[/?#]/);
    const authority = end === -1 ? rest : rest.slice(0, end);
    const m = RAW_AUTHORITY.exec(authority);
    if (!m) return undefined; // userinfo, '%', empty host, odd characters, non-ASCII, trailing dot, empty port
    try {
      url = new URL(raw);
    } catch {
      return undefined;
    }
    // The parser must not have rewritten the host (IPv4 shorthand / hex, IDNA mapping, IPv6 compression).
    const rawHost = (m[1] ?? m[2]).toLowerCase();
    if (url.hostname !== rawHost) return undefined;
  } else if (raw[0] === '/' && raw[1] !== '/' && raw[1] !== '\\') {
    try {
      url = new URL(raw, base);
    } catch {
      return undefined;
    }
    if (url.origin !== base.origin) return undefined;
  } else {
    return undefined; // other schemes, scheme-relative, `https:/x`, `https:x`, bare `evil.com`, ...
  }

  if (url.protocol !== 'http:' && url.protocol !== 'https:') return undefined;
  if (url.username !== '' || url.password !== '') return undefined;
  if (url.hostname === '' || url.hostname.includes('%')) return undefined;
  if (ENCODED_PATH_DELIMITER.test(url.pathname)) return undefined;
  return url;
}

/** Parses an allow-list entry; `undefined` when invalid. */
function parseEntry(raw: string): AllowEntry | undefined {
  if (typeof raw !== 'string') return undefined;
  const text = raw.trim();
  if (text === '' || FORBIDDEN_CHARS.test(text)) return undefined;
  const abs = ABSOLUTE_PREFIX.exec(text);
  if (!abs) return undefined;

  const rest = text.slice(abs[0].length);
  const end = rest.search(/[/?#]/);
  const authority = end === -1 ? rest : rest.slice(0, end);
  let wildcard = false;
  let probe = text;
  if (authority.startsWith('*.')) {
    wildcard = true;
    // Parse with a placeholder label so the WHATWG parser sees an ordinary host.
    probe = abs[0] + 'wildcard-placeholder' + rest.slice(1);
  }
  const probeAuthority = wildcard ? 'wildcard-placeholder' + authority.slice(1) : authority;
  const m = RAW_AUTHORITY.exec(probeAuthority);
  if (!m) return undefined; // '*' elsewhere (`foo.*.com`, `*foo.com`, `**.x`), userinfo, '%', ...

  let url: URL;
  try {
    url = new URL(probe);
  } catch {
    return undefined;
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') return undefined;
  if (url.username !== '' || url.password !== '') return undefined;
  if (url.hostname !== (m[1] ?? m[2]).toLowerCase()) return undefined;

  let host = url.hostname;
  if (wildcard) {
    host = host.slice('wildcard-placeholder.'.length);
    const labels = host.split('.');
    if (labels.length < 2) return undefined; // `*.com`, `*.localhost`
    if (/^\d+$/.test(labels[labels.length - 1]) || host.startsWith('[')) return undefined; // `*.0.0.1`
    if (WILDCARD_FORBIDDEN_SUFFIXES.has(host)) return undefined; // `*.co.uk`, `*.github.io`
  }
  const path = url.pathname.replace(/\/+$/, '');
  return { protocol: url.protocol, host, wildcard, port: url.port, path };
}

function hostMatches(entry: AllowEntry, hostname: string): boolean {
  if (!entry.wildcard) return hostname === entry.host;
  if (isIpHost(hostname)) return false;
  // One or more whole labels before the suffix: `a.foo.com` and `a.b.foo.com`, never `foo.com` or `evilfoo.com`.
  return hostname.length > entry.host.length + 1 && hostname.endsWith('.' + entry.host);
}

function pathMatches(entry: AllowEntry, pathname: string): boolean {
  if (entry.path === '') return true;
  return pathname === entry.path || pathname.startsWith(entry.path + '/');
}

function matches(entry: AllowEntry, url: URL): boolean {
  return (
    entry.protocol === url.protocol &&
    hostMatches(entry, url.hostname) &&
    entry.port === url.port &&
    pathMatches(entry, url.pathname)
  );
}

function requireBaseUrl(value: string, what: string): URL {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new TypeError(`${what} must be an absolute http(s) URL, got ${JSON.stringify(value)}`);
  }
  if ((url.protocol !== 'http:' && url.protocol !== 'https:') || url.username !== '' || url.password !== '') {
    throw new TypeError(`${what} must be an absolute http(s) URL without credentials, got ${JSON.stringify(value)}`);
  }
  return url;
}

export function createReturnToValidator(options: ReturnToValidatorOptions): ReturnToValidator {
  const publicBase = requireBaseUrl(options.publicBaseUrl, 'publicBaseUrl');
  const defaultUrl = requireBaseUrl(options.defaultUrl, 'defaultUrl');
  const defaultHref = defaultUrl.href;

  const entries: AllowEntry[] = [];
  const ignoredEntries: string[] = [];
  for (const raw of options.allowedReturnUrls ?? []) {
    const entry = parseEntry(raw);
    if (entry) entries.push(entry);
    else ignoredEntries.push(String(raw));
  }
  // Always allowed: the public base URL and the default return URL (as path prefixes, exact hosts).
  for (const base of [publicBase, defaultUrl]) {
    entries.push({
      protocol: base.protocol,
      host: base.hostname,
      wildcard: false,
      port: base.port,
      path: base.pathname.replace(/\/+$/, ''),
    });
  }

  const check = (requested: string): string | undefined => {
    const url = parseCandidate(requested, defaultUrl);
    if (!url) return undefined;
    return entries.some((e) => matches(e, url)) ? url.href : undefined;
  };

  return {
    defaultUrl: defaultHref,
    ignoredEntries,
    isAllowed(url: string): boolean {
      return check(url) !== undefined;
    },
    resolve(requested: string | undefined | null, fallback?: string): string {
      if (requested === undefined || requested === null || requested === '') return fallback ?? defaultHref;
      const ok = check(requested);
      if (ok === undefined) throw new ReturnToForbiddenError(String(requested));
      return ok;
    },
    safeOrDefault(requested: string | undefined | null): string {
      if (typeof requested !== 'string' || requested === '') return defaultHref;
      return check(requested) ?? defaultHref;
    },
  };
}
