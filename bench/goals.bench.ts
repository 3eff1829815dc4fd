/**
 * The goal table of issue 16: every performance goal measured side by side in one run on this machine, printed as
 * goal / measured / target / met, and written as JSON to BENCH_JSON (default: <os.tmpdir()>/idflow-bench-goals.json;
 * a path inside the repository is refused).
 *
 * Per database (SQLite file, then PostgreSQL at BENCH_DATABASE_URL, default postgres://postgres@127.0.0.1:5432/postgres,
 * in a scratch database created and dropped here), one compiled idflow process (`rate_limit.enabled: false`, so the
 * load is not refused; breached-password check off, so registration is not waiting on a range service):
 * - the native argon2id ceiling: the hasher idflow builds from the same config, as many streams as cores, in this
 *   process with no server busy, measured right before that database's phases;
 * - registration and login throughput: CLIENTS closed-loop clients (create flow + submit, API flows); logins run
 *   until, with the registrations, at least TOKENS distinct session tokens exist (more than whoami's 1,024-entry
 *   per-token memo holds);
 * - one login over one connection: the submit's median latency, sequential, minus the median time of one hash;
 * - whoami vs an Express 5 hello-world route: alternating saturated rounds (autocannon, 50 connections, each
 *   request with the next session token, the hello route gets the same header), then p99 of each at a steady
 *   offered load of 40 % of the slower route's throughput (open loop, bench/open-loop.ts);
 * - whoami p99 while CLIENTS clients log in without pause (steady whoami load of STORM_RATE req/s, rotating tokens),
 *   with the server's own histogram (share within 25 ms: it cannot see time spent before the route runs) and, as a
 *   control, the hello route's p99 at the same load during the same storm;
 * - RSS (VmRSS) 1 s after start-up and after all of the above, and the peak (VmHWM).
 * Precision is not the point: each phase is a few seconds. Client-side latencies include this process's own
 * scheduling on a machine it shares with the servers.
 */
import autocannon from 'autocannon';
import { openLoop } from './open-loop.ts';
import { spawn, execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { availableParallelism, cpus, tmpdir } from 'node:os';
import { join, relative, resolve, isAbsolute } from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadConfig } from '../config/load-config.ts';
import { createPasswordHasher, type PasswordHasher } from '../src/hash/index.ts';
import { openOrm } from '../src/persistence/orm.ts';
import { spawnHello, waitForLine, whoamiBuckets } from './bench-support.ts';

const root = fileURLToPath(new URL('../', import.meta.url));
const SECONDS = Number(process.env.BENCH_SECONDS ?? 3);
const CORES = availableParallelism();
const CLIENTS = Number(process.env.BENCH_CLIENTS ?? CORES * 4);
const TOKENS = Number(process.env.BENCH_TOKENS ?? 1100);
const STORM_RATE = Number(process.env.BENCH_STORM_RATE ?? 100);
const CONNECTIONS = 50;
const PASSWORD = 'bench passphrase 12345';
const PG_URL = process.env.BENCH_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
const JSON_PATH = resolve(process.env.BENCH_JSON ?? join(tmpdir(), 'idflow-bench-goals.json'));

const median = (values: number[]) => {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length === 0 ? NaN : sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
};
const mib = (kib: number) => kib / 1024;

/** VmRSS and VmHWM (peak) of a process, in KiB (Linux). */
function memory(pid: number): { rss: number; peak: number } {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const field = (name: string) => Number(new RegExp(`^${name}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? NaN);
  return { rss: field('VmRSS'), peak: field('VmHWM') };
}

/** Hashes per second with `streams` concurrent hashes for `seconds`. */
async function hashRate(hasher: PasswordHasher, streams: number, seconds: number): Promise<number> {
  const started = performance.now();
  const deadline = started + seconds * 1000;
  let count = 0;
  await Promise.all(Array.from({ length: streams }, async (_, s) => {
    while (performance.now() < deadline) {
      await hasher.hash(`ceiling-${s}-${count}`);
      count++;
    }
  }));
  return (count * 1000) / (performance.now() - started);
}

interface LoopResult { count: number; perSecond: number; failures: number }

/** `clients` concurrent loops of `step` until `done()` says stop; a failed step is counted, not retried. */
async function closedLoop(clients: number, step: (i: number) => Promise<void>, done: (elapsedMs: number, count: number) => boolean): Promise<LoopResult> {
  const started = performance.now();
  let next = 0;
  let count = 0;
  let failures = 0;
  let firstError: unknown;
  await Promise.all(Array.from({ length: clients }, async () => {
    while (!done(performance.now() - started, count)) {
      try {
        await step(next++);
        count++;
      } catch (err) {
        failures++;
        firstError ??= err;
        if (failures > 20) throw firstError;
      }
    }
  }));
  return { count, perSecond: (count * 1000) / (performance.now() - started), failures };
}

async function submit(publicAddress: string, flowKind: 'registration' | 'login', body: object): Promise<string> {
  const flowResponse = await fetch(`${publicAddress}/self-service/${flowKind}/api`);
  const flow = await flowResponse.json() as { id: string };
  const response = await fetch(`${publicAddress}/self-service/${flowKind}?flow=${flow.id}`, {
    method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body),
  });
  const answer = await response.json() as { session_token?: string };
  if (response.status !== 200 || !answer.session_token) throw new Error(`${flowKind}: ${response.status} ${JSON.stringify(answer).slice(0, 300)}`);
  return answer.session_token;
}

interface Saturated { rps: number; p99: number }

async function saturate(url: string, tokens: string[], seconds: number): Promise<Saturated> {
  let i = 0;
  const result = await autocannon({
    url, connections: CONNECTIONS, duration: seconds,
    requests: [{ method: 'GET', setupRequest: (req) => ({ ...req, headers: { ...req.headers, 'x-session-token': tokens[i++ % tokens.length] } }) }],
  });
  if (result.non2xx > 0 || result.errors > 0) throw new Error(`${url}: ${result.non2xx} non-2xx, ${result.errors} errors`);
  return { rps: result.requests.average, p99: result.latency.p99 };
}

const shareWithin = (before: Map<number, number>, after: Map<number, number>, le: number): number | undefined => {
  const count = (after.get(Infinity) ?? 0) - (before.get(Infinity) ?? 0);
  if (!after.has(le) || count <= 0) return undefined;
  return ((after.get(le) ?? 0) - (before.get(le) ?? 0)) / count;
};

interface DatabaseFigures {
  database: 'sqlite' | 'postgresql';
  ceilingPerSecond: number;
  oneHashMs: number;
  registration: LoopResult;
  login: LoopResult;
  tokens: number;
  oneLoginMs: number;
  hello: Saturated;
  whoami: Saturated;
  whoamiRatio: number;
  steadyRate: number;
  helloSteadyP99: number;
  whoamiSteadyP99: number;
  storm: { loginsPerSecond: number; whoamiP99: number; whoamiMax: number; helloP99: number; serverShareWithin25ms?: number };
  rssIdleMiB: number;
  rssAfterLoadMiB: number;
  rssPeakMiB: number;
}

async function measureDatabase(database: 'sqlite' | 'postgresql', dsn: string, dir: string, helloUrl: string): Promise<DatabaseFigures> {
  const config = join(dir, `idflow-${database}.yml`);
  writeFileSync(config, [
    `dsn: "${dsn}"`,
    'serve: { public: { host: 127.0.0.1, port: 0 }, admin: { host: 127.0.0.1, port: 0 } }',
    'secrets: { cookie: ["bench-cookie-secret-0123456789"], cipher: ["0123456789abcdef0123456789abcdef"] }',
    'identity: { default_schema_id: default, schemas: [{ id: default, url: "file://' + join(root, 'schemas/default.schema.json') + '" }] }',
    'selfservice: { default_browser_return_url: "http://127.0.0.1:4455/", methods: { password: { config: { haveibeenpwned_enabled: false } } }, flows: { registration: { after: { password: { hooks: [{ hook: session }] } } } } }',
    'rate_limit: { enabled: false }',
    'log: { level: warning }',
  ].join('\n'));
  execFileSync(process.execPath, [join(root, 'dist/src/main.js'), 'migrate', 'sql', dsn, '--yes'], { stdio: 'ignore' });

  // The ceiling: the hasher idflow builds from this very config (native argon2id if present), all cores busy.
  const hasher = createPasswordHasher(loadConfig({ file: config, env: {} }).config.hashers);
  let ceilingPerSecond: number;
  let oneHashMs: number;
  try {
    await hasher.warm();
    await Promise.all(Array.from({ length: CORES }, (_, i) => hasher.hash(`warm-${i}`)));
    ceilingPerSecond = await hashRate(hasher, CORES, SECONDS);
    const times: number[] = [];
    for (let i = 0; i < 15; i++) {
      const t = performance.now();
      await hasher.hash(`one-${i}`);
      times.push(performance.now() - t);
    }
    oneHashMs = median(times);
  } finally {
    await hasher.close();
  }

  const idflow = spawn(process.execPath, [join(root, 'dist/src/main.js'), 'serve', '--config', config], { env: { ...process.env, LOG_LEVEL: 'info' } });
  try {
    const [, publicAddress, adminAddress] = await waitForLine(idflow, /"msg":"public API listening","address":"([^"]+)"[^\n]*\n[^\n]*"msg":"admin API listening","address":"([^"]+)"/);
    await new Promise((r) => setTimeout(r, 1000));
    const rssIdleMiB = mib(memory(idflow.pid!).rss);

    const tokens: string[] = [];
    const email = (i: number) => `bench-${database}-${i}@example.com`;
    // Warm-up (JIT, first queries), not counted.
    tokens.push(await submit(publicAddress, 'registration', { method: 'password', traits: { email: email(0) }, password: PASSWORD }));
    let users = 1;

    const registration = await closedLoop(CLIENTS, async () => {
      const i = users++;
      tokens.push(await submit(publicAddress, 'registration', { method: 'password', traits: { email: email(i) }, password: PASSWORD }));
    }, (elapsed) => elapsed >= SECONDS * 1000);
    const registered = users;
    const login = (i: number) => submit(publicAddress, 'login', { method: 'password', identifier: email(i % registered), password: PASSWORD });

    // Logins until there are TOKENS distinct sessions (at least SECONDS): the throughput is over that whole phase.
    const logins = await closedLoop(CLIENTS, async (i) => { tokens.push(await login(i)); },
      (elapsed) => elapsed >= SECONDS * 1000 && tokens.length >= TOKENS);

    // One login over one connection: sequential submits (the flow is created before the clock starts).
    const loginTimes: number[] = [];
    for (let i = 0; i < 15; i++) {
      const flow = await fetch(`${publicAddress}/self-service/login/api`).then((r) => r.json()) as { id: string };
      const t = performance.now();
      const response = await fetch(`${publicAddress}/self-service/login?flow=${flow.id}`, {
        method: 'POST', headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ method: 'password', identifier: email(i), password: PASSWORD }),
      });
      await response.arrayBuffer();
      loginTimes.push(performance.now() - t);
      if (response.status !== 200) throw new Error(`single login: ${response.status}`);
    }

    // whoami vs hello, saturated, alternating rounds; then p99 of each at the same steady offered load.
    const whoamiUrl = `${publicAddress}/sessions/whoami`;
    await saturate(helloUrl, tokens, 1);
    await saturate(whoamiUrl, tokens, 1);
    const rounds: Array<{ hello: Saturated; whoami: Saturated }> = [];
    for (let round = 0; round < 2; round++) {
      rounds.push({ hello: await saturate(helloUrl, tokens, SECONDS), whoami: await saturate(whoamiUrl, tokens, SECONDS) });
    }
    const whoamiRatio = median(rounds.map((r) => r.whoami.rps / r.hello.rps));
    const pick = (which: 'hello' | 'whoami'): Saturated => ({ rps: median(rounds.map((r) => r[which].rps)), p99: median(rounds.map((r) => r[which].p99)) });
    const hello = pick('hello');
    const whoami = pick('whoami');
    // A load both routes can bear (40 % of the slower one's saturated throughput), so p99 measures the server, not a queue.
    const steadyRate = Math.round(Math.min(hello.rps, whoami.rps) * 0.4);
    const rotate = (offset: number) => (i: number) => ({ 'x-session-token': tokens[(i + offset) % tokens.length] });
    const helloSteady = await openLoop(helloUrl, { rate: steadyRate, seconds: SECONDS, connections: CONNECTIONS, headers: rotate(0) });
    const whoamiSteady = await openLoop(whoamiUrl, { rate: steadyRate, seconds: SECONDS, connections: CONNECTIONS, headers: rotate(0) });
    if (helloSteady.failed || whoamiSteady.failed) throw new Error(`steady load: ${helloSteady.failed} hello and ${whoamiSteady.failed} whoami requests failed`);

    // whoami while logins saturate the CPU.
    let stormOver = false;
    const stormTokens: string[] = [];
    const stormLogins = closedLoop(CLIENTS, async (i) => { stormTokens.push(await login(i + 7)); }, () => stormOver);
    await new Promise((r) => setTimeout(r, 500));
    const before = await whoamiBuckets(adminAddress);
    const stormWhoami = await openLoop(whoamiUrl, { rate: STORM_RATE, seconds: SECONDS, connections: CONNECTIONS, headers: rotate(17) });
    const after = await whoamiBuckets(adminAddress);
    // Control: the hello-world route at the same load during the same storm shows what the saturated machine (and
    // this load generator's own scheduling on it) costs any server.
    const stormHello = await openLoop(helloUrl, { rate: STORM_RATE, seconds: SECONDS, connections: CONNECTIONS, headers: rotate(17) });
    stormOver = true;
    const storm = await stormLogins;
    if (stormWhoami.failed) throw new Error(`${stormWhoami.failed} whoami requests failed during the login storm`);

    const mem = memory(idflow.pid!);
    return {
      database, ceilingPerSecond, oneHashMs, registration, login: logins, tokens: new Set(tokens).size,
      oneLoginMs: median(loginTimes), hello, whoami, whoamiRatio, steadyRate,
      helloSteadyP99: helloSteady.p99, whoamiSteadyP99: whoamiSteady.p99,
      storm: { loginsPerSecond: storm.perSecond, whoamiP99: stormWhoami.p99, whoamiMax: stormWhoami.max, helloP99: stormHello.p99, serverShareWithin25ms: shareWithin(before, after, 0.025) },
      rssIdleMiB, rssAfterLoadMiB: mib(mem.rss), rssPeakMiB: mib(mem.peak),
    };
  } finally {
    idflow.kill('SIGTERM');
    await new Promise((r) => (idflow.exitCode === null ? idflow.once('exit', r) : r(undefined)));
  }
}

interface Row { goal: string; measured: string; target: string; met: 'yes' | 'no' | 'n/a' }

function rows(figures: Map<string, DatabaseFigures | string>): Row[] {
  const out: Row[] = [];
  const label = { sqlite: 'SQLite', postgresql: 'PostgreSQL' } as const;
  const each = (goal: (db: string) => string, target: string, measure: (f: DatabaseFigures) => { text: string; met?: boolean }) => {
    for (const [db, f] of figures) {
      if (typeof f === 'string') {
        out.push({ goal: goal(label[db as keyof typeof label]), measured: `not measured (${f})`, target, met: 'n/a' });
        continue;
      }
      const m = measure(f);
      out.push({ goal: goal(label[db as keyof typeof label]), measured: m.text, target, met: m.met === undefined ? 'n/a' : m.met ? 'yes' : 'no' });
    }
  };
  const x = (v: number) => `${v.toFixed(2)}x`;
  each((db) => `login ÷ argon2id ceiling, ${db}`, '>= 0.90x', (f) => {
    const r = f.login.perSecond / f.ceilingPerSecond;
    return { text: `${x(r)} (${f.login.perSecond.toFixed(1)}/s ÷ ${f.ceilingPerSecond.toFixed(1)}/s)`, met: r >= 0.9 };
  });
  each((db) => `registration ÷ ceiling, ${db} (HIBP off)`, '>= 0.80x', (f) => {
    const r = f.registration.perSecond / f.ceilingPerSecond;
    return { text: `${x(r)} (${f.registration.perSecond.toFixed(1)}/s ÷ ${f.ceilingPerSecond.toFixed(1)}/s)`, met: r >= 0.8 };
  });
  each((db) => `one login, one connection − one hash, ${db}`, '<= 5 ms', (f) => {
    const d = f.oneLoginMs - f.oneHashMs;
    return { text: `${d.toFixed(1)} ms (${f.oneLoginMs.toFixed(1)} − ${f.oneHashMs.toFixed(1)})`, met: d <= 5 };
  });
  each((db) => `whoami ÷ Express hello rps, ${db}`, '>= 0.60x', (f) => ({
    text: `${x(f.whoamiRatio)} (${f.whoami.rps.toFixed(0)} ÷ ${f.hello.rps.toFixed(0)}, ${f.tokens} tokens)`, met: f.whoamiRatio >= 0.6,
  }));
  each((db) => `whoami p99 ÷ hello p99, ${db}`, '<= 2.00x', (f) => {
    const r = f.whoamiSteadyP99 / f.helloSteadyP99;
    return { text: `${x(r)} (${f.whoamiSteadyP99.toFixed(1)} ÷ ${f.helloSteadyP99.toFixed(1)} ms at ${f.steadyRate}/s)`, met: r <= 2 };
  });
  each((db) => `whoami p99 during login storm, ${db}`, '<= 25 ms', (f) => {
    const share = f.storm.serverShareWithin25ms;
    return {
      text: `${f.storm.whoamiP99.toFixed(1)} ms (${STORM_RATE}/s, ${f.storm.loginsPerSecond.toFixed(1)} logins/s; hello ${f.storm.helloP99.toFixed(1)} ms; server-side ${share === undefined ? '?' : (share * 100).toFixed(1) + '%'} <= 25 ms)`,
      met: f.storm.whoamiP99 <= 25,
    };
  });
  each((db) => `RSS idle after start-up, ${db}`, '<= 100 MiB', (f) => ({ text: `${f.rssIdleMiB.toFixed(0)} MiB`, met: f.rssIdleMiB <= 100 }));
  each((db) => `RSS after load (peak), ${db}`, '(none)', (f) => ({ text: `${f.rssAfterLoadMiB.toFixed(0)} MiB (peak ${f.rssPeakMiB.toFixed(0)} MiB)` }));
  for (const [goal, target] of [['login ÷ Better Auth', '>= 2x'], ['sign-up ÷ Better Auth', '>= 3x'], ['whoami ÷ Better Auth get-session', '>= 5x']]) {
    out.push({ goal, measured: 'not measured (Better Auth not installed)', target, met: 'n/a' });
  }
  out.push({ goal: 'whoami flat from 10k to 1M sessions', measured: 'not measured (not in this bench yet)', target: 'flat', met: 'n/a' });
  return out;
}

function printTable(table: Row[]): void {
  const headers: Row = { goal: 'goal', measured: 'measured', target: 'target', met: 'met' as Row['met'] };
  const width = (key: keyof Row) => Math.max(...[headers, ...table].map((r) => r[key].length));
  const line = (r: Row) => `| ${r.goal.padEnd(width('goal'))} | ${r.measured.padEnd(width('measured'))} | ${r.target.padEnd(width('target'))} | ${r.met.padEnd(3)} |`;
  console.log(line(headers));
  console.log(`|${'-'.repeat(width('goal') + 2)}|${'-'.repeat(width('measured') + 2)}|${'-'.repeat(width('target') + 2)}|-----|`);
  for (const r of table) console.log(line({ ...r, met: r.met === 'yes' ? 'yes' : r.met === 'no' ? 'no' : 'n/a' }));
}

export default async function run(): Promise<void> {
  const inRepo = relative(root, JSON_PATH);
  if (!inRepo.startsWith('..') && !isAbsolute(inRepo)) throw new Error(`BENCH_JSON ${JSON_PATH} is inside the repository; write it elsewhere`);
  execFileSync(process.execPath, [join(root, 'node_modules/typescript/bin/tsc'), '-p', 'tsconfig.build.json'], { cwd: root, stdio: 'inherit' });
  const dir = mkdtempSync(join(tmpdir(), 'idflow-bench-goals-'));
  const helloProcess = spawnHello(root);
  const figures = new Map<string, DatabaseFigures | string>();
  try {
    const [, helloPort] = await waitForLine(helloProcess, /hello listening on (\d+)/);
    const helloUrl = `http://127.0.0.1:${helloPort}/hello`;

    figures.set('sqlite', await measureDatabase('sqlite', `sqlite://${join(dir, 'bench.sqlite')}?_fk=true`, dir, helloUrl));

    const name = `idflow_bench_${process.pid}_${Date.now().toString(36)}`;
    let created = false;
    try {
      const admin = await openOrm(PG_URL);
      try {
        await admin.em.getConnection().execute(`CREATE DATABASE ${name}`);
        created = true;
      } finally {
        await admin.close(true);
      }
    } catch (err) {
      figures.set('postgresql', `PostgreSQL unreachable: ${(err as Error).message.split('\n')[0]}`);
    }
    if (created) {
      try {
        const url = new URL(PG_URL);
        url.pathname = `/${name}`;
        figures.set('postgresql', await measureDatabase('postgresql', url.toString(), dir, helloUrl));
      } finally {
        const admin = await openOrm(PG_URL);
        try {
          await admin.em.getConnection().execute(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
        } finally {
          await admin.close(true);
        }
      }
    }
  } finally {
    helloProcess.kill('SIGTERM');
    rmSync(dir, { recursive: true, force: true });
  }

  const table = rows(figures);
  const machine = { cpus: CORES, model: cpus()[0]?.model ?? 'unknown', node: process.version, platform: `${process.platform} ${process.arch}` };
  console.log(`\n${new Date().toISOString()} · ${machine.cpus} × ${machine.model} · node ${machine.node} · ${CLIENTS} clients, ${SECONDS} s phases`);
  console.log('rate limits off, breached-password check off; the ceiling is idflow\'s own hasher at its configured parameters');
  printTable(table);
  writeFileSync(JSON_PATH, JSON.stringify({ date: new Date().toISOString(), machine, settings: { seconds: SECONDS, clients: CLIENTS, tokens: TOKENS, stormRate: STORM_RATE }, goals: table, figures: Object.fromEntries(figures) }, null, 2));
  console.log(`figures written to ${JSON_PATH}`);
}
