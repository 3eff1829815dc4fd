/**
 * Rate limits and the per-identifier lockout, shared by every method and flow (issue 15). The flow service asks
 * before a submission is handed to a method (`begin`) and reports how it ended (`settle`); the admin API asks before
 * it creates identities. Methods never see any of it.
 *
 * - Lockout per identifier (login), Keycloak's brute-force detection as the anchor (RealmManager defaults: failure
 *   factor 30, wait increment 60 s, max wait 15 min, failures forgotten after 12 h): an attempt is counted BEFORE the
 *   method checks anything, atomically in the store, and given back only when it succeeded (which also forgets every
 *   failure) or checked nothing. Attempt `failure_factor` starts a wait; from then on one attempt per wait may run —
 *   the first to claim it, atomically — and it starts the next wait, `wait_increment × count / failure_factor` long,
 *   at most `max_wait`. Fifty parallel guesses therefore see counts 1…50 and only the first `failure_factor` are
 *   checked (Keycloak CVE-2024-4629: counters that raced let guesses past the limit). A correct password during a
 *   wait is refused like any other attempt; an identifier nobody has is counted and locked the same way.
 * - Fixed windows per client address: failed logins and failed code submits (given back on success), registration
 *   submits, codes/links sent, identities created through the admin API. Per identifier or address, whichever client
 *   asks: registration submits, codes/links sent to an address, wrong codes for an address.
 *
 * Time comes from idflow's clock: window keys carry the window's number, lockouts store their end; the store's own
 * expiry only reclaims space.
 */
import { createHash } from 'node:crypto';
import type { RateLimitConfig, RateWindow } from '../../config/types.ts';
import type { Metrics } from '../../observability/metrics.ts';
import { rateLimitUnavailable, tooManyRequests } from '../errors/kratos-error.ts';
import type { Clock } from '../x/clock.ts';
import { parseDuration } from '../x/duration.ts';
import { addressBucket } from './client-address.ts';
import { CountersUnavailableError, type Counters } from './counters.ts';

export type GuardAction = 'login' | 'registration' | 'send' | 'code' | 'admin';
/** `unavailable`: refused because the counters' store did not answer. */
export type LimitScope = 'identifier' | 'address' | 'ip' | 'unavailable';

export interface GuardRequest {
  action: GuardAction;
  /**
   * login: the identifier (or identity) whose lockout applies; registration: the identifier signed up with; send: the
   * address a code or link goes to; code: the address the code was sent to.
   */
  subject?: string;
  /** The client's address as the HTTP edge determined it (trusted proxies applied). */
  ip?: string;
  /** How much the request costs (admin: identities in it); 1 when absent. */
  points?: number;
}

/**
 * How a guarded submission ended: `failure` a rejected credential or code (counted), `success` a credential accepted
 * (forgets the identifier's failures), `neutral` nothing was checked (another screen, a redirect, an error).
 */
export type GuardResult = 'success' | 'failure' | 'neutral';

export interface GuardTicket {
  settle(result: GuardResult): Promise<void>;
}

export interface AbuseGuardDeps {
  config: RateLimitConfig;
  counters: Counters;
  clock: Clock;
  metrics: Pick<Metrics, 'rateLimited'>;
}

interface Window {
  limit: number;
  ms: number;
  /** Given back unless the submission failed (failed-attempt budgets). */
  refundUnlessFailed: boolean;
}

/** What one limit counted for a request: settled when it ended, or undone when another limit refused it. */
interface Counted {
  settle(result: GuardResult): Promise<void>;
  undo(): Promise<void>;
}

const NO_TICKET: GuardTicket = { settle: async () => {} };
const UNAVAILABLE_RETRY_SECONDS = 5;
const unlessUnavailable = (err: unknown) => {
  if (!(err instanceof CountersUnavailableError)) throw err;
};

/** Keys never hold identifiers or addresses as typed. */
const digest = (value: string) => createHash('sha256').update(value).digest('base64url').slice(0, 32);

export class AbuseGuard {
  readonly #d: AbuseGuardDeps;
  readonly #windows: Record<string, Window>;
  readonly #lockout: { factor: number; incrementMs: number; maxMs: number; resetMs: number };

  constructor(deps: AbuseGuardDeps) {
    this.#d = deps;
    const c = deps.config;
    const window = (w: RateWindow, refundUnlessFailed: boolean): Window => ({ limit: w.limit, ms: parseDuration(w.window), refundUnlessFailed });
    this.#windows = {
      'login:ip': window(c.login.per_ip, true),
      'code:ip': window(c.code.per_ip, true),
      'registration:ip': window(c.registration.per_ip, false),
      'registration:identifier': window(c.registration.per_identifier, false),
      'code:address': window(c.code.per_address, true),
      'send:ip': window(c.send.per_ip, false),
      'send:address': window(c.send.per_address, false),
      'admin:ip': window(c.admin.per_ip, false),
    };
    this.#lockout = {
      factor: c.lockout.failure_factor,
      incrementMs: parseDuration(c.lockout.wait_increment),
      maxMs: parseDuration(c.lockout.max_wait),
      resetMs: parseDuration(c.lockout.failure_reset),
    };
  }

  get enabled(): boolean {
    return this.#d.config.enabled;
  }

  /**
   * Counts the request against every limit that applies, or throws 429 (`tooManyRequests`) with nothing counted.
   * The ticket must be settled once the submission ended.
   */
  async begin(request: GuardRequest): Promise<GuardTicket> {
    if (!this.enabled) return NO_TICKET;
    const counted: Counted[] = [];
    try {
      if (request.action === 'login' && request.subject) counted.push(await this.#reserveAttempt(request.subject));
      const ip = addressBucket(request.ip);
      if (ip) counted.push(await this.#count(`${request.action}:ip`, ip, request.points ?? 1, 'ip', request.action));
      if (request.subject) {
        if (request.action === 'send') counted.push(await this.#count('send:address', request.subject, 1, 'address', request.action));
        if (request.action === 'code') counted.push(await this.#count('code:address', request.subject, 1, 'address', request.action));
        if (request.action === 'registration') counted.push(await this.#count('registration:identifier', request.subject, 1, 'identifier', request.action));
      }
    } catch (err) {
      // Refused by one limit: the others do not count this request either.
      await Promise.all(counted.map((c) => c.undo().catch(unlessUnavailable)));
      if (err instanceof CountersUnavailableError) {
        // Fail closed: nothing runs unlimited while the store is away (503, not a 500: idflow itself is fine).
        this.#d.metrics.rateLimited.inc({ action: request.action, scope: 'unavailable' });
        throw rateLimitUnavailable(UNAVAILABLE_RETRY_SECONDS);
      }
      throw err;
    }
    const settles = counted.map((c) => c.settle);
    let settled = false;
    return {
      async settle(result) {
        if (settled) return;
        settled = true;
        // The submission is done (and committed): a store that went away meanwhile only loses this refund or reset.
        await Promise.all(settles.map((settle) => settle(result).catch(unlessUnavailable)));
      },
    };
  }

  /** Fixed window `name` for `subject`: the window's number is part of the key, so a new window is a new count. */
  async #count(name: string, subject: string, points: number, scope: LimitScope, action: GuardAction): Promise<Counted> {
    const window = this.#windows[name];
    if (!window) return { settle: async () => {}, undo: async () => {} };
    const now = this.#d.clock.now().getTime();
    const index = Math.floor(now / window.ms);
    const key = `w:${name}:${digest(subject)}:${index}`;
    const count = await this.#d.counters.add(key, points, window.ms);
    if (count > window.limit) {
      // Over the limit: this request is not counted (a client hammering a closed window does not extend it).
      await this.#d.counters.add(key, -points, window.ms);
      throw this.#limited(action, scope, (index + 1) * window.ms - now);
    }
    const undo = async () => {
      await this.#d.counters.add(key, -points, window.ms);
    };
    return {
      settle: async (result) => {
        if (result !== 'failure' && window.refundUnlessFailed) await undo();
      },
      undo,
    };
  }

  /** One login attempt of an identifier (see the module comment). */
  async #reserveAttempt(identifier: string): Promise<Counted> {
    const { factor, resetMs } = this.#lockout;
    const id = digest(identifier);
    const attemptsKey = `l:n:${id}`;
    const lockKey = `l:until:${id}`;
    const nowMs = () => this.#d.clock.now().getTime();
    const locked = (until: number | undefined) => until === undefined || until * 1000 > nowMs();
    // A wait in progress refuses at once, without counting.
    const before = await this.#d.counters.get(lockKey);
    if (before !== undefined && locked(before)) throw this.#limited('login', 'identifier', before * 1000 - nowMs());

    const n = await this.#d.counters.add(attemptsKey, 1, resetMs);
    const giveBack = () => this.#d.counters.add(attemptsKey, -1, resetMs).then(() => undefined);
    if (n >= factor) {
      if (n > factor) {
        // Past the threshold only the first attempt after each wait runs. The wait's end is read after counting: an
        // attempt counted after the one that starts a wait either sees that wait or, when the wait is not stored yet,
        // no wait at all — refused too, as it is past the threshold.
        const until = await this.#d.counters.get(lockKey);
        if (locked(until)) {
          await giveBack();
          throw this.#limited('login', 'identifier', until === undefined ? this.#waitMs(n) : until * 1000 - nowMs());
        }
        const claimed = await this.#d.counters.add(`l:claim:${id}:${until}`, 1, resetMs);
        if (claimed !== 1) {
          await giveBack();
          throw this.#limited('login', 'identifier', this.#waitMs(n));
        }
      }
      // This attempt runs; the next one waits, whatever this one's result (a success forgets the wait again). The end
      // is kept in whole seconds since the epoch (the PostgreSQL store's counters are 32-bit), rounded down.
      await this.#d.counters.put(lockKey, Math.floor((nowMs() + this.#waitMs(n)) / 1000), resetMs);
    }
    return {
      settle: async (result) => {
        if (result === 'success') {
          await Promise.all([this.#d.counters.remove(attemptsKey), this.#d.counters.remove(lockKey)]);
        } else if (result === 'neutral') {
          await giveBack();
        }
      },
      undo: giveBack,
    };
  }

  /** Keycloak: waitIncrement × (failures / failureFactor), at most maxFailureWait. */
  #waitMs(count: number): number {
    const { factor, incrementMs, maxMs } = this.#lockout;
    return Math.min(incrementMs * Math.floor(count / factor), maxMs);
  }

  #limited(action: GuardAction, scope: LimitScope, retryMs: number) {
    this.#d.metrics.rateLimited.inc({ action, scope });
    return tooManyRequests(Math.max(1, Math.ceil(retryMs / 1000)));
  }
}
