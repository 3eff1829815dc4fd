/**
 * Password hashing throughput per backend with 1 and 2 concurrent streams (this machine has 2
 * cores), and what each costs the event loop: max lag of a 5 ms timer and loop utilization.
 * argon2id at the defaults idflow ships (19 MiB, t=2, p=1) and bcrypt at cost 12.
 * BENCH_SECONDS (default 2) per cell, BENCH_PASSES (default 2) interleaved passes, best kept.
 */
import { performance } from 'node:perf_hooks';
import type { HashersConfig } from '../config/types.ts';
import { createPasswordHasher, type PasswordHasher, type PasswordHasherOptions } from '../src/hash/index.ts';

const SECONDS = Number(process.env.BENCH_SECONDS ?? 2);
const PASSES = Number(process.env.BENCH_PASSES ?? 2);
const TICK = 5;

const config = (algorithm: HashersConfig['algorithm']): HashersConfig => ({
  algorithm,
  argon2: {
    memory: '19MB', iterations: 2, parallelism: 1, salt_length: 16, key_length: 32,
    expected_duration: '500ms', expected_deviation: '500ms', dedicated_memory: '1GB',
  },
  bcrypt: { cost: 12 },
});

const BACKENDS: [string, PasswordHasherOptions][] = [
  ['native (libuv threadpool)', { native: 'auto' }],
  ['hash-wasm, main thread (blocks!)', { native: 'off', pool: 'main-thread' }],
  ['hash-wasm, 2 worker threads', { native: 'off', pool: 'thread', concurrency: 2 }],
  ['hash-wasm, 2 child processes', { native: 'off', pool: 'process', concurrency: 2 }],
];

interface Result { perSecond: number; maxLag: number; elu: number; count: number }

async function measure(hasher: PasswordHasher, streams: number): Promise<Result> {
  let maxLag = 0;
  let last = performance.now();
  const timer = setInterval(() => {
    const now = performance.now();
    maxLag = Math.max(maxLag, now - last - TICK);
    last = now;
  }, TICK);
  const elu0 = performance.eventLoopUtilization();
  const started = performance.now();
  const deadline = started + SECONDS * 1000;
  let count = 0;
  await Promise.all(Array.from({ length: streams }, async (_, s) => {
    while (performance.now() < deadline) {
      await hasher.hash(`bench-password-${s}-${count}`);
      count++;
    }
  }));
  const elapsed = performance.now() - started;
  // A loop blocked until the end never ran the timer: count that last stretch too.
  maxLag = Math.max(maxLag, performance.now() - last - TICK);
  const elu = performance.eventLoopUtilization(elu0).utilization;
  clearInterval(timer);
  return { perSecond: (count * 1000) / elapsed, maxLag, elu, count };
}

const pad = (text: string, width: number) => text.padEnd(width);
const num = (value: number, digits = 1) => value.toFixed(digits).padStart(7);

export default async function run(): Promise<void> {
  console.log(`${PASSES} interleaved passes of ${SECONDS} s per cell: best hashes/s (its count), worst max lag, worst ELU`);
  for (const algorithm of ['argon2', 'bcrypt'] as const) {
    const label = algorithm === 'argon2' ? 'argon2id m=19MiB t=2 p=1' : 'bcrypt cost 12';
    const hashers: [string, PasswordHasher][] = [];
    try {
      for (const [name, options] of BACKENDS) {
        const hasher = createPasswordHasher(config(algorithm), options);
        hashers.push([name, hasher]);
        const served = (await hasher.describe())[algorithm];
        if (options.native === 'auto' && served !== 'native') {
          console.log(`${name}: unavailable here (served by ${served})`);
          hashers.pop();
          await hasher.close();
          continue;
        }
        // Start every worker (and load the native module and wasm) outside the measurement.
        await hasher.warm();
        await Promise.all([hasher.hash('warm-up-1'), hasher.hash('warm-up-2')]);
      }
      // Passes interleave the backends, so a burst of load from elsewhere hits all of them alike.
      const cells = new Map<string, Result[]>();
      for (let pass = 0; pass < PASSES; pass++) {
        for (const [name, hasher] of hashers) {
          for (const streams of [1, 2]) {
            const key = `${name}|${streams}`;
            cells.set(key, [...(cells.get(key) ?? []), await measure(hasher, streams)]);
          }
        }
      }
      console.log(`\n${label}`);
      console.log(`${pad('backend', 34)}${pad('streams', 9)}${'h/s'.padStart(7)}  ${'count'.padStart(5)}  ${'max lag ms'.padStart(10)}  ${'ELU'.padStart(5)}`);
      for (const [name] of hashers) {
        for (const streams of [1, 2]) {
          const results = cells.get(`${name}|${streams}`)!;
          const best = results.reduce((a, b) => (b.perSecond > a.perSecond ? b : a));
          const lag = Math.max(...results.map((r) => r.maxLag));
          const elu = Math.max(...results.map((r) => r.elu));
          console.log(`${pad(name, 34)}${pad(String(streams), 9)}${num(best.perSecond)}  ${String(best.count).padStart(5)}  ${num(lag).padStart(10)}  ${elu.toFixed(2).padStart(5)}`);
        }
      }
    } finally {
      await Promise.all(hashers.map(([, hasher]) => hasher.close()));
    }
  }
}
