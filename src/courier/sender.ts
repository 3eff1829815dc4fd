import { hostname } from 'node:os';
import type { Logger } from '../../observability/logger.ts';
import type { Metrics } from '../../observability/metrics.ts';
import { backoffDelay, shouldAbandon, type RetryPolicy } from './backoff.ts';
import type { ClaimedMessage, CourierRepository } from '../persistence/store.ts';
import { scrubAddress } from './redact.ts';
import { DeliveryError, type Transport } from './transports/transport.ts';
import { withDeliverySpan } from './trace-context.ts';

export interface SenderOptions {
  queue: CourierRepository;
  transport: Transport;
  logger: Logger;
  metrics?: Metrics;
  policy: RetryPolicy;
  /** Messages claimed per poll (courier.worker.pull_count). */
  pullCount: number;
  /** Pause between polls when the queue had nothing more (courier.worker.pull_wait). */
  pullWaitMs: number;
  /** Lease of a claimed message (courier.worker.lease); renewed every third of it while the sender runs. */
  leaseMs: number;
  /** Sends running at once (default min(pullCount, 5)). */
  concurrency?: number;
  workerId?: string;
  now?: () => Date;
  random?: () => number;
}

type Outcome = { ok: true } | { ok: false; error: string; permanent: boolean; outage: boolean };

/** While the server is away, it is probed every this many pull_wait intervals (15 s with the default 1 s). */
const PROBE_EVERY_PULLS = 15;

/**
 * The dispatcher: claims due messages (leased, atomically), sends each through the transport, records a dispatch
 * per attempt, and reschedules failures with backoff until the retry budget is spent (then `abandoned`).
 *
 * `start()` polls every pull_wait (and at once after `wake()`); `stop()` stops claiming, lets running sends finish,
 * and returns the messages it claimed but did not attempt to the queue.
 *
 * Outages: a failure that says the server is away (no answer, 421, 502-504) puts the sender in "outage" mode, in
 * which it probes the server (SMTP: connect, TLS, AUTH, no mail) every 15 pull_waits; the first probe or delivery
 * that succeeds makes every queued message due at once, so mail flows within seconds of the server's return
 * instead of at each message's next backoff (which grows to an hour). A sender that dies instead keeps nothing:
 * its leases run out and any sender reclaims the messages.
 */
export class CourierSender {
  readonly workerId: string;
  readonly #o: SenderOptions;
  readonly #now: () => Date;
  readonly #concurrency: number;
  /** Claimed, not attempted yet. */
  readonly #held = new Set<string>();
  /** Being sent right now. */
  readonly #inflight = new Set<string>();
  /** When each claimed message's lease ends, as far as this sender knows (claim, then renewals). */
  readonly #leaseEnds = new Map<string, number>();
  #running = false;
  #stopping = false;
  #killed = false;
  #stopped = false;
  #loop?: Promise<void>;
  #heartbeat?: NodeJS.Timeout;
  #wakeup?: () => void;
  #wakeRequested = false;
  #pollFailures = 0;
  #outage = false;
  #lastProbe = 0;

  constructor(options: SenderOptions) {
    this.#o = options;
    this.#now = options.now ?? (() => new Date());
    this.#concurrency = Math.max(1, options.concurrency ?? Math.min(options.pullCount, 5));
    this.workerId = options.workerId ?? `${hostname().slice(0, 24)}:${process.pid}:${crypto.randomUUID().slice(0, 8)}`;
  }

  get running(): boolean {
    return this.#running;
  }

  start(): void {
    if (this.#running || this.#killed || this.#stopped) return;
    this.#running = true;
    this.#stopping = false;
    const every = Math.max(50, Math.floor(this.#o.leaseMs / 3));
    this.#heartbeat = setInterval(() => void this.#renew(), every);
    this.#heartbeat.unref();
    this.#loop = this.#run();
  }

  /** Polls now instead of after the pull_wait pause (e.g. when a message was just enqueued). */
  wake(): void {
    this.#wakeRequested = true;
    this.#wakeup?.();
  }

  /**
   * Stops polling, waits up to `timeoutMs` for running sends, returns claimed-but-unattempted messages to the queue
   * and closes the transport. Sends still running after the timeout keep their lease (it runs out on its own).
   */
  async stop(timeoutMs = 30_000): Promise<void> {
    if (this.#killed || this.#stopped) return;
    this.#stopped = true;
    const wasRunning = this.#running || this.#loop !== undefined;
    this.#running = false;
    this.#stopping = true;
    this.#wakeup?.();
    if (this.#loop) {
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([this.#loop, new Promise<void>((resolve) => { timer = setTimeout(resolve, timeoutMs); })]);
      clearTimeout(timer);
    }
    this.#loop = undefined;
    clearInterval(this.#heartbeat);
    await this.#releaseHeld();
    if (wasRunning && this.#inflight.size > 0) {
      this.#o.logger.warn('courier sender stopped with sends still running; their leases will run out', { in_flight: this.#inflight.size });
    }
    await this.#o.transport.close();
  }

  /** Test hook: dies like a killed process — stops at once, writes nothing more, releases nothing. */
  kill(): void {
    this.#killed = true;
    this.#running = false;
    clearInterval(this.#heartbeat);
    this.#wakeup?.();
    void this.#o.transport.close();
  }

  /** One poll: claims up to pull_count due messages and sends them. Returns how many were claimed. */
  async runOnce(): Promise<number> {
    const batch = await this.claim(this.#o.pullCount);
    if (batch.length > 0) await this.#deliverAll(batch);
    return batch.length;
  }

  /** Claims up to `limit` due messages (leased to this sender) without sending them. */
  async claim(limit: number): Promise<ClaimedMessage[]> {
    const now = this.#now();
    const leaseUntil = new Date(now.getTime() + this.#o.leaseMs);
    const batch = await this.#o.queue.claim(this.workerId, limit, now, leaseUntil);
    for (const message of batch) {
      this.#held.add(message.id);
      this.#leaseEnds.set(message.id, leaseUntil.getTime());
    }
    return batch;
  }

  async #run(): Promise<void> {
    while (this.#running) {
      let claimed = 0;
      try {
        claimed = await this.runOnce();
        if (this.#pollFailures > 0) this.#o.logger.info('courier queue reachable again');
        this.#pollFailures = 0;
      } catch (err) {
        if (this.#pollFailures++ === 0 || this.#pollFailures % 60 === 0) {
          this.#o.logger.warn('courier could not poll the queue', { reason: this.#o.transport.redactor.redact((err as Error).message ?? String(err)), failures: this.#pollFailures });
        }
      }
      if (!this.#running) break;
      if (claimed >= this.#o.pullCount && this.#pollFailures === 0) continue;
      if (await this.#probe()) continue;
      await this.#pause(this.#o.pullWaitMs);
    }
  }

  #pause(ms: number): Promise<void> {
    if (this.#wakeRequested) {
      this.#wakeRequested = false;
      return Promise.resolve();
    }
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        this.#wakeup = undefined;
        this.#wakeRequested = false;
        resolve();
      };
      const timer = setTimeout(done, ms);
      this.#wakeup = done;
    });
  }

  async #deliverAll(batch: ClaimedMessage[]): Promise<void> {
    const pending = [...batch];
    const worker = async () => {
      for (let message = pending.shift(); message; message = pending.shift()) {
        if (this.#stopping || this.#killed) return;
        await this.#deliver(message);
      }
    };
    await Promise.all(Array.from({ length: Math.min(this.#concurrency, batch.length) }, worker));
  }

  async #deliver(message: ClaimedMessage): Promise<void> {
    this.#held.delete(message.id);
    // A lease that ran out (renewals failed) may already be another sender's: leave the message to it.
    const leaseEnd = this.#leaseEnds.get(message.id) ?? 0;
    if (this.#now().getTime() > leaseEnd - Math.min(1000, this.#o.leaseMs / 10)) {
      this.#leaseEnds.delete(message.id);
      this.#o.logger.warn('courier lease ran out before sending; leaving the message to the queue', { message_id: message.id });
      return;
    }
    this.#inflight.add(message.id);
    try {
      let outcome: Outcome;
      try {
        const attributes = {
          'idflow.courier.message_id': message.id,
          'idflow.courier.template_type': message.templateType,
          'idflow.courier.transport': this.#o.transport.name,
          'idflow.courier.send_count': message.sendCount,
        };
        await withDeliverySpan(message.traceContext, attributes, () => this.#o.transport.send({
          id: message.id,
          recipient: message.recipient,
          subject: message.subject,
          text: message.body,
          html: message.htmlBody,
          templateType: message.templateType,
          templateData: message.templateData,
          channel: message.channel,
        }));
        outcome = { ok: true };
      } catch (err) {
        const permanent = err instanceof DeliveryError && err.permanent;
        const outage = err instanceof DeliveryError && err.outage;
        const text = err instanceof DeliveryError ? err.message : this.#o.transport.redactor.redact((err as Error)?.message ?? String(err));
        outcome = { ok: false, error: text, permanent, outage };
      }
      if (this.#killed) return;
      await this.#settle(message, outcome);
      if (!outcome.ok && outcome.outage && !this.#outage) {
        this.#outage = true;
        this.#lastProbe = this.#now().getTime();
      } else if (outcome.ok && this.#outage) {
        await this.#recovered('a delivery succeeded');
      }
    } finally {
      this.#inflight.delete(message.id);
      this.#leaseEnds.delete(message.id);
    }
  }

  async #settle(message: ClaimedMessage, outcome: Outcome): Promise<void> {
    const { logger, metrics, policy } = this.#o;
    const now = this.#now();
    const fields = { message_id: message.id, template_type: message.templateType, send_count: message.sendCount };
    let next: { status: 'sent' | 'queued' | 'abandoned'; nextAttemptAt?: Date; error?: string };
    let delay = 0;
    if (outcome.ok) {
      next = { status: 'sent' };
    } else if (outcome.permanent || shouldAbandon(policy, message.sendCount, now.getTime() - message.createdAt.getTime())) {
      next = { status: 'abandoned', error: outcome.error };
    } else {
      delay = backoffDelay(policy, message.sendCount, this.#o.random);
      next = { status: 'queued', nextAttemptAt: new Date(now.getTime() + delay), error: outcome.error };
    }
    // The send happened; its outcome must be written even if the database hiccups.
    let owned = false;
    for (let attempt = 1; ; attempt++) {
      try {
        owned = await this.#o.queue.record(message, this.workerId, next, now);
        break;
      } catch (err) {
        if (attempt >= 5 || this.#killed) {
          logger.error('courier could not record a delivery outcome', { ...fields, outcome: next.status, reason: (err as Error).message });
          return;
        }
        await new Promise((resolve) => setTimeout(resolve, 200 * attempt));
      }
    }
    const reason = next.error === undefined ? undefined : scrubAddress(next.error, message.recipient);
    if (!owned) logger.warn('courier lease was lost while sending; the outcome is left to the new holder', { ...fields, outcome: next.status });
    if (next.status === 'sent') {
      metrics?.courierDeliveries.inc({ result: 'sent' });
      logger.info('courier message sent', fields);
    } else if (next.status === 'queued') {
      metrics?.courierDeliveries.inc({ result: 'failed' });
      logger.warn('courier delivery failed; will retry', { ...fields, retry_in_ms: delay, reason });
    } else {
      metrics?.courierDeliveries.inc({ result: 'abandoned' });
      logger.error('courier message abandoned', { ...fields, permanent: !outcome.ok && outcome.permanent, reason });
    }
  }

  /** In outage mode, probes the server now and then; true when it is back (queued messages were made due). */
  async #probe(): Promise<boolean> {
    const probe = this.#o.transport.probe;
    if (!this.#outage || !probe) return false;
    const now = this.#now().getTime();
    if (now - this.#lastProbe < this.#o.pullWaitMs * PROBE_EVERY_PULLS) return false;
    this.#lastProbe = now;
    try {
      await probe.call(this.#o.transport);
    } catch {
      return false;
    }
    await this.#recovered('the server answers again');
    return true;
  }

  async #recovered(why: string): Promise<void> {
    this.#outage = false;
    try {
      const due = await this.#o.queue.expedite(this.#now());
      this.#o.logger.info('courier delivery is back; queued messages are due now', { reason: why, messages: due });
    } catch (err) {
      this.#o.logger.warn('courier could not reschedule queued messages', { reason: (err as Error).message });
    }
    this.wake();
  }

  async #renew(): Promise<void> {
    if (!this.#running && !this.#stopping) return;
    const ids = [...this.#held, ...this.#inflight];
    if (ids.length === 0) return;
    try {
      const until = new Date(this.#now().getTime() + this.#o.leaseMs);
      const renewed = await this.#o.queue.renew(this.workerId, ids, until);
      for (const id of renewed) if (this.#leaseEnds.has(id)) this.#leaseEnds.set(id, until.getTime());
    } catch (err) {
      this.#o.logger.warn('courier could not renew its leases', { reason: (err as Error).message, messages: ids.length });
    }
  }

  async #releaseHeld(): Promise<void> {
    const ids = [...this.#held];
    if (ids.length === 0) return;
    try {
      const released = await this.#o.queue.release(this.workerId, ids, this.#now());
      this.#held.clear();
      for (const id of ids) this.#leaseEnds.delete(id);
      this.#o.logger.info('courier returned unsent messages to the queue', { messages: released });
    } catch (err) {
      this.#o.logger.warn('courier could not return its messages to the queue; their leases will run out', { reason: (err as Error).message });
    }
  }
}
