/** Normalised retry settings (see `TokenSourceOptions.retry`). */
export interface RetrySettings {
  readonly initialDelayMs: number;
  readonly maxDelayMs: number;
  readonly multiplier: number;
  readonly maxRetryAfterMs: number;
}

/**
 * Delay before retry number `attempt` (1 = first retry after the first failure).
 *
 * - transient: "full jitter": `random() * min(maxDelayMs, initialDelayMs * multiplier^(attempt-1))`;
 * - not transient: the capped rate, `maxDelayMs * (0.8 + 0.2 * random())`;
 * - a `Retry-After` (capped at `maxRetryAfterMs`) is a lower bound.
 *
 * The caller applies the floor between requests (`minRefreshIntervalMs`).
 *
 * @example
 * ```ts
 * retryDelayMs(settings, 3, { transient: true }, Math.random);
 * ```
 */
export function retryDelayMs(
  settings: RetrySettings,
  attempt: number,
  failure: { readonly transient: boolean; readonly retryAfterMs?: number },
  random: () => number,
): number {
  let delay: number;
  if (failure.transient) {
    const exponent = Math.max(0, attempt - 1);
    const ceiling = Math.min(
      settings.maxDelayMs,
      settings.initialDelayMs * Math.pow(settings.multiplier, Math.min(exponent, 64)),
    );
    delay = random() * ceiling;
  } else {
    delay = settings.maxDelayMs * (0.8 + 0.2 * random());
  }
  if (failure.retryAfterMs !== undefined) {
    delay = Math.max(delay, Math.min(failure.retryAfterMs, settings.maxRetryAfterMs));
  }
  return Math.round(delay);
}
