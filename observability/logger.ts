import { trace } from '@opentelemetry/api';

/**
 * Structured logs (JSON by default, or text). Values under keys that may carry secrets are redacted before
 * anything is written, so no password, token, code, cookie or secret reaches a log line.
 */
export type LogLevel = 'trace' | 'debug' | 'info' | 'warn' | 'error';
const ORDER: Record<LogLevel, number> = { trace: 10, debug: 20, info: 30, warn: 40, error: 50 };
const SECRET_KEY = /pass(word)?|secret|token|cookie|authorization|^code$|_code$|csrf|hash|dsn|connection_uri|private|credential/i;

export interface Logger {
  trace(msg: string, fields?: Record<string, unknown>): void;
  debug(msg: string, fields?: Record<string, unknown>): void;
  info(msg: string, fields?: Record<string, unknown>): void;
  warn(msg: string, fields?: Record<string, unknown>): void;
  error(msg: string, fields?: Record<string, unknown>): void;
  child(fields: Record<string, unknown>): Logger;
}

export interface LoggerOptions {
  level?: string;
  format?: 'json' | 'text';
  write?: (line: string) => void;
  base?: Record<string, unknown>;
}

export function normalizeLevel(level: string | undefined): LogLevel {
  switch (level) {
    case 'trace': case 'debug': case 'info': case 'error': return level;
    case 'warn': case 'warning': return 'warn';
    case 'fatal': case 'panic': return 'error';
    default: return 'info';
  }
}

export function redact(value: unknown, depth = 0): unknown {
  if (depth > 6) return '[depth]';
  if (Array.isArray(value)) return value.map((v) => redact(v, depth + 1));
  if (value instanceof Error) return { name: value.name, message: value.message };
  if (value && typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const [key, inner] of Object.entries(value)) {
      out[key] = SECRET_KEY.test(key) ? '[redacted]' : redact(inner, depth + 1);
    }
    return out;
  }
  return value;
}

export function createLogger(options: LoggerOptions = {}): Logger {
  const min = ORDER[normalizeLevel(options.level)];
  const format = options.format ?? 'json';
  const write = options.write ?? ((line: string) => process.stderr.write(line + '\n'));
  const base = options.base ?? {};
  const emit = (level: LogLevel, msg: string, fields?: Record<string, unknown>) => {
    if (ORDER[level] < min) return;
    // Inside a traced request, the line carries its trace and span id (only when tracing is on: no-op spans are invalid).
    const span = trace.getActiveSpan()?.spanContext();
    const ids = span && span.traceId !== '00000000000000000000000000000000' ? { trace_id: span.traceId, span_id: span.spanId } : {};
    const record = { time: new Date().toISOString(), level, msg, ...ids, ...(redact({ ...base, ...fields }) as object) };
    if (format === 'json') {
      write(JSON.stringify(record));
    } else {
      const extra = Object.entries(record).filter(([k]) => !['time', 'level', 'msg'].includes(k))
        .map(([k, v]) => `${k}=${typeof v === 'string' ? v : JSON.stringify(v)}`).join(' ');
      write(`${record.time} ${level.toUpperCase()} ${msg}${extra ? ' ' + extra : ''}`);
    }
  };
  return {
    trace: (m, f) => emit('trace', m, f),
    debug: (m, f) => emit('debug', m, f),
    info: (m, f) => emit('info', m, f),
    warn: (m, f) => emit('warn', m, f),
    error: (m, f) => emit('error', m, f),
    child: (fields) => createLogger({ ...options, base: { ...base, ...fields } }),
  };
}
