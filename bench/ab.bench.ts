/**
 * A/B: whoami throughput of two compiled builds of idflow side by side on one database, to see a 10–20 % change on
 * a noisy machine. A is the git revision AB_BASE, built in a temporary git worktree (node_modules linked from this
 * checkout) and removed after; B is this working tree, built first (`npm run build`). Both serve at the same time
 * from one database (a scratch PostgreSQL database, or one SQLite file), migrated by A's build and then by B's
 * before A starts, and B once A listens; rate limits and the breached-password check off.
 *
 * AB_USERS native password registrations alternate between A and B; every session token works on both. Then
 * AB_ROUNDS rounds, each loading A and B (A first in odd rounds, B first in even ones) and then an Express
 * hello-world (a process of its own) for AB_SECONDS each: autocannon, 50 connections, GET /sessions/whoami with
 * `x-session-token` rotating through all tokens. CPU per request during each server's own phase (Linux /proc):
 * the server process (event-loop thread and other threads) and all PostgreSQL processes; and the share of the
 * machine's CPU that other processes took meanwhile (the summary counts the phases where that exceeded 10 %).
 * (Loading both servers at once, 25 connections each, was tried: its per-round ratio spread wider, 0.71-1.17x.)
 * Any non-2xx or error fails the bench.
 *
 * Knobs (environment): AB_BASE (default HEAD), AB_DB (postgresql | sqlite, default postgresql), AB_ROUNDS (6),
 * AB_SECONDS (3), AB_USERS (1100), BENCH_DATABASE_URL (default postgres://postgres@127.0.0.1:5432/postgres), and
 * AB_B: a git revision to build in a worktree of its own as B instead of the working tree (AB_B=HEAD with the default
 * AB_BASE is an A/A run, showing the noise), AB_SIGNUPS (both | a | b: which server signs the users up), and
 * AB_PROFILE=1: both servers run with `--cpu-prof`, and the summary lists the event loop's busiest functions in each,
 * as shares of the samples taken during that server's own load phases (cpu-profile.ts) — the way to tell apart a
 * change smaller than the rounds' spread.
 *
 * AB_MEASURE=login measures one login over one connection instead of whoami throughput: AB_LOGINS pairs of sequential
 * native password logins, one on each server (A first in even pairs, B first in odd ones; each flow created before
 * the clock starts), and prints the median login time of each and the median of the per-pair difference B − A, the
 * figure a change of a fraction of a millisecond shows in while the machine's speed drifts.
 */
import { execFileSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, symlinkSync, unlinkSync } from 'node:fs';
import { availableParallelism, cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  buildIdflow, cpuSnapshot, idflowListening, machineBusyMs, median, migrateIdflow, saturate, sessionToken, spawnHello, spawnIdflow, stop, submit, timedLogin,
  waitForLine, withScratchDatabase, writeIdflowConfig,
} from './bench-support.ts';
import { printShares, profileOf, selfTimeShares, type Window } from './cpu-profile.ts';

const root = fileURLToPath(new URL('../', import.meta.url));
const BASE = process.env.AB_BASE ?? 'HEAD';
const B_REVISION = process.env.AB_B || undefined;
const DB = process.env.AB_DB ?? 'postgresql';
const ROUNDS = Number(process.env.AB_ROUNDS ?? 6);
const SECONDS = Number(process.env.AB_SECONDS ?? 3);
const USERS = Number(process.env.AB_USERS ?? 1100);
/** Which server signs the users up: both in turn (default), or only one (when only its build writes what it reads). */
const SIGN_UPS = (process.env.AB_SIGNUPS ?? 'both').toUpperCase();
const PROFILE = process.env.AB_PROFILE === '1';
const MEASURE = process.env.AB_MEASURE ?? 'whoami';
const LOGINS = Number(process.env.AB_LOGINS ?? 200);
const PG_URL = process.env.BENCH_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
const CLIENTS = availableParallelism() * 4;
const PASSWORD = 'bench passphrase 12345';

type Name = 'A' | 'B';

/**
 * One server's load phase: requests per second; µs of CPU per request (undefined without /proc); the share of the
 * machine's CPU that went to processes other than the two servers, this one and PostgreSQL's.
 */
interface Phase { rps: number; serverUs?: number; eventLoopUs?: number; postgresUs?: number; idleServer?: number; outside?: number }
interface Round { first: Name; A: Phase; B: Phase; hello: number }

const git = (...args: string[]) => execFileSync('git', ['-C', root, ...args], { encoding: 'utf8' }).trim();

export default async function run(): Promise<void> {
  if (DB !== 'postgresql' && DB !== 'sqlite') throw new Error(`AB_DB must be postgresql or sqlite, not ${DB}`);
  if (MEASURE !== 'whoami' && MEASURE !== 'login') throw new Error(`AB_MEASURE must be whoami or login, not ${MEASURE}`);
  for (const [name, value, least] of [['AB_ROUNDS', ROUNDS, 1], ['AB_SECONDS', SECONDS, 1], ['AB_USERS', USERS, 2], ['AB_LOGINS', LOGINS, 2]] as const) {
    if (!Number.isInteger(value) || value < least) throw new Error(`${name} must be an integer >= ${least}, not ${value}`);
  }
  const commit = (revision: string) => git('rev-parse', '--verify', `${revision}^{commit}`);
  const baseCommit = commit(BASE);
  const bCommit = B_REVISION === undefined ? undefined : commit(B_REVISION);
  console.log(`A: ${BASE} (${baseCommit.slice(0, 7)}), built in a temporary worktree`);
  if (bCommit === undefined) {
    const changed = git('status', '--porcelain').split('\n').filter(Boolean).length;
    console.log(`B: this working tree (HEAD ${git('rev-parse', '--short', 'HEAD')}, ${changed} changed or untracked files), built now`);
    buildIdflow();
  } else {
    console.log(`B: ${B_REVISION} (${bCommit.slice(0, 7)}), built in a temporary worktree`);
  }

  const dir = mkdtempSync(join(tmpdir(), 'idflow-bench-ab-'));
  const worktrees: string[] = [];
  /** A detached worktree of `revision` under `dir`, with this checkout's node_modules linked in, built. */
  const worktree = (name: string, revision: string): string => {
    const path = join(dir, name);
    git('worktree', 'add', '--detach', path, revision);
    worktrees.push(path);
    symlinkSync(join(root, 'node_modules'), join(path, 'node_modules'), 'dir');
    buildIdflow(path);
    return path;
  };
  try {
    const checkouts = { A: worktree('a', baseCommit), B: bCommit === undefined ? root : worktree('b', bCommit) };
    if (DB === 'sqlite') await compare(`sqlite://${join(dir, 'ab.sqlite')}?_fk=true`, dir, checkouts);
    else await withScratchDatabase(PG_URL, 'idflow_bench_ab', (url) => compare(url, dir, checkouts));
  } finally {
    for (const path of worktrees) {
      try {
        unlinkSync(join(path, 'node_modules')); // the link, not this checkout's node_modules
      } catch {
        // not linked yet
      }
      try {
        git('worktree', 'remove', '--force', path);
      } catch (err) {
        console.error(`git worktree remove ${path} failed; removing the folder and pruning`, err);
        rmSync(path, { recursive: true, force: true });
        git('worktree', 'prune');
      }
    }
    rmSync(dir, { recursive: true, force: true });
  }
}

async function compare(dsn: string, dir: string, checkouts: Record<Name, string>): Promise<void> {
  const withPostgres = DB === 'postgresql';
  const config = join(dir, 'idflow.yml');
  writeIdflowConfig(config, dsn);
  // Each build refuses a database lacking migrations it has: A's first, then B's (what A lacks, usually nothing).
  migrateIdflow(dsn, checkouts.A);
  migrateIdflow(dsn, checkouts.B);

  const children: ChildProcess[] = [];
  try {
    const helloProcess = spawnHello(root);
    children.push(helloProcess);
    const profileArgs = PROFILE ? ['--cpu-prof', `--cpu-prof-dir=${dir}`] : [];
    const a = spawnIdflow(config, checkouts.A, profileArgs);
    children.push(a);
    const addressA = (await idflowListening(a)).publicAddress;
    const b = spawnIdflow(config, checkouts.B, profileArgs);
    children.push(b);
    const addressB = (await idflowListening(b)).publicAddress;
    const [, helloPort] = await waitForLine(helloProcess, /hello listening on (\d+)/);
    const servers = { A: { child: a, address: addressA }, B: { child: b, address: addressB } };

    // Sign-ups, alternating between the servers, CLIENTS at a time.
    const tokens: string[] = [];
    let next = 0;
    let failure: unknown;
    const started = performance.now();
    await Promise.all(Array.from({ length: Math.min(CLIENTS, USERS) }, async () => {
      while (next < USERS && failure === undefined) {
        const i = next++;
        try {
          tokens.push(await submit(servers[SIGN_UPS === 'A' || SIGN_UPS === 'B' ? SIGN_UPS : i % 2 ? 'B' : 'A'].address, 'registration', { method: 'password', traits: { email: `ab-${i}@example.com` }, password: PASSWORD }));
        } catch (err) {
          failure ??= err;
        }
      }
    }));
    if (failure !== undefined) throw failure;
    const signUpSeconds = (performance.now() - started) / 1000;
    console.log(`${DB}: ${tokens.length} users signed up in ${signUpSeconds.toFixed(1)} s (${(tokens.length / signUpSeconds).toFixed(1)}/s), ${SIGN_UPS === 'A' || SIGN_UPS === 'B' ? `all on ${SIGN_UPS}` : 'alternating A and B'}`);

    // A session made on one server must be live on the other.
    const whoamiUrl = (name: Name) => `${servers[name].address}/sessions/whoami`;
    for (const [name, token] of [['A', tokens[tokens.length - 1]], ['B', tokens[0]]] as const) {
      const response = await fetch(whoamiUrl(name), { headers: { 'x-session-token': token } });
      await response.arrayBuffer();
      if (response.status !== 200) throw new Error(`whoami on ${name} with the other server's token: ${response.status}`);
    }

    if (MEASURE === 'login') {
      await compareLogins(servers, tokens.length);
      return;
    }

    const helloUrl = `http://127.0.0.1:${helloPort}/hello`;
    const headers = () => sessionToken(tokens);
    // Warm-up (JIT, connections, caches), not counted.
    await saturate(helloUrl, headers(), 2);
    await saturate(whoamiUrl('A'), headers(), 2);
    await saturate(whoamiUrl('B'), headers(), 2);

    /** Each server's own load phases, in the clock of CPU profiles (cpu-profile.ts). */
    const windows: Record<Name, Window[]> = { A: [], B: [] };
    const measure = async (name: Name): Promise<Phase> => {
      const pid = servers[name].child.pid!;
      const idlePid = servers[name === 'A' ? 'B' : 'A'].child.pid!;
      const [before, idleBefore, busyBefore, started] = [cpuSnapshot(pid, withPostgres), cpuSnapshot(idlePid, false), machineBusyMs(), performance.now()];
      const from = Number(process.hrtime.bigint() / 1000n);
      const load = await saturate(whoamiUrl(name), headers(), SECONDS);
      windows[name].push({ from, to: Number(process.hrtime.bigint() / 1000n) });
      const [after, idleAfter, busyAfter, elapsed] = [cpuSnapshot(pid, withPostgres), cpuSnapshot(idlePid, false), machineBusyMs(), performance.now() - started];
      if (!before || !after || !idleBefore || !idleAfter || busyBefore === undefined || busyAfter === undefined) return { rps: load.rps };
      const server = after.main + after.otherThreads - before.main - before.otherThreads;
      const idleServer = idleAfter.main + idleAfter.otherThreads - idleBefore.main - idleBefore.otherThreads;
      const ours = server + idleServer + (after.self - before.self) + (after.postgres - before.postgres);
      const us = (ms: number) => (ms * 1000) / load.requests;
      return {
        rps: load.rps,
        serverUs: us(server),
        eventLoopUs: us(after.main - before.main),
        postgresUs: withPostgres ? us(after.postgres - before.postgres) : undefined,
        idleServer: idleServer / elapsed,
        outside: Math.max(0, busyAfter - busyBefore - ours) / (elapsed * availableParallelism()),
      };
    };

    console.log(`${ROUNDS} rounds: A and B (alternating which goes first), then hello; ${SECONDS} s each, 50 connections, ${tokens.length} tokens`);
    const rounds: Round[] = [];
    for (let r = 0; r < ROUNDS; r++) {
      const order: Name[] = r % 2 === 0 ? ['A', 'B'] : ['B', 'A'];
      const phases = {} as Record<Name, Phase>;
      for (const name of order) phases[name] = await measure(name);
      const hello = (await saturate(helloUrl, headers(), SECONDS)).rps;
      const round: Round = { first: order[0], ...phases, hello };
      rounds.push(round);
      const rps = (v: number) => v.toFixed(0).padStart(6);
      const cpu = (p: Phase) => (p.serverUs === undefined ? '?' : p.serverUs.toFixed(0)) + (p.postgresUs === undefined ? '' : ` + PG ${p.postgresUs.toFixed(0)}`);
      console.log(`  round ${String(r + 1).padStart(2)} (${round.first} first): A ${rps(round.A.rps)} req/s   B ${rps(round.B.rps)} req/s   B÷A ${(round.B.rps / round.A.rps).toFixed(3)}   ` +
        `hello ${rps(hello)} req/s   CPU µs/req A ${cpu(round.A)}, B ${cpu(round.B)}`);
    }
    summarize(rounds);
    if (PROFILE) {
      await Promise.all([stop(a), stop(b)]); // a profile is written when its process exits
      const [fileA, fileB] = [profileOf(dir, a.pid!), profileOf(dir, b.pid!)];
      if (fileA === undefined || fileB === undefined) throw new Error(`AB_PROFILE: no profile written in ${dir}`);
      printShares(selfTimeShares(fileA, windows.A), selfTimeShares(fileB, windows.B));
    }
  } finally {
    await Promise.all(children.map(stop));
  }
}

/** One native password login of user `i` on `address`, in ms (the flow is created before the clock starts). */
const loginOf = async (address: string, i: number): Promise<number> => (await timedLogin(address, `ab-${i}@example.com`, PASSWORD))();

async function compareLogins(servers: Record<Name, { address: string }>, users: number): Promise<void> {
  for (let i = 0; i < 20; i++) await loginOf(servers[i % 2 ? 'B' : 'A'].address, i % users); // warm-up
  console.log(`${LOGINS} pairs of sequential logins, one connection, alternating which server goes first`);
  const pairs: Array<{ first: Name; A: number; B: number }> = [];
  for (let i = 0; i < LOGINS; i++) {
    const first: Name = i % 2 ? 'B' : 'A';
    const times = {} as Record<Name, number>;
    for (const name of first === 'A' ? ['A', 'B'] as const : ['B', 'A'] as const) times[name] = await loginOf(servers[name].address, i % users);
    pairs.push({ first, ...times });
  }
  const ms = (values: number[]) => `${median(values).toFixed(2)} ms`;
  const diff = (list: typeof pairs) => ms(list.map((p) => p.B - p.A));
  console.log(`summary (${DB}, ${availableParallelism()} × ${cpus()[0]?.model ?? 'unknown'}, node ${process.version}):`);
  console.log(`  one login, median: A ${ms(pairs.map((p) => p.A))}, B ${ms(pairs.map((p) => p.B))}`);
  console.log(`  B − A per pair, median: ${diff(pairs)} (A first ${diff(pairs.filter((p) => p.first === 'A'))}, B first ${diff(pairs.filter((p) => p.first === 'B'))})`);
}

function summarize(rounds: Round[]): void {
  const ratio = (r: Round) => r.B.rps / r.A.rps;
  const spread = (values: number[], digits = 3) => values.length === 0
    ? 'no rounds'
    : `median ${median(values).toFixed(digits)} (min–max ${Math.min(...values).toFixed(digits)}–${Math.max(...values).toFixed(digits)}, ${values.length} rounds)`;
  console.log(`summary (${DB}, ${availableParallelism()} × ${cpus()[0]?.model ?? 'unknown'}, node ${process.version}):`);
  console.log(`  B÷A whoami req/s: ${spread(rounds.map(ratio))}`);
  const byFirst = (first: Name) => rounds.filter((r) => r.first === first).map(ratio);
  for (const first of ['A', 'B'] as const) console.log(`    ${first} first: ${spread(byFirst(first))}`);
  if (byFirst('A').length && byFirst('B').length) {
    console.log(`    position-balanced (geometric mean of the two medians): ${Math.sqrt(median(byFirst('A')) * median(byFirst('B'))).toFixed(3)}`);
  }
  console.log(`  whoami req/s: A ${spread(rounds.map((r) => r.A.rps), 0)}; B ${spread(rounds.map((r) => r.B.rps), 0)}; hello ${spread(rounds.map((r) => r.hello), 0)}`);
  console.log(`  whoami÷hello (median): A ${median(rounds.map((r) => r.A.rps / r.hello)).toFixed(3)}, B ${median(rounds.map((r) => r.B.rps / r.hello)).toFixed(3)}`);
  const outside = rounds.flatMap((r) => [r.A.outside, r.B.outside]).filter((v): v is number => v !== undefined);
  if (outside.length) {
    const busy = outside.filter((v) => v > 0.1).length;
    console.log(`  machine CPU taken by other processes during the whoami phases: median ${(median(outside) * 100).toFixed(1)} %, max ${(Math.max(...outside) * 100).toFixed(1)} %` +
      (busy ? ` (${busy} of ${outside.length} phases over 10 %: the machine was not quiet)` : ''));
  }
  const idle = rounds.flatMap((r) => [r.A.idleServer, r.B.idleServer]).filter((v): v is number => v !== undefined);
  if (idle.length) console.log(`  the idle server's CPU during the other's phase: median ${(median(idle) * 100).toFixed(1)} % of a core, max ${(Math.max(...idle) * 100).toFixed(1)} %`);
  const us = (name: Name, key: 'serverUs' | 'eventLoopUs' | 'postgresUs') => {
    const values = rounds.map((r) => r[name][key]).filter((v): v is number => v !== undefined);
    return values.length ? median(values) : undefined;
  };
  if (us('A', 'serverUs') === undefined) {
    console.log('  CPU per request: not measured (no /proc)');
    return;
  }
  const cpu = (name: Name) => `${name} server ${us(name, 'serverUs')!.toFixed(0)} (event loop ${us(name, 'eventLoopUs')!.toFixed(0)})` +
    (DB === 'postgresql' ? `, PostgreSQL ${us(name, 'postgresUs')!.toFixed(0)}` : '');
  console.log(`  CPU per request, median µs: ${cpu('A')}; ${cpu('B')}; B÷A server ${(us('B', 'serverUs')! / us('A', 'serverUs')!).toFixed(3)}`);
}
