import { describe, expect, it } from 'vitest';
import { ConfigError, SECRETS_REQUIRED_MESSAGE, loadConfig } from '../../../config/load-config.ts';
import { CIPHER_SECRET, COOKIE_SECRET, minimalConfig, tempFile, yamlFile } from './helpers.ts';

/** Runs loadConfig and returns the ConfigError it throws (fails the test if it doesn't throw one). */
function configError(opts: Parameters<typeof loadConfig>[0]): ConfigError {
  try {
    loadConfig(opts);
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    const configErr = error as ConfigError;
    expect(configErr.message).not.toContain('\n');
    return configErr;
  }
  throw new Error('expected loadConfig to throw a ConfigError');
}

describe('reading files', () => {
  it('reports a YAML syntax error with the file and the line', () => {
    const file = tempFile('broken.yml', 'dsn: memory\nlog:\n  level: info\n  level: debug\n');
    const err = configError({ file, env: {} });
    expect(err.message).toContain(file);
    expect(err.message).toMatch(/line 4, column 3/);
    expect(err.message).toMatch(/unique/i);
  });

  it('reports an unclosed flow sequence with its line', () => {
    const file = tempFile('broken2.yaml', 'dsn: memory\nsecrets:\n  cookie: [abc\nlog:\n  level: info\n');
    const err = configError({ file, env: {} });
    expect(err.message).toContain(`cannot parse config file ${file}`);
    expect(err.message).toMatch(/line [3-5], column [0-9]+/);
  });

  it('reports a JSON syntax error with the file and the line', () => {
    const file = tempFile('kratos.json', '{\n  "dsn": "memory",\n  "log": {"level": "info",}\n}\n');
    const err = configError({ file, env: {} });
    expect(err.message).toContain(file);
    expect(err.message).toMatch(/line 3, column/);
    const bareWord = tempFile('bare.json', '{\n  "dsn": "memory",\n  "log": {"level": info}\n}\n');
    expect(configError({ file: bareWord, env: {} }).message).toMatch(/line 3, column 20/);
  });

  it('reports a missing file by name', () => {
    const err = configError({ file: '/nonexistent/idflow/kratos.yml', env: {} });
    expect(err.message).toBe('cannot read config file /nonexistent/idflow/kratos.yml: no such file');
  });

  it('rejects a file that is not a mapping', () => {
    const file = tempFile('list.yml', '- a\n- b\n');
    expect(configError({ file, env: {} }).message).toMatch(/must contain a mapping/);
  });

  it('reads JSON files, and files with other extensions as YAML', () => {
    const json = tempFile('kratos.json', JSON.stringify(minimalConfig({ serve: { public: { port: 4001 } } })));
    expect(loadConfig({ file: json, env: {} }).config.serve.public.port).toBe(4001);
    // A JSON document is valid YAML, so a file with another extension may hold either.
    const conf = tempFile('idflow.conf', JSON.stringify(minimalConfig({ serve: { public: { port: 4003 } } })));
    expect(loadConfig({ file: conf, env: {} }).config.serve.public.port).toBe(4003);
  });
});

describe('validation errors', () => {
  it('names the key as a dotted path, the problem, the value and the file', () => {
    const file = yamlFile({ serve: { public: { port: 'abc' } } });
    const err = configError({ file, env: {} });
    expect(err.message).toBe(`invalid config: serve.public.port must be integer, got "abc" (${file})`);
    expect(err.problems).toHaveLength(1);
  });

  it('collects every problem, on one line', () => {
    const file = yamlFile({ serve: { public: { port: 'abc' } }, log: { level: 'loud' }, session: { lifespan: '1 day' } });
    const err = configError({ file, env: {} });
    expect(err.problems).toHaveLength(3);
    expect(err.message).toMatch(/^invalid config \(3 problems\): /);
    expect(err.message).toContain('serve.public.port must be integer, got "abc"');
    expect(err.message).toContain('log.level must be one of trace, debug, info, warning, warn, error, fatal, panic, got "loud"');
    expect(err.message).toContain('session.lifespan must be a duration such as "1h", "15m" or "500ms", got "1 day"');
  });

  it('names missing required keys', () => {
    const file = yamlFile({ dsn: undefined, selfservice: { default_browser_return_url: undefined } });
    const err = configError({ file, env: {} });
    expect(err.problems).toEqual([`dsn is required (${file})`, `selfservice.default_browser_return_url is required (${file})`]);
  });

  it('requires at least one identity schema and names array items with an index', () => {
    expect(configError({ file: yamlFile({ identity: { schemas: [] } }), env: {} }).message).toContain('identity.schemas must NOT have fewer than 1 items');
    const err = configError({ file: yamlFile({ identity: { schemas: [{ id: 'default', url: 'not a uri' }] } }), env: {} });
    expect(err.message).toContain('identity.schemas[0].url must be a valid uri, got "not a uri"');
  });

  it('requires default_schema_id to be one of the schema ids', () => {
    const file = yamlFile({ identity: { default_schema_id: 'customer' } });
    expect(configError({ file, env: {} }).message).toMatch(/identity\.default_schema_id "customer" is not the id of any entry in identity\.schemas \(default\)/);
  });

  it('validates hooks per flow', () => {
    const bad = yamlFile({ selfservice: { flows: { login: { after: { password: { hooks: [{ hook: 'session' }] } } } } } });
    expect(configError({ file: bad, env: {} }).message).toContain('selfservice.flows.login.after.password.hooks[0].hook must be one of');
    const webhook = yamlFile({ selfservice: { flows: { registration: { after: { hooks: [{ hook: 'web_hook', config: { url: 'https://example.com/hook' } }] } } } } });
    expect(configError({ file: webhook, env: {} }).message).toContain('selfservice.flows.registration.after.hooks[0].config.method is required');
  });

  it('requires a relying party id and name for enabled WebAuthn and passkeys', () => {
    const file = yamlFile({ selfservice: { methods: { passkey: { enabled: true, config: { rp: { id: '', display_name: 'Example' } } } } } });
    expect(configError({ file, env: {} }).message).toContain('selfservice.methods.passkey.config.rp.id must be set when passkey is enabled');
    const ok = yamlFile({ selfservice: { methods: { webauthn: { enabled: true, config: { rp: { id: 'example.com', display_name: 'Example' } } } } } });
    expect(loadConfig({ file: ok, env: {} }).config.selfservice.methods.webauthn.enabled).toBe(true);
  });

  it('rejects code passwordless and mfa together', () => {
    const file = yamlFile({ selfservice: { methods: { code: { passwordless_enabled: true, mfa_enabled: true } } } });
    expect(configError({ file, env: {} }).message).toContain('selfservice.methods.code must not set both passwordless_enabled and mfa_enabled');
  });

  it('does not print secret values', () => {
    const file = yamlFile({ secrets: { cookie: [COOKIE_SECRET], cipher: ['too-short-cipher-secret'] } });
    const err = configError({ file, env: {} });
    expect(err.message).toContain('secrets.cipher[0] must NOT have fewer than 32 characters');
    expect(err.message).not.toContain('too-short-cipher-secret');
    const dsn = configError({ file: yamlFile({ dsn: ['postgres://u:hunter2@db/x'] }), env: {} });
    expect(dsn.message).toContain('dsn must be string (value hidden)');
    expect(dsn.message).not.toContain('hunter2');
  });
});

describe('environment overrides', () => {
  const file = () => yamlFile({ dsn: 'sqlite://./file.sqlite', serve: { public: { port: 4433 } }, log: { level: 'info' } });

  it('env vars win over the file', () => {
    const { config, warnings } = loadConfig({
      file: file(),
      env: {
        SERVE_PUBLIC_PORT: '5555',
        DSN: 'memory',
        LOG_LEVEL: 'debug',
        COURIER_SMTP_CONNECTION_URI: 'smtps://user:pass@mail.example.com:465/',
        SECRETS_COOKIE: '["env-cookie-secret-0000001"]',
        SELFSERVICE_METHODS_PASSWORD_ENABLED: 'false',
        IDENTITY_DEFAULT_SCHEMA_ID: 'customer',
        IDENTITY_SCHEMAS: '[{"id":"customer","url":"https://example.com/customer.schema.json"}]',
        SERVE_ADMIN_CORS_ALLOWED_ORIGINS: 'https://a.example.com, https://*.b.example.com',
      },
    });
    expect(config.serve.public.port).toBe(5555);
    expect(config.dsn).toBe('memory');
    expect(config.log.level).toBe('debug');
    expect(config.courier.smtp.connection_uri).toBe('smtps://user:pass@mail.example.com:465/');
    expect(config.secrets.cookie).toEqual(['env-cookie-secret-0000001']);
    expect(config.secrets.cipher).toEqual([CIPHER_SECRET]);
    expect(config.selfservice.methods.password.enabled).toBe(false);
    expect(config.identity.default_schema_id).toBe('customer');
    expect(config.identity.schemas).toEqual([{ id: 'customer', url: 'https://example.com/customer.schema.json', selfservice_selectable: false }]);
    expect(config.serve.admin.cors?.allowed_origins).toEqual(['https://a.example.com', 'https://*.b.example.com']);
    expect(warnings).toEqual([]);
  });

  it('accepts comma-separated arrays', () => {
    const { config } = loadConfig({ file: file(), env: { SECRETS_COOKIE: 'first-cookie-secret-01, second-cookie-secret-2' } });
    expect(config.secrets.cookie).toEqual(['first-cookie-secret-01', 'second-cookie-secret-2']);
  });

  it('apply to the built-in default too', () => {
    const { config } = loadConfig({ env: { SECRETS_COOKIE: COOKIE_SECRET, SECRETS_CIPHER: CIPHER_SECRET, SERVE_ADMIN_PORT: '9434' } });
    expect(config.serve.admin.port).toBe(9434);
    expect(config.dev).toBe(false);
  });

  it('an invalid env value names the env var, not the file', () => {
    const f = file();
    const err = configError({ file: f, env: { SERVE_PUBLIC_PORT: 'abc' } });
    expect(err.message).toBe('invalid config: serve.public.port must be integer, got "abc" (env SERVE_PUBLIC_PORT)');
    expect(configError({ file: f, env: { SELFSERVICE_METHODS_PASSWORD_ENABLED: 'yes' } }).message).toContain(
      'selfservice.methods.password.enabled must be boolean, got "yes" (env SELFSERVICE_METHODS_PASSWORD_ENABLED)',
    );
    expect(configError({ file: f, env: { IDENTITY_SCHEMAS: '[{"id":' } }).message).toContain('identity.schemas is not a valid JSON array (env IDENTITY_SCHEMAS)');
    expect(configError({ file: f, env: { IDENTITY_SCHEMAS: '[{"id":"x"}]' } }).message).toContain('identity.schemas[0].url is required (env IDENTITY_SCHEMAS)');
  });

  it('ignores the rest of the environment and empty values', () => {
    const { config, warnings } = loadConfig({
      file: file(),
      env: { PATH: '/usr/bin', HOME: '/root', SERVE: 'x', LOG: 'x', SERVE_PUBLIC: 'x', SERVE_PUBLIC_PORT_X: '1', FOO_BAR: 'baz', DSN: '', log_level: 'debug' },
    });
    expect(config.dsn).toBe('sqlite://./file.sqlite');
    expect(config.log.level).toBe('info');
    expect(warnings).toEqual([]);
  });
});

describe('overrides and dev', () => {
  it('overrides win over env and file, nested or dotted', () => {
    const file = yamlFile({ serve: { public: { port: 4433 } } });
    const { config } = loadConfig({
      file,
      env: { SERVE_PUBLIC_PORT: '5555', SERVE_ADMIN_PORT: '5556' },
      overrides: { serve: { public: { port: 7000 } }, 'serve.admin.port': 7001, 'log.level': undefined },
    });
    expect(config.serve.public.port).toBe(7000);
    expect(config.serve.admin.port).toBe(7001);
    expect(config.log.level).toBe('info');
  });

  it('names the command line as the source of a bad override', () => {
    const err = configError({ file: yamlFile(), env: {}, overrides: { serve: { public: { port: 70000 } } } });
    expect(err.message).toBe('invalid config: serve.public.port must be <= 65535, got 70000 (command line)');
  });

  it('dev: true forces config.dev and warns', () => {
    const { config, warnings } = loadConfig({ file: yamlFile({ dev: false }), env: {}, dev: true });
    expect(config.dev).toBe(true);
    expect(warnings.some((w) => w.startsWith('dev mode is on'))).toBe(true);
    expect(loadConfig({ file: yamlFile(), env: {} }).config.dev).toBe(false);
  });
});

describe('unknown keys', () => {
  it('are dropped with a warning naming the key and the file', () => {
    const file = yamlFile({ selfservice: { flows: { login: { foo: 'bar', ui_url: 'http://127.0.0.1:4455/login' } } }, oauth2_provider: { url: 'http://hydra:4445' } });
    const { config, warnings } = loadConfig({ file, env: {} });
    expect(warnings).toContain(`config key 'selfservice.flows.login.foo' in ${file} is not supported by idflow and is ignored`);
    expect(warnings).toContain(`config key 'oauth2_provider' in ${file} is not supported by idflow and is ignored`);
    expect(warnings).toHaveLength(2);
    expect(config.selfservice.flows.login).not.toHaveProperty('foo');
    expect(config).not.toHaveProperty('oauth2_provider');
    expect(config.selfservice.flows.login.ui_url).toBe('http://127.0.0.1:4455/login');
  });

  it('inside arrays and from env JSON', () => {
    const file = yamlFile({ identity: { schemas: [{ id: 'default', url: 'file:///x.json', extra: 1 }] } });
    const { warnings } = loadConfig({ file, env: {} });
    expect(warnings).toEqual([`config key 'identity.schemas[0].extra' in ${file} is not supported by idflow and is ignored`]);
    const fromEnv = loadConfig({ file, env: { IDENTITY_SCHEMAS: '[{"id":"default","url":"file:///x.json","bogus":true}]' } });
    expect(fromEnv.warnings).toEqual([`config key 'identity.schemas[0].bogus' from env IDENTITY_SCHEMAS is not supported by idflow and is ignored`]);
  });

  it('inside web hook configs, which are validated per hook type', () => {
    const hooks = [{ hook: 'web_hook', config: { url: 'https://example.com/h', method: 'POST', retries: 3 } }, { hook: 'session' }];
    const { config, warnings } = loadConfig({ file: yamlFile(), env: { SELFSERVICE_FLOWS_REGISTRATION_AFTER_PASSWORD_HOOKS: JSON.stringify(hooks) } });
    expect(warnings).toEqual([
      `config key 'selfservice.flows.registration.after.password.hooks[0].config.retries' from env SELFSERVICE_FLOWS_REGISTRATION_AFTER_PASSWORD_HOOKS is not supported by idflow and is ignored`,
    ]);
    expect(config.selfservice.flows.registration.after?.password).toEqual({
      hooks: [{ hook: 'web_hook', config: { url: 'https://example.com/h', method: 'POST', can_interrupt: false, emit_analytics_event: true } }, { hook: 'session' }],
    });
  });

  it('an unknown key never hides a real error', () => {
    const file = yamlFile({ serve: { public: { port: 'abc', tls: { enabled: true } } } });
    expect(configError({ file, env: {} }).message).toContain('serve.public.port must be integer');
  });
});

describe('secrets', () => {
  it('are required without dev', () => {
    expect(configError({ file: yamlFile({ secrets: undefined }), env: {} }).message).toBe(SECRETS_REQUIRED_MESSAGE);
    expect(configError({ file: yamlFile({ secrets: { cipher: undefined } }), env: {} }).message).toBe(SECRETS_REQUIRED_MESSAGE);
    expect(configError({ file: yamlFile({ secrets: { cookie: [] } }), env: {} }).message).toBe(SECRETS_REQUIRED_MESSAGE);
    expect(SECRETS_REQUIRED_MESSAGE).toBe('secrets.cookie (or secrets.default) and secrets.cipher must be set; or run with --dev');
  });

  it('secrets.default stands in for secrets.cookie (and pagination)', () => {
    const { config } = loadConfig({ file: yamlFile({ secrets: { cookie: undefined, default: ['default-secret-0000001'] } }), env: {} });
    expect(config.secrets.cookie).toEqual(['default-secret-0000001']);
    expect(config.secrets.default).toEqual(['default-secret-0000001']);
    expect(config.secrets.pagination).toEqual(['default-secret-0000001']);
  });

  it('are generated in dev mode, with a warning', () => {
    const first = loadConfig({ file: yamlFile({ secrets: undefined }), env: {}, dev: true });
    const second = loadConfig({ file: yamlFile({ secrets: undefined }), env: {}, dev: true });
    expect(first.config.secrets.cookie[0]).toMatch(/^[A-Za-z0-9_-]{32}$/);
    expect(first.config.secrets.cipher[0]).toMatch(/^[A-Za-z0-9_-]{32}$/);
    expect(first.config.secrets.cookie[0]).not.toBe(second.config.secrets.cookie[0]);
    expect(first.config.secrets.cipher[0]).not.toBe(first.config.secrets.cookie[0]);
    expect(first.warnings.find((w) => w.includes('generated'))).toMatch(/secrets\.cookie and secrets\.cipher .*generated.*restart/);
  });

  it('only missing ones are generated; given ones are kept', () => {
    const { config, warnings } = loadConfig({ file: yamlFile({ secrets: { cipher: undefined } }), env: {}, dev: true });
    expect(config.secrets.cookie).toEqual([COOKIE_SECRET]);
    expect(config.secrets.cipher[0]).toHaveLength(32);
    expect(warnings.find((w) => w.includes('generated'))).toMatch(/^secrets\.cipher not set/);
    const full = loadConfig({ file: yamlFile(), env: {}, dev: true });
    expect(full.config.secrets.cipher).toEqual([CIPHER_SECRET]);
    expect(full.warnings.some((w) => w.includes('generated'))).toBe(false);
  });

  it('cipher entries must be exactly 32 characters, cookie entries at least 16', () => {
    expect(configError({ file: yamlFile({ secrets: { cipher: [CIPHER_SECRET.slice(1)] } }), env: {} }).message).toContain(
      'secrets.cipher[0] must NOT have fewer than 32 characters (got 31)',
    );
    expect(configError({ file: yamlFile({ secrets: { cipher: [CIPHER_SECRET + 'x'] } }), env: {} }).message).toContain(
      'secrets.cipher[0] must NOT have more than 32 characters (got 33)',
    );
    expect(configError({ file: yamlFile({ secrets: { cookie: ['fifteen-chars!!'] } }), env: {} }).message).toContain(
      'secrets.cookie[0] must NOT have fewer than 16 characters (got 15)',
    );
    expect(configError({ file: yamlFile(), env: { SECRETS_CIPHER: 'short' } }).message).toContain('(env SECRETS_CIPHER)');
  });
});

describe('defaults', () => {
  it('fills every default into a minimal file, without merging the built-in config', () => {
    const { config, warnings } = loadConfig({ file: yamlFile(), env: {} });
    expect(warnings).toEqual([]);
    expect(config.dev).toBe(false);
    expect(config.serve.public).toMatchObject({ host: '0.0.0.0', port: 4433, request_body_limit: '1MB' });
    expect(config.serve.admin).toMatchObject({ host: '0.0.0.0', port: 4434, request_body_limit: '5MB' });
    expect(config.serve.public.cors).toMatchObject({ enabled: false, allowed_origins: ['*'], allow_credentials: true, max_age: 0 });
    expect(config.serve.public.cors?.allowed_headers).toContain('X-Session-Token');
    expect(config.identity.default_schema_id).toBe('default');
    expect(config.selfservice.allowed_return_urls).toEqual([]);
    const flows = config.selfservice.flows;
    expect(flows.login).toMatchObject({ lifespan: '1h', style: 'unified', ui_url: 'https://www.ory.com/kratos/docs/fallback/login' });
    expect(flows.registration).toMatchObject({ enabled: true, style: 'profile_first', lifespan: '1h', login_hints: false });
    expect(flows.registration.after).toBeUndefined();
    expect(flows.settings).toMatchObject({ lifespan: '1h', privileged_session_max_age: '1h', required_aal: 'highest_available' });
    expect(flows.recovery).toMatchObject({ enabled: false, use: 'code', notify_unknown_recipients: false, lifespan: '1h' });
    expect(flows.verification).toMatchObject({ enabled: false, use: 'code', notify_unknown_recipients: false, lifespan: '1h' });
    const methods = config.selfservice.methods;
    expect(methods.password).toEqual({
      enabled: true,
      config: {
        haveibeenpwned_host: 'api.pwnedpasswords.com',
        haveibeenpwned_enabled: true,
        max_breaches: 0,
        ignore_network_errors: true,
        min_password_length: 8,
        identifier_similarity_check_enabled: true,
      },
    });
    expect(methods.profile.enabled).toBe(true);
    expect(methods.code).toMatchObject({ enabled: true, passwordless_enabled: false, mfa_enabled: false, config: { lifespan: '15m', max_submissions: 5, missing_credential_fallback_enabled: false } });
    for (const off of ['link', 'totp', 'lookup_secret', 'webauthn', 'passkey', 'oidc'] as const) expect(methods[off].enabled).toBe(false);
    expect(config.session).toMatchObject({
      lifespan: '24h',
      cookie: { name: 'ory_kratos_session', same_site: 'Lax', path: '/', persistent: true },
      whoami: { required_aal: 'highest_available' },
      revoke_other_sessions_on_password_change: true,
    });
    expect(config.cookies).toEqual({ path: '/', same_site: 'Lax', host_prefix: true });
    expect(config.hashers).toMatchObject({
      algorithm: 'argon2',
      argon2: { memory: '19MB', iterations: 2, parallelism: 1, salt_length: 16, key_length: 32 },
      bcrypt: { cost: 12 },
    });
    expect(config.courier).toMatchObject({ delivery_strategy: 'smtp', smtp: { from_address: 'no-reply@ory.kratos.sh' }, message_retries: 5, worker: { pull_count: 10, pull_wait: '1s' } });
    expect(config.courier.smtp.connection_uri).toBeUndefined();
    expect(config.log).toMatchObject({ level: 'info', format: 'json' });
    expect(config.security.account_enumeration.mitigate).toBe(true);
    expect(config.feature_flags.use_continue_with_transitions).toBe(false);
  });

  it('keeps what the file sets', () => {
    const file = yamlFile({ hashers: { algorithm: 'bcrypt', argon2: { memory: '64MB' } }, session: { cookie: { same_site: 'Strict' } }, security: { account_enumeration: { mitigate: false } } });
    const { config } = loadConfig({ file, env: {} });
    expect(config.hashers.algorithm).toBe('bcrypt');
    expect(config.hashers.argon2.memory).toBe('64MB');
    expect(config.hashers.argon2.iterations).toBe(2);
    expect(config.session.cookie).toMatchObject({ same_site: 'Strict', name: 'ory_kratos_session' });
    expect(config.security.account_enumeration.mitigate).toBe(false);
  });

  it('raises bcrypt cost below 12 outside dev mode, as Kratos does', () => {
    const file = yamlFile({ hashers: { algorithm: 'bcrypt', bcrypt: { cost: 8 } } });
    const prod = loadConfig({ file, env: {} });
    expect(prod.config.hashers.bcrypt.cost).toBe(12);
    expect(prod.warnings.some((w) => w.includes('hashers.bcrypt.cost 8'))).toBe(true);
    expect(loadConfig({ file, env: {}, dev: true }).config.hashers.bcrypt.cost).toBe(8);
  });

  it('warns when recovery is enabled without an SMTP server', () => {
    const { warnings } = loadConfig({ file: yamlFile({ selfservice: { flows: { recovery: { enabled: true } } } }), env: {} });
    expect(warnings).toEqual(['recovery or verification is enabled but courier.smtp.connection_uri is not set: e-mails cannot be sent']);
  });
});
