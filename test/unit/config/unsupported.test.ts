import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../../../config/load-config.ts';
import { UNSUPPORTED_RULES, dottedKey, findUnsupported, type UnsupportedRule } from '../../../config/unsupported.ts';
import type { Config } from '../../../config/types.ts';
import { README, readBlock } from '../../support/readme-blocks.ts';
import { renderUnsupportedTable } from './unsupported-table.ts';
import { yamlFile } from './helpers.ts';

type Obj = Record<string, unknown>;

/** The problems of the ConfigError loadConfig throws (fails the test if it doesn't throw one). */
function refusal(opts: Parameters<typeof loadConfig>[0]): string[] {
  try {
    loadConfig(opts);
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as ConfigError).message).not.toContain('\n');
    return (error as ConfigError).problems;
  }
  throw new Error('expected loadConfig to refuse the config');
}

const refused = (key: string, why: string, label: string) => `${key}: not supported yet - ${why} (${label})`;
const ignored = (key: string, why: string, phrase: string) => `config key '${key}' ${phrase} is not supported yet and is ignored: ${why}`;

const webHook = { hook: 'web_hook', config: { url: 'https://hooks.example.com/x', method: 'POST' } };
const SECOND_SCHEMA = { identity: { schemas: [{ id: 'default', url: 'file:///etc/idflow/identity.schema.json' }, { id: 'customer', url: 'file:///etc/idflow/customer.schema.json', selfservice_selectable: true }] } };

interface Case {
  name: string;
  /** Deep-merged into a minimal valid kratos.yml. */
  patch: Obj;
  /** The concrete key named. */
  key: string;
  /** The rule of UNSUPPORTED_RULES it turns on, found by path + condition. */
  rule: UnsupportedRule;
}

const ruleFor = (path: string, condition: string | RegExp): UnsupportedRule => {
  const rule = UNSUPPORTED_RULES.find((r) => r.path === path && (typeof condition === 'string' ? r.condition === condition : condition.test(r.condition)));
  if (!rule) throw new Error(`no rule for ${path} / ${String(condition)}`);
  return rule;
};
const HOOKS = 'selfservice.flows.*.**.hooks.*.hook';

/** One case per rule (at least), each turning exactly that rule on in an otherwise clean config. */
const CASES: Case[] = [
  ...([
    ['oidc preset', { provider: 'slack' }, 'provider', /^other than/],
    ['oidc identity updates', { update_identity_on_login: 'automatic' }, 'update_identity_on_login', '`automatic`'],
    ['oidc aal2 acr', { aal2_acr_values: ['mfa'] }, 'aal2_acr_values', 'set'],
    ['oidc aal2 amr', { aal2_amr_values: ['mfa'] }, 'aal2_amr_values', 'set'],
    ['oidc automatic linking', { account_linking_mode: 'automatic' }, 'account_linking_mode', '`automatic`'],
    ['oidc organization', { organization_id: '12345678-1234-1234-1234-123456789012' }, 'organization_id', 'set'],
    ['oidc fedcm', { fedcm_config_url: 'https://example.com/config.json' }, 'fedcm_config_url', 'set'],
    ['oidc netid origin', { net_id_token_origin_header: 'https://example.com' }, 'net_id_token_origin_header', 'set'],
    ['oidc auth_url', { auth_url: 'https://op.example.com/auth' }, 'auth_url', 'set'],
    ['oidc token_url', { token_url: 'https://op.example.com/token' }, 'token_url', 'set'],
  ] as Array<[string, Obj, string, string | RegExp]>).map(([name, provider, key, condition]): Case => ({
    name,
    patch: { selfservice: { methods: { oidc: { config: { providers: [{ id: 'op', provider: 'generic', client_id: 'c', mapper_url: 'base64://e30=', issuer_url: 'https://op.example.com', ...provider }] } } } } },
    key: `selfservice.methods.oidc.config.providers[0].${key}`,
    rule: ruleFor(`selfservice.methods.oidc.config.providers.*.${key}`, condition),
  })),
  {
    name: 'code fallback', patch: { selfservice: { methods: { code: { config: { missing_credential_fallback_enabled: true } } } } },
    key: 'selfservice.methods.code.config.missing_credential_fallback_enabled', rule: ruleFor('selfservice.methods.code.config.missing_credential_fallback_enabled', '`true`'),
  },
  {
    name: 'code legacy fallback', patch: { selfservice: { methods: { code: { passwordless_login_fallback_enabled: true } } } },
    key: 'selfservice.methods.code.passwordless_login_fallback_enabled', rule: ruleFor('selfservice.methods.code.passwordless_login_fallback_enabled', 'set'),
  },
  {
    name: 'code disabled, recovery by code', patch: { selfservice: { methods: { code: { enabled: false } }, flows: { recovery: { enabled: true } } } },
    key: 'selfservice.methods.code.enabled', rule: ruleFor('selfservice.methods.code.enabled', /^`false` while/),
  },
  {
    name: 'link disabled, verification by link', patch: { selfservice: { flows: { verification: { enabled: true, use: 'link' } } } },
    key: 'selfservice.methods.link.enabled', rule: ruleFor('selfservice.methods.link.enabled', /^`false` while/),
  },
  {
    name: 'verification after login', patch: { selfservice: { flows: { login: { after: { password: { hooks: [{ hook: 'verification' }] } } } } } },
    key: 'selfservice.flows.login.after.password.hooks[0].hook', rule: ruleFor(HOOKS, '`verification`'),
  },
  {
    name: 'verify_new_address', patch: { selfservice: { flows: { settings: { after: { profile: { hooks: [{ hook: 'verify_new_address' }] } } } } } },
    key: 'selfservice.flows.settings.after.profile.hooks[0].hook', rule: ruleFor(HOOKS, '`verify_new_address`'),
  },
  {
    name: 'notify_previous_addresses', patch: { selfservice: { flows: { settings: { after: { hooks: [{ hook: 'notify_previous_addresses' }] } } } } },
    key: 'selfservice.flows.settings.after.hooks[0].hook', rule: ruleFor(HOOKS, '`notify_previous_addresses`'),
  },
  {
    name: 'b2b_sso before registration', patch: { selfservice: { flows: { registration: { before: { hooks: [{ hook: 'b2b_sso' }] } } } } },
    key: 'selfservice.flows.registration.before.hooks[0].hook', rule: ruleFor(HOOKS, /b2b_sso/),
  },
  {
    name: 'organization after verification', patch: { selfservice: { flows: { verification: { after: { hooks: [{ hook: 'organization' }] } } } } },
    key: 'selfservice.flows.verification.after.hooks[0].hook', rule: ruleFor(HOOKS, /b2b_sso/),
  },
  {
    name: 'show_verification_ui on login', patch: { selfservice: { flows: { login: { after: { hooks: [{ hook: 'show_verification_ui' }] } } } } },
    key: 'selfservice.flows.login.after.hooks[0].hook', rule: ruleFor('selfservice.flows.login.**.hooks.*.hook', '`show_verification_ui`'),
  },
  {
    name: 'web hook without analytics events',
    patch: { selfservice: { flows: { registration: { after: { password: { hooks: [{ hook: 'web_hook', config: { ...webHook.config, emit_analytics_event: false } }, { hook: 'session' }] } } } } } },
    key: 'selfservice.flows.registration.after.password.hooks[0].config.emit_analytics_event', rule: ruleFor('selfservice.flows.*.**.hooks.*.config.emit_analytics_event', '`false`'),
  },
  { name: 'selectable schema', patch: SECOND_SCHEMA, key: 'identity.schemas[1].selfservice_selectable', rule: ruleFor('identity.schemas.*.selfservice_selectable', /^`true`/) },
  { name: 'CORS debug', patch: { serve: { admin: { cors: { debug: true } } } }, key: 'serve.admin.cors.debug', rule: ruleFor('serve.*.cors.debug', '`true`') },
  { name: 'argon2 expected_duration', patch: { hashers: { argon2: { expected_duration: '1s' } } }, key: 'hashers.argon2.expected_duration', rule: ruleFor('hashers.argon2.expected_duration', 'not `500ms`') },
  { name: 'argon2 expected_deviation', patch: { hashers: { argon2: { expected_deviation: '100ms' } } }, key: 'hashers.argon2.expected_deviation', rule: ruleFor('hashers.argon2.expected_deviation', 'not `500ms`') },
  { name: 'argon2 dedicated_memory', patch: { hashers: { argon2: { dedicated_memory: '2GB' } } }, key: 'hashers.argon2.dedicated_memory', rule: ruleFor('hashers.argon2.dedicated_memory', 'not `1GB`') },
  {
    name: 'address-changed template', patch: { courier: { templates: { verifiable_address_changed: { valid: { email: { subject: 'base64://eA' } } } } } },
    key: 'courier.templates.verifiable_address_changed', rule: ruleFor('courier.templates.verifiable_address_changed', 'set'),
  },
  {
    name: 'SMS template', patch: { courier: { templates: { login_code: { valid: { sms: { body: { plaintext: 'base64://eA' } } } } } } },
    key: 'courier.templates.login_code.valid.sms', rule: ruleFor('courier.templates.*.*.sms', 'set'),
  },
  { name: 'leak sensitive values', patch: { log: { leak_sensitive_values: true } }, key: 'log.leak_sensitive_values', rule: ruleFor('log.leak_sensitive_values', '`true`') },
  { name: 'jaeger tracing', patch: { tracing: { provider: 'jaeger' } }, key: 'tracing.provider', rule: ruleFor('tracing.provider', /^other than/) },
  ...([
    'use_continue_with_transitions', 'choose_recovery_address', 'legacy_continue_with_verification_ui', 'cacheable_sessions',
    'legacy_oidc_registration_node_group', 'legacy_allow_insecure_origins', 'refresh_login_choose_address',
  ] as const).map((flag) => ({ name: `feature flag ${flag}`, patch: { feature_flags: { [flag]: true } }, key: `feature_flags.${flag}`, rule: ruleFor(`feature_flags.${flag}`, '`true`') })),
];

describe('unsupported config keys', () => {
  it('every rule has a case', () => {
    const covered = new Set(CASES.map((c) => c.rule));
    expect(UNSUPPORTED_RULES.filter((rule) => !covered.has(rule)).map((r) => `${r.path} ${r.condition}`)).toEqual([]);
  });

  for (const c of CASES) {
    it(`${c.rule.action === 'refuse' ? 'refuses' : 'warns about'} ${c.name}, naming ${c.key}`, () => {
      const file = yamlFile(c.patch);
      if (c.rule.action === 'refuse') {
        expect(refusal({ file, env: {} })).toEqual([refused(c.key, c.rule.why, file)]);
      } else {
        const { warnings } = loadConfig({ file, env: {} });
        expect(warnings.filter((w) => w.includes('not supported yet'))).toEqual([ignored(c.key, c.rule.why, `in ${file}`)]);
      }
    });
  }

  it('names where a refused value came from: env or command line', () => {
    expect(refusal({ file: yamlFile(), env: { FEATURE_FLAGS_CHOOSE_RECOVERY_ADDRESS: 'true' } })).toEqual([
      refused('feature_flags.choose_recovery_address', ruleFor('feature_flags.choose_recovery_address', '`true`').why, 'env FEATURE_FLAGS_CHOOSE_RECOVERY_ADDRESS'),
    ]);
    expect(refusal({ file: yamlFile(), env: {}, overrides: { 'feature_flags.use_continue_with_transitions': true } })).toEqual([
      refused('feature_flags.use_continue_with_transitions', ruleFor('feature_flags.use_continue_with_transitions', '`true`').why, 'command line'),
    ]);
    const { warnings } = loadConfig({ file: yamlFile(), env: { LOG_LEAK_SENSITIVE_VALUES: 'true' } });
    expect(warnings).toEqual([ignored('log.leak_sensitive_values', ruleFor('log.leak_sensitive_values', '`true`').why, 'from env LOG_LEAK_SENSITIVE_VALUES')]);
  });

  it('reports every refusal at once, with other problems, in one ConfigError', () => {
    const file = yamlFile({ serve: { public: { port: 'abc' } }, feature_flags: { choose_recovery_address: true }, selfservice: { methods: { code: { passwordless_enabled: true } } } });
    // A schema error stops before the rules run (the config isn't usable yet) ...
    expect(refusal({ file, env: {} })).toEqual([`serve.public.port must be integer, got "abc" (${file})`]);
    // ... otherwise all refusals and the remaining checks are reported together.
    const two = yamlFile({ identity: { default_schema_id: 'nope' }, feature_flags: { choose_recovery_address: true }, selfservice: { methods: { code: { config: { missing_credential_fallback_enabled: true } } } } });
    const problems = refusal({ file: two, env: {} });
    expect(problems).toHaveLength(3);
    expect(problems[0]).toMatch(/^selfservice\.methods\.code\.config\.missing_credential_fallback_enabled: not supported yet/);
    expect(problems[1]).toMatch(/^feature_flags\.choose_recovery_address: not supported yet/);
    expect(problems[2]).toMatch(/^identity\.default_schema_id "nope" is not the id/);
  });

  it('lets through what idflow implements or what is harmless as it stands', () => {
    const clean = (patch: Obj) => {
      const { warnings } = loadConfig({ file: yamlFile(patch), env: {} });
      expect(warnings.filter((w) => w.includes('not supported yet'))).toEqual([]);
    };
    // revoke_active_sessions wherever Kratos's schema allows it (login, settings, recovery), whatever the idflow switch.
    clean({ selfservice: { flows: { settings: { after: { password: { hooks: [{ hook: 'revoke_active_sessions' }] } } } } } });
    clean({
      session: { revoke_other_sessions_on_password_change: false },
      selfservice: {
        flows: {
          login: { after: { hooks: [webHook, { hook: 'revoke_active_sessions' }], totp: { hooks: [{ hook: 'revoke_active_sessions' }] } } },
          settings: { after: { hooks: [{ hook: 'revoke_active_sessions' }] } },
          recovery: { after: { hooks: [{ hook: 'revoke_active_sessions' }] } },
        },
      },
    });
    // Implemented hooks.
    clean({
      selfservice: {
        flows: {
          login: { before: { hooks: [webHook] }, after: { hooks: [{ hook: 'require_verified_address' }, webHook], default_browser_return_url: 'https://app.example.com/', password: { default_browser_return_url: 'https://app.example.com/p' } } },
          registration: { style: 'unified', after: { password: { hooks: [{ hook: 'session' }, { hook: 'show_verification_ui' }, webHook] } } },
          settings: { after: { hooks: [{ hook: 'show_verification_ui' }, webHook] } },
          verification: { enabled: true, after: { default_browser_return_url: 'https://app.example.com/verified', hooks: [webHook] } },
          recovery: { enabled: true, after: { hooks: [webHook] } },
          logout: { after: { default_browser_return_url: 'https://app.example.com/bye' } },
        },
      },
      courier: { smtp: { connection_uri: 'smtp://127.0.0.1:25' } },
    });
    // A selectable default schema changes nothing.
    clean({ identity: { schemas: [{ id: 'default', url: 'file:///etc/idflow/identity.schema.json', selfservice_selectable: true }] } });
    // Code / link switched off while no flow uses them; link on for a link flow.
    clean({ selfservice: { methods: { code: { enabled: false } } } });
    clean({ selfservice: { flows: { recovery: { enabled: true, use: 'link' } }, methods: { link: { enabled: true } } }, courier: { smtp: { connection_uri: 'smtp://127.0.0.1:25' } } });
    // Disabled methods may carry their settings; CORS settings without CORS; OpenTelemetry tracing; AAL and enumeration switches.
    clean({
      selfservice: { methods: { totp: { enabled: false, config: { issuer: 'Example' } }, oidc: { config: { providers: [] } } }, flows: { settings: { required_aal: 'aal1' } } },
      serve: { public: { cors: { enabled: false, allowed_origins: ['https://app.example.com'] } } },
      session: { whoami: { required_aal: 'aal1' } },
      security: { account_enumeration: { mitigate: false } },
      tracing: { provider: 'otel', service_name: 'idflow' },
      feature_flags: { legacy_require_verified_login_error: true, use_continue_with_transitions: false },
      hashers: { argon2: { expected_duration: '500ms', dedicated_memory: '1GB' } },
    });
  });

  it('never fires on defaults: the built-in config and a minimal file load without findings', () => {
    const builtIn = loadConfig({ env: {}, dev: true });
    expect(findUnsupported(builtIn.config)).toEqual([]);
    expect(builtIn.warnings.filter((w) => w.includes('not supported yet'))).toEqual([]);
    expect(loadConfig({ env: { SECRETS_COOKIE: 'cookie-secret-at-least-16-chars', SECRETS_CIPHER: '0123456789abcdef0123456789abcdef' } }).warnings).toEqual([]);
    expect(findUnsupported(loadConfig({ file: yamlFile(), env: {} }).config)).toEqual([]);
  });
});

describe('rule paths', () => {
  const rule = (path: string): UnsupportedRule => ({ path, condition: 'set', when: () => true, action: 'warn', why: 'test' });
  const keys = (path: string, config: Obj) => findUnsupported(config as unknown as Config, [rule(path)]).map((f) => f.key);

  it('`*` is one key or list index, `**` any number (also none); absent keys match nothing', () => {
    const config = { a: { hooks: [{ hook: 'x' }], m: { hooks: [{ hook: 'y' }, { hook: 'z' }] }, n: {} }, list: [{ v: 1 }, { w: 2 }] };
    expect(keys('a.**.hooks.*.hook', config)).toEqual(['a.hooks[0].hook', 'a.m.hooks[0].hook', 'a.m.hooks[1].hook']);
    expect(keys('a.*.hooks.*.hook', config)).toEqual(['a.m.hooks[0].hook', 'a.m.hooks[1].hook']);
    expect(keys('list.*.v', config)).toEqual(['list[0].v']);
    expect(keys('a.n.missing', config)).toEqual([]);
    expect(keys('list.0.w', config)).toEqual([]);
    expect(dottedKey(config, ['list', '1', 'w'])).toBe('list[1].w');
  });

  it('passes the concrete path to `when`', () => {
    const seen: string[][] = [];
    const probe: UnsupportedRule = { path: 'a.*.hooks.*.hook', condition: 'set', when: (_v, _c, at) => { seen.push([...at]); return false; }, action: 'refuse', why: 'test' };
    findUnsupported({ a: { m: { hooks: [{ hook: 'y' }] } } } as unknown as Config, [probe]);
    expect(seen).toEqual([['a', 'm', 'hooks', '0', 'hook']]);
  });
});

describe('selfservice.flows.registration.enable_legacy_one_step (deprecated)', () => {
  const load = (registration: Obj, env: Record<string, string> = {}) => {
    const file = yamlFile({ selfservice: { flows: { registration } } });
    return { file, ...loadConfig({ file, env }) };
  };
  const deprecation = (warnings: string[]) => warnings.filter((w) => w.includes('enable_legacy_one_step'));

  it('true means style unified, with a warning naming the key; the key is removed', () => {
    const { file, config, warnings } = load({ enable_legacy_one_step: true });
    expect(config.selfservice.flows.registration.style).toBe('unified');
    expect(config.selfservice.flows.registration).not.toHaveProperty('enable_legacy_one_step');
    expect(deprecation(warnings)).toEqual([
      `config key 'selfservice.flows.registration.enable_legacy_one_step' in ${file} is deprecated: use selfservice.flows.registration.style; using style unified`,
    ]);
  });

  it('true wins over an explicit style: profile_first, as in Kratos', () => {
    const { config, warnings } = load({ enable_legacy_one_step: true, style: 'profile_first' });
    expect(config.selfservice.flows.registration.style).toBe('unified');
    expect(deprecation(warnings)[0]).toMatch(/using style unified \(it wins over style profile_first, as in Kratos\)$/);
  });

  it('false leaves style alone (default profile_first), still with a warning', () => {
    const off = load({ enable_legacy_one_step: false });
    expect(off.config.selfservice.flows.registration.style).toBe('profile_first');
    expect(deprecation(off.warnings)).toEqual([
      `config key 'selfservice.flows.registration.enable_legacy_one_step' in ${off.file} is deprecated: use selfservice.flows.registration.style; using style profile_first`,
    ]);
    expect(load({ enable_legacy_one_step: false, style: 'unified' }).config.selfservice.flows.registration.style).toBe('unified');
  });

  it('is read from the environment too, and must be a boolean', () => {
    const { config, warnings } = load({}, { SELFSERVICE_FLOWS_REGISTRATION_ENABLE_LEGACY_ONE_STEP: 'true' });
    expect(config.selfservice.flows.registration.style).toBe('unified');
    expect(deprecation(warnings)[0]).toContain('from env SELFSERVICE_FLOWS_REGISTRATION_ENABLE_LEGACY_ONE_STEP');
    const file = yamlFile({ selfservice: { flows: { registration: { enable_legacy_one_step: 'yes' } } } });
    expect(refusal({ file, env: {} })).toEqual([`selfservice.flows.registration.enable_legacy_one_step must be boolean, got "yes" (${file})`]);
  });

  it('without it, style keeps its default', () => {
    const { config, warnings } = load({});
    expect(config.selfservice.flows.registration.style).toBe('profile_first');
    expect(deprecation(warnings)).toEqual([]);
  });
});

describe('README', () => {
  it('lists exactly the rules (table between <!-- unsupported-config:begin/end -->; print it with npx tsx test/unit/config/unsupported-table.ts)', () => {
    expect(readBlock(readFileSync(README, 'utf8'), 'unsupported-config')).toBe(renderUnsupportedTable(UNSUPPORTED_RULES));
  });
});
