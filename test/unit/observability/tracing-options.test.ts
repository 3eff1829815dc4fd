import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { context, trace } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { BasicTracerProvider } from '@opentelemetry/sdk-trace-base';
import { tracingOptions } from '../../../observability/tracing-options.ts';
import { createLogger } from '../../../observability/logger.ts';

describe('tracingOptions (decided before the program loads)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'idflow-tracing-'));
  const withTracing = join(dir, 'tracing.yml');
  writeFileSync(withTracing, 'dsn: memory\ntracing:\n  provider: otel\n  service_name: from-file\n');
  const without = join(dir, 'plain.yml');
  writeFileSync(without, 'dsn: memory\n');

  it('is off by default and for commands other than serve', () => {
    expect(tracingOptions(['serve', '--dev'], {})).toBeUndefined();
    expect(tracingOptions(['serve', '--config', without], {})).toBeUndefined();
    expect(tracingOptions(['version'], { TRACING_PROVIDER: 'otel' })).toBeUndefined();
    expect(tracingOptions(['serve', '--help'], { TRACING_PROVIDER: 'otel' })).toBeUndefined();
  });

  it('reads tracing.provider and tracing.service_name from the config file', () => {
    expect(tracingOptions(['serve', '--config', withTracing], {})).toEqual({ serviceName: 'from-file' });
    expect(tracingOptions(['serve', `--config=${withTracing}`], {})).toEqual({ serviceName: 'from-file' });
    expect(tracingOptions(['serve', '-c', withTracing], { TRACING_SERVICE_NAME: 'from-env' })).toEqual({ serviceName: 'from-env' });
  });

  it('follows the environment: TRACING_*, OTEL_TRACES_EXPORTER, OTEL_SERVICE_NAME, OTEL_SDK_DISABLED', () => {
    expect(tracingOptions(['serve'], { TRACING_PROVIDER: 'otel' })).toEqual({ serviceName: 'idflow' });
    expect(tracingOptions(['serve'], { TRACING_PROVIDER: 'otel', OTEL_SERVICE_NAME: 'svc' })).toEqual({ serviceName: 'svc' });
    expect(tracingOptions(['serve'], { OTEL_TRACES_EXPORTER: 'otlp' })).toEqual({ serviceName: 'idflow' });
    expect(tracingOptions(['serve'], { OTEL_TRACES_EXPORTER: 'none' })).toBeUndefined();
    expect(tracingOptions(['serve', '--config', withTracing], { TRACING_PROVIDER: '' })).toBeUndefined();
    expect(tracingOptions(['serve', '--config', withTracing], { OTEL_SDK_DISABLED: 'true' })).toBeUndefined();
  });

  it('an unreadable config file leaves the decision to the environment (serve reports the file)', () => {
    expect(tracingOptions(['serve', '--config', join(dir, 'missing.yml')], {})).toBeUndefined();
  });
});

describe('log lines inside a traced request', () => {
  beforeAll(() => {
    context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
  });
  afterAll(() => context.disable());

  it('carry trace_id and span_id; outside a span they do not', () => {
    const lines: string[] = [];
    const logger = createLogger({ write: (line) => lines.push(line) });
    const tracer = new BasicTracerProvider().getTracer('test');
    const span = tracer.startSpan('request');
    context.with(trace.setSpan(context.active(), span), () => logger.info('inside', { password: 'p4ss' }));
    span.end();
    logger.info('outside');
    const [inside, outside] = lines.map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(inside).toMatchObject({ msg: 'inside', trace_id: span.spanContext().traceId, span_id: span.spanContext().spanId, password: '[redacted]' });
    expect(outside.trace_id).toBeUndefined();
  });
});
