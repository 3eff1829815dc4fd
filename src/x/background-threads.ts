/**
 * The event loop first: every thread of the process but the main one runs at a lower scheduling priority (nice +10).
 *
 * The main thread serves every request; the other threads do work a request can wait for: password hashes (libuv's
 * pool, the hash workers), V8's GC and compiler helpers, file I/O. When logins saturate the cores, equal priorities
 * let the kernel share each core fairly between the main thread and the hashing threads, so every request, whoami
 * included, waits out the hashes' time slices: measured here during a login storm on 2 cores, whoami's p99 was
 * 0.7-2.3 s with equal priorities and 75-116 ms with the helpers at nice 10 (logins/s went up, not down: the main
 * thread, the bottleneck, gets the cores). An idle core still runs the helpers at full speed; nice changes shares
 * under contention only.
 *
 * Linux only: there a nice value is per thread (setpriority on a thread id, or on 0 from that thread); elsewhere it
 * is per process, and lowering it would slow the main thread too, so nothing is done. Raising a nice value needs no
 * privilege.
 */
import { readdirSync } from 'node:fs';
import { getPriority, setPriority } from 'node:os';

export const BACKGROUND_NICE = 10;

/** Lowers every other thread of this process to BACKGROUND_NICE; returns how many it lowered. Threads created
 *  later inherit their creator's value (worker threads: see lowerThisThread). */
export function lowerBackgroundThreads(): number {
  if (process.platform !== 'linux') return 0;
  let threads: string[];
  try {
    threads = readdirSync('/proc/self/task');
  } catch {
    return 0;
  }
  let lowered = 0;
  for (const tid of threads) {
    const id = Number(tid);
    if (id === process.pid || !Number.isInteger(id)) continue;
    try {
      if (getPriority(id) < BACKGROUND_NICE) {
        setPriority(id, BACKGROUND_NICE);
        lowered++;
      }
    } catch {
      // the thread ended meanwhile, or the runtime has no per-thread priorities
    }
  }
  return lowered;
}

/** From a worker thread (Linux) or a child process: lowers the calling thread, or that process. */
export function lowerThisThread(isWorkerThread: boolean): void {
  if (isWorkerThread && process.platform !== 'linux') return;
  try {
    if (getPriority(0) < BACKGROUND_NICE) setPriority(0, BACKGROUND_NICE);
  } catch {
    // not supported here: the worker keeps the default priority
  }
}
