import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { describe, expect, it } from 'vitest';
import { defaultConfig } from '../../../config/default-config.ts';
import { ConfigError, SECRETS_REQUIRED_MESSAGE, loadConfig } from '../../../config/load-config.ts';
import { packageRoot } from '../../../src/x/paths.ts';
import { CIPHER_SECRET, COOKIE_SECRET } from './helpers.ts';

describe('built-in default config', () => {
  it('validates and listens on 127.0.0.1:4433 / 127.0.0.1:4434', () => {
    const { config, warnings } = loadConfig({ env: {}, dev: true });
    expect(config.serve.public).toMatchObject({ host: '127.0.0.1', port: 4433 });
    expect(config.serve.admin).toMatchObject({ host: '127.0.0.1', port: 4434 });
    expect(config.dsn).toBe('sqlite://./data/idflow.sqlite?_fk=true&mode=rwc');
    expect(config.dev).toBe(true);
    expect(warnings.filter((w) => w.startsWith('config key'))).toEqual([]);
  });

  it('uses the bundled identity schema and the local UI', () => {
    const { config } = loadConfig({ env: {}, dev: true });
    expect(config.identity).toEqual({
      default_schema_id: 'default',
      schemas: [{ id: 'default', url: pathToFileURL(join(packageRoot, 'schemas', 'default.schema.json')).href, selfservice_selectable: false }],
    });
    expect(config.identity.schemas[0].url).toMatch(/^file:\/\/\/.*\/schemas\/default\.schema\.json$/);
    const ss = config.selfservice;
    expect(ss.default_browser_return_url).toBe('http://127.0.0.1:4455/');
    expect(ss.allowed_return_urls).toEqual(['http://127.0.0.1:4455']);
    for (const flow of ['login', 'registration', 'settings', 'recovery', 'verification', 'error'] as const) {
      expect(ss.flows[flow].ui_url).toBe(`http://127.0.0.1:4455/${flow}`);
    }
    expect(ss.flows.registration.after?.password).toEqual({ hooks: [{ hook: 'session' }] });
    expect(ss.flows.recovery).toMatchObject({ enabled: true, use: 'code' });
    expect(ss.flows.verification).toMatchObject({ enabled: true, use: 'code' });
    expect(config.courier.smtp.connection_uri).toBe('smtp://127.0.0.1:1025/?disable_starttls=true');
  });

  it('needs --dev or secrets from the environment', () => {
    expect(() => loadConfig({ env: {} })).toThrow(ConfigError);
    expect(() => loadConfig({ env: {} })).toThrow(SECRETS_REQUIRED_MESSAGE);
    const { config, warnings } = loadConfig({ env: { SECRETS_COOKIE: COOKIE_SECRET, SECRETS_CIPHER: CIPHER_SECRET } });
    expect(config.dev).toBe(false);
    expect(config.secrets).toMatchObject({ cookie: [COOKIE_SECRET], cipher: [CIPHER_SECRET] });
    expect(warnings).toEqual([]);
  });

  it('returns a fresh object each time', () => {
    const first = defaultConfig();
    (first.serve as { public: { port: number } }).public.port = 1;
    expect(loadConfig({ env: {}, dev: true }).config.serve.public.port).toBe(4433);
    expect(defaultConfig()).not.toBe(defaultConfig());
  });
});
