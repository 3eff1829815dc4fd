import { describe, expect, it } from 'vitest';
import { ReadBatcher } from '../../../src/x/read-batcher.ts';

/** A read whose batches are released by the test, recording the keys of each. */
function controlledRead() {
  const batches: string[][] = [];
  const releases: Array<(fail?: Error) => void> = [];
  const read = (keys: string[]) => {
    batches.push(keys);
    return new Promise<Map<string, string>>((resolve, reject) => {
      releases.push((fail) => (fail ? reject(fail) : resolve(new Map(keys.filter((k) => !k.startsWith('missing')).map((k) => [k, `value of ${k}`])))));
    });
  };
  return { read, batches, releases };
}

const tick = () => new Promise((r) => setImmediate(r));

describe('ReadBatcher', () => {
  it('reads at once when idle, and coalesces what arrives while batches are in flight', async () => {
    const { read, batches, releases } = controlledRead();
    const batcher = new ReadBatcher(read, { maxInFlight: 2, maxBatch: 100 });
    const first = batcher.load('a');
    const second = batcher.load('b');
    await tick();
    expect(batches).toEqual([['a'], ['b']]); // two in flight, each started at once
    const waiting = ['c', 'd', 'c', 'missing-1', 'e'].map((k) => batcher.load(k));
    await tick();
    expect(batches).toHaveLength(2);
    releases[0]();
    expect(await first).toBe('value of a');
    await tick();
    expect(batches[2]).toEqual(['c', 'd', 'missing-1', 'e']); // distinct keys, in arrival order
    releases[1]();
    releases[2]();
    expect(await second).toBe('value of b');
    expect(await Promise.all(waiting)).toEqual(['value of c', 'value of d', 'value of c', undefined, 'value of e']);
  });

  it('splits at maxBatch, and a failed batch fails only its own reads', async () => {
    const { read, batches, releases } = controlledRead();
    const batcher = new ReadBatcher(read, { maxInFlight: 1, maxBatch: 2 });
    const a = batcher.load('a');
    const rest = ['b', 'c', 'd'].map((k) => batcher.load(k));
    await tick();
    releases[0]();
    await tick();
    expect(batches).toEqual([['a'], ['b', 'c']]);
    const failed = [expect(rest[0]).rejects.toThrow('connection lost'), expect(rest[1]).rejects.toThrow('connection lost')];
    releases[1](new Error('connection lost'));
    await Promise.all(failed);
    await tick();
    expect(batches[2]).toEqual(['d']);
    releases[2]();
    expect(await a).toBe('value of a');
    expect(await rest[2]).toBe('value of d');
  });

  it('refuses settings that could never read', () => {
    expect(() => new ReadBatcher(async () => new Map(), { maxInFlight: 0, maxBatch: 1 })).toThrow(RangeError);
    expect(() => new ReadBatcher(async () => new Map(), { maxInFlight: 1, maxBatch: 0 })).toThrow(RangeError);
  });
});
