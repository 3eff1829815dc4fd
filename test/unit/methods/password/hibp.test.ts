import { afterEach, describe, expect, it, vi } from 'vitest';
import type { PasswordMethodConfig } from '../../../../config/types.ts';
import {
  createHibpClient,
  HibpError,
  lookupRange,
  parseRange,
  sha1Hex,
} from '../../../../src/methods/password/hibp.ts';
import { createPasswordPolicy, type PasswordPolicyOptions } from '../../../../src/methods/password/policy.ts';
import { closedPortHost, rangeHandler, sha1Upper, startRangeServer, type RangeServer } from './range-server.ts';

const PASSWORD = 'correct horse battery staple 42';
const { prefix: PREFIX, suffix: SUFFIX } = sha1Upper(PASSWORD);
const FULL_HASH = PREFIX + SUFFIX;

// Decoy rows in the same range: only our suffix's count may be used.
const decoys = ['00000000000000000000000000000000001:99999', 'FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFE:7'];

let servers: RangeServer[] = [];
afterEach(async () => {
  await Promise.all(servers.map((s) => s.close()));
  servers = [];
});

async function server(handler: Parameters<typeof startRangeServer>[0]): Promise<RangeServer> {
  const s = await startRangeServer(handler);
  servers.push(s);
  return s;
}

function config(host: string, over: Partial<PasswordMethodConfig> = {}): PasswordMethodConfig {
  return {
    haveibeenpwned_host: host,
    haveibeenpwned_enabled: true,
    max_breaches: 0,
    ignore_network_errors: true,
    min_password_length: 8,
    identifier_similarity_check_enabled: true,
    ...over,
  };
}

function policy(host: string, over: Partial<PasswordMethodConfig> = {}, opts: PasswordPolicyOptions = {}) {
  return createPasswordPolicy(config(host, over), { hibpScheme: 'http', ...opts });
}

/** Passwords sharing the first five hex digits of their SHA-1 (found by a birthday search). */
function samePrefixPair(): [string, string] {
  const seen = new Map<string, string>();
  for (let i = 0; ; i++) {
    const pw = `unrelated passphrase ${i}`;
    const { prefix } = sha1Upper(pw);
    const other = seen.get(prefix);
    if (other !== undefined) return [other, pw];
    seen.set(prefix, pw);
  }
}

describe('sha1Hex / parseRange', () => {
  it('hashes like HIBP (upper-case hex SHA-1 of UTF-8)', async () => {
    expect(await sha1Hex('password')).toBe('5BAA61E4C9B93F3F0682250B6CF8331B7EE68FD8');
    expect(await sha1Hex(PASSWORD)).toBe(FULL_HASH);
    expect(await sha1Hex('pässwörd😀')).toBe(sha1Upper('pässwörd😀').prefix + sha1Upper('pässwörd😀').suffix);
  });

  it('parses CRLF rows, drops padding rows, matches suffixes case-insensitively', () => {
    const index = parseRange(`${SUFFIX.toLowerCase()}:12\r\nAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA:0\r\n\r\n`);
    expect(lookupRange(index, SUFFIX)).toBe(12);
    expect(lookupRange(index, 'AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA')).toBe(0);
    expect(lookupRange(index, 'BBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBB')).toBe(0);
  });

  it('refuses malformed rows', () => {
    expect(() => parseRange('<html>oops</html>')).toThrow(HibpError);
    expect(() => parseRange(`${SUFFIX}:-1`)).toThrow(/SUFFIX:COUNT/);
  });
});

describe('password policy: haveibeenpwned', () => {
  it('rejects a breached password with 4000034 and its count', async () => {
    const s = await server(rangeHandler({ [PREFIX]: [decoys[0], `${SUFFIX}:1234`, decoys[1]] }));
    expect(await policy(s.host).check(PASSWORD, ['alice@example.com'])).toMatchObject({
      type: 'error',
      id: 4000034,
      text: 'The password has been found in data breaches and must no longer be used.',
      context: { breaches: 1234 },
    });
  });

  it('accepts when the count is <= max_breaches', async () => {
    const s = await server(rangeHandler({ [PREFIX]: [decoys[0], `${SUFFIX}:1234`] }));
    expect(await policy(s.host, { max_breaches: 1234 }).check(PASSWORD, [])).toBeNull();
    expect(await policy(s.host, { max_breaches: 1233 }).check(PASSWORD, [])).toMatchObject({
      id: 4000034,
      context: { breaches: 1234 },
    });
  });

  it('accepts a password not in the range, and ignores count-0 padding rows', async () => {
    const s = await server(rangeHandler({ [PREFIX]: [...decoys] }));
    expect(await policy(s.host).check(PASSWORD, [])).toBeNull();
    const padded = await server(rangeHandler({ [PREFIX]: [`${SUFFIX}:0`] }));
    expect(await policy(padded.host).check(PASSWORD, [])).toBeNull();
  });

  it('sends only GET /range/<5 hex> with Add-Padding, never the hash or the password', async () => {
    const s = await server(rangeHandler({ [PREFIX]: [`${SUFFIX}:3`] }));
    await policy(s.host).check(PASSWORD, []);
    expect(s.requests).toHaveLength(1);
    const [req] = s.requests;
    expect(req.method).toBe('GET');
    expect(req.url).toBe(`/range/${PREFIX}`);
    expect(req.url).toMatch(/^\/range\/[0-9A-F]{5}$/);
    expect(req.headers['add-padding']).toBe('true');
    const wire = JSON.stringify(req).toUpperCase();
    expect(wire).not.toContain(SUFFIX);
    expect(wire).not.toContain(FULL_HASH);
    expect(JSON.stringify(req)).not.toContain(PASSWORD);
    expect(JSON.stringify(req)).not.toContain(encodeURIComponent(PASSWORD));
  });

  it('also checks the NFKC form when it differs from what was typed', async () => {
    const typed = 'ｃｏｒｒｅｃｔ horse battery staple 42'; // full-width letters; NFKC gives PASSWORD
    const t = sha1Upper(typed);
    const s = await server(rangeHandler({ [PREFIX]: [`${SUFFIX}:77`] }));
    expect(await policy(s.host).check(typed, [])).toMatchObject({ id: 4000034, context: { breaches: 77 } });
    expect(s.requests.map((r) => r.url).sort()).toEqual([`/range/${PREFIX}`, `/range/${t.prefix}`].sort());
  });

  it('runs after the length and similarity rules (no request for a password already refused)', async () => {
    const s = await server(rangeHandler({}));
    expect(await policy(s.host).check('short', [])).toMatchObject({ id: 4000032 });
    expect(await policy(s.host).check('alice123!', ['alice@example.com'])).toMatchObject({ id: 4000031 });
    expect(s.requests).toHaveLength(0);
  });

  it('makes no request when disabled', async () => {
    const s = await server(rangeHandler({ [PREFIX]: [`${SUFFIX}:1234`] }));
    expect(await policy(s.host, { haveibeenpwned_enabled: false }).check(PASSWORD, [])).toBeNull();
    expect(s.requests).toHaveLength(0);
  });

  it('refuses a haveibeenpwned_host that is more than host[:port]', () => {
    for (const host of ['evil.example/x?', 'user@evil.example', 'a b', 'host/range']) {
      expect(() => policy(host)).toThrow(/haveibeenpwned_host/);
    }
    expect(() => policy('api.pwnedpasswords.com')).not.toThrow();
    expect(() => policy('[::1]:8080')).not.toThrow();
  });

  describe('service failures', () => {
    const failing = (status: number) => (_req: unknown, res: import('node:http').ServerResponse) => {
      res.writeHead(status).end('nope');
    };

    it('500 + ignore_network_errors=true: fails open and reports through onHibpError', async () => {
      const s = await server(failing(500));
      const onHibpError = vi.fn();
      expect(await policy(s.host, {}, { onHibpError }).check(PASSWORD, [])).toBeNull();
      expect(onHibpError).toHaveBeenCalledTimes(1);
      const [err, info] = onHibpError.mock.calls[0];
      expect(err).toBeInstanceOf(HibpError);
      expect(err).toMatchObject({ kind: 'status', status: 500 });
      expect(info).toEqual({ failOpen: true });
      expect(String(err.message)).not.toContain(PASSWORD);
      expect(String(err.message).toUpperCase()).not.toContain(PREFIX);
    });

    it('500 + ignore_network_errors=false: 4000005', async () => {
      const s = await server(failing(500));
      const onHibpError = vi.fn();
      expect(await policy(s.host, { ignore_network_errors: false }, { onHibpError }).check(PASSWORD, [])).toMatchObject({
        type: 'error',
        id: 4000005,
        text: 'The password can not be used because the breached-password service could not be reached.',
        context: { reason: 'the breached-password service could not be reached' },
      });
      expect(onHibpError).toHaveBeenCalledWith(expect.objectContaining({ kind: 'status' }), { failOpen: false });
    });

    it('server down (closed port) + ignore_network_errors=true: accepted, onHibpError called', async () => {
      const host = await closedPortHost();
      const onHibpError = vi.fn();
      expect(await policy(host, {}, { onHibpError }).check(PASSWORD, [])).toBeNull();
      expect(onHibpError).toHaveBeenCalledTimes(1);
      expect(onHibpError.mock.calls[0][0]).toMatchObject({ kind: 'network' });
    });

    it('server down (closed port) + ignore_network_errors=false: 4000005', async () => {
      const host = await closedPortHost();
      expect(await policy(host, { ignore_network_errors: false }).check(PASSWORD, [])).toMatchObject({
        id: 4000005,
        context: { reason: 'the breached-password service could not be reached' },
      });
    });

    it('a throwing onHibpError does not change the outcome', async () => {
      const host = await closedPortHost();
      const onHibpError = () => {
        throw new Error('logger broke');
      };
      expect(await policy(host, {}, { onHibpError }).check(PASSWORD, [])).toBeNull();
    });

    it('times out after 1 s when the server never answers', async () => {
      const s = await server(() => {
        /* hang */
      });
      const onHibpError = vi.fn();
      const started = performance.now();
      expect(await policy(s.host, { ignore_network_errors: false }, { onHibpError }).check(PASSWORD, [])).toMatchObject(
        { id: 4000005 },
      );
      const elapsed = performance.now() - started;
      expect(elapsed).toBeGreaterThanOrEqual(900);
      expect(elapsed).toBeLessThan(3000);
      expect(onHibpError.mock.calls[0][0]).toMatchObject({ kind: 'timeout' });
    });

    it('the 1 s budget includes the body (headers sent, body stalls)', async () => {
      const s = await server((_req, res) => {
        res.writeHead(200, { 'content-type': 'text/plain' });
        res.write(`${decoys[0]}\r\n`);
      });
      const onHibpError = vi.fn();
      const started = performance.now();
      expect(await policy(s.host, {}, { onHibpError }).check(PASSWORD, [])).toBeNull();
      expect(performance.now() - started).toBeLessThan(3000);
      expect(onHibpError.mock.calls[0][0]).toMatchObject({ kind: 'timeout' });
    });

    it('a malformed body is a service failure', async () => {
      const s = await server((_req, res) => {
        res.writeHead(200).end('<html>maintenance</html>');
      });
      const onHibpError = vi.fn();
      expect(await policy(s.host, { ignore_network_errors: false }, { onHibpError }).check(PASSWORD, [])).toMatchObject(
        { id: 4000005 },
      );
      expect(onHibpError.mock.calls[0][0]).toMatchObject({ kind: 'malformed' });
    });

    it('failures are not cached', async () => {
      let fail = true;
      const ok = rangeHandler({ [PREFIX]: [`${SUFFIX}:5`] });
      const s = await server((req, res) => (fail ? res.writeHead(503).end() : ok(req, res)));
      const p = policy(s.host);
      expect(await p.check(PASSWORD, [])).toBeNull();
      fail = false;
      expect(await p.check(PASSWORD, [])).toMatchObject({ id: 4000034, context: { breaches: 5 } });
      expect(s.requests).toHaveLength(2);
    });
  });

  describe('range cache', () => {
    it('a second check of the same prefix makes no new request', async () => {
      const [a, b] = samePrefixPair();
      const { prefix, suffix: sa } = sha1Upper(a);
      const { suffix: sb } = sha1Upper(b);
      const s = await server(rangeHandler({ [prefix]: [`${sa}:3`, `${sb}:9`] }));
      const p = policy(s.host);
      expect(await p.check(a, [])).toMatchObject({ context: { breaches: 3 } });
      expect(await p.check(a, [])).toMatchObject({ context: { breaches: 3 } });
      expect(await p.check(b, [])).toMatchObject({ context: { breaches: 9 } });
      expect(s.requests).toHaveLength(1);
      expect(s.requests[0].url).toBe(`/range/${prefix}`);
    });

    it('concurrent checks of one prefix share one request', async () => {
      const s = await server(rangeHandler({ [PREFIX]: [`${SUFFIX}:2`] }));
      const p = policy(s.host);
      const results = await Promise.all(Array.from({ length: 5 }, () => p.check(PASSWORD, [])));
      expect(results.every((r) => r?.id === 4000034)).toBe(true);
      expect(s.requests).toHaveLength(1);
    });

    it('entries expire after 1 h', async () => {
      let now = 1_000_000;
      const s = await server(rangeHandler({ [PREFIX]: [`${SUFFIX}:2`] }));
      const p = policy(s.host, {}, { now: () => now });
      await p.check(PASSWORD, []);
      now += 60 * 60 * 1000 - 1;
      await p.check(PASSWORD, []);
      expect(s.requests).toHaveLength(1);
      now += 1;
      await p.check(PASSWORD, []);
      expect(s.requests).toHaveLength(2);
    });

    it('is a bounded LRU', async () => {
      const s = await server(rangeHandler({}));
      const p = policy(s.host, {}, { hibpCacheSize: 2 });
      const [x, y, z] = ['first unrelated phrase', 'second unrelated phrase', 'third unrelated phrase'];
      expect(new Set([x, y, z].map((pw) => sha1Upper(pw).prefix)).size).toBe(3);
      await p.check(x, []);
      await p.check(y, []);
      await p.check(x, []); // hit: x becomes most recent
      expect(s.requests).toHaveLength(2);
      await p.check(z, []); // evicts y
      await p.check(x, []);
      expect(s.requests).toHaveLength(3);
      await p.check(y, []);
      expect(s.requests).toHaveLength(4);
    });
  });
});

describe('createHibpClient', () => {
  it('uses the injected fetch with https by default, an abort signal and no redirects', async () => {
    const calls: { url: string; init: RequestInit | undefined }[] = [];
    const fakeFetch = (async (url: string | URL | Request, init?: RequestInit) => {
      calls.push({ url: String(url), init });
      return new Response(`${SUFFIX}:42\r\n`, { status: 200 });
    }) as typeof fetch;
    const client = createHibpClient({ host: 'api.pwnedpasswords.com', fetch: fakeFetch });
    expect(await client.breachCount(PASSWORD)).toBe(42);
    expect(calls[0].url).toBe(`https://api.pwnedpasswords.com/range/${PREFIX}`);
    expect(calls[0].init?.signal).toBeInstanceOf(AbortSignal);
    expect(calls[0].init?.redirect).toBe('error');
    expect(new Headers(calls[0].init?.headers).get('add-padding')).toBe('true');
    expect(client.cacheSize).toBe(1);
  });

  it('refuses oversized bodies', async () => {
    const s = await server((_req, res) => {
      res.writeHead(200).end(`${decoys[0]}\r\n`.repeat(100));
    });
    const client = createHibpClient({ host: s.host, scheme: 'http', maxResponseBytes: 1000 });
    await expect(client.breachCount(PASSWORD)).rejects.toMatchObject({ kind: 'too_large' });
  });

  it('treats a redirect as a failure', async () => {
    const s = await server((_req, res) => {
      res.writeHead(302, { location: 'http://127.0.0.1:1/elsewhere' }).end();
    });
    const client = createHibpClient({ host: s.host, scheme: 'http' });
    await expect(client.breachCount(PASSWORD)).rejects.toBeInstanceOf(HibpError);
  });
});
