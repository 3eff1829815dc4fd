/**
 * The configuration idflow runs with, after loading, env overrides, validation and defaults.
 * Keys follow Kratos's kratos.yml layout (the supported subset). Durations stay Go-style strings
 * ("1h", "15m30s") and byte sizes stay "19MB" strings; parse them with src/x/duration.ts and src/x/bytesize.ts.
 */
export type SameSite = 'Strict' | 'Lax' | 'None';

export interface CorsConfig {
  enabled: boolean;
  allowed_origins: string[];
  allowed_methods: string[];
  allowed_headers: string[];
  exposed_headers: string[];
  allow_credentials: boolean;
  max_age: number;
  debug?: boolean;
}

export interface ServeEndpointConfig {
  host: string;
  port: number;
  base_url?: string;
  cors?: CorsConfig;
  /** Request body limit (idflow extension, bytes string like "1MB"). */
  request_body_limit?: string;
  /** idflow: JSON nesting depth and member count (form fields) a body may have. */
  request_body_max_depth?: number;
  request_body_max_keys?: number;
  /** idflow: Node's server timeouts, as durations ("30s"). */
  request_timeout?: string;
  headers_timeout?: string;
  keep_alive_timeout?: string;
  /** idflow: open connections per client IP address; 0 = no cap. */
  max_connections_per_ip?: number;
  /** idflow: reverse proxies whose X-Forwarded-For is believed (addresses, CIDRs, Express's names). */
  trusted_proxies?: string[];
}

export interface IdentitySchemaRef {
  id: string;
  url: string;
  selfservice_selectable?: boolean;
}

export interface HookConfig {
  hook: string;
  config?: Record<string, unknown>;
}

export interface HooksBlock {
  hooks?: HookConfig[];
}

export interface AfterBlock extends HooksBlock {
  default_browser_return_url?: string;
  [method: string]: unknown;
}

export interface FlowConfig {
  ui_url?: string;
  lifespan: string;
  enabled?: boolean;
  before?: HooksBlock;
  after?: AfterBlock;
}

export interface MethodToggle<C = Record<string, unknown>> {
  enabled: boolean;
  config?: C;
}

export interface PasswordMethodConfig {
  haveibeenpwned_host: string;
  haveibeenpwned_enabled: boolean;
  max_breaches: number;
  ignore_network_errors: boolean;
  min_password_length: number;
  identifier_similarity_check_enabled: boolean;
}

export interface CodeMethodConfig {
  lifespan: string;
  max_submissions: number;
  missing_credential_fallback_enabled?: boolean;
}

export interface LinkMethodConfig {
  lifespan: string;
  base_url?: string;
}

export interface SelfserviceConfig {
  default_browser_return_url: string;
  allowed_return_urls: string[];
  flows: {
    error: { ui_url?: string };
    login: FlowConfig & { style: 'unified' | 'identifier_first' };
    /**
     * `style`: `profile_first` (default: traits first, then credentials) or `unified` (one screen). Kratos's deprecated
     * `enable_legacy_one_step` is mapped onto it while loading (`true` = `unified`) and then removed.
     */
    registration: FlowConfig & { enabled: boolean; style: 'profile_first' | 'unified'; login_hints: boolean };
    settings: FlowConfig & { privileged_session_max_age: string; required_aal: 'aal1' | 'highest_available' };
    recovery: FlowConfig & { enabled: boolean; use: 'code' | 'link'; notify_unknown_recipients: boolean };
    verification: FlowConfig & { enabled: boolean; use: 'code' | 'link'; notify_unknown_recipients: boolean };
    logout: { after?: { default_browser_return_url?: string } };
  };
  methods: {
    password: MethodToggle<PasswordMethodConfig>;
    profile: MethodToggle;
    code: MethodToggle<CodeMethodConfig> & { passwordless_enabled?: boolean; mfa_enabled?: boolean };
    link: MethodToggle<LinkMethodConfig>;
    totp: MethodToggle<{ issuer?: string }>;
    lookup_secret: MethodToggle;
    webauthn: MethodToggle<Record<string, unknown>>;
    passkey: MethodToggle<Record<string, unknown>>;
    oidc: MethodToggle<Record<string, unknown>>;
  };
}

export interface CookieConfig {
  name?: string;
  domain?: string;
  path: string;
  same_site: SameSite;
  persistent?: boolean;
  secure?: boolean;
}

/** One `session.whoami.tokenizer.templates.<name>` (Kratos SessionTokenizeFormat). */
export interface TokenizerTemplateConfig {
  ttl?: string;
  claims_mapper_url?: string;
  jwks_url: string;
  subject_source?: 'id' | 'external_id';
}

export interface SessionConfig {
  lifespan: string;
  earliest_possible_extend?: string;
  /** idflow: a session unused this long is refused (unset: none). */
  inactivity_timeout?: string;
  cookie: CookieConfig & { name: string; persistent: boolean };
  whoami: {
    required_aal: 'aal1' | 'highest_available';
    /** Kratos's session-to-JWT templates (`GET /sessions/whoami?tokenize_as=<name>`). */
    tokenizer?: { templates?: Record<string, TokenizerTemplateConfig> };
  };
  /** idflow: end the identity's other sessions when its password changes (Kratos: opt-in hook). */
  revoke_other_sessions_on_password_change?: boolean;
}

export interface HashersConfig {
  algorithm: 'argon2' | 'bcrypt';
  argon2: {
    memory: string;
    iterations: number;
    parallelism: number;
    salt_length: number;
    key_length: number;
    expected_duration: string;
    expected_deviation: string;
    dedicated_memory: string;
  };
  bcrypt: { cost: number };
}

export interface CourierConfig {
  delivery_strategy: 'smtp' | 'http';
  smtp: {
    /** Unset when no SMTP server is configured (Kratos has no default either); sending then fails. */
    connection_uri?: string;
    from_address: string;
    from_name?: string;
    headers?: Record<string, string>;
    local_name?: string;
  };
  http?: {
    request_config?: {
      url?: string;
      method?: string;
      headers?: Record<string, string>;
      body?: string;
      auth?: { type: 'api_key' | 'basic_auth'; config: Record<string, string> };
    };
  };
  /** Kratos's other channels: `sms` over HTTP (the only one Kratos has). */
  channels?: Array<{ id: 'sms'; type?: 'http'; request_config: NonNullable<NonNullable<CourierConfig['http']>['request_config']> }>;
  templates?: Record<string, unknown>;
  template_override_path?: string;
  message_retries: number;
  worker: {
    pull_count: number;
    pull_wait: string;
    /** idflow: how long a claimed message stays reserved for its sender (renewed while it runs). */
    lease: string;
    /** idflow: backoff of failed deliveries and the minimum age before a failing message may be abandoned. */
    retry: { initial_backoff: string; max_backoff: string; min_age: string };
  };
}

/** idflow: a fixed-window limit (`window` a duration string). */
export interface RateWindow {
  limit: number;
  window: string;
}

/** idflow: rate limits and the per-identifier lockout (config.schema.json `rate_limit`). */
export interface RateLimitConfig {
  enabled: boolean;
  redis_url?: string;
  redis_key_prefix: string;
  lockout: { failure_factor: number; wait_increment: string; max_wait: string; failure_reset: string };
  login: { per_ip: RateWindow };
  registration: { per_ip: RateWindow; per_identifier: RateWindow };
  send: { per_address: RateWindow; per_ip: RateWindow };
  code: { per_ip: RateWindow; per_address: RateWindow };
  admin: { per_ip: RateWindow };
}

export interface Config {
  dsn: string;
  dev: boolean;
  serve: { public: ServeEndpointConfig; admin: ServeEndpointConfig; ui: { enabled: boolean; host: string; port: number } };
  identity: { default_schema_id: string; schemas: IdentitySchemaRef[] };
  selfservice: SelfserviceConfig;
  session: SessionConfig;
  /** `host_prefix` (idflow): `__Host-` names for Secure, domain-less, Path=/ cookies. */
  cookies: { domain?: string; path: string; same_site: SameSite; secure?: boolean; host_prefix?: boolean };
  /**
   * First entry signs/encrypts, the others only verify/decrypt. After loading all four are set: `cookie` and `default`
   * fall back to each other and `pagination` to `default`, as in Kratos (with --dev, missing ones are generated).
   */
  secrets: { default: string[]; cookie: string[]; cipher: string[]; pagination: string[] };
  hashers: HashersConfig;
  courier: CourierConfig;
  log: { level: 'trace' | 'debug' | 'info' | 'warning' | 'warn' | 'error' | 'fatal' | 'panic'; format: 'json' | 'text'; leak_sensitive_values?: boolean };
  security: { account_enumeration: { mitigate: boolean } };
  rate_limit: RateLimitConfig;
  clients: {
    http: { disallow_private_ip_ranges: boolean; private_ip_exception_urls: string[] };
    web_hook: { header_allowlist: string[]; retry?: { attempts: number; initial_backoff: string; max_backoff: string } };
  };
  /** Kratos's `database.cleanup.*`; `interval` and `keep_last` are idflow's (the in-process job). */
  database?: { cleanup?: { batch_size?: number; sleep?: { tables?: string }; interval?: string; keep_last?: string } };
  tracing?: { provider?: string; service_name?: string };
  feature_flags: Record<string, boolean>;
}
