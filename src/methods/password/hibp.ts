/**
 * Have I Been Pwned "Pwned Passwords" range client (k-anonymity): only the first five hex digits of the
 * password's SHA-1 ever leave the process (`GET /range/<PREFIX>`); the suffix is matched locally.
 *
 * Web-standard only (fetch, AbortSignal.timeout, WebCrypto, TextEncoder/TextDecoder) so it runs on Node and Deno.
 * Nothing here logs, and no error message or error property carries the password, its hash or its prefix.
 */

export type HibpErrorKind = 'network' | 'timeout' | 'status' | 'malformed' | 'too_large' | 'internal';

/** A failed range lookup. Safe to log: carries no password material. */
export class HibpError extends Error {
  readonly kind: HibpErrorKind;
  /** HTTP status for `kind: 'status'`. */
  readonly status: number | undefined;

  constructor(kind: HibpErrorKind, message: string, options: { status?: number; cause?: unknown } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'HibpError';
    this.kind = kind;
    this.status = options.status;
  }
}

export interface HibpClientOptions {
  /** `haveibeenpwned_host`, e.g. `api.pwnedpasswords.com` or `127.0.0.1:8080` (host[:port], nothing else). */
  host: string;
  /** Default: `defaultHibpScheme(host)` (https, plain http only for a loopback host). */
  scheme?: 'https' | 'http';
  fetch?: typeof fetch;
  /** Clock for the cache, in ms. */
  now?: () => number;
  /** Connect + response + body budget per request. Default 1000 ms. */
  timeoutMs?: number;
  /** How long a range response is reused. Default 1 h. */
  cacheTtlMs?: number;
  /** Max cached prefixes (LRU). Default 1000; a range is ~30 KB of text, so ~30 MB worst case. */
  cacheSize?: number;
  /** Larger bodies are refused (a real range is ~40 KB with padding). Default 1 MiB. */
  maxResponseBytes?: number;
}

export interface HibpClient {
  /** How often the password appears in the breach corpus (0 if not found). Rejects with HibpError only. */
  breachCount(password: string): Promise<number>;
  /** Cached prefixes right now (for tests/metrics). */
  readonly cacheSize: number;
}

export const HIBP_DEFAULT_TIMEOUT_MS = 1000;
export const HIBP_DEFAULT_CACHE_TTL_MS = 60 * 60 * 1000;
export const HIBP_DEFAULT_CACHE_SIZE = 1000;
export const HIBP_DEFAULT_MAX_RESPONSE_BYTES = 1 << 20;

const HOST = /^(?:[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)*|\[[0-9A-Fa-f:.]+\])(?::\d{1,5})?$/;
const ROW = /^([0-9A-Fa-f]{35}):(\d{1,15})$/;
const encoder = new TextEncoder();

/** Upper-case hex SHA-1 of the UTF-8 bytes (as HIBP computes it). */
export async function sha1Hex(text: string): Promise<string> {
  const digest = new Uint8Array(await crypto.subtle.digest('SHA-1', encoder.encode(text)));
  let out = '';
  for (const byte of digest) out += byte.toString(16).padStart(2, '0');
  return out.toUpperCase();
}

export function isValidHibpHost(host: string): boolean {
  return HOST.test(host);
}

const LOOPBACK_HOST = /^(?:localhost|127(?:\.\d{1,3}){3}|\[::1\])(?::\d{1,5})?$/i;

/**
 * The scheme for `haveibeenpwned_host` when none is configured: https (as Kratos, which always builds
 * `https://<host>/range/...`), except for a loopback host (`localhost`, `127.0.0.0/8`, `[::1]`, optionally with a
 * port), which gets plain http. A loopback range service (a local mirror of the corpus, or a test double) never
 * leaves the machine, so TLS adds nothing there, and `haveibeenpwned_host` (host[:port] only) has no other way to
 * reach one. Any other host is always contacted over https.
 */
export function defaultHibpScheme(host: string): 'https' | 'http' {
  return LOOPBACK_HOST.test(host) ? 'http' : 'https';
}

/**
 * Parses a range body (`SUFFIX:COUNT` per line, CRLF or LF) into a compact index string holding only rows with
 * count > 0 (padding rows have count 0): `\nSUFFIX:COUNT\nSUFFIX:COUNT\n`. Throws HibpError('malformed').
 */
export function parseRange(body: string): string {
  let index = '\n';
  let lineNo = 0;
  for (const raw of body.split('\n')) {
    lineNo++;
    const line = raw.trim();
    if (line === '') continue;
    const m = ROW.exec(line);
    if (!m) throw new HibpError('malformed', `range response line ${lineNo} is not SUFFIX:COUNT`);
    const count = Number(m[2]);
    if (count > 0) index += `${m[1].toUpperCase()}:${count}\n`;
  }
  return index;
}

/** Count for `suffix` (35 upper-case hex) in an index produced by parseRange. */
export function lookupRange(index: string, suffix: string): number {
  const key = `\n${suffix}:`;
  const at = index.indexOf(key);
  if (at < 0) return 0;
  const start = at + key.length;
  return Number(index.slice(start, index.indexOf('\n', start)));
}

interface CacheEntry {
  index: string;
  storedAt: number;
}

export function createHibpClient(options: HibpClientOptions): HibpClient {
  if (!isValidHibpHost(options.host)) throw new Error('haveibeenpwned_host must be a host name or host:port');
  const scheme = options.scheme ?? defaultHibpScheme(options.host);
  const doFetch = options.fetch ?? globalThis.fetch;
  const now = options.now ?? Date.now;
  const timeoutMs = options.timeoutMs ?? HIBP_DEFAULT_TIMEOUT_MS;
  const ttl = options.cacheTtlMs ?? HIBP_DEFAULT_CACHE_TTL_MS;
  const maxEntries = Math.max(0, options.cacheSize ?? HIBP_DEFAULT_CACHE_SIZE);
  const maxBytes = options.maxResponseBytes ?? HIBP_DEFAULT_MAX_RESPONSE_BYTES;
  const base = `${scheme}://${options.host}/range/`;

  // Map iteration order is insertion order: re-inserting on hit makes the first key the least recently used.
  const cache = new Map<string, CacheEntry>();
  const inFlight = new Map<string, Promise<string>>();

  function cached(prefix: string): string | undefined {
    const entry = cache.get(prefix);
    if (!entry) return undefined;
    cache.delete(prefix);
    if (now() - entry.storedAt >= ttl) return undefined;
    cache.set(prefix, entry);
    return entry.index;
  }

  function store(prefix: string, index: string): void {
    if (maxEntries === 0) return;
    cache.delete(prefix);
    cache.set(prefix, { index, storedAt: now() });
    while (cache.size > maxEntries) cache.delete(cache.keys().next().value as string);
  }

  async function fetchRange(prefix: string): Promise<string> {
    const signal = AbortSignal.timeout(timeoutMs);
    let res: Response;
    try {
      res = await doFetch(base + prefix, {
        method: 'GET',
        headers: { 'Add-Padding': 'true', Accept: 'text/plain', 'User-Agent': 'idflow-password-policy' },
        redirect: 'error',
        signal,
      });
    } catch (err) {
      throw toHibpError(err, 'request failed');
    }
    if (res.status !== 200) {
      await res.body?.cancel().catch(() => {});
      throw new HibpError('status', `range service answered with status ${res.status}`, { status: res.status });
    }
    const body = await readCapped(res, maxBytes);
    return parseRange(body);
  }

  function rangeFor(prefix: string): Promise<string> {
    const hit = cached(prefix);
    if (hit !== undefined) return Promise.resolve(hit);
    const pending = inFlight.get(prefix);
    if (pending) return pending;
    const p = fetchRange(prefix)
      .then((index) => {
        store(prefix, index);
        return index;
      })
      .finally(() => inFlight.delete(prefix));
    inFlight.set(prefix, p);
    return p;
  }

  return {
    async breachCount(password: string): Promise<number> {
      let hash: string;
      try {
        hash = await sha1Hex(password);
      } catch (err) {
        throw new HibpError('internal', 'could not hash the password for the range lookup', { cause: err });
      }
      const index = await rangeFor(hash.slice(0, 5));
      return lookupRange(index, hash.slice(5));
    },
    get cacheSize() {
      return cache.size;
    },
  };
}

async function readCapped(res: Response, maxBytes: number): Promise<string> {
  const declared = Number(res.headers.get('content-length'));
  if (Number.isFinite(declared) && declared > maxBytes) {
    await res.body?.cancel().catch(() => {});
    throw new HibpError('too_large', `range response exceeds ${maxBytes} bytes`);
  }
  if (!res.body) return '';
  const reader = res.body.getReader();
  const decoder = new TextDecoder('utf-8', { fatal: false });
  let total = 0;
  let text = '';
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      total += value.byteLength;
      if (total > maxBytes) {
        await reader.cancel().catch(() => {});
        throw new HibpError('too_large', `range response exceeds ${maxBytes} bytes`);
      }
      text += decoder.decode(value, { stream: true });
    }
  } catch (err) {
    if (err instanceof HibpError) throw err;
    throw toHibpError(err, 'reading the response failed');
  }
  return text + decoder.decode();
}

function isTimeout(err: unknown): boolean {
  for (let e: unknown = err, depth = 0; e && depth < 4; e = (e as { cause?: unknown }).cause, depth++) {
    const name = (e as { name?: unknown }).name;
    if (name === 'TimeoutError' || name === 'AbortError') return true;
  }
  return false;
}

// fetch never sees the password (only the 5-hex prefix is in the URL), so its error is kept as `cause`.
function toHibpError(err: unknown, what: string): HibpError {
  if (isTimeout(err)) return new HibpError('timeout', `range service timed out (${what})`, { cause: err });
  return new HibpError('network', `range service unreachable (${what})`, { cause: err });
}
