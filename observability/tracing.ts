import { register } from 'node:module';
import type { Attributes, Context, SpanOptions, Tracer } from '@opentelemetry/api';
import { createAddHookMessageChannel } from 'import-in-the-middle';
import { NodeSDK } from '@opentelemetry/sdk-node';
import { HttpInstrumentation } from '@opentelemetry/instrumentation-http';
import { ExpressInstrumentation } from '@opentelemetry/instrumentation-express';
import { UndiciInstrumentation } from '@opentelemetry/instrumentation-undici';
import { KnexInstrumentation } from '@opentelemetry/instrumentation-knex';
import type { TracingOptions } from './tracing-options.ts';

/** Query parameters whose values never reach a span (Kratos's link recovery/verification carries `token`). */
export const REDACTED_QUERY_PARAMS = [
  'token', 'code', 'session_token', 'password', 'secret', 'csrf_token', 'sig', 'signature',
  'access_token', 'refresh_token', 'id_token', 'api_key', 'apikey', 'key',
];

/** A URL for a span attribute: no userinfo, and the values of sensitive query parameters replaced. */
export function redactUrl(raw: string): string {
  try {
    const url = new URL(raw);
    url.username = '';
    url.password = '';
    for (const key of [...url.searchParams.keys()]) {
      if (REDACTED_QUERY_PARAMS.includes(key.toLowerCase())) url.searchParams.set(key, 'REDACTED');
    }
    return url.toString();
  } catch {
    return raw.split('?')[0];
  }
}

/**
 * SQL for a span attribute: string, blob and number literals replaced by `?`. MikroORM inlines parameter values
 * into the SQL it hands to knex, so the raw text would carry e-mail addresses, tokens and hashes.
 */
export function sanitizeSql(sql: string): string {
  const out = sql
    .replace(/\b[xX]'[0-9a-fA-F]*'/g, '?')
    // MikroORM escapes quotes in inlined strings with a backslash (`\'`); standard SQL doubles them (`''`).
    .replace(/(?:\b[eE])?'(?:[^'\\]|\\[\s\S]|'')*'/g, '?')
    .replace(/(?<![\w`"$.])-?\d+(?:\.\d+)?(?:[eE][+-]?\d+)?(?![\w`"])/g, '?');
  // An unbalanced quote means a literal was not recognised: drop everything from it rather than leak it.
  const quote = out.indexOf("'");
  return quote < 0 ? out : `${out.slice(0, quote)}[…]`;
}

const SQL_ATTRIBUTES = ['db.query.text', 'db.statement'];

function sanitizeAttributes(attributes: Attributes | undefined): Attributes | undefined {
  if (!attributes) return attributes;
  const out: Attributes = { ...attributes };
  for (const key of SQL_ATTRIBUTES) if (typeof out[key] === 'string') out[key] = sanitizeSql(out[key] as string);
  return out;
}

/** Knex spans (one per SQL statement), with the statement's literal values removed before the span starts. */
class SanitizedKnexInstrumentation extends KnexInstrumentation {
  protected override get tracer(): Tracer {
    const tracer = super.tracer;
    return {
      startSpan: (name: string, options?: SpanOptions, ctx?: Context) =>
        tracer.startSpan(name, options && { ...options, attributes: sanitizeAttributes(options.attributes) }, ctx),
      startActiveSpan: tracer.startActiveSpan.bind(tracer),
    };
  }
}

/**
 * Starts the OpenTelemetry Node SDK: HTTP (server and client), Express, database (knex) and fetch (undici) spans,
 * W3C trace-context propagation (incoming `traceparent` is honoured, outgoing requests carry it), and the exporter
 * chosen by the standard
 * `OTEL_*` environment (`OTEL_TRACES_EXPORTER`, default `otlp`; `OTEL_EXPORTER_OTLP_ENDPOINT`,
 * `OTEL_EXPORTER_OTLP_PROTOCOL` — `http/protobuf` by default, `http/json` and `grpc` too). Must run before
 * `http` and `express` are imported: `src/main.ts` loads this module first when tracing is configured.
 */
export async function startTracing(options: TracingOptions): Promise<NodeSDK> {
  // idflow is ESM: `express` is imported, not required, so the instrumentations also hook the ESM loader
  // (import-in-the-middle), limited to the modules they instrument. Modules imported afterwards are patchable.
  const { registerOptions, waitForAllMessagesAcknowledged } = createAddHookMessageChannel();
  register('import-in-the-middle/hook.mjs', import.meta.url, registerOptions);
  const sdk = new NodeSDK({
    serviceName: options.serviceName,
    instrumentations: [
      new HttpInstrumentation({
        redactedQueryParamsServer: REDACTED_QUERY_PARAMS,
        redactedQueryParams: REDACTED_QUERY_PARAMS,
        // No span for the probes and scrapes load balancers and Prometheus send every few seconds.
        ignoreIncomingRequestHook: (req) => /^\/(admin\/)?(health\/(alive|ready)|metrics\/prometheus)(\?|$)/.test(req.url ?? ''),
      }),
      new ExpressInstrumentation(),
      // Database spans (MikroORM runs its SQL through knex, for SQLite and PostgreSQL alike), only inside a trace
      // so the courier's queue polling does not produce a stream of root spans; statements without their values.
      new SanitizedKnexInstrumentation({ requireParentSpan: true }),
      // fetch(): the HTTP courier and remote identity schemas; client spans carry `traceparent`.
      new UndiciInstrumentation({
        requestHook: (span, request) => {
          span.setAttribute('url.full', redactUrl(`${request.origin}${request.path}`));
          const query = request.path.indexOf('?');
          if (query >= 0) span.setAttribute('url.query', new URL(redactUrl(`${request.origin}${request.path}`)).search.slice(1));
        },
      }),
    ],
  });
  sdk.start();
  await waitForAllMessagesAcknowledged();
  return sdk;
}
