import { retryDelayMs } from '../lib/backoff.js';

/** The reconnect backoff both adapters apply where the caller set no strategy. */
export const RECONNECT_BACKOFF = Object.freeze({
  /** First ceiling of the random delay, in milliseconds (full jitter). */
  initialDelayMs: 100,
  /** Cap of the delay, in milliseconds. */
  maxDelayMs: 5_000,
});

/**
 * Delay before reconnect attempt `attempt` (1-based): capped exponential backoff with full
 * jitter, `random() * min(5000, 100 * 2^(attempt-1))` ms, at least 10 ms; never gives up.
 *
 * @example
 * ```ts
 * reconnectDelayMs(3); // somewhere in 10..400
 * ```
 */
export function reconnectDelayMs(attempt: number): number {
  const delay = retryDelayMs(
    { ...RECONNECT_BACKOFF, multiplier: 2, maxRetryAfterMs: 0 },
    attempt,
    { transient: true },
    Math.random,
  );
  return Math.max(10, delay);
}
