import { describe, expect, it } from 'vitest';
import { KratosError } from '../../../src/errors/kratos-error.ts';
import { createReturnToValidator, ReturnToForbiddenError } from '../../../src/x/return-to.ts';

const INVALID_ENTRIES = [
  'https://*.com',
  'https://*.co.uk',
  'https://*.github.io',
  'https://foo.*.com',
  'https://*foo.com',
  'https://**.foo.com',
  'https://*.*.foo.com',
  'https://*.0.0.1',
  'https://*.localhost',
  'https://*',
  'javascript:alert(1)',
  'https://user@ok.example.com',
  'https://ok%2eexample.com',
  'not a url',
  '/relative',
  '//scheme-relative.example.com',
  'ftp://files.example.com',
];

const v = createReturnToValidator({
  publicBaseUrl: 'https://auth.example.com/',
  defaultUrl: 'https://app.example.com/welcome',
  allowedReturnUrls: [
    'https://app.example.com/dashboard',
    'https://*.tenant.example.org',
    'http://localhost:3000/cb',
    'https://partner.example.net:8443/sso/',
    'https://app.example.com:443/legacy',
    ...INVALID_ENTRIES,
  ],
});

const DEFAULT = 'https://app.example.com/welcome';

/**
 * Hostile payloads (SECURITY-BASELINE §2): Better Auth open-redirect series (GHSA-8jhw-6pjj-8723,
 * GHSA-hjpm-7mrm-26w8, GHSA-36rg-gfq2-3h56, GHSA-vp58-j275-797x), Keycloak CVE-2023-6291 (parser desync) and
 * CVE-2024-8883 (loopback), Hydra CVE-2025-46337 (logout return_to), Kratos x/redir (label-boundary wildcards).
 */
const HOSTILE: string[] = [
  // plain foreign hosts (Hydra logout)
  'https://evil.com',
  'https://evil.com/dashboard',
  'http://evil.com',
  // scheme-relative / slash tricks (Better Auth, Kratos `//host`)
  '//evil.com',
  '//evil.com/dashboard',
  '///evil.com',
  '////evil.com',
  '\\\\evil.com',
  '/\\evil.com',
  '\\/evil.com',
  '/\\/evil.com',
  '/\t/evil.com',
  '/ /evil.com',
  'https:evil.com',
  'https:/evil.com',
  'https:\\\\evil.com',
  'https:/\\evil.com',
  'https:///evil.com',
  'http:///x',
  'http:///app.example.com/dashboard',
  'evil.com',
  'evil.com/dashboard',
  'app.example.com/dashboard',
  '%2F%2Fevil.com',
  '.evil.com',
  // userinfo (Keycloak CVE-2023-6291 and friends)
  'https://app.example.com@evil.com',
  'https://app.example.com@evil.com/dashboard',
  'https://app.example.com:443@evil.com',
  'https://user:pass@app.example.com/dashboard',
  'https://user@app.example.com/dashboard',
  'https://@app.example.com/dashboard',
  'https://app.example.com\\@evil.com',
  'https://app.example.com\\@evil.com/dashboard',
  'https://allowed%2ecom%2f:x@evil.com',
  'https://app%2eexample%2ecom%2f:x@evil.com',
  'https://app.example.com%2f@evil.com',
  'https://app.example.com%40evil.com',
  'https://app.example.com%23@evil.com',
  'https://evil.com%2f@app.example.com/dashboard',
  // percent-encoding / odd characters in the host
  'https://app%2eexample.com/dashboard',
  'https://app.example%2Ecom/dashboard',
  'https://%61pp.example.com/dashboard',
  'https://app.example.com%00.evil.com/dashboard',
  'https://app.example.com;.evil.com/dashboard',
  'https://app.example.com&.evil.com/dashboard',
  'https://evil.com\u3002app.example.com/dashboard',
  'https://\uff41pp.example.com/dashboard',
  'https://app.example.com./dashboard',
  'https://app.example.com:/dashboard',
  'https://[app.example.com]/dashboard',
  // path / query / fragment carrying the allowed host
  'https://evil.com#https://app.example.com/dashboard',
  'https://evil.com?https://app.example.com/dashboard',
  'https://evil.com/https://app.example.com/dashboard',
  'https://evil.com/app.example.com/dashboard',
  // host suffix / prefix confusion
  'https://app.example.com.evil.com/dashboard',
  'https://evilapp.example.com/dashboard',
  'https://app.example.co/dashboard',
  'https://example.com/dashboard',
  // wildcard boundary (Kratos d027980ec, Better Auth GHSA-vp58-j275-797x)
  'https://tenant.example.org/',
  'https://eviltenant.example.org/',
  'https://a.tenant.example.org.evil.com/',
  'https://a.tenant.example.org%2f.evil.com/',
  'https://evil.com/?.tenant.example.org',
  'https://evil.com#.tenant.example.org',
  'https://evil.com\\.tenant.example.org',
  'https://evil.com/.tenant.example.org',
  'http://a.tenant.example.org/',
  'https://a.tenant.example.org:8443/',
  'https://anything.com/', // `*.com` entry is invalid
  'https://anything.co.uk/',
  'https://foo.bar.com/', // `foo.*.com`
  'https://attacker.github.io/',
  'https://barfoo.com/', // `*foo.com`
  // path prefix, traversal, encoded delimiters
  'https://app.example.com/dashboardx',
  'https://app.example.com/dashboard-evil',
  'https://app.example.com/other',
  'https://app.example.com/',
  'https://app.example.com/dashboard/../admin',
  'https://app.example.com/dashboard/%2e%2e/admin',
  'https://app.example.com/dashboard/%2E%2E/admin',
  'https://app.example.com/dashboard%2f..%2fadmin',
  'https://app.example.com/dashboard/..%2fadmin',
  'https://app.example.com/dashboard/%5c..%5cadmin',
  'https://app.example.com/dashboard\\..\\admin',
  '/dashboard/../admin',
  '/dashboard%2f..%2fadmin',
  '/%5Cevil.com',
  '/%2F%2Fevil.com',
  '/other',
  // scheme / port mismatch
  'http://app.example.com/dashboard',
  'https://app.example.com:8443/dashboard',
  'https://app.example.com:80/dashboard',
  'https://partner.example.net/sso/x',
  'https://partner.example.net:8444/sso/x',
  'ftp://app.example.com/dashboard',
  'ws://app.example.com/dashboard',
  'wss://app.example.com/dashboard',
  // dangerous schemes
  'javascript:alert(1)',
  'JavaScript:alert(document.domain)//https://app.example.com/dashboard',
  'javascript://app.example.com/dashboard%0aalert(1)',
  'java\tscript:alert(1)',
  'data:text/html,<script>alert(1)</script>',
  'data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==',
  'vbscript:msgbox(1)',
  'file:///etc/passwd',
  'blob:https://app.example.com/uuid',
  'about:blank',
  'mailto:a@app.example.com',
  // whitespace / control / invisible characters
  ' https://evil.com',
  '\thttps://app.example.com/dashboard',
  'https://app.example.com/dashboard\n',
  'https://app.example.com/dash\rboard',
  'https://app.example.com/dash\u0000board',
  'https://app.example.com\t.evil.com/dashboard',
  'https://app.example.com/dashboard\u00a0',
  'https://app.example.com/dashboard\u200b',
  'https://app.example.com/dashboard\u202e',
  'https://app.example.com/dashboard\u2028',
  '\u0000https://app.example.com/dashboard',
  // loopback (Keycloak CVE-2024-8883): only exactly listed hosts and ports
  'http://localhost/cb',
  'http://localhost:3001/cb',
  'http://localhost:3000/other',
  'https://localhost:3000/cb',
  'http://127.0.0.1:3000/cb',
  'http://127.1:3000/cb',
  'http://0x7f000001:3000/cb',
  'http://2130706433:3000/cb',
  'http://[::1]:3000/cb',
  'http://[::ffff:127.0.0.1]:3000/cb',
  'http://0.0.0.0:3000/cb',
  'http://localhost.:3000/cb',
  'http://LOCALHOST.:3000/cb',
  'http://evil.localhost:3000/cb',
  'http://localhost:3000@evil.com/cb',
  // length
  'https://app.example.com/dashboard/' + 'a'.repeat(5000),
];

const ALLOWED: [string, string][] = [
  ['https://app.example.com/dashboard', 'https://app.example.com/dashboard'],
  ['https://app.example.com/dashboard/', 'https://app.example.com/dashboard/'],
  ['https://app.example.com/dashboard/x/y?z=1&w=%2F#frag', 'https://app.example.com/dashboard/x/y?z=1&w=%2F#frag'],
  ['https://app.example.com/dashboard?next=https://evil.com', 'https://app.example.com/dashboard?next=https://evil.com'],
  ['https://app.example.com/dashboard/@user', 'https://app.example.com/dashboard/@user'],
  ['https://APP.Example.COM/dashboard', 'https://app.example.com/dashboard'],
  ['HTTPS://app.example.com/dashboard', 'https://app.example.com/dashboard'],
  ['https://app.example.com:443/dashboard', 'https://app.example.com/dashboard'],
  ['https://app.example.com/dashboard/./x', 'https://app.example.com/dashboard/x'],
  ['https://app.example.com/dashboard/über', 'https://app.example.com/dashboard/%C3%BCber'],
  ['https://app.example.com/legacy/page', 'https://app.example.com/legacy/page'],
  ['https://a.tenant.example.org/', 'https://a.tenant.example.org/'],
  ['https://a.tenant.example.org', 'https://a.tenant.example.org/'],
  ['https://a.b.tenant.example.org/x?y', 'https://a.b.tenant.example.org/x?y'],
  ['https://xn--nxasmq6b.tenant.example.org/', 'https://xn--nxasmq6b.tenant.example.org/'],
  ['http://localhost:3000/cb', 'http://localhost:3000/cb'],
  ['http://localhost:3000/cb/deep?x=1', 'http://localhost:3000/cb/deep?x=1'],
  ['https://partner.example.net:8443/sso', 'https://partner.example.net:8443/sso'],
  ['https://partner.example.net:8443/sso/callback', 'https://partner.example.net:8443/sso/callback'],
  // public base URL and default URL are always allowed
  ['https://auth.example.com/', 'https://auth.example.com/'],
  ['https://auth.example.com/self-service/login/browser?return_to=x', 'https://auth.example.com/self-service/login/browser?return_to=x'],
  ['https://app.example.com/welcome', DEFAULT],
  ['https://app.example.com/welcome/back', 'https://app.example.com/welcome/back'],
  // relative paths resolve against the default URL
  ['/dashboard', 'https://app.example.com/dashboard'],
  ['/dashboard/x?y=1#z', 'https://app.example.com/dashboard/x?y=1#z'],
  ['/welcome', DEFAULT],
  ['/dashboard/kratos%23abcd', 'https://app.example.com/dashboard/kratos%23abcd'],
];

describe('return_to validator: hostile corpus', () => {
  it('has at least 40 payloads', () => {
    expect(HOSTILE.length).toBeGreaterThanOrEqual(40);
  });

  it.each(HOSTILE.map((p) => [JSON.stringify(p).slice(0, 120), p]))('refuses %s', (_label, payload) => {
    expect(v.isAllowed(payload)).toBe(false);
    expect(v.safeOrDefault(payload)).toBe(DEFAULT);
    let err: unknown;
    try {
      v.resolve(payload);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(ReturnToForbiddenError);
  });
});

describe('return_to validator: allowed', () => {
  it.each(ALLOWED)('accepts %j', (input, normalised) => {
    expect(v.isAllowed(input)).toBe(true);
    expect(v.resolve(input)).toBe(normalised);
    expect(v.safeOrDefault(input)).toBe(normalised);
  });
});

describe('return_to validator: API', () => {
  it('resolve falls back when nothing was requested', () => {
    expect(v.resolve(undefined)).toBe(DEFAULT);
    expect(v.resolve(null)).toBe(DEFAULT);
    expect(v.resolve('')).toBe(DEFAULT);
    expect(v.resolve(undefined, 'https://app.example.com/after-login')).toBe('https://app.example.com/after-login');
    expect(v.resolve('/dashboard', 'https://app.example.com/after-login')).toBe('https://app.example.com/dashboard');
    expect(v.safeOrDefault(undefined)).toBe(DEFAULT);
    expect(v.safeOrDefault('')).toBe(DEFAULT);
  });

  it('ReturnToForbiddenError has the Kratos wire shape', () => {
    let err: unknown;
    try {
      v.resolve('https://evil.com/x');
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(ReturnToForbiddenError);
    expect(err).toBeInstanceOf(KratosError);
    const e = err as ReturnToForbiddenError;
    expect(e.status).toBe(400);
    expect(e.id).toBe('self_service_flow_return_to_forbidden');
    expect(e.name).toBe('ReturnToForbiddenError');
    expect(e.toJSON()).toEqual({
      error: {
        id: 'self_service_flow_return_to_forbidden',
        code: 400,
        status: 'Bad Request',
        reason: 'Requested return_to URL "https://evil.com/x" is not allowed.',
        message: 'The request was malformed or contained invalid parameters',
      },
    });
  });

  it('truncates huge rejected values in the reason', () => {
    try {
      v.resolve('https://evil.com/' + 'a'.repeat(10_000));
    } catch (e) {
      expect((e as ReturnToForbiddenError).reason!.length).toBeLessThan(600);
    }
  });

  it('reports the invalid allow-list entries it ignored', () => {
    expect([...v.ignoredEntries].sort()).toEqual([...INVALID_ENTRIES].sort());
  });

  it('wildcards match one or more whole labels only', () => {
    const w = createReturnToValidator({
      publicBaseUrl: 'https://auth.foo.com',
      defaultUrl: 'https://auth.foo.com/',
      allowedReturnUrls: ['https://*.foo.com/app'],
    });
    expect(w.isAllowed('https://a.foo.com/app')).toBe(true);
    expect(w.isAllowed('https://a.b.foo.com/app/x')).toBe(true);
    expect(w.isAllowed('https://foo.com/app')).toBe(false);
    expect(w.isAllowed('https://evilfoo.com/app')).toBe(false);
    expect(w.isAllowed('https://a.foo.com/application')).toBe(false);
    expect(w.isAllowed('https://a.foo.com.evil.com/app')).toBe(false);
    expect(w.isAllowed('https://a-.foo.com/app')).toBe(false);
    expect(w.isAllowed('https://-a.foo.com/app')).toBe(false);
  });

  it('loopback is allowed only when listed exactly (dev setups)', () => {
    const dev = createReturnToValidator({
      publicBaseUrl: 'http://127.0.0.1:4433/',
      defaultUrl: 'http://127.0.0.1:4455/',
      allowedReturnUrls: ['http://localhost:4455'],
    });
    expect(dev.isAllowed('http://127.0.0.1:4433/self-service/login/browser')).toBe(true);
    expect(dev.isAllowed('http://127.0.0.1:4455/welcome')).toBe(true);
    expect(dev.isAllowed('http://localhost:4455/welcome')).toBe(true);
    expect(dev.isAllowed('http://localhost:4433/')).toBe(false);
    expect(dev.isAllowed('http://127.0.0.2:4455/')).toBe(false);
    expect(dev.isAllowed('http://127.1:4455/')).toBe(false);
    expect(dev.isAllowed('http://[::1]:4455/')).toBe(false);
    expect(dev.resolve('/welcome')).toBe('http://127.0.0.1:4455/welcome');
  });

  it('an empty allow-list still allows the public base URL and default URL', () => {
    const bare = createReturnToValidator({
      publicBaseUrl: 'https://auth.example.com/kratos',
      defaultUrl: 'https://app.example.com/',
      allowedReturnUrls: [],
    });
    expect(bare.isAllowed('https://auth.example.com/kratos/self-service/x')).toBe(true);
    expect(bare.isAllowed('https://auth.example.com/kratosx')).toBe(false);
    expect(bare.isAllowed('https://auth.example.com/')).toBe(false);
    expect(bare.isAllowed('https://app.example.com/anything')).toBe(true);
    expect(bare.isAllowed('https://evil.com/')).toBe(false);
  });

  it('IPv6 literal entries match exactly', () => {
    const six = createReturnToValidator({
      publicBaseUrl: 'https://auth.example.com/',
      defaultUrl: 'https://auth.example.com/',
      allowedReturnUrls: ['https://[2001:db8::1]:8443/'],
    });
    expect(six.isAllowed('https://[2001:db8::1]:8443/x')).toBe(true);
    expect(six.isAllowed('https://[2001:DB8::1]:8443/x')).toBe(true);
    expect(six.isAllowed('https://[2001:db8:0::1]:8443/x')).toBe(false); // non-canonical spelling refused
    expect(six.isAllowed('https://[2001:db8::2]:8443/x')).toBe(false);
  });

  it('rejects invalid configuration of the base URLs', () => {
    expect(() => createReturnToValidator({ publicBaseUrl: '/x', defaultUrl: 'https://a.example.com', allowedReturnUrls: [] })).toThrow(TypeError);
    expect(() => createReturnToValidator({ publicBaseUrl: 'https://a.example.com', defaultUrl: 'javascript:x', allowedReturnUrls: [] })).toThrow(TypeError);
  });

  it('never throws from isAllowed / safeOrDefault for odd inputs', () => {
    for (const odd of [undefined, null, 42, {}, [], '\ud800', '%', '%%%', 'https://', 'https://:80', 'http://[', '/%']) {
      expect(() => v.isAllowed(odd as unknown as string)).not.toThrow();
      expect(v.safeOrDefault(odd as unknown as string)).toBe(DEFAULT);
    }
  });
});
