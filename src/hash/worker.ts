/** Entry of a pool worker, as a worker thread or as a child process (src/hash/pool.ts). */
import { parentPort } from 'node:worker_threads';
import { runTask, type Task } from './kernels.ts';
import { lowerThisThread } from '../x/background-threads.ts';

export interface PoolRequest { id: number; task: Task }
export type PoolReply =
  | { ready: true }
  | { id: number; ok: true; value: Uint8Array | string }
  | { id: number; ok: false; error: string };

const port = parentPort;
// Hashing yields the cores to the main thread under contention (see src/x/background-threads.ts).
lowerThisThread(port !== null);
const reply = (message: PoolReply) => (port ? port.postMessage(message) : process.send?.(message));

async function handle({ id, task }: PoolRequest): Promise<void> {
  try {
    reply({ id, ok: true, value: await runTask(task) });
  } catch (err) {
    reply({ id, ok: false, error: err instanceof Error ? err.message : String(err) });
  }
}

if (port) {
  port.on('message', handle);
} else {
  process.on('message', (message) => void handle(message as PoolRequest));
  // The parent went away: nothing will read our answers.
  process.on('disconnect', () => process.exit(0));
}
reply({ ready: true });
