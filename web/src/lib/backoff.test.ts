import { describe, expect, it, vi } from 'vitest';
import { backoffDelay, retryWithBackoff } from './backoff';

describe('backoffDelay', () => {
  it('doubles from the base and caps at the maximum (no jitter)', () => {
    const o = { baseMs: 500, maxMs: 4000, jitter: 'none' as const };
    expect([0, 1, 2, 3, 4, 5].map((a) => backoffDelay(a, o))).toEqual([500, 1000, 2000, 4000, 4000, 4000]);
  });

  it('equal jitter stays within [d/2, d]', () => {
    const o = { baseMs: 1000, maxMs: 60_000, jitter: 'equal' as const };
    expect(backoffDelay(2, { ...o, random: () => 0 })).toBe(2000);
    expect(backoffDelay(2, { ...o, random: () => 0.999999 })).toBe(4000);
    for (let i = 0; i < 50; i++) {
      const d = backoffDelay(3, o);
      expect(d).toBeGreaterThanOrEqual(4000);
      expect(d).toBeLessThanOrEqual(8000);
    }
  });

  it('full jitter stays within [0, d] and honours the factor', () => {
    expect(backoffDelay(2, { baseMs: 100, maxMs: 10_000, factor: 3, jitter: 'full', random: () => 0.5 })).toBe(450);
    expect(backoffDelay(2, { baseMs: 100, maxMs: 10_000, factor: 3, jitter: 'full', random: () => 0 })).toBe(0);
  });

  it('treats negative/fractional attempts sanely', () => {
    expect(backoffDelay(-3, { baseMs: 100, maxMs: 1000, jitter: 'none' })).toBe(100);
    expect(backoffDelay(1.7, { baseMs: 100, maxMs: 1000, jitter: 'none' })).toBe(200);
  });
});

describe('retryWithBackoff', () => {
  const base = { baseMs: 100, maxMs: 1000, jitter: 'none' as const };

  it('returns at once when the first call succeeds', async () => {
    const sleep = vi.fn(async () => {});
    const fn = vi.fn(async () => 'ok');
    await expect(retryWithBackoff(fn, { ...base, retries: 3, shouldRetry: () => true, sleep })).resolves.toBe('ok');
    expect(fn).toHaveBeenCalledTimes(1);
    expect(sleep).not.toHaveBeenCalled();
  });

  it('retries retryable errors with exponential delays, then succeeds', async () => {
    const delays: number[] = [];
    let n = 0;
    const r = await retryWithBackoff(
      async (attempt) => {
        expect(attempt).toBe(n);
        if (n++ < 2) throw new Error('busy');
        return 'done';
      },
      { ...base, retries: 5, shouldRetry: () => true, sleep: async (ms) => void delays.push(ms) },
    );
    expect(r).toBe('done');
    expect(delays).toEqual([100, 200]);
  });

  it('is bounded: after `retries` retries the last error is thrown', async () => {
    const delays: number[] = [];
    const fn = vi.fn(async () => {
      throw new Error('nope');
    });
    await expect(
      retryWithBackoff(fn, { ...base, retries: 3, shouldRetry: () => true, sleep: async (ms) => void delays.push(ms) }),
    ).rejects.toThrow('nope');
    expect(fn).toHaveBeenCalledTimes(4);
    expect(delays).toEqual([100, 200, 400]);
  });

  it('does not retry errors that shouldRetry rejects', async () => {
    const fn = vi.fn(async () => {
      throw new Error('fatal');
    });
    await expect(retryWithBackoff(fn, { ...base, retries: 3, shouldRetry: () => false, sleep: async () => {} })).rejects.toThrow('fatal');
    expect(fn).toHaveBeenCalledTimes(1);
  });

  it('uses a larger server hint (Retry-After), capped at maxMs', async () => {
    const delays: number[] = [];
    let n = 0;
    await retryWithBackoff(
      async () => {
        if (n++ < 2) throw new Error('throttled');
        return 1;
      },
      { ...base, retries: 3, shouldRetry: () => true, retryAfterMs: () => (n === 1 ? 700 : 5000), sleep: async (ms) => void delays.push(ms) },
    );
    expect(delays).toEqual([700, 1000]);
  });

  it('reports each retry', async () => {
    const onRetry = vi.fn();
    await expect(
      retryWithBackoff(async () => Promise.reject(new Error('x')), { ...base, retries: 2, shouldRetry: () => true, sleep: async () => {}, onRetry }),
    ).rejects.toThrow();
    expect(onRetry.mock.calls.map((c) => [c[0].attempt, c[0].delayMs])).toEqual([
      [0, 100],
      [1, 200],
    ]);
  });
});
