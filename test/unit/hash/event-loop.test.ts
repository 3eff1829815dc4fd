/**
 * Hashing must never run on the event loop: with 8 hashes in flight the loop keeps turning.
 * Measured: the max lag of a 5 ms interval timer and the event loop's utilization (ELU), never
 * the hashes' own timings. The main-thread baseline shows both measurements catch a blocked loop.
 * The machine is shared (other test runs compete for its 2 cores and can delay any timer), so
 * the lag bound holds for the best of up to 5 rounds: a hash on the loop would block it for a
 * whole hash (50-100 ms) in every round. Should the machine be so loaded that an idle loop lags
 * past the bound too, hashing may add at most the bound on top of that idle lag. ELU is asserted for the best
 * round too (other work of the same process can fill one round). A round whose lag is still high counts as
 * contention, not a blocked loop, when the loop was busy for less than half that lag in the whole
 * round (a hash run on the loop keeps it busy for the whole stall: seen 64-90 ms lag at ELU 0.02
 * while three test runs shared the 2 cores).
 */
import { performance } from 'node:perf_hooks';
import { afterAll, describe, expect, it } from 'vitest';
import { createPasswordHasher, type PasswordHasher, type PasswordHasherOptions } from '../../../src/hash/index.ts';
import { hashersConfig } from './helpers.ts';

const TICK = 5;
const MAX_LAG = 25;
const MAX_ELU = 0.5;

interface Round { lag: number; elu: number; ms: number }

async function measure(work: () => Promise<unknown>): Promise<Round> {
  let lag = 0;
  let last = performance.now();
  const timer = setInterval(() => {
    const now = performance.now();
    lag = Math.max(lag, now - last - TICK);
    last = now;
  }, TICK);
  const before = performance.eventLoopUtilization();
  const started = performance.now();
  try {
    await work();
    // A loop blocked until the end never ran the timer: count that last stretch too.
    lag = Math.max(lag, performance.now() - last - TICK);
    return { lag, elu: performance.eventLoopUtilization(before).utilization, ms: performance.now() - started };
  } finally {
    clearInterval(timer);
  }
}

const eight = (hasher: PasswordHasher) => Promise.all(Array.from({ length: 8 }, (_, i) => hasher.hash(`password-${i}`)));
const hashers: PasswordHasher[] = [];
afterAll(() => Promise.all(hashers.map((h) => h.close())));

describe.each<[string, PasswordHasherOptions]>([
  ['native', {}],
  ['hash-wasm process pool', { native: 'off', pool: 'process' }],
  ['hash-wasm thread pool', { native: 'off', pool: 'thread' }],
])('argon2id on the %s', (_label, options) => {
  it(`keeps the event loop free while 8 hashes run (lag < ${MAX_LAG} ms, ELU < ${MAX_ELU})`, async () => {
    const hasher = createPasswordHasher(hashersConfig(), options);
    hashers.push(hasher);
    await Promise.all([hasher.hash('warm-1'), hasher.hash('warm-2')]); // start every worker first
    const rounds: Round[] = [];
    const giveUp = performance.now() + 12_000;
    while (rounds.length < 5 && performance.now() < giveUp && !rounds.some((r) => r.lag < MAX_LAG)) {
      let hashes: string[] = [];
      rounds.push(await measure(async () => {
        hashes = await eight(hasher);
      }));
      expect(hashes.every((h) => h.startsWith('$argon2id$v=19$m=19456,t=2,p=1$'))).toBe(true);
    }
    const busyMs = (r: Round) => r.elu * r.ms;
    const best = Math.min(...rounds.map((r) => (busyMs(r) < r.lag / 2 ? 0 : r.lag)));
    let allowed = MAX_LAG;
    let report = rounds.map((r) => `lag ${r.lag.toFixed(1)} ms, ELU ${r.elu.toFixed(2)}`).join('; ');
    if (best >= MAX_LAG) {
      const ms = Math.max(...rounds.map((r) => r.ms));
      const idle = await measure(() => new Promise((resolve) => setTimeout(resolve, ms)));
      allowed = Math.max(MAX_LAG, idle.lag + MAX_LAG);
      report += `; idle loop lag ${idle.lag.toFixed(1)} ms`;
    }
    // Like the lag, the best round counts: files share a worker process (vitest isolate: false), so the first round
    // can still see a previous file's work finishing on this loop (seen: ELU 0.75 with 268 ms lag, then 0.03 and
    // 8 ms); a hash on the loop would keep it busy in every round.
    expect(Math.min(...rounds.map((r) => r.elu)), report).toBeLessThan(MAX_ELU);
    expect(best, report).toBeLessThan(allowed);
  }, 60_000);
});

describe('the measurement itself', () => {
  it('sees the loop blocked when hash-wasm runs on the main thread', async () => {
    const hasher = createPasswordHasher(hashersConfig(), { native: 'off', pool: 'main-thread' });
    hashers.push(hasher);
    await hasher.hash('warm');
    const { lag, elu } = await measure(() => Promise.all([hasher.hash('a'), hasher.hash('b')]));
    expect(lag).toBeGreaterThan(2 * MAX_LAG);
    expect(elu).toBeGreaterThan(0.9);
  });
});
