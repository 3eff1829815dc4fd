/**
 * One outgoing HTTP request for web hooks and the HTTP courier, with `clients.http.disallow_private_ip_ranges`
 * enforced by the guard's socket `lookup` on the address actually connected to.
 *
 * node:http(s) rather than fetch: fetch offers no per-request hook at connection time, and checking a name's
 * addresses before calling fetch leaves a window for DNS rebinding. The HTTP instrumentation traces these requests
 * and adds `traceparent` as it would for fetch. Redirects are not followed.
 */
import http from 'node:http';
import https from 'node:https';
import type { OutboundGuard } from './outbound-guard.ts';

export interface OutboundResponse {
  status: number;
  /** The first `maxBodyBytes` of the answer, as text (the rest is drained unread). */
  text: string;
}

export class OutboundTimeoutError extends Error {
  constructor(ms: number) {
    super(`no answer within ${ms} ms`);
    this.name = 'TimeoutError';
  }
}

export function sendRequest(
  url: URL,
  options: { method: string; headers: Record<string, string>; body?: string; timeoutMs: number; guard: OutboundGuard; maxBodyBytes?: number },
): Promise<OutboundResponse> {
  options.guard.assertUrl(url);
  const headers: Record<string, string | number> = { ...options.headers };
  if (options.body !== undefined) headers['content-length'] = Buffer.byteLength(options.body);
  const maxBodyBytes = options.maxBodyBytes ?? 0;
  // Looked up on the module objects at call time: that is where the HTTP instrumentation patches `request`.
  const send = url.protocol === 'https:' ? https.request : http.request;
  return new Promise<OutboundResponse>((resolve, reject) => {
    const req = send(url, { method: options.method, headers, lookup: options.guard.lookupFor(url) }, (res) => {
      const chunks: Buffer[] = [];
      let kept = 0;
      res.on('data', (chunk: Buffer) => {
        if (kept < maxBodyBytes) {
          chunks.push(chunk.subarray(0, maxBodyBytes - kept));
          kept += Math.min(chunk.length, maxBodyBytes - kept);
        }
      });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString('utf8') }));
      res.on('error', reject);
    });
    const timer = setTimeout(() => req.destroy(new OutboundTimeoutError(options.timeoutMs)), options.timeoutMs);
    req.on('close', () => clearTimeout(timer));
    req.on('error', reject);
    req.end(options.body);
  });
}
