import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

/**
 * Every metric idflow exports, in one place. Labels come from closed sets (flow kinds, machine state names,
 * event types, route templates, status codes): never user data.
 */
export interface Metrics {
  registry: Registry;
  flowTransitions: Counter<'flow' | 'from' | 'to' | 'event'>;
  flowsStarted: Counter<'flow' | 'type'>;
  flowsCompleted: Counter<'flow' | 'type'>;
  flowsFailed: Counter<'flow' | 'type'>;
  flowsExpired: Counter<'flow' | 'type'>;
  /** Second-factor checks at login and enrolment, by method and result (`success` / `failure`). */
  secondFactorChecks: Counter<'method' | 'flow' | 'result'>;
  /** HTTP request duration by method, route template (`unmatched` when no route matched) and status code. */
  httpRequestSeconds: Histogram<'method' | 'route' | 'status_code'>;
  webHookRequests: Counter<'flow' | 'result'>;
  cleanupDeleted: Counter<'table'>;
  passwordHashSeconds: Histogram<'operation'>;
  sessionChecks: Counter<'result'>;
  /** Courier messages by status, counted in the database at scrape time (through `courierQueueDepth`). */
  courierMessages: Gauge<'status'>;
  /** Delivery attempts by result: `sent`, `failed` (to be retried) or `abandoned`. */
  courierDeliveries: Counter<'result'>;
  /**
   * Requests refused by a rate limit or a lockout (src/ratelimit/), by action (`login`, `registration`, `send`, `code`,
   * `admin`) and scope (`identifier`, `address`, `ip`; `unavailable`: the counters' store did not answer, 503).
   */
  rateLimited: Counter<'action' | 'scope'>;
  /** Set by the courier: counts messages per status for the gauge above. */
  courierQueueDepth?: () => Promise<Record<string, number>>;
}

const COURIER_STATUSES = ['queued', 'processing', 'sent', 'abandoned'] as const;

export function createMetrics(options: { defaultMetrics?: boolean } = {}): Metrics {
  const registry = new Registry();
  if (options.defaultMetrics) collectDefaultMetrics({ register: registry });
  const metrics: Metrics = {
    registry,
    flowTransitions: new Counter({
      name: 'idflow_flow_transitions_total',
      help: 'Self-service flow machine transitions, by flow, source state, target state and event type.',
      labelNames: ['flow', 'from', 'to', 'event'],
      registers: [registry],
    }),
    flowsStarted: new Counter({ name: 'idflow_flows_started_total', help: 'Flows created.', labelNames: ['flow', 'type'], registers: [registry] }),
    flowsCompleted: new Counter({ name: 'idflow_flows_completed_total', help: 'Flows that reached their final state.', labelNames: ['flow', 'type'], registers: [registry] }),
    flowsFailed: new Counter({ name: 'idflow_flows_failed_total', help: 'Submits that failed with an error.', labelNames: ['flow', 'type'], registers: [registry] }),
    flowsExpired: new Counter({ name: 'idflow_flows_expired_total', help: 'Submits of expired flows.', labelNames: ['flow', 'type'], registers: [registry] }),
    secondFactorChecks: new Counter({
      name: 'idflow_second_factor_checks_total',
      help: 'Second-factor codes checked (login at aal2, enrolment in settings), by method, flow and result.',
      labelNames: ['method', 'flow', 'result'],
      registers: [registry],
    }),
    httpRequestSeconds: new Histogram({
      name: 'idflow_http_request_duration_seconds',
      help: 'HTTP request duration, by method, route template and status code.',
      labelNames: ['method', 'route', 'status_code'],
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
      registers: [registry],
    }),
    cleanupDeleted: new Counter({
      name: 'idflow_cleanup_deleted_rows_total',
      help: 'Rows deleted by the in-process cleanup job (database.cleanup.interval), by table.',
      labelNames: ['table'],
      registers: [registry],
    }),
    webHookRequests: new Counter({
      name: 'idflow_web_hook_requests_total',
      help: 'Web hook requests, by flow and result (ok, failed: answered >= 400 or unreachable, interrupted: answered with messages that stop the flow, timeout, refused: private address, template: body template failed).',
      labelNames: ['flow', 'result'],
      registers: [registry],
    }),
    passwordHashSeconds: new Histogram({
      name: 'idflow_password_hash_duration_seconds',
      help: 'Time to hash or verify a password.',
      labelNames: ['operation'],
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
      registers: [registry],
    }),
    rateLimited: new Counter({
      name: 'idflow_rate_limited_total',
      help: 'Requests refused by a rate limit or a lockout (429), or because the limits store did not answer (503, scope unavailable), by action and scope (identifier, address, ip, unavailable).',
      labelNames: ['action', 'scope'],
      registers: [registry],
    }),
    sessionChecks: new Counter({ name: 'idflow_session_checks_total', help: 'Session lookups (whoami), by result.', labelNames: ['result'], registers: [registry] }),
    courierMessages: new Gauge({
      name: 'idflow_courier_messages',
      help: 'Courier messages in the database, by status (counted at scrape time).',
      labelNames: ['status'],
      registers: [registry],
      async collect() {
        const count = metrics.courierQueueDepth;
        if (!count) return;
        try {
          const counts = await count();
          for (const status of COURIER_STATUSES) this.set({ status }, counts[status] ?? 0);
        } catch {
          // database unreachable: keep the last values
        }
      },
    }),
    courierDeliveries: new Counter({
      name: 'idflow_courier_deliveries_total',
      help: 'Courier delivery attempts, by result (sent, failed and to be retried, abandoned).',
      labelNames: ['result'],
      registers: [registry],
    }),
  };
  return metrics;
}
