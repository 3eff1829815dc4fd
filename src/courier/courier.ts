import type { EntityManager, EventSubscriber } from '@mikro-orm/core';
import type { CourierConfig } from '../../config/types.ts';
import type { Logger } from '../../observability/logger.ts';
import type { Metrics } from '../../observability/metrics.ts';
import { CourierMessage, type CourierMessageRow } from '../../entities/index.ts';
import type { Orm } from '../persistence/orm.ts';
import { parseDuration } from '../x/duration.ts';
import { retryHorizonMs, type RetryPolicy } from './backoff.ts';
import { CourierQueue, type Dialect } from './queue.ts';
import { assertRecipient } from './recipient.ts';
import { CourierSender } from './sender.ts';
import { TEMPLATE_SPECS, TEMPLATE_TYPES, TemplateSet, type TemplateData, type TemplateType } from './templates.ts';
import { createHttpTransport } from './transports/http.ts';
import { createSmtpTransport } from './transports/smtp.ts';
import type { Transport } from './transports/transport.ts';
import { captureTraceContext } from './trace-context.ts';
import { createOutboundGuard } from '../x/outbound-guard.ts';

/** A message to send: rendered from `templateType` with `data` when it is enqueued. */
export interface MessageDraft {
  templateType: TemplateType;
  recipient: string;
  data?: TemplateData;
}

export interface CourierDeps {
  orm: Orm;
  dialect: Dialect;
  logger: Logger;
  metrics?: Metrics;
  /** Overrides the transport built from config (tests). */
  transport?: Transport;
  now?: () => Date;
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

/**
 * The courier: `enqueue` renders a message and adds it to the caller's unit of work (it is written by the caller's
 * flush, in the same transaction as the change that caused it — the outbox pattern); the sender delivers it.
 */
export class Courier {
  readonly templates: TemplateSet;
  readonly queue: CourierQueue;
  /** Absent when no delivery is configured (no SMTP URI / HTTP URL): messages are queued but not sent. */
  readonly sender?: CourierSender;
  readonly #logger: Logger;
  readonly #now: () => Date;
  readonly #unavailable?: string;

  constructor(config: CourierConfig, deps: CourierDeps) {
    this.#logger = deps.logger;
    this.#now = deps.now ?? (() => new Date());
    this.templates = new TemplateSet({ templates: config.templates, overridePath: config.template_override_path, cwd: deps.cwd });
    this.queue = new CourierQueue(deps.orm, deps.dialect);
    const settings = workerSettings(config);
    let transport = deps.transport;
    if (!transport) {
      if (config.delivery_strategy === 'http') transport = createHttpTransport(config, { guard: createOutboundGuard(deps.clientsHttp ?? {}) });
      else if (config.smtp.connection_uri) transport = createSmtpTransport(config);
      else this.#unavailable = 'courier.smtp.connection_uri is not set';
    }
    if (transport) {
      this.sender = new CourierSender({ queue: this.queue, transport, logger: deps.logger, metrics: deps.metrics, now: deps.now, ...settings });
      const horizon = retryHorizonMs(settings.policy);
      if (horizon < 10 * 60_000) {
        deps.logger.warn('courier gives up on a failing message quickly; an SMTP outage longer than that abandons mail', {
          give_up_after_ms: horizon, message_retries: config.message_retries, min_age: config.worker.retry?.min_age,
        });
      }
    }
    if (deps.metrics) deps.metrics.courierQueueDepth = () => this.queue.countByStatus();
    this.#subscribe(deps.orm);
  }

  /**
   * Renders `draft` now and persists a queued message in `em` (no flush). Refuses, with a Kratos 400, a recipient
   * that is not exactly one plain e-mail address (no display name, comment, quotes, list or CR/LF).
   */
  enqueue(em: EntityManager, draft: MessageDraft): CourierMessageRow {
    const recipient = assertRecipient(draft.recipient);
    const type = draft.templateType;
    if (!(TEMPLATE_TYPES as readonly string[]).includes(type)) throw new Error(`courier: unknown template type ${String(type)}`);
    const data: Record<string, unknown> = { ...(draft.data ?? {}), to: recipient };
    for (const key of TEMPLATE_SPECS[type].required) {
      if (data[key] === undefined || data[key] === null || data[key] === '') throw new Error(`courier: a ${type} message needs ${key}`);
    }
    const rendered = this.templates.render(type, data);
    const now = this.#now();
    const row = em.create(CourierMessage, {
      id: crypto.randomUUID(),
      type: 'email',
      status: 'queued',
      recipient,
      subject: rendered.subject,
      body: rendered.text,
      htmlBody: rendered.html,
      templateType: type,
      templateData: data,
      channel: 'email',
      traceContext: captureTraceContext(),
      sendCount: 0,
      nextAttemptAt: now,
      leaseUntil: null,
      leasedBy: null,
      createdAt: now,
      updatedAt: now,
    });
    em.persist(row);
    return row;
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
    await this.sender?.stop(timeoutMs);
  }

  /** Wakes the local sender when a flush wrote messages, so they don't wait for the next poll. */
  #subscribe(orm: Orm): void {
    let pending = false;
    const wake = () => setImmediate(() => this.sender?.wake());
    const subscriber: EventSubscriber = {
      getSubscribedEntities: () => [CourierMessage],
      afterCreate: () => {
        pending = true;
      },
      afterFlush: () => {
        if (pending) wake();
      },
      afterTransactionCommit: () => {
        if (!pending) return;
        pending = false;
        wake();
      },
    };
    orm.em.getEventManager().registerSubscriber(subscriber);
  }
}
