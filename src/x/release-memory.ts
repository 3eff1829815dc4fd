/**
 * One memory-reducing garbage collection, for a server that has just started.
 *
 * Start-up (config and schema compilation, ORM metadata, every module's top level) allocates far more than it keeps,
 * and on the way V8 grows its young generation to its largest semi-spaces (2 × 16 MiB on 64-bit Node). Nothing
 * shrinks them while the server idles: the garbage and the grown young generation stay resident (~40 MiB measured).
 * This asks V8 for the collection it runs on a low-memory notification (`CollectAllAvailableGarbage`: full,
 * compacting, and shrinking the young generation), through the in-process inspector, Node's only door to it.
 * Under load the young generation grows back as V8 sees fit, so throughput is unchanged; the one pause (~100 ms)
 * falls before the first request.
 *
 * Best effort: a runtime without the inspector (Deno, a Node built without it) skips it.
 */
export async function releaseStartupMemory(): Promise<void> {
  try {
    const { Session } = await import('node:inspector');
    const session = new Session();
    session.connect();
    try {
      await new Promise<void>((resolve, reject) => session.post('HeapProfiler.collectGarbage', (err) => (err ? reject(err) : resolve())));
    } finally {
      session.disconnect();
    }
  } catch {
    // Not available here: memory is left to V8's own heuristics.
  }
}
