/**
 * whoami is the hottest path of any deployment. This bench runs idflow (compiled, one process, SQLite file) and
 * an Express hello-world route (one process) side by side and loads each with autocannon (50 connections, this
 * process). Target: whoami >= 0.6x the hello-world requests per second, p99 < 5 ms.
 *
 * Two measurements, because one load cannot show both:
 * - throughput: both routes saturated, in ROUNDS alternating rounds, so drift of a shared or virtual machine hits
 *   both alike; the ratio is the median of the per-round ratios.
 * - latency: at saturation a closed-loop load generator only measures its own queue (Little's law: mean latency =
 *   connections / throughput, so 50 connections at 5,000 req/s average 10 ms for ANY server, the hello-world
 *   route included). p99 is therefore measured at a fixed offered load, 50 connections sharing LATENCY_RATE req/s
 *   (default: 40% of the hello-world route's measured throughput), with coordinated-omission correction, and
 *   reported for both routes. The saturated p99 is printed too, for the record.
 * - On a 2-core machine shared with the load generator, the generator's own scheduling shows in every client-side
 *   latency (here the hello-world route gets p99 ~6 ms at only 200 req/s). So the verdict on p99 uses the server's
 *   own measurement: idflow's `idflow_http_request_duration_seconds` histogram for the whoami route, scraped from
 *   the admin API before and after the steady phase (p99 < 5 ms <=> at least 99% of those requests in the
 *   le="0.005" bucket). Client-side figures are printed beside it.
 */
import autocannon from 'autocannon';
import { openLoop } from './open-loop.ts';
import { spawn, execFileSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { spawnHello, waitForLine, whoamiBuckets } from './bench-support.ts';

const root = fileURLToPath(new URL('../', import.meta.url));
const ROUND_SECONDS = Number(process.env.BENCH_SECONDS ?? 4);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 5);
const CONNECTIONS = 50;

interface Measured {
  rps: number;
  p50: number;
  p99: number;
}

async function load(url: string, headers: Record<string, string>, options: { seconds: number; rate?: number }): Promise<Measured> {
  const result = await autocannon({ url, connections: CONNECTIONS, duration: options.seconds, headers, ...(options.rate ? { overallRate: options.rate } : {}) });
  if (result.non2xx > 0 || result.errors > 0) throw new Error(`${url}: ${result.non2xx} non-2xx, ${result.errors} errors`);
  return { rps: result.requests.average, p50: result.latency.p50, p99: result.latency.p99 };
}

function bucketShares(before: Map<number, number>, after: Map<number, number>): { count: number; shares: Array<[number, number]> } {
  const count = (after.get(Infinity) ?? 0) - (before.get(Infinity) ?? 0);
  const shares = [...after.keys()].filter((le) => le !== Infinity && le <= 0.01).sort((a, b) => a - b)
    .map((le): [number, number] => [le, count > 0 ? ((after.get(le) ?? 0) - (before.get(le) ?? 0)) / count : 0]);
  return { count, shares };
}

const median = (values: number[]) => {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
};

const row = (label: string, m: Measured) =>
  `${label.padEnd(24)} ${m.rps.toFixed(0).padStart(6)} req/s   p50 ${String(m.p50).padStart(3)} ms   p99 ${String(m.p99).padStart(3)} ms`;

export default async function run(): Promise<void> {
  execFileSync(process.execPath, [join(root, 'node_modules/typescript/bin/tsc'), '-p', 'tsconfig.build.json'], { cwd: root, stdio: 'inherit' });
  const dir = mkdtempSync(join(tmpdir(), 'idflow-bench-'));
  const dsn = `sqlite://${join(dir, 'bench.sqlite')}?_fk=true`;
  const config = join(dir, 'idflow.yml');
  writeFileSync(config, [
    `dsn: "${dsn}"`,
    'serve: { public: { host: 127.0.0.1, port: 0 }, admin: { host: 127.0.0.1, port: 0 } }',
    'secrets: { cookie: ["bench-cookie-secret-0123456789"], cipher: ["0123456789abcdef0123456789abcdef"] }',
    'identity: { default_schema_id: default, schemas: [{ id: default, url: "file://' + join(root, 'schemas/default.schema.json') + '" }] }',
    'selfservice: { default_browser_return_url: "http://127.0.0.1:4455/", methods: { password: { config: { haveibeenpwned_enabled: false } } }, flows: { registration: { after: { password: { hooks: [{ hook: session }] } } } } }',
    'log: { level: warning }',
  ].join('\n'));
  execFileSync(process.execPath, [join(root, 'dist/src/main.js'), 'migrate', 'sql', dsn, '--yes'], { stdio: 'ignore' });

  const idflow = spawn(process.execPath, [join(root, 'dist/src/main.js'), 'serve', '--config', config], { env: { ...process.env, LOG_LEVEL: 'info' } });
  const helloProcess = spawnHello(root);
  try {
    const [, publicAddress, adminAddress] = await waitForLine(idflow, /"msg":"public API listening","address":"([^"]+)"[^\n]*\n[^\n]*"msg":"admin API listening","address":"([^"]+)"/);
    const [, helloPort] = await waitForLine(helloProcess, /hello listening on (\d+)/);

    const flow = await fetch(`${publicAddress}/self-service/registration/api`).then((r) => r.json()) as { id: string };
    const registered = await fetch(`${publicAddress}/self-service/registration?flow=${flow.id}`, {
      method: 'POST', headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ method: 'password', traits: { email: 'bench@example.com' }, password: 'bench passphrase 12345' }),
    }).then((r) => r.json()) as { session_token: string };

    const hello = { url: `http://127.0.0.1:${helloPort}/hello`, headers: {} };
    const whoami = { url: `${publicAddress}/sessions/whoami`, headers: { 'x-session-token': registered.session_token } };
    await load(hello.url, hello.headers, { seconds: 2 }); // warm-up (JIT, connection setup)
    await load(whoami.url, whoami.headers, { seconds: 2 });

    const rounds: Array<{ hello: Measured; whoami: Measured }> = [];
    for (let round = 0; round < ROUNDS; round++) {
      rounds.push({
        hello: await load(hello.url, hello.headers, { seconds: ROUND_SECONDS }),
        whoami: await load(whoami.url, whoami.headers, { seconds: ROUND_SECONDS }),
      });
    }
    const ratio = median(rounds.map((r) => r.whoami.rps / r.hello.rps));
    const helloRps = median(rounds.map((r) => r.hello.rps));
    const saturated = (pick: (r: { hello: Measured; whoami: Measured }) => Measured): Measured => ({
      rps: median(rounds.map((r) => pick(r).rps)),
      p50: median(rounds.map((r) => pick(r).p50)),
      p99: median(rounds.map((r) => pick(r).p99)),
    });

    const rate = Number(process.env.LATENCY_RATE ?? Math.round(helloRps * 0.4));
    const steady = (target: { url: string; headers: Record<string, string> }) =>
      openLoop(target.url, { rate, seconds: ROUND_SECONDS, connections: CONNECTIONS, headers: target.headers });
    const helloAtRate = await steady(hello);
    const before = await whoamiBuckets(adminAddress);
    const whoamiAtRate = await steady(whoami);
    const serverSide = bucketShares(before, await whoamiBuckets(adminAddress));
    for (const [label, r] of [['hello-world', helloAtRate], ['whoami', whoamiAtRate]] as const) {
      if (r.failed > 0) throw new Error(`${label}: ${r.failed} of ${r.sent} requests failed at a steady load`);
    }
    console.log(`saturated: ${CONNECTIONS} connections, ${ROUNDS} alternating rounds of ${ROUND_SECONDS} s (medians)`);
    console.log(row('  express hello-world', saturated((r) => r.hello)));
    console.log(row('  idflow /sessions/whoami', saturated((r) => r.whoami)));
    console.log(`  per-round ratios ${rounds.map((r) => (r.whoami.rps / r.hello.rps).toFixed(2)).join(' ')}`);
    const ms = (v: number) => `${v.toFixed(1).padStart(5)} ms`;
    console.log(`steady load: ${rate} req/s (40% of hello-world's median) due at even intervals over up to ${CONNECTIONS} connections, ${ROUND_SECONDS} s`);
    console.log(`  express hello-world       p50 ${ms(helloAtRate.p50)}   p99 ${ms(helloAtRate.p99)}   max ${ms(helloAtRate.max)}`);
    console.log(`  idflow /sessions/whoami   p50 ${ms(whoamiAtRate.p50)}   p99 ${ms(whoamiAtRate.p99)}   max ${ms(whoamiAtRate.max)}`);
    console.log(`  whoami as idflow measured it (${serverSide.count} requests): ${serverSide.shares.map(([le, share]) => `${(share * 100).toFixed(2)}% <= ${le * 1000} ms`).join(', ')}`);
    const throughputMet = ratio >= 0.6;
    const within5ms = serverSide.shares.find(([le]) => le === 0.005)?.[1] ?? 0;
    const latencyMet = serverSide.count > 0 && within5ms >= 0.99;
    console.log(`throughput ratio ${ratio.toFixed(2)}x (target >= 0.60x): ${throughputMet ? 'met' : 'NOT met'}`);
    console.log(`p99 at ${rate} req/s, server-side: ${(within5ms * 100).toFixed(2)}% within 5 ms (target: p99 < 5 ms): ${latencyMet ? 'met' : 'NOT met'}`);
  } finally {
    idflow.kill('SIGTERM');
    helloProcess.kill('SIGTERM');
  }
}
