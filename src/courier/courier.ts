import type { CourierConfig } from '../../config/types.ts';
import type { Logger } from '../../observability/logger.ts';
import type { Metrics } from '../../observability/metrics.ts';
import type { CourierMessageRecord, CourierRepository, Transaction } from '../persistence/store.ts';
import type { Clock } from '../x/clock.ts';
import { parseDuration } from '../x/duration.ts';
import { retryHorizonMs, type RetryPolicy } from './backoff.ts';
import { assertPhoneRecipient, assertRecipient } from './recipient.ts';
import { CourierSender } from './sender.ts';
import { TEMPLATE_SPECS, TEMPLATE_TYPES, templateModel, TemplateSet, type TemplateData, type TemplateType } from './templates.ts';
import { createHttpTransport, createRequestTransport } from './transports/http.ts';
import { createSmtpTransport } from './transports/smtp.ts';
import { routeByChannel, type Transport } from './transports/transport.ts';
import { captureTraceContext } from './trace-context.ts';
import { createOutboundGuard } from '../x/outbound-guard.ts';

/** A message to send: rendered from `templateType` with `data` when it is enqueued. */
export interface MessageDraft {
  templateType: TemplateType;
  recipient: string;
  data?: TemplateData;
  /** `sms` for an address whose schema says `via: sms` (sent through `courier.channels[id=sms]`); e-mail by default. */
  channel?: 'email' | 'sms';
  /**
   * Rendered and written like any message, then removed in the same transaction, so nothing is sent: the courier step
   * of an unknown address costs what a known one's does (account enumeration by timing; STYLE.md #8).
   */
  drop?: boolean;
}

export interface CourierDeps {
  /** The outbox (the store's courier repository, used outside transactions by the sender). */
  queue: CourierRepository;
  logger: Logger;
  metrics?: Metrics;
  /** Overrides the transport built from config (tests). */
  transport?: Transport;
  clock: Clock;
  /** Directory relative template paths resolve against (default: the working directory). */
  cwd?: string;
  /** `clients.http`: the private-IP guard of the HTTP delivery strategy (off when absent). */
  clientsHttp?: { disallow_private_ip_ranges?: boolean; private_ip_exception_urls?: string[] };
}

/** The retry policy and worker settings from `courier.*`. */
export function workerSettings(config: CourierConfig): { policy: RetryPolicy; pullCount: number; pullWaitMs: number; leaseMs: number } {
  const worker = config.worker;
  const retry = worker.retry ?? { initial_backoff: '1s', max_backoff: '1h', min_age: '24h' };
  return {
    policy: {
      initialMs: parseDuration(retry.initial_backoff),
      maxMs: parseDuration(retry.max_backoff),
      minAgeMs: parseDuration(retry.min_age),
      retries: config.message_retries,
    },
    pullCount: worker.pull_count,
    pullWaitMs: Math.max(1, parseDuration(worker.pull_wait)),
    leaseMs: Math.max(100, parseDuration(worker.lease ?? '30s')),
  };
}

/** Wakes of the sender are aligned to this grid of wall-clock time (see `wake`). */
const WAKE_GRID_MS = 100;

/**
 * The courier: `enqueue` renders a message and writes it in the caller's transaction, with the change that caused
 * it (the outbox pattern); the sender delivers it, woken soon after that transaction commits (see `wake`).
 */
export class Courier {
  readonly templates: TemplateSet;
  readonly queue: CourierRepository;
  /** Absent when no delivery is configured (no SMTP URI / HTTP URL): messages are queued but not sent. */
  readonly sender?: CourierSender;
  readonly #logger: Logger;
  readonly #now: () => Date;
  readonly #unavailable?: string;
  #wakeTimer?: ReturnType<typeof setTimeout>;

  constructor(config: CourierConfig, deps: CourierDeps) {
    this.#logger = deps.logger;
    this.#now = () => deps.clock.now();
    this.templates = new TemplateSet({ templates: config.templates, overridePath: config.template_override_path, cwd: deps.cwd });
    this.queue = deps.queue;
    const settings = workerSettings(config);
    let transport = deps.transport;
    if (!transport) {
      const guard = createOutboundGuard(deps.clientsHttp ?? {});
      let email: Transport | undefined;
      if (config.delivery_strategy === 'http') email = createHttpTransport(config, { guard });
      else if (config.smtp.connection_uri) email = createSmtpTransport(config);
      const channel = config.channels?.find((c) => c.id === 'sms');
      const sms = channel ? createRequestTransport(channel.request_config, 'courier.channels[id=sms].request_config', { guard }) : undefined;
      transport = sms ? routeByChannel({ email, sms }) : email;
      if (!transport) this.#unavailable = 'courier.smtp.connection_uri is not set';
    }
    if (transport) {
      this.sender = new CourierSender({ queue: this.queue, transport, logger: deps.logger, metrics: deps.metrics, now: this.#now, ...settings });
      const horizon = retryHorizonMs(settings.policy);
      if (horizon < 10 * 60_000) {
        deps.logger.warn('courier gives up on a failing message quickly; an SMTP outage longer than that abandons mail', {
          give_up_after_ms: horizon, message_retries: config.message_retries, min_age: config.worker.retry?.min_age,
        });
      }
    }
    if (deps.metrics) deps.metrics.courierQueueDepth = () => this.queue.countByStatus();
  }

  /**
   * Renders `draft` now into a queued message (nothing written). Refuses, with a Kratos 400, a recipient that is not
   * exactly one plain e-mail address (no display name, comment, quotes, list or CR/LF).
   */
  render(draft: MessageDraft): CourierMessageRecord {
    const sms = draft.channel === 'sms';
    const recipient = sms ? assertPhoneRecipient(draft.recipient) : assertRecipient(draft.recipient);
    const type = draft.templateType;
    if (!(TEMPLATE_TYPES as readonly string[]).includes(type)) throw new Error(`courier: unknown template type ${String(type)}`);
    const data = templateModel(type, { ...(draft.data ?? {}), to: recipient });
    for (const key of TEMPLATE_SPECS[type].required) {
      if (data[key] === undefined || data[key] === null || data[key] === '') throw new Error(`courier: a ${type} message needs ${key}`);
    }
    const rendered = sms ? { subject: '', text: this.templates.renderSms(type, data), html: null } : this.templates.render(type, data);
    const now = this.#now();
    return {
      id: crypto.randomUUID(),
      type: sms ? 'phone' : 'email',
      status: 'queued',
      recipient,
      subject: rendered.subject,
      body: rendered.text,
      htmlBody: rendered.html,
      templateType: type,
      templateData: data,
      channel: sms ? 'sms' : 'email',
      traceContext: captureTraceContext(),
      sendCount: 0,
      nextAttemptAt: now,
      leaseUntil: null,
      leasedBy: null,
      createdAt: now,
      updatedAt: now,
    };
  }

  /** Renders `draft` and writes it in `tx`; the sender is woken (see `wake`) once `tx` commits. */
  async enqueue(tx: Pick<Transaction, 'courier' | 'afterCommit'>, draft: MessageDraft): Promise<CourierMessageRecord> {
    const message = this.render(draft);
    await tx.courier.insert(message);
    if (draft.drop) {
      await tx.courier.discard(message.id);
      return message;
    }
    tx.afterCommit(() => this.wake());
    return message;
  }

  /**
   * Lets the local sender look for due messages soon instead of at its next poll: at the next multiple of
   * WAKE_GRID_MS on the clock, not right after the request that queued the mail. Work that follows a request at once
   * can be timed against that request — a code mailed to a known address and none to an unknown one made the known
   * request ~1 ms slower here (account enumeration, test/e2e/hardening/enumeration-timing.test.ts); on a fixed grid the
   * work falls on whichever request is running then, and every wake within one slot becomes one poll.
   */
  wake(): void {
    if (!this.sender || this.#wakeTimer) return;
    this.#wakeTimer = setTimeout(() => {
      this.#wakeTimer = undefined;
      this.sender?.wake();
    }, WAKE_GRID_MS - (Date.now() % WAKE_GRID_MS));
    this.#wakeTimer.unref?.();
  }

  /** Starts the sender (no-op when delivery is not configured, with a warning). */
  start(): void {
    if (!this.sender) {
      this.#logger.warn(`courier is not sending: ${this.#unavailable ?? 'no delivery configured'}; messages stay queued`);
      return;
    }
    this.sender.start();
  }

  /** Stops the sender: running sends finish, unattempted claims go back to the queue. Idempotent. */
  async stop(timeoutMs?: number): Promise<void> {
    clearTimeout(this.#wakeTimer);
    this.#wakeTimer = undefined;
    await this.sender?.stop(timeoutMs);
  }
}
