/** The CORS configuration checks made when the app is built (the behaviour is tested over HTTP in test/e2e). */
import { describe, expect, it } from 'vitest';
import { CorsConfigError, corsMiddleware, isUnboundedWildcard } from '../../../src/http/middleware/cors.ts';
import type { CorsConfig } from '../../../config/types.ts';

const base: CorsConfig = {
  enabled: true, allowed_origins: ['*'], allowed_methods: ['GET'], allowed_headers: [], exposed_headers: [], allow_credentials: true, max_age: 0,
};

describe('CORS configuration', () => {
  it('refuses every origin with credentials outside --dev, naming the key; warns in --dev', () => {
    const warnings: string[] = [];
    const build = (config: CorsConfig, dev: boolean) => corsMiddleware(config, { key: 'serve.public.cors', dev, warn: (m) => warnings.push(m) });
    expect(() => build(base, false)).toThrow(CorsConfigError);
    expect(() => build(base, false)).toThrow(/^serve\.public\.cors: allowed_origins "\*" with allow_credentials: true/);
    expect(() => build({ ...base, allowed_origins: [] }, false)).toThrow(CorsConfigError);
    expect(build(base, true)).toBeTypeOf('function');
    expect(warnings).toEqual([expect.stringMatching(/allowed in --dev only/)]);
    expect(build({ ...base, allow_credentials: false }, false)).toBeTypeOf('function');
    expect(build({ ...base, allowed_origins: ['https://app.example.com'] }, false)).toBeTypeOf('function');
    expect(build({ ...base, enabled: false }, false)).toBeUndefined();
    expect(corsMiddleware(undefined, { key: 'serve.admin.cors', dev: false, warn: () => {} })).toBeUndefined();
  });

  it('warns about wildcards no registrable domain bounds (Kratos corsx.ClassifyOrigin), which match nothing', () => {
    const warnings: string[] = [];
    corsMiddleware({ ...base, allowed_origins: ['https://*.com', 'https://app.example.com'] }, { key: 'serve.public.cors', dev: false, warn: (m) => warnings.push(m) });
    expect(warnings).toEqual(['serve.public.cors.allowed_origins: "https://*.com" is ignored: a wildcard must be followed by a registrable domain (e.g. https://*.example.com)']);
    for (const unbounded of ['https://*', 'https://*.com', 'https://*.co.uk', 'https://*.github.io', 'http://*.0.0.1', 'https://app*']) {
      expect(isUnboundedWildcard(unbounded), unbounded).toBe(true);
    }
    for (const bounded of ['https://*.example.com', 'https://*.example.com:8443', 'https://*.shop.example.co.uk', 'https://app.example.com']) {
      expect(isUnboundedWildcard(bounded), bounded).toBe(false);
    }
  });
});
