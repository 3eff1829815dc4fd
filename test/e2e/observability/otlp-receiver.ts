import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { gunzipSync } from 'node:zlib';

/** A span as received over OTLP/HTTP JSON, flattened. */
export interface ReceivedSpan {
  traceId: string;
  spanId: string;
  parentSpanId: string;
  name: string;
  kind: number;
  scope: string;
  service: string;
  attributes: Record<string, unknown>;
  events: Array<{ name: string; attributes: Record<string, unknown> }>;
  /** The span as it was received, for searching secrets in everything. */
  raw: unknown;
}

interface KeyValue { key: string; value: Record<string, unknown> }

function anyValue(value: Record<string, unknown> | undefined): unknown {
  if (!value) return undefined;
  if ('stringValue' in value) return value.stringValue;
  if ('intValue' in value) return Number(value.intValue);
  if ('doubleValue' in value) return value.doubleValue;
  if ('boolValue' in value) return value.boolValue;
  if ('arrayValue' in value) return ((value.arrayValue as { values?: Array<Record<string, unknown>> }).values ?? []).map(anyValue);
  return value;
}

const attributes = (list: KeyValue[] | undefined) => Object.fromEntries((list ?? []).map((kv) => [kv.key, anyValue(kv.value)]));

/** An OTLP/HTTP receiver on loopback accepting `POST /v1/traces` in the JSON encoding (`http/json`). */
export class OtlpReceiver {
  readonly spans: ReceivedSpan[] = [];
  readonly bodies: string[] = [];
  /** Every other request (e.g. the HTTP courier's), with its headers and body. */
  readonly requests: Array<{ method: string; url: string; headers: Record<string, string | string[] | undefined>; body: string }> = [];
  readonly #server: Server;
  #waiters: Array<() => void> = [];

  constructor() {
    this.#server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        let body = Buffer.concat(chunks);
        if (req.method !== 'POST' || req.url !== '/v1/traces') {
          this.requests.push({ method: req.method ?? '', url: req.url ?? '', headers: req.headers, body: body.toString('utf8') });
          res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
          for (const wake of this.#waiters.splice(0)) wake();
          return;
        }
        if (req.headers['content-encoding'] === 'gzip') body = gunzipSync(body);
        if (!String(req.headers['content-type']).includes('json')) {
          res.writeHead(415).end();
          return;
        }
        const text = body.toString('utf8');
        this.bodies.push(text);
        this.#ingest(JSON.parse(text));
        res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
        for (const wake of this.#waiters.splice(0)) wake();
      });
    });
  }

  #ingest(payload: { resourceSpans?: Array<{ resource?: { attributes?: KeyValue[] }; scopeSpans?: Array<{ scope?: { name?: string }; spans?: Array<Record<string, unknown>> }> }> }) {
    for (const rs of payload.resourceSpans ?? []) {
      const service = String(attributes(rs.resource?.attributes)['service.name'] ?? '');
      for (const ss of rs.scopeSpans ?? []) {
        for (const span of ss.spans ?? []) {
          this.spans.push({
            traceId: String(span.traceId), spanId: String(span.spanId), parentSpanId: String(span.parentSpanId ?? ''),
            name: String(span.name), kind: Number(span.kind), scope: ss.scope?.name ?? '', service,
            attributes: attributes(span.attributes as KeyValue[]),
            events: ((span.events as Array<{ name: string; attributes?: KeyValue[] }>) ?? []).map((e) => ({ name: e.name, attributes: attributes(e.attributes) })),
            raw: span,
          });
        }
      }
    }
  }

  async listen(): Promise<string> {
    await new Promise<void>((resolve) => this.#server.listen(0, '127.0.0.1', resolve));
    return `http://127.0.0.1:${(this.#server.address() as AddressInfo).port}`;
  }

  /** Resolves once `predicate` holds for the spans received so far. */
  async waitFor(predicate: (spans: ReceivedSpan[]) => boolean, timeoutMs = 15_000): Promise<ReceivedSpan[]> {
    const deadline = Date.now() + timeoutMs;
    while (!predicate(this.spans)) {
      if (Date.now() > deadline) throw new Error(`spans not received in time; got: ${this.spans.map((s) => s.name).join(', ')}`);
      await new Promise<void>((resolve) => {
        this.#waiters.push(resolve);
        setTimeout(resolve, 200);
      });
    }
    return this.spans;
  }

  close(): Promise<void> {
    return new Promise((resolve) => {
      this.#server.close(() => resolve());
      this.#server.closeAllConnections();
    });
  }
}
