/**
 * An open-loop load generator: requests are due at evenly spaced instants (`rate` per second) over up to
 * `connections` keep-alive sockets, whatever the server's pace, and each latency is measured from the instant the
 * request was DUE, not from when a free socket let it go (so a stalled server cannot hide its stall: no coordinated
 * omission). autocannon's `overallRate` releases each second's quota in a burst, which measures its own burst, not
 * the server; this measures the server at a steady offered load.
 */
import { Agent, request } from 'node:http';
import { Worker, isMainThread, parentPort, workerData } from 'node:worker_threads';

export interface OpenLoopResult {
  sent: number;
  failed: number;
  p50: number;
  p99: number;
  max: number;
}

/** Requests per second, for how long, over at most how many keep-alive sockets. */
export interface OpenLoopLoad { rate: number; seconds: number; connections: number }

/** `headers` may be a function of the request's index (0, 1, …), e.g. to rotate session tokens. */
export async function openLoop(url: string, options: OpenLoopLoad & { headers?: Record<string, string> | ((index: number) => Record<string, string>) }): Promise<OpenLoopResult> {
  const agent = new Agent({ keepAlive: true, maxSockets: options.connections });
  const target = new URL(url);
  const latencies: number[] = [];
  let failed = 0;
  let inFlight = 0;
  const total = Math.round(options.rate * options.seconds);
  const interval = 1000 / options.rate;
  const start = performance.now();
  let issued = 0;

  const headersFor = typeof options.headers === 'function' ? options.headers : () => options.headers as Record<string, string> | undefined;
  const fire = (index: number, due: number) => {
    inFlight++;
    const req = request({ agent, host: target.hostname, port: target.port, path: target.pathname + target.search, headers: headersFor(index) }, (res) => {
      res.resume();
      res.on('end', () => {
        latencies.push(performance.now() - due);
        if (res.statusCode !== 200) failed++;
        inFlight--;
      });
    });
    req.on('error', () => {
      failed++;
      inFlight--;
    });
    req.end();
  };

  await new Promise<void>((resolve) => {
    const tick = () => {
      const now = performance.now();
      while (issued < total && start + issued * interval <= now) {
        fire(issued, start + issued * interval);
        issued++;
      }
      if (issued < total) setTimeout(tick, 1); // ~1 ms steps: a busy loop would take the core the servers need
      else resolve();
    };
    tick();
  });
  while (inFlight > 0) await new Promise((resolve) => setTimeout(resolve, 5));
  agent.destroy();

  latencies.sort((a, b) => a - b);
  const at = (q: number) => latencies[Math.min(latencies.length - 1, Math.floor(q * latencies.length))] ?? NaN;
  return { sent: issued, failed, p50: at(0.5), p99: at(0.99), max: latencies[latencies.length - 1] ?? NaN };
}

/** Request headers that rotate through `values` under one header name (plain data: it crosses to a worker thread). */
export interface RotatingHeader {
  name: string;
  values: string[];
  offset?: number;
}

/** The headers of request `index`: the next value, from `offset` on. */
export const rotatingHeaders = ({ name, values, offset = 0 }: RotatingHeader) => (index: number): Record<string, string> => ({ [name]: values[(index + offset) % values.length] });

type OwnThreadLoad = OpenLoopLoad & { header: RotatingHeader };

/**
 * `openLoop` on a worker thread of its own. Use it while the same process also drives another load (a login storm):
 * on the main thread, that load's JavaScript would delay this generator's own timers and response callbacks, and
 * those delays would be counted as the server's latency.
 */

export async function openLoopOnOwnThread(url: string, options: OwnThreadLoad): Promise<OpenLoopResult> {
  // The bench runs under tsx, whose loader a worker does not inherit: the worker registers it, then loads this file.
  const source = `import('tsx/esm/api').then((tsx) => { tsx.register(); return import(${JSON.stringify(import.meta.url)}); })`;
  const worker = new Worker(source, { eval: true, workerData: { openLoop: { url, options } } });
  try {
    return await new Promise<OpenLoopResult>((resolve, reject) => {
      worker.once('message', resolve);
      worker.once('error', reject);
      worker.once('exit', (code) => reject(new Error(`open-loop worker exited (${code}) before it answered`)));
    });
  } finally {
    await worker.terminate();
  }
}

if (!isMainThread && (workerData as { openLoop?: unknown } | null)?.openLoop) {
  const { url, options } = (workerData as { openLoop: { url: string; options: OwnThreadLoad } }).openLoop;
  const result = await openLoop(url, { ...options, headers: rotatingHeaders(options.header) });
  parentPort!.postMessage(result);
}
