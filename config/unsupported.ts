import type { Config } from './types.ts';
import { SUPPORTED_PROVIDERS } from '../src/methods/oidc/providers.ts';

/**
 * Config switches that are valid in Kratos's kratos.yml (so they pass config.schema.json) but that idflow does not
 * implement. None of them may be ignored silently (keys outside the schema are dropped with a warning by loadConfig):
 *
 * - `refuse`: ignoring the key could make an operator believe a security feature or a behaviour is on when it is
 *   not (a second factor, CORS, ending sessions, where users are sent). `idflow serve` refuses to start, naming the key.
 * - `warn`: ignoring it is harmless (Kratos's own tooling or tracing, Ory Network-only features, options of methods
 *   idflow refuses anyway, or the safer behaviour is what idflow does). The key is named in a start-up warning.
 *
 * Rules see the config after schema defaults are filled in, so a rule must never fire on a default value (the
 * built-in config and a minimal file load without any finding; tested).
 *
 * Deliberately accepted, although idflow has nothing more to do for them:
 * - `session.whoami.required_aal` and `selfservice.flows.settings.required_aal` are implemented (aal1 and
 *   `highest_available`, computed from the identity's second-factor credential types: TOTP and lookup secrets).
 * - `security.account_enumeration.mitigate` (idflow: on by default): login by code answers an unknown identifier as a
 *   known one (Kratos: 4000035 only when off — Kratos itself never mitigates there), and a sign-up with a taken
 *   identifier is answered as a new one while its owner is mailed (Kratos: always 4000007). Elsewhere `true` and
 *   `false` behave alike: unknown accounts get the same answers and the same work as known ones.
 * - `selfservice.methods.profile.enabled`: Kratos, too, only turns off the settings profile form with it;
 *   registration always has its profile step.
 * - `feature_flags.legacy_require_verified_login_error`, `feature_flags.faster_session_extend` and `selfservice.flows.registration.style` are implemented;
 *   `selfservice.flows.registration.enable_legacy_one_step` is mapped to `style` by loadConfig.
 * - Web hooks: `response.parse` / `can_interrupt` are implemented on the after-hooks of login, registration and
 *   settings and refused elsewhere (before-hooks, recovery, verification) where web hooks are built
 *   (src/hooks/web-hooks.ts), as are template sources other than file:// and base64:// (and by the HTTP courier for
 *   `courier.http.request_config.body`); both at start-up as well.
 */

export type UnsupportedAction = 'refuse' | 'warn';

export interface UnsupportedRule {
  /**
   * Dotted key path. `*` stands for any one key of an object or index of a list, `**` for any number (zero or more)
   * of them: `selfservice.flows.*.**.hooks.*.hook` is every hook of every flow, flow-level or per method.
   */
  path: string;
  /** When the rule applies, for people (README): "`true`", "set", ... */
  condition: string;
  /** When the rule applies: the value found at a concrete path, the whole config and that path's segments. */
  when: (value: unknown, config: Config, at: readonly string[]) => boolean;
  action: UnsupportedAction;
  /** One line: what idflow does instead / what is missing. */
  why: string;
}

export interface UnsupportedFinding {
  rule: UnsupportedRule;
  /** Concrete key, dotted, list indices in brackets: `selfservice.flows.login.after.hooks[0].hook`. */
  key: string;
  segments: string[];
  value: unknown;
}

const isTrue = (value: unknown): boolean => value === true;
const isSet = (value: unknown): boolean => value !== undefined && value !== null && value !== '';
const isHook = (...names: string[]) => (value: unknown): boolean => typeof value === 'string' && names.includes(value);
/** An enabled recovery or verification flow sends its secrets by `use`. */
const usedBy = (config: Config, use: 'code' | 'link'): boolean =>
  (['recovery', 'verification'] as const).some((flow) => config.selfservice.flows[flow].enabled === true && (config.selfservice.flows[flow].use ?? 'code') === use);

/** Every hook of every flow: `before.hooks`, `after.hooks` and the per-method `after.<method>.hooks`. */
const ANY_HOOK = 'selfservice.flows.*.**.hooks.*.hook';

export const UNSUPPORTED_RULES: readonly UnsupportedRule[] = [
  // Methods.
  {
    path: 'selfservice.methods.oidc.config.providers.*.provider', condition: `other than ${SUPPORTED_PROVIDERS.map((p) => `\`${p}\``).join(', ')}`,
    when: (value) => typeof value === 'string' && !(SUPPORTED_PROVIDERS as readonly string[]).includes(value), action: 'refuse',
    why: 'only these provider presets are implemented',
  },
  {
    path: 'selfservice.methods.oidc.config.providers.*.update_identity_on_login', condition: '`automatic`', when: (value) => value === 'automatic', action: 'refuse',
    why: 'the claims mapper runs at sign-up only; logins never change the identity',
  },
  {
    path: 'selfservice.methods.oidc.config.providers.*.aal2_acr_values', condition: 'set', when: (value) => Array.isArray(value) && value.length > 0, action: 'refuse',
    why: 'sessions from an OpenID Connect login are always aal1',
  },
  {
    path: 'selfservice.methods.oidc.config.providers.*.aal2_amr_values', condition: 'set', when: (value) => Array.isArray(value) && value.length > 0, action: 'refuse',
    why: 'sessions from an OpenID Connect login are always aal1',
  },
  {
    path: 'selfservice.methods.oidc.config.providers.*.account_linking_mode', condition: '`automatic`', when: (value) => value === 'automatic', action: 'warn',
    why: 'an Ory Network feature: accounts are linked only after the user signs in to the existing one (the safer behaviour)',
  },
  { path: 'selfservice.methods.oidc.config.providers.*.organization_id', condition: 'set', when: isSet, action: 'warn', why: 'organizations are an Ory Network feature; the provider is offered to everyone' },
  { path: 'selfservice.methods.oidc.config.providers.*.fedcm_config_url', condition: 'set', when: isSet, action: 'warn', why: 'FedCM is an Ory Network feature' },
  { path: 'selfservice.methods.oidc.config.providers.*.net_id_token_origin_header', condition: 'set', when: isSet, action: 'warn', why: 'FedCM is an Ory Network feature' },
  {
    path: 'selfservice.methods.oidc.config.providers.*.auth_url', condition: 'set', when: isSet, action: 'warn',
    why: 'endpoints come from the issuer\'s discovery document (OpenID Connect) or the preset (OAuth 2.0 providers)',
  },
  {
    path: 'selfservice.methods.oidc.config.providers.*.token_url', condition: 'set', when: isSet, action: 'warn',
    why: 'endpoints come from the issuer\'s discovery document (OpenID Connect) or the preset (OAuth 2.0 providers)',
  },
  {
    path: 'selfservice.methods.code.passwordless_login_fallback_enabled', condition: 'set', when: (value) => value !== undefined, action: 'warn',
    why: 'Kratos removed it (its successor `config.missing_credential_fallback_enabled` is not implemented); it changes nothing',
  },
  {
    path: 'selfservice.methods.code.config.missing_credential_fallback_enabled', condition: '`true`', when: isTrue, action: 'refuse',
    why: 'codes are sent only to addresses an identity\'s `code` credential holds (the schema\'s `code.identifier` traits)',
  },
  {
    path: 'selfservice.methods.code.enabled', condition: '`false` while an enabled recovery or verification flow uses `code`',
    when: (value, config) => value === false && usedBy(config, 'code'), action: 'warn',
    why: 'those flows send codes anyway (Kratos would refuse to run them)',
  },
  {
    path: 'selfservice.methods.link.enabled', condition: '`false` while an enabled recovery or verification flow uses `link`',
    when: (value, config) => value === false && usedBy(config, 'link'), action: 'warn',
    why: 'those flows send links anyway (Kratos would refuse to run them)',
  },

  // Flows.

  // Hooks (web_hook, session, revoke_active_sessions, show_verification_ui on registration and require_verified_address on
  // login are implemented).
  { path: ANY_HOOK, condition: '`verification`', when: isHook('verification'), action: 'refuse', why: 'starting a verification for unverified addresses after login is not implemented' },
  { path: ANY_HOOK, condition: '`verify_new_address`', when: isHook('verify_new_address'), action: 'refuse', why: 'a changed address replaces the old one at once; verifying it first is not implemented' },
  { path: ANY_HOOK, condition: '`notify_previous_addresses`', when: isHook('notify_previous_addresses'), action: 'refuse', why: 'telling the previous addresses about a change is not implemented' },
  { path: ANY_HOOK, condition: '`b2b_sso` or `organization`', when: isHook('b2b_sso', 'organization'), action: 'refuse', why: 'organizations and B2B single sign-on are not implemented' },
  {
    path: 'selfservice.flows.login.**.hooks.*.hook', condition: '`show_verification_ui`', when: isHook('show_verification_ui'), action: 'warn',
    why: 'on login it only shows a verification started by the login `verification` hook, which idflow refuses (so it does nothing, as in Kratos)',
  },
  {
    path: 'selfservice.flows.*.**.hooks.*.config.emit_analytics_event', condition: '`false`', when: (value) => value === false, action: 'warn',
    why: 'idflow emits no analytics events; web hook metrics and spans are always recorded',
  },

  // Identity schemas.
  {
    path: 'identity.schemas.*.selfservice_selectable', condition: '`true` on a schema other than `identity.default_schema_id`',
    when: (value, config, at) => value === true && config.identity.schemas[Number(at[2])]?.id !== config.identity.default_schema_id,
    action: 'refuse', why: 'self-service flows always use the default schema; choosing one with `identity_schema` is not implemented',
  },

  // HTTP.
  { path: 'serve.*.cors.debug', condition: '`true`', when: isTrue, action: 'warn', why: 'idflow logs nothing more about CORS decisions' },

  // Hashing: Kratos reads these only in its `hashers argon2 calibrate` / `load-test` commands, which idflow does not have.
  { path: 'hashers.argon2.expected_duration', condition: 'not `500ms`', when: (value) => value !== '500ms', action: 'warn', why: 'only used by Kratos\'s `hashers argon2` calibration commands' },
  { path: 'hashers.argon2.expected_deviation', condition: 'not `500ms`', when: (value) => value !== '500ms', action: 'warn', why: 'only used by Kratos\'s `hashers argon2` calibration commands' },
  { path: 'hashers.argon2.dedicated_memory', condition: 'not `1GB`', when: (value) => value !== '1GB', action: 'warn', why: 'only used by Kratos\'s `hashers argon2` calibration commands' },

  // Courier.
  {
    path: 'courier.templates.verifiable_address_changed', condition: 'set', when: isSet, action: 'warn',
    why: 'idflow never sends this message (the `notify_previous_addresses` hook is refused)',
  },
  { path: 'courier.templates.*.*.sms', condition: 'set', when: isSet, action: 'warn', why: 'idflow sends e-mail only' },

  // Logs and traces.
  { path: 'log.leak_sensitive_values', condition: '`true`', when: isTrue, action: 'warn', why: 'idflow never writes sensitive values to its logs' },
  {
    path: 'tracing.provider', condition: 'other than `otel` / `opentelemetry`',
    when: (value) => typeof value === 'string' && value.trim() !== '' && !['otel', 'opentelemetry'].includes(value.trim().toLowerCase()),
    action: 'warn', why: 'idflow exports traces with OpenTelemetry (OTLP) only; this provider gets none',
  },

  // Feature flags (`legacy_require_verified_login_error` is implemented).
  {
    path: 'feature_flags.use_continue_with_transitions', condition: '`true`', when: isTrue, action: 'refuse',
    why: 'recovery answers with the legacy transitions (redirects, 422 browser_location_change_required), not with `continue_with` items',
  },
  { path: 'feature_flags.choose_recovery_address', condition: '`true`', when: isTrue, action: 'refuse', why: 'the recovery screens for choosing an address are not implemented' },
  {
    path: 'feature_flags.legacy_continue_with_verification_ui', condition: '`true`', when: isTrue, action: 'refuse',
    why: 'registration adds `show_verification_ui` only when the `show_verification_ui` hook is configured',
  },
  { path: 'feature_flags.cacheable_sessions', condition: '`true`', when: isTrue, action: 'warn', why: 'session caching is an Ory Network feature; whoami answers are not cached' },
  {
    path: 'feature_flags.legacy_oidc_registration_node_group', condition: '`true`', when: isTrue, action: 'warn',
    why: 'an OpenID Connect sign-up that lacks traits shows them in the `default` group',
  },
  {
    path: 'feature_flags.legacy_allow_insecure_origins', condition: '`true`', when: isTrue, action: 'warn',
    why: 'unbounded wildcard return URLs stay refused (the secure behaviour)',
  },
  {
    path: 'feature_flags.refresh_login_choose_address', condition: '`true`', when: isTrue, action: 'warn',
    why: 'a refresh login by code asks for the identifier (the address buttons are not implemented); the identifier must be one of the session identity\'s',
  },
];

type Obj = Record<string, unknown>;
const isObj = (value: unknown): value is Obj => typeof value === 'object' && value !== null && !Array.isArray(value);

function children(node: unknown): Array<[string, unknown]> {
  if (Array.isArray(node)) return node.map((item, i) => [String(i), item]);
  if (isObj(node)) return Object.entries(node);
  return [];
}

/** Every concrete path (with its value) the pattern matches in `node`; absent keys match nothing. */
function match(node: unknown, pattern: readonly string[], at: string[], out: Map<string, { segments: string[]; value: unknown }>): void {
  if (node === undefined) return;
  if (pattern.length === 0) {
    out.set(at.join('\u0000'), { segments: at, value: node });
    return;
  }
  const [head, ...rest] = pattern;
  if (head === '**') {
    match(node, rest, at, out);
    for (const [key, child] of children(node)) match(child, pattern, [...at, key], out);
  } else if (head === '*') {
    for (const [key, child] of children(node)) match(child, rest, [...at, key], out);
  } else if (Array.isArray(node) ? /^[0-9]+$/.test(head) : isObj(node) && Object.hasOwn(node, head)) {
    match((node as Obj)[head], rest, [...at, head], out);
  }
}

/** `identity.schemas[1].selfservice_selectable`: list indices in brackets. */
export function dottedKey(root: unknown, segments: readonly string[]): string {
  let out = '';
  let current = root;
  for (const segment of segments) {
    if (Array.isArray(current)) {
      out += `[${segment}]`;
      current = current[Number(segment)];
    } else {
      out += out === '' ? segment : '.' + segment;
      current = isObj(current) ? current[segment] : undefined;
    }
  }
  return out;
}

/** The rules that apply to `config` (defaults filled in), in rule order, one finding per concrete key. */
export function findUnsupported(config: Config, rules: readonly UnsupportedRule[] = UNSUPPORTED_RULES): UnsupportedFinding[] {
  const findings: UnsupportedFinding[] = [];
  for (const rule of rules) {
    const found = new Map<string, { segments: string[]; value: unknown }>();
    match(config, rule.path.split('.'), [], found);
    for (const { segments, value } of found.values()) {
      if (rule.when(value, config, segments)) findings.push({ rule, key: dottedKey(config, segments), segments, value });
    }
  }
  return findings;
}

/** Where a key's value came from: `label` for problems (`kratos.yml`, `env LOG_LEVEL`), `phrase` for warnings. */
export interface KeySource {
  label: string;
  phrase: string;
}

/**
 * Applies the rules: each refusal becomes a problem for ConfigError, each warning a warning, both naming the key
 * and where it was set (`selfservice.methods.totp.enabled: not supported yet - ... (kratos.yml)`).
 */
export function checkUnsupported(config: Config, sourceOf: (segments: string[]) => KeySource): { problems: string[]; warnings: string[] } {
  const problems: string[] = [];
  const warnings: string[] = [];
  for (const finding of findUnsupported(config)) {
    const source = sourceOf(finding.segments);
    if (finding.rule.action === 'refuse') problems.push(`${finding.key}: not supported yet - ${finding.rule.why} (${source.label})`);
    else warnings.push(`config key '${finding.key}' ${source.phrase} is not supported yet and is ignored: ${finding.rule.why}`);
  }
  return { problems, warnings };
}
