/**
 * What the bench files share: building and starting compiled idflow with the bench config, native API sign-ups,
 * saturating a route with autocannon, waiting for a spawned server's line, whoami's latency histogram from /metrics,
 * the Express hello-world baseline and the Better Auth peer as processes of their own, scratch PostgreSQL databases
 * and CPU time from /proc.
 */
import autocannon from 'autocannon';
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import http, { type IncomingHttpHeaders } from 'node:http';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { rotatingHeaders, type RotatingHeader } from './open-loop.ts';

/** This checkout (the folder with package.json). */
const root = fileURLToPath(new URL('../', import.meta.url));

export const median = (values: number[]): number => {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length === 0 ? NaN : sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
};

/** Compiles the checkout at `checkout` into its dist/ (`npm run build`), with this checkout's TypeScript. */
export function buildIdflow(checkout: string = root): void {
  execFileSync(process.execPath, [join(root, 'node_modules/typescript/bin/tsc'), '-p', 'tsconfig.build.json'], { cwd: checkout, stdio: 'inherit' });
}

/**
 * Writes the bench's idflow config to `file`: `dsn`, ports chosen by the system, rate limits off (so the load is not
 * refused), breached-password check off (so registration is not waiting on a range service), a session on
 * registration.
 */
export function writeIdflowConfig(file: string, dsn: string): void {
  writeFileSync(file, [
    `dsn: "${dsn}"`,
    'serve: { public: { host: 127.0.0.1, port: 0 }, admin: { host: 127.0.0.1, port: 0 } }',
    'secrets: { cookie: ["bench-cookie-secret-0123456789"], cipher: ["0123456789abcdef0123456789abcdef"] }',
    'identity: { default_schema_id: default, schemas: [{ id: default, url: "file://' + join(root, 'schemas/default.schema.json') + '" }] }',
    'selfservice: { default_browser_return_url: "http://127.0.0.1:4455/", methods: { password: { config: { haveibeenpwned_enabled: false } } }, flows: { registration: { after: { password: { hooks: [{ hook: session }] } } } } }',
    'rate_limit: { enabled: false }',
    'log: { level: warning }',
  ].join('\n'));
}

/** `idflow migrate sql <dsn> --yes` with the compiled build of `checkout`. */
export function migrateIdflow(dsn: string, checkout: string = root): void {
  execFileSync(process.execPath, [join(checkout, 'dist/src/main.js'), 'migrate', 'sql', dsn, '--yes'], { stdio: 'ignore' });
}

/** `idflow serve --config <config>` with the compiled build of `checkout`, in a process of its own (`nodeArgs` first). */
export function spawnIdflow(config: string, checkout: string = root, nodeArgs: string[] = []): ChildProcess {
  return spawn(process.execPath, [...nodeArgs, join(checkout, 'dist/src/main.js'), 'serve', '--config', config], { env: { ...process.env, LOG_LEVEL: 'info' } });
}

/** The public and admin base URLs a spawned idflow logs once it listens. */
export async function idflowListening(idflow: ChildProcess): Promise<{ publicAddress: string; adminAddress: string }> {
  const [, publicAddress, adminAddress] = await waitForLine(idflow, /"msg":"public API listening","address":"([^"]+)"[^\n]*\n[^\n]*"msg":"admin API listening","address":"([^"]+)"/);
  return { publicAddress, adminAddress };
}

/** A response as the bench's client reads it: status, headers and the whole body as text. */
export interface Answer { status: number; headers: IncomingHttpHeaders; text: string }

const keepAlive = new http.Agent({ keepAlive: true });

/**
 * The load generators' HTTP client: node:http over kept-alive connections (sequential calls reuse one), not fetch.
 * The bench's client runs on the same two cores as the servers it measures, so its CPU is taken from them: measured
 * here against an Express echo, fetch (undici) took 0.47–0.72 ms of CPU per JSON POST and node:http 0.12–0.27 ms, and
 * a sequential round trip 0.70–0.82 ms against 0.40–0.48 ms. Every server in a comparison gets the same client.
 */
export function request(url: string, init: { method?: 'GET' | 'POST'; headers?: Record<string, string>; json?: unknown } = {}): Promise<Answer> {
  const body = init.json === undefined ? undefined : JSON.stringify(init.json);
  const headers: Record<string, string> = { ...init.headers };
  if (body !== undefined) {
    headers['content-type'] = 'application/json';
    headers['content-length'] = String(Buffer.byteLength(body));
  }
  return new Promise((resolve, reject) => {
    const req = http.request(url, { method: init.method ?? (body === undefined ? 'GET' : 'POST'), headers, agent: keepAlive }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, text: Buffer.concat(chunks).toString('utf8') }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(body);
  });
}

/** A new native API flow's id. */
async function createNativeFlow(publicAddress: string, flowKind: 'registration' | 'login'): Promise<string> {
  return (JSON.parse((await request(`${publicAddress}/self-service/${flowKind}/api`)).text) as { id: string }).id;
}

/** One native API flow (create + submit); resolves to the session token of the answer. */
export async function submit(publicAddress: string, flowKind: 'registration' | 'login', body: object): Promise<string> {
  const flowId = await createNativeFlow(publicAddress, flowKind);
  const response = await request(`${publicAddress}/self-service/${flowKind}?flow=${flowId}`, { json: body });
  const answer = JSON.parse(response.text) as { session_token?: string };
  if (response.status !== 200 || !answer.session_token) throw new Error(`${flowKind}: ${response.status} ${response.text.slice(0, 300)}`);
  return answer.session_token;
}

/**
 * A native login flow, created now; the function sends its password login and resolves to how long that took, in ms
 * (the flow's creation is not timed). Throws unless the login answered 200.
 */
export async function timedLogin(publicAddress: string, identifier: string, password: string): Promise<() => Promise<number>> {
  const flowId = await createNativeFlow(publicAddress, 'login');
  return async () => {
    const started = performance.now();
    const response = await request(`${publicAddress}/self-service/login?flow=${flowId}`, { json: { method: 'password', identifier, password } });
    const elapsed = performance.now() - started;
    if (response.status !== 200) throw new Error(`login on ${publicAddress}: ${response.status} ${response.text.slice(0, 300)}`);
    return elapsed;
  };
}

export type HeadersFor = (index: number) => Record<string, string>;

/** idflow's session header, rotating through `tokens` from `offset` on. */
export const sessionTokens = (tokens: string[], offset = 0): RotatingHeader => ({ name: 'x-session-token', values: tokens, offset });
export const sessionToken = (tokens: string[], offset = 0): HeadersFor => rotatingHeaders(sessionTokens(tokens, offset));

/** Requests per second, client-side p99 in ms, and requests completed. */
export interface LoadResult { rps: number; p99: number; requests: number }

/** GETs `url` for `seconds` over `connections` (default 50) autocannon connections; throws on any non-2xx or error. */
export async function saturate(url: string, headers: HeadersFor, seconds: number, connections = 50): Promise<LoadResult> {
  let i = 0;
  const result = await autocannon({
    url, connections, duration: seconds,
    requests: [{ method: 'GET', setupRequest: (req) => ({ ...req, headers: { ...req.headers, ...headers(i++) } }) }],
  });
  if (result.non2xx > 0 || result.errors > 0) throw new Error(`${url}: ${result.non2xx} non-2xx, ${result.errors} errors`);
  return { rps: result.requests.average, p99: result.latency.p99, requests: result.requests.total };
}

export function waitForLine(child: ChildProcess, pattern: RegExp): Promise<RegExpExecArray> {
  return new Promise((resolve, reject) => {
    let buffer = '';
    const timer = setTimeout(() => reject(new Error(`no match for ${pattern} in: ${buffer}`)), 30_000);
    const onData = (chunk: Buffer) => {
      buffer += chunk.toString();
      const match = pattern.exec(buffer);
      if (match) {
        clearTimeout(timer);
        resolve(match);
      }
    };
    child.stdout?.on('data', onData);
    child.stderr?.on('data', onData);
    child.on('exit', (code) => reject(new Error(`process exited ${code}: ${buffer}`)));
  });
}

/** Cumulative bucket counts of `idflow_http_request_duration_seconds` for GET /sessions/whoami with status 200. */
export async function whoamiBuckets(adminAddress: string): Promise<Map<number, number>> {
  const text = await fetch(`${adminAddress}/admin/metrics/prometheus`).then((r) => r.text());
  const buckets = new Map<number, number>();
  for (const line of text.split('\n')) {
    if (!line.startsWith('idflow_http_request_duration_seconds_bucket{')) continue;
    if (!line.includes('route="/sessions/whoami"') || !line.includes('status_code="200"') || !line.includes('method="GET"')) continue;
    const le = /le="([^"]+)"/.exec(line)?.[1];
    if (le) buckets.set(le === '+Inf' ? Infinity : Number(le), Number(line.slice(line.lastIndexOf(' ') + 1)));
  }
  return buckets;
}

/**
 * The longest event-loop delay the server saw since the previous call, in ms: prom-client's
 * `nodejs_eventloop_lag_max_seconds` (perf_hooks' delay histogram, reset at every scrape). Scraped right before a
 * phase and right after it, it tells a server that stalled from a machine that did.
 */
export async function eventLoopMaxMs(adminAddress: string): Promise<number | undefined> {
  const text = await fetch(`${adminAddress}/admin/metrics/prometheus`).then((r) => r.text());
  const line = text.split('\n').find((l) => l.startsWith('nodejs_eventloop_lag_max_seconds '));
  return line ? Number(line.slice(line.lastIndexOf(' ') + 1)) * 1000 : undefined;
}

/** An Express 5 hello-world route in a process of its own (the baseline whoami is compared with); it prints its port. */
export function spawnHello(root: string): ChildProcess {
  return spawn(process.execPath, ['--input-type=module', '-e', `
    import express from 'express';
    const app = express();
    app.disable('x-powered-by');
    app.get('/hello', (_req, res) => res.json({ hello: 'world' }));
    const server = app.listen(0, '127.0.0.1', () => console.log('hello listening on ' + server.address().port));
  `], { cwd: root });
}

/**
 * Better Auth at its defaults (bench/peers/better-auth-server.ts) in a process of its own, on a SQLite file or a
 * PostgreSQL URL; it prints `better-auth listening on <port>`.
 */
export function spawnBetterAuth(root: string, database: 'sqlite' | 'postgresql', dsn: string): ChildProcess {
  return spawn(process.execPath, ['--import', 'tsx', join(root, 'bench/peers/better-auth-server.ts')], {
    cwd: root,
    env: { ...process.env, BETTER_AUTH_DATABASE: database, BETTER_AUTH_DSN: dsn, BETTER_AUTH_TELEMETRY: '0' },
  });
}

/** Stops a spawned server and waits for it to exit. */
export async function stop(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((resolve) => child.once('exit', resolve));
  child.kill('SIGTERM');
  await exited;
}

/** Thrown by withScratchDatabase when the database cannot even be created (PostgreSQL unreachable, say). */
export class ScratchDatabaseUnavailable extends Error {}

let scratchCount = 0;

async function adminQuery(adminUrl: string, sql: string): Promise<void> {
  const client = new pg.Client({ connectionString: adminUrl, connectionTimeoutMillis: 10_000 });
  await client.connect();
  try {
    await client.query(sql);
  } finally {
    await client.end();
  }
}

/** Runs `use` with the URL of a PostgreSQL database created for it, and drops the database after (FORCE). */
export async function withScratchDatabase<T>(adminUrl: string, prefix: string, use: (url: string) => Promise<T>): Promise<T> {
  const name = `${prefix}_${process.pid}_${Date.now().toString(36)}_${scratchCount++}`;
  try {
    await adminQuery(adminUrl, `CREATE DATABASE ${name}`);
  } catch (err) {
    const message = (err as Error).message || (err as NodeJS.ErrnoException).code || String(err);
    throw new ScratchDatabaseUnavailable(message.split('\n')[0], { cause: err });
  }
  try {
    const url = new URL(adminUrl);
    url.pathname = `/${name}`;
    return await use(url.toString());
  } finally {
    await adminQuery(adminUrl, `DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
  }
}

/** CPU time in ms (user + system) so far: a process's main thread, its other threads, and all PostgreSQL processes. */
export interface CpuSnapshot { main: number; otherThreads: number; postgres: number; self: number }

let clockTicks: number | undefined;
const ticksToMs = (ticks: number) => (ticks * 1000) / (clockTicks ??= Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100);

/**
 * utime + stime of /proc/…/stat (fields 14 and 15; the command name may hold spaces, so count after its ')'), plus
 * cutime + cstime (16 and 17: its children that exited and were waited for) when `withChildren`.
 */
const statTicks = (path: string, withChildren = false): number => {
  const stat = readFileSync(path, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return Number(fields[11]) + Number(fields[12]) + (withChildren ? Number(fields[13]) + Number(fields[14]) : 0);
};

/**
 * The whole machine's busy CPU time in ms so far, all CPUs together (/proc/stat: user, nice, system, irq, softirq and
 * steal, i.e. all but idle and iowait); undefined without /proc.
 */
export function machineBusyMs(): number | undefined {
  try {
    const [user, nice, system, , , irq, softirq, steal] = readFileSync('/proc/stat', 'utf8').split('\n')[0].trim().split(/\s+/).slice(1, 9).map(Number);
    const busy = user + nice + system + irq + softirq + steal;
    return Number.isFinite(busy) ? ticksToMs(busy) : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Linux only (/proc); undefined elsewhere. PostgreSQL's processes are read only when `withPostgres` (else 0); their
 * children's time counts too, so a backend or autovacuum worker that exits between two snapshots moves its CPU into
 * the postmaster's instead of taking it out of the sum.
 */
export function cpuSnapshot(pid: number, withPostgres: boolean): CpuSnapshot | undefined {
  try {
    let main = 0;
    let otherThreads = 0;
    for (const task of readdirSync(`/proc/${pid}/task`)) {
      const ticks = statTicks(`/proc/${pid}/task/${task}/stat`);
      if (Number(task) === pid) main += ticks;
      else otherThreads += ticks;
    }
    let postgres = 0;
    for (const entry of withPostgres ? readdirSync('/proc') : []) {
      if (!/^\d+$/.test(entry)) continue;
      try {
        if (readFileSync(`/proc/${entry}/comm`, 'utf8').trim() === 'postgres') postgres += statTicks(`/proc/${entry}/stat`, true);
      } catch {
        // gone meanwhile
      }
    }
    const self = process.cpuUsage();
    return { main: ticksToMs(main), otherThreads: ticksToMs(otherThreads), postgres: ticksToMs(postgres), self: (self.user + self.system) / 1000 };
  } catch {
    return undefined;
  }
}
