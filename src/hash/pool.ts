/**
 * A fixed-size pool of hash-wasm workers, as child processes or as worker threads.
 *
 * Child processes are the default on Node. hash-wasm instantiates a fresh WebAssembly memory for
 * every argon2 call (19 MiB of new pages, about 30% of its CPU time in the kernel), work that can
 * contend between the threads of one process: on this 2-core machine two worker threads were once
 * measured at the throughput of one. Later A/B runs (bench/hash.bench.ts) gave both kinds ~1.8x with
 * two workers at equal CPU per hash, so processes are never slower here and add isolation: a worker
 * running an imported 1 GiB argon2 hash, or dying, takes neither the server's heap nor its process.
 * Worker threads remain for runtimes without child processes (Deno).
 */
import { Worker } from 'node:worker_threads';
import type { ChildProcess } from 'node:child_process';
import type { Task, TaskResult } from './kernels.ts';
import type { PoolReply, PoolRequest } from './worker.ts';

export type PoolMode = 'process' | 'thread';

export interface PoolOptions {
  mode: PoolMode;
  size: number;
}

interface Job {
  task: Task;
  resolve(value: Uint8Array | string): void;
  reject(err: Error): void;
}

/** One worker of either kind, reduced to what the pool needs. */
interface Channel {
  send(message: PoolRequest): void;
  ref(): void;
  unref(): void;
  kill(): Promise<void>;
}

interface Slot {
  channel?: Channel;
  ready: boolean;
  job?: Job & { id: number };
}

const IS_TS = import.meta.url.endsWith('.ts');
const ENTRY = new URL(IS_TS ? './worker.ts' : './worker.js', import.meta.url);
const IS_DENO = 'Deno' in globalThis;

/** Under tsx or vitest the worker is TypeScript, which Node 20 can only load through tsx's hooks. */
let tsxHooks: Promise<{ loader: string; api: string }> | undefined;
function resolveTsx() {
  tsxHooks ??= (async () => {
    const { createRequire } = await import('node:module');
    const { readFile } = await import('node:fs/promises');
    const { pathToFileURL } = await import('node:url');
    const pkgPath = createRequire(import.meta.url).resolve('tsx/package.json');
    const exports = JSON.parse(await readFile(pkgPath, 'utf8')).exports;
    const base = pathToFileURL(pkgPath);
    return { loader: new URL(exports['.'], base).href, api: new URL(exports['./esm/api'].import.default, base).href };
  })();
  return tsxHooks;
}

async function startThread(onMessage: (m: PoolReply) => void, onExit: (err: Error) => void): Promise<Channel> {
  let worker: Worker;
  if (IS_TS && !IS_DENO) {
    const { api } = await resolveTsx();
    const boot = `const { register } = await import(${JSON.stringify(api)}); register(); await import(${JSON.stringify(ENTRY.href)});`;
    worker = new Worker(new URL(`data:text/javascript,${encodeURIComponent(boot)}`));
  } else {
    worker = new Worker(ENTRY);
  }
  worker.on('message', onMessage);
  worker.on('error', (err) => onExit(err));
  worker.on('exit', (code) => onExit(new Error(`hash worker thread exited with code ${code}`)));
  return {
    send: (message) => worker.postMessage(message),
    ref: () => worker.ref(),
    unref: () => worker.unref(),
    kill: async () => {
      worker.ref();
      await worker.terminate();
    },
  };
}

async function startProcess(onMessage: (m: PoolReply) => void, onExit: (err: Error) => void): Promise<Channel> {
  const { fork } = await import('node:child_process');
  const { fileURLToPath } = await import('node:url');
  const execArgv = IS_TS ? ['--import', (await resolveTsx()).loader] : [];
  const child: ChildProcess = fork(fileURLToPath(ENTRY), [], {
    execArgv,
    serialization: 'advanced',
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  child.on('message', (m) => onMessage(m as PoolReply));
  child.on('error', (err) => onExit(err));
  child.on('exit', (code, signal) => onExit(new Error(`hash worker process exited (${signal ?? code})`)));
  return {
    send: (message) => void child.send(message),
    ref: () => {
      child.ref();
      child.channel?.ref();
    },
    unref: () => {
      child.unref();
      child.channel?.unref();
    },
    kill: async () => {
      if (child.exitCode !== null || child.signalCode !== null) return;
      const exited = new Promise((resolve) => child.once('exit', resolve));
      // An unref'd child would let the process exit before 'exit' arrives.
      child.ref();
      child.kill();
      await exited;
    },
  };
}

export class WorkerPool {
  readonly size: number;
  #mode: PoolMode;
  #slots = new Set<Slot>();
  #queue: Job[] = [];
  #nextId = 1;
  #closed = false;

  constructor(options: PoolOptions) {
    this.#mode = options.mode;
    this.size = Math.max(1, Math.floor(options.size));
  }

  get mode(): PoolMode {
    return this.#mode;
  }

  run<T extends Task>(task: T): Promise<TaskResult<T>> {
    if (this.#closed) return Promise.reject(new Error('hash pool is closed'));
    return new Promise<Uint8Array | string>((resolve, reject) => {
      this.#queue.push({ task, resolve, reject });
      this.#pump();
    }) as Promise<TaskResult<T>>;
  }

  /** Starts every worker now instead of on first use. */
  async warm(): Promise<void> {
    while (this.#slots.size < this.size) this.#spawn();
    await Promise.all([...this.#slots].map((slot) => this.#whenReady(slot)));
  }

  async close(): Promise<void> {
    this.#closed = true;
    const err = new Error('hash pool is closed');
    for (const job of this.#queue.splice(0)) job.reject(err);
    const slots = [...this.#slots];
    this.#slots.clear();
    for (const slot of slots) slot.job?.reject(err);
    // A slot still starting has no channel yet; #spawn kills it once it has.
    await Promise.all(slots.map((slot) => slot.channel?.kill().catch(() => {})));
  }

  #readyWaiters = new Map<Slot, (() => void)[]>();
  #whenReady(slot: Slot): Promise<void> {
    if (slot.ready || !this.#slots.has(slot)) return Promise.resolve();
    return new Promise((resolve) => {
      const list = this.#readyWaiters.get(slot) ?? [];
      list.push(resolve);
      this.#readyWaiters.set(slot, list);
    });
  }

  #pump(): void {
    while (this.#queue.length > 0) {
      const idle = [...this.#slots].find((slot) => slot.ready && !slot.job);
      if (idle) {
        this.#dispatch(idle, this.#queue.shift()!);
        continue;
      }
      const starting = [...this.#slots].filter((slot) => !slot.ready).length;
      if (this.#slots.size < this.size && starting < this.#queue.length) {
        this.#spawn();
        continue;
      }
      return;
    }
  }

  #dispatch(slot: Slot, job: Job): void {
    const id = this.#nextId++;
    slot.job = { ...job, id };
    slot.channel!.ref();
    slot.channel!.send({ id, task: job.task });
  }

  #spawn(): void {
    const slot: Slot = { ready: false };
    this.#slots.add(slot);
    const onMessage = (message: PoolReply) => {
      if ('ready' in message) {
        slot.ready = true;
        slot.channel?.unref();
        for (const wake of this.#readyWaiters.get(slot) ?? []) wake();
        this.#readyWaiters.delete(slot);
        this.#pump();
        return;
      }
      const job = slot.job;
      if (!job || job.id !== message.id) return;
      slot.job = undefined;
      slot.channel?.unref();
      if (message.ok) job.resolve(message.value);
      else job.reject(new Error(message.error));
      this.#pump();
    };
    let gone = false;
    const onExit = (err: Error) => {
      if (gone) return;
      gone = true;
      const wasReady = slot.ready;
      this.#slots.delete(slot);
      for (const wake of this.#readyWaiters.get(slot) ?? []) wake();
      this.#readyWaiters.delete(slot);
      slot.job?.reject(err);
      if (this.#closed) return;
      // A worker that cannot even start would be restarted forever: fail what is waiting instead.
      if (!wasReady) for (const job of this.#queue.splice(0)) job.reject(err);
      else this.#pump();
    };
    const start = this.#mode === 'process' ? startProcess : startThread;
    start(onMessage, onExit).then(
      (channel) => {
        slot.channel = channel;
        if (this.#closed) void channel.kill();
      },
      (err: unknown) => {
        // No child processes here (sandbox, Deno): fall back to threads for good.
        if (this.#mode === 'process') {
          this.#mode = 'thread';
          this.#slots.delete(slot);
          this.#pump();
          return;
        }
        onExit(err instanceof Error ? err : new Error(String(err)));
      },
    );
  }
}
