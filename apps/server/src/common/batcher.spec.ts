import { Batcher } from './batcher';

describe('Batcher', () => {
  it('answers the lookups of one turn with one load of their distinct keys', async () => {
    const load = jest.fn(async (keys: string[]) => new Map(keys.filter((k) => k !== 'gone').map((k) => [k, k.toUpperCase()])));
    const loader = new Batcher(load);
    const answers = await Promise.all(['a', 'b', 'a', 'gone'].map((k) => loader.call(k)));
    expect(answers).toEqual(['A', 'B', 'A', undefined]);
    expect(load).toHaveBeenCalledTimes(1);
    expect(load).toHaveBeenCalledWith(['a', 'b', 'gone']);
    // A later turn is a new batch: nothing is cached.
    expect(await loader.call('a')).toBe('A');
    expect(load).toHaveBeenCalledTimes(2);
  });

  it('splits at the batch limit and fails every caller of a batch whose load fails', async () => {
    const load = jest.fn(async (keys: number[]) => {
      if (keys.includes(3)) throw new Error('database gone');
      return new Map(keys.map((k) => [k, k * 10]));
    });
    const loader = new Batcher(load, { maxBatch: 2 });
    const results = await Promise.allSettled([1, 2, 3, 4].map((k) => loader.call(k)));
    expect(load.mock.calls).toEqual([[[1, 2]], [[3, 4]]]);
    expect(results.map((r) => (r.status === 'fulfilled' ? r.value : (r.reason as Error).message))).toEqual([10, 20, 'database gone', 'database gone']);
  });

  it('with isolateFailures, runs a failed batch one input at a time so that only the bad input fails', async () => {
    const load = jest.fn(async (keys: number[]) => {
      if (keys.includes(3)) throw new Error(`row ${3} refused`);
      return new Map(keys.map((k) => [k, k * 10]));
    });
    const loader = new Batcher(load, { isolateFailures: true });
    const results = await Promise.allSettled([1, 2, 3, 2].map((k) => loader.call(k)));
    expect(load.mock.calls).toEqual([[[1, 2, 3]], [[1]], [[2]], [[3]]]);
    expect(results.map((r) => (r.status === 'fulfilled' ? r.value : (r.reason as Error).message))).toEqual([10, 20, 'row 3 refused', 20]);
  });

  it('holds calls while its batches are in flight and sends them as one batch when one settles', async () => {
    const gates: (() => void)[] = [];
    const load = jest.fn((keys: string[]) => new Promise<Map<string, string>>((resolve) => gates.push(() => resolve(new Map(keys.map((k) => [k, k.toUpperCase()]))))));
    const loader = new Batcher(load, { maxInFlight: 1 });
    const turn = () => new Promise((r) => setImmediate(r));
    const first = loader.call('a');
    await turn();
    expect(load.mock.calls).toEqual([[['a']]]);
    // Later turns while 'a' is running: nothing is sent yet.
    const waiting = [loader.call('b')];
    await turn();
    waiting.push(loader.call('c'));
    await turn();
    expect(load).toHaveBeenCalledTimes(1);
    gates[0]();
    expect(await first).toBe('A');
    await turn();
    await turn();
    expect(load.mock.calls[1]).toEqual([['b', 'c']]);
    gates[1]();
    expect(await Promise.all(waiting)).toEqual(['B', 'C']);
  });

  it('still sends an unloaded call at the end of its turn, and a failed batch does not hold the next', async () => {
    const load = jest.fn(async (keys: number[]) => {
      if (keys.includes(1)) throw new Error('database gone');
      return new Map(keys.map((k) => [k, k * 10]));
    });
    const loader = new Batcher(load, { maxInFlight: 1 });
    await expect(loader.call(1)).rejects.toThrow('database gone');
    expect(await loader.call(2)).toBe(20);
    expect(load.mock.calls).toEqual([[[1]], [[2]]]);
  });

  it('under load waits lingerMs for more calls to join the next batch; an unloaded call waits for nothing', async () => {
    jest.useFakeTimers();
    try {
      const gates: (() => void)[] = [];
      const load = jest.fn((keys: string[]) => new Promise<Map<string, string>>((resolve) => gates.push(() => resolve(new Map(keys.map((k) => [k, k.toUpperCase()]))))));
      const loader = new Batcher(load, { maxInFlight: 1, lingerMs: 10 });
      const first = loader.call('a');
      await jest.advanceTimersByTimeAsync(0);
      expect(load.mock.calls).toEqual([[['a']]]);
      const loaded = [loader.call('b')];
      gates[0]();
      expect(await first).toBe('A');
      // 'b' came while 'a' was running: its batch waits, and a call made meanwhile joins it.
      await jest.advanceTimersByTimeAsync(5);
      expect(load).toHaveBeenCalledTimes(1);
      loaded.push(loader.call('c'));
      await jest.advanceTimersByTimeAsync(5);
      expect(load.mock.calls[1]).toEqual([['b', 'c']]);
      gates[1]();
      expect(await Promise.all(loaded)).toEqual(['B', 'C']);
      // Nothing was waiting when that batch settled: the next call goes in its own turn.
      const alone = loader.call('d');
      await jest.advanceTimersByTimeAsync(0);
      expect(load.mock.calls[2]).toEqual([['d']]);
      gates[2]();
      expect(await alone).toBe('D');
    } finally {
      jest.useRealTimers();
    }
  });
});
