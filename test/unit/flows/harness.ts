/**
 * The flow service on the in-memory store with the test clock: no HTTP server, no database. A `Client` plays one
 * caller (a browser with its CSRF and session cookies, or a native app with its session token) and builds the plain
 * `RequestFacts` an HTTP adapter would.
 */
import { expect } from 'vitest';
import { loadConfig } from '../../../config/load-config.ts';
import { createLogger } from '../../../observability/logger.ts';
import { KratosError } from '../../../src/errors/kratos-error.ts';
import type { CreateOptions, SubmitInput } from '../../../src/flows/flow-service.ts';
import type { FlowAnswer, RequestFacts } from '../../../src/flows/flow-request.ts';
import type { IdentityRecord } from '../../../src/identity/identity.ts';
import { createMemoryStore } from '../../../src/persistence/memory/memory-store.ts';
import type { CourierMessageRecord, FlowKind, FlowType, Store } from '../../../src/persistence/store.ts';
import { createRegistry, type Registry } from '../../../src/registry.ts';
import { maskCsrfToken } from '../../../src/x/csrf-token.ts';
import { TestClock } from '../../support/clock.ts';

// Flow JSON is checked field by field.
export type Json = any;
export type Overlay = Record<string, unknown>;

export const PUBLIC = 'http://idflow.test/';
export const UI = 'http://127.0.0.1:4455';

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
function merge(base: Overlay, overlay: Overlay): Overlay {
  const out: Overlay = { ...base };
  for (const [key, value] of Object.entries(overlay)) out[key] = isObject(value) && isObject(out[key]) ? merge(out[key] as Overlay, value) : value;
  return out;
}

export interface Harness {
  registry: Registry;
  clock: TestClock;
  store: Store;
  /** A caller: `api` (session token in a header) or `browser` (cookies). */
  client(type: FlowType): Client;
  /** An identity with a password credential (created through the identity service, as the admin API does). */
  identity(email?: string, password?: string): Promise<{ identity: IdentityRecord; email: string; password: string }>;
  /** Mails queued for `to`, oldest first. */
  mails(to: string): Promise<CourierMessageRecord[]>;
  /** The 6-digit code in the newest mail to `to`. */
  lastCode(to: string): Promise<string>;
  close(): Promise<void>;
}

export interface HarnessOptions {
  /** Wraps the memory store (e.g. to make a repository throw inside transactions). */
  wrapStore?: (store: Store) => Store;
}

const BASE: Overlay = {
  dsn: 'memory',
  serve: { public: { base_url: PUBLIC } },
  secrets: {
    cookie: ['test-cookie-secret-0123456789abcdef'],
    cipher: ['0123456789abcdef0123456789abcdef'],
    default: ['test-default-secret-0123456789abcdef'],
  },
  log: { level: 'error', format: 'json' },
  hashers: { algorithm: 'bcrypt', bcrypt: { cost: 4 } },
  selfservice: { methods: { password: { config: { haveibeenpwned_enabled: false } } } },
};

export async function createHarness(overlay: Overlay = {}, options: HarnessOptions = {}): Promise<Harness> {
  const { config } = loadConfig({ env: {}, dev: true, overrides: merge(BASE, overlay) });
  const logger = createLogger({ level: 'error', format: 'json', write: () => {} });
  const clock = new TestClock();
  const memory = createMemoryStore();
  const store = options.wrapStore ? options.wrapStore(memory) : memory;
  const registry = await createRegistry(config, { logger, migrations: 'auto', clock, store });
  const harness: Harness = {
    registry,
    clock,
    store: memory,
    client: (type) => new Client(harness, type),
    async identity(email = `user-${crypto.randomUUID()}@example.com`, password = 'a rather long passphrase 42') {
      const identity = await registry.identities.create({ schema_id: 'default', traits: { email }, credentials: { password: { config: { password } } } });
      return { identity, email, password };
    },
    async mails(to) {
      const list = await memory.courier.list({ limit: 100, recipient: to });
      return [...list].reverse();
    },
    async lastCode(to) {
      const list = await harness.mails(to);
      expect(list.length, `mails to ${to}`).toBeGreaterThan(0);
      const code = /\b(\d{6})\b/.exec(list[list.length - 1].body)?.[1];
      expect(code, 'a 6-digit code in the mail').toBeDefined();
      return code!;
    },
    close: () => registry.close(),
  };
  return harness;
}

/** The value of the flow's `csrf_token` node. */
export function csrfNodeValue(flow: Json): unknown {
  return flow.ui.nodes.find((n: Json) => n.attributes.name === 'csrf_token')?.attributes.value;
}

export const node = (flow: Json, name: string, type?: string): Json =>
  flow.ui.nodes.find((n: Json) => n.attributes.name === name && (type === undefined || n.attributes.type === type));
export const uiMessageIds = (flow: Json): number[] => (flow.ui.messages ?? []).map((m: Json) => m.id);
export const nodeMessageIds = (flow: Json, name: string): number[] => (node(flow, name)?.messages ?? []).map((m: Json) => m.id);

/** Awaits a call that must throw a KratosError; returns it. */
export async function kratosError(call: Promise<unknown>): Promise<KratosError> {
  let caught: unknown;
  try {
    await call;
  } catch (err) {
    caught = err;
  }
  expect(caught, 'a thrown KratosError').toBeInstanceOf(KratosError);
  return caught as KratosError;
}

/**
 * One caller. A browser keeps the CSRF and session cookies the service asks it to set; a native app keeps the
 * session token from the answers and sends it as `X-Session-Token`.
 */
export class Client {
  readonly type: FlowType;
  csrfCookie?: string;
  token?: string;
  /** Origin header or non-CDN cookies on API requests. */
  browserMarkers = false;
  readonly #h: Harness;

  constructor(h: Harness, type: FlowType) {
    this.#h = h;
    this.type = type;
    this.browserMarkers = type === 'browser';
  }

  async facts(extra: Partial<RequestFacts> = {}, kind: FlowKind = 'login'): Promise<RequestFacts> {
    const found = this.token ? await this.#h.registry.sessions.findByToken(this.token) : null;
    const url = `${PUBLIC}self-service/${kind}/${this.type}`;
    return {
      session: found ? { session: found, token: this.token!, source: this.type === 'browser' ? 'cookie' : 'header' } : undefined,
      csrfCookie: this.type === 'browser' ? this.csrfCookie : undefined,
      browserMarkers: this.browserMarkers,
      device: { ip: '192.0.2.1', userAgent: 'vitest' },
      requestUrl: url,
      hook: { method: 'GET', url, headers: {} },
      ...extra,
    };
  }

  /** Keeps the cookies an answer sets (a browser) and the session token an API answer carries. */
  absorb(answer: FlowAnswer): FlowAnswer {
    if (this.type === 'browser') {
      if (answer.cookies.csrf) this.csrfCookie = answer.cookies.csrf;
      if (answer.cookies.session) this.token = answer.cookies.session.token;
    } else {
      const token = (answer.body as Json)?.session_token;
      if (typeof token === 'string') this.token = token;
    }
    return answer;
  }

  async create(kind: FlowKind, options: CreateOptions = {}, extra: Partial<RequestFacts> = {}): Promise<FlowAnswer> {
    return this.absorb(await this.#h.registry.flowService.create(kind, this.type, await this.facts(extra, kind), options));
  }

  async flow(kind: FlowKind, options: CreateOptions = {}): Promise<Json> {
    const answer = await this.create(kind, options);
    expect(answer.status).toBe(200);
    return answer.body;
  }

  async get(kind: FlowKind, id: string, extra: Partial<RequestFacts> = {}): Promise<FlowAnswer> {
    return this.absorb(await this.#h.registry.flowService.get(kind, id, await this.facts(extra, kind)));
  }

  /**
   * Submits JSON (a browser sends the masked token of its CSRF cookie, as the csrf_token node carries it, unless
   * `csrf_token` is in the body or `extra.csrfSubmitted` is given).
   */
  async submit(kind: FlowKind, id: string, body: Record<string, unknown>, extra: Partial<RequestFacts> = {}, input: Partial<SubmitInput> = {}): Promise<FlowAnswer> {
    const submitted = typeof body.csrf_token === 'string'
      ? body.csrf_token
      : this.type === 'browser' && this.csrfCookie ? maskCsrfToken(this.csrfCookie) : undefined;
    const facts = await this.facts({ csrfSubmitted: submitted, ...extra }, kind);
    return this.absorb(await this.#h.registry.flowService.submit(kind, id, facts, { body, source: 'json', ...input }));
  }

  /** Opens a link with GET (`/self-service/<kind>?flow=&...`): a mail link, or settings resuming after a refresh. */
  async openLink(kind: FlowKind, id: string, query: Record<string, unknown> = {}): Promise<FlowAnswer> {
    const facts = await this.facts({}, kind);
    return this.absorb(await this.#h.registry.flowService.submit(kind, id, facts, { body: query, source: 'query', viaLink: true }));
  }

  /** A password login through a new flow of this client's type; returns the answer. */
  async login(identifier: string, password: string, options: CreateOptions = {}): Promise<FlowAnswer> {
    const flow = await this.flow('login', options);
    return this.submit('login', flow.id, { method: 'password', identifier, password });
  }
}
