/**
 * What the bench files share: waiting for a spawned server's line, whoami's latency histogram from /metrics, the
 * Express hello-world baseline and the Better Auth peer as processes of their own, and scratch PostgreSQL databases.
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import pg from 'pg';

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

/** utime + stime of /proc/…/stat (fields 14 and 15; the command name may hold spaces, so count after its ')'). */
const statTicks = (path: string): number => {
  const stat = readFileSync(path, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return Number(fields[11]) + Number(fields[12]);
};

/** Linux only (/proc); undefined elsewhere. PostgreSQL's processes are read only when `withPostgres` (else 0). */
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
        if (readFileSync(`/proc/${entry}/comm`, 'utf8').trim() === 'postgres') postgres += statTicks(`/proc/${entry}/stat`);
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
