import { describe, expect, it } from 'vitest';
import schema from '../../../config/config.schema.json' with { type: 'json' };
import { CONFIG_ENV_VARS } from '../../../config/load-config.ts';

type Node = Record<string, unknown>;

function* objectNodes(node: unknown, path: string): Generator<[string, Node]> {
  if (Array.isArray(node)) {
    for (const [i, item] of node.entries()) yield* objectNodes(item, `${path}/${i}`);
    return;
  }
  if (typeof node !== 'object' || node === null) return;
  const n = node as Node;
  if (n.properties && typeof n.properties === 'object' && !path.endsWith('/if')) yield [path, n];
  for (const [key, child] of Object.entries(n)) {
    if (key === 'default' || key === 'examples' || key === 'const' || key === 'enum') continue;
    yield* objectNodes(child, `${path}/${key}`);
  }
}

describe('config.schema.json', () => {
  it('closes every object with declared keys (so unknown keys are detected)', () => {
    const open: string[] = [];
    for (const [path, node] of objectNodes(schema, '#')) {
      // Sub-schemas of `then` / `not` only refine an already closed object.
      if (/\/(then|not)(\/|$)/.test(path)) continue;
      if (node.additionalProperties !== false) open.push(path);
    }
    expect(open).toEqual([]);
  });

  it('requires dsn, identity.schemas (at least one) and selfservice.default_browser_return_url', () => {
    expect(schema.required).toEqual(['dsn', 'identity', 'selfservice']);
    expect(schema.properties.identity.required).toEqual(['schemas']);
    expect(schema.properties.identity.properties.schemas.minItems).toBe(1);
    expect(schema.properties.selfservice.required).toEqual(['default_browser_return_url']);
  });

  it('maps keys to unique env var names like Kratos', () => {
    const names = CONFIG_ENV_VARS.map((v) => v.env);
    expect(new Set(names).size).toBe(names.length);
    for (const v of CONFIG_ENV_VARS) expect(v.env).toBe(v.path.replace(/\./g, '_').toUpperCase());
    expect(names).toEqual(
      expect.arrayContaining([
        'DSN',
        'SERVE_PUBLIC_PORT',
        'SERVE_ADMIN_PORT',
        'SERVE_PUBLIC_BASE_URL',
        'COURIER_SMTP_CONNECTION_URI',
        'LOG_LEVEL',
        'SELFSERVICE_METHODS_PASSWORD_ENABLED',
        'SELFSERVICE_METHODS_OIDC_CONFIG_PROVIDERS',
        'SECRETS_COOKIE',
        'SECRETS_CIPHER',
        'IDENTITY_DEFAULT_SCHEMA_ID',
        'IDENTITY_SCHEMAS',
        'SESSION_REVOKE_OTHER_SESSIONS_ON_PASSWORD_CHANGE',
        'SELFSERVICE_FLOWS_REGISTRATION_AFTER_PASSWORD_HOOKS',
      ]),
    );
    expect(CONFIG_ENV_VARS.find((v) => v.env === 'SERVE_PUBLIC_PORT')?.type).toBe('integer');
    expect(CONFIG_ENV_VARS.find((v) => v.env === 'SECRETS_COOKIE')?.type).toBe('array');
  });
});
