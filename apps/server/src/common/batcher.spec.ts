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
    const loader = new Batcher(load, 2);
    const results = await Promise.allSettled([1, 2, 3, 4].map((k) => loader.call(k)));
    expect(load.mock.calls).toEqual([[[1, 2]], [[3, 4]]]);
    expect(results.map((r) => (r.status === 'fulfilled' ? r.value : (r.reason as Error).message))).toEqual([10, 20, 'database gone', 'database gone']);
  });
});
