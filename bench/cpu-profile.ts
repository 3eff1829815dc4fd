/**
 * Where a server's event loop spent its time, from a V8 CPU profile (`node --cpu-prof`): each function's share of
 * the samples taken inside given time windows, idle samples left out. A profile's timestamps are microseconds of the
 * same monotonic clock as `process.hrtime` in any process of the machine, so the bench records its load phases with
 * `process.hrtime.bigint() / 1000n` and only those count.
 *
 * Shares are what two builds under the same load can be compared by on a noisy machine: a drifting CPU slows every
 * function alike, and the shares stay.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

interface CpuProfile {
  nodes: Array<{ id: number; callFrame: { functionName: string; url: string; lineNumber: number } }>;
  startTime: number;
  samples: number[];
  timeDeltas: number[];
}

export interface Window { from: number; to: number }

/** The profile `node --cpu-prof --cpu-prof-dir=<dir>` wrote for the process `pid` (written when it exits). */
export function profileOf(dir: string, pid: number): string | undefined {
  const name = readdirSync(dir).find((file) => file.endsWith('.cpuprofile') && file.split('.').includes(String(pid)));
  return name === undefined ? undefined : join(dir, name);
}

const IDLE = new Set(['(idle)', '(program)']);

/** `functionName file:line` (files shortened to their package or their path under the build) -> share of busy samples. */
export function selfTimeShares(file: string, windows: readonly Window[]): Map<string, number> {
  const profile = JSON.parse(readFileSync(file, 'utf8')) as CpuProfile;
  const nameOf = new Map(profile.nodes.map((n) => {
    const { functionName, url, lineNumber } = n.callFrame;
    const where = url.replace(/^.*node_modules\//, '').replace(/^file:\/\/.*?\/dist\//, '');
    return [n.id, `${functionName || '(anonymous)'}${where ? ` ${where}:${lineNumber + 1}` : ''}`];
  }));
  const time = new Map<string, number>();
  let busy = 0;
  let at = profile.startTime;
  for (let i = 0; i < profile.samples.length; i++) {
    at += profile.timeDeltas[i];
    if (!windows.some((w) => at >= w.from && at <= w.to)) continue;
    const name = nameOf.get(profile.samples[i])!;
    if (IDLE.has(name)) continue;
    const spent = profile.timeDeltas[i + 1] ?? 0;
    time.set(name, (time.get(name) ?? 0) + spent);
    busy += spent;
  }
  return new Map([...time].map(([name, spent]) => [name, busy > 0 ? spent / busy : 0]));
}

/** The `top` functions by their larger share in either profile, side by side. */
export function printShares(a: Map<string, number>, b: Map<string, number>, top = 25): void {
  const names = [...new Set([...a.keys(), ...b.keys()])]
    .sort((x, y) => Math.max(b.get(y) ?? 0, a.get(y) ?? 0) - Math.max(b.get(x) ?? 0, a.get(x) ?? 0))
    .slice(0, top);
  const pct = (v: number | undefined) => `${((v ?? 0) * 100).toFixed(1).padStart(5)} %`;
  console.log('  event loop self time, share of busy samples in each server\'s own phases:   A        B');
  for (const name of names) console.log(`    ${name.slice(0, 70).padEnd(70)} ${pct(a.get(name))} ${pct(b.get(name))}`);
}
