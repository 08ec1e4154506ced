import { backoffDelay, cappedDelay, DEFAULT_BACKOFF } from './backoff';

describe('backoffDelay', () => {
  const mid = () => 0.5;
  it('doubles from one second up to the 60 s cap', () => {
    expect([0, 1, 2, 3, 4, 5, 6, 7, 20].map((a) => backoffDelay(a, DEFAULT_BACKOFF, mid))).toEqual([1000, 2000, 4000, 8000, 16000, 32000, 60000, 60000, 60000]);
  });

  it('spreads retries by up to half either way and never exceeds the cap', () => {
    expect(backoffDelay(2, DEFAULT_BACKOFF, () => 0)).toBe(2000);
    expect(backoffDelay(2, DEFAULT_BACKOFF, () => 0.999999)).toBe(6000);
    for (let i = 0; i < 50; i++) {
      const d = backoffDelay(i, DEFAULT_BACKOFF);
      expect(d).toBeGreaterThanOrEqual(500);
      expect(d).toBeLessThanOrEqual(60_000);
    }
  });

  it('waits around the cap for refused hosts', () => {
    expect(cappedDelay(DEFAULT_BACKOFF, () => 0)).toBe(30_000);
    expect(cappedDelay(DEFAULT_BACKOFF, () => 0.9)).toBe(60_000);
  });
});
