/** Exponential backoff with jitter, and a bounded retry loop built on it. */

export interface BackoffOptions {
  /** Delay before the first retry (attempt 0), in ms. */
  baseMs: number;
  /** Upper bound for a single delay, in ms. */
  maxMs: number;
  /** Growth factor per attempt (default 2). */
  factor?: number;
  /**
   * 'none': exact exponential delays; 'equal': half fixed + half random (never near zero);
   * 'full': uniformly random in [0, delay]. Default 'equal'.
   */
  jitter?: 'none' | 'equal' | 'full';
  /** Random source in [0, 1), injectable for tests. */
  random?: () => number;
}

/** Delay to wait before retry number `attempt` (0-based). */
export function backoffDelay(attempt: number, opts: BackoffOptions): number {
  const factor = opts.factor ?? 2;
  const a = Math.max(0, Math.floor(attempt));
  const exp = Math.min(opts.maxMs, opts.baseMs * Math.pow(factor, a));
  const r = (opts.random ?? Math.random)();
  switch (opts.jitter ?? 'equal') {
    case 'none':
      return Math.round(exp);
    case 'full':
      return Math.round(exp * r);
    case 'equal':
    default:
      return Math.round(exp / 2 + (exp / 2) * r);
  }
}

export interface RetryOptions extends BackoffOptions {
  /** Retries after the first try (so at most retries + 1 calls). */
  retries: number;
  /** Whether an error is worth another try. */
  shouldRetry: (err: unknown, attempt: number) => boolean;
  /** Optional server hint (e.g. Retry-After) that overrides the computed delay when larger. */
  retryAfterMs?: (err: unknown) => number | undefined;
  sleep?: (ms: number) => Promise<void>;
  onRetry?: (info: { attempt: number; delayMs: number; error: unknown }) => void;
}

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/**
 * Calls `fn` until it succeeds, it throws a non-retryable error, or `retries` retries have been
 * spent; the last error is rethrown.
 */
export async function retryWithBackoff<T>(
  fn: (attempt: number) => Promise<T>,
  opts: RetryOptions,
): Promise<T> {
  const doSleep = opts.sleep ?? sleep;
  for (let attempt = 0; ; attempt++) {
    try {
      return await fn(attempt);
    } catch (err) {
      if (attempt >= opts.retries || !opts.shouldRetry(err, attempt)) throw err;
      let delayMs = backoffDelay(attempt, opts);
      const hint = opts.retryAfterMs?.(err);
      if (hint !== undefined && hint > delayMs) delayMs = Math.min(hint, opts.maxMs);
      opts.onRetry?.({ attempt, delayMs, error: err });
      await doSleep(delayMs);
    }
  }
}
