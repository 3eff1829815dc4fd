/**
 * Coalesces concurrent reads by key into batched reads: a read starts at once while fewer than `maxInFlight` batches
 * are running; reads that arrive meanwhile wait for the next batch, which takes up to `maxBatch` of them. An idle
 * server pays no added latency; a busy one sends one statement (one round trip, one database wake-up) for many
 * requests. A failed batch fails exactly the reads it carried.
 */
export interface ReadBatcherOptions {
  maxInFlight: number;
  maxBatch: number;
}

/** A read that was asked for and not answered yet. */
export interface Waiting<K, V> {
  key: K;
  resolve(value: V | undefined): void;
  reject(err: unknown): void;
}

export class ReadBatcher<K, V> {
  readonly #read: (keys: K[]) => Promise<Map<K, V>>;
  readonly #options: ReadBatcherOptions;
  #waiting: Array<Waiting<K, V>> = [];
  #inFlight = 0;

  /** `read` answers the distinct keys it is given; a key missing from its map reads as undefined. */
  constructor(read: (keys: K[]) => Promise<Map<K, V>>, options: ReadBatcherOptions) {
    if (!(options.maxInFlight >= 1) || !(options.maxBatch >= 1)) throw new RangeError('maxInFlight and maxBatch must be at least 1');
    this.#read = read;
    this.#options = options;
  }

  load(key: K): Promise<V | undefined> {
    return new Promise((resolve, reject) => {
      this.#waiting.push({ key, resolve, reject });
      if (this.#inFlight < this.#options.maxInFlight) void this.#drain();
    });
  }

  async #drain(): Promise<void> {
    this.#inFlight++;
    try {
      while (this.#waiting.length > 0) {
        const batch = this.#waiting.splice(0, this.#options.maxBatch);
        let found: Map<K, V>;
        try {
          found = await this.#read([...new Set(batch.map((w) => w.key))]);
        } catch (err) {
          for (const w of batch) w.reject(err);
          continue;
        }
        for (const w of batch) w.resolve(found.get(w.key));
      }
    } finally {
      this.#inFlight--;
    }
  }
}
