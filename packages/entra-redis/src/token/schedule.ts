/** Inputs of {@link computeRefreshAtMs}. All times in ms since the epoch. */
export interface RefreshScheduleInput {
  readonly nowMs: number;
  readonly issuedAtMs: number;
  readonly expiresAtMs: number;
  readonly refreshRatio: number;
  readonly minRemainingMs: number;
  readonly jitterRatio: number;
  readonly minRefreshIntervalMs: number;
  /** Start of the last token request (the floor counts from it). */
  readonly lastRequestStartMs: number;
  /** A random number in [0, 1). */
  readonly random: number;
}

/**
 * When to refresh a token:
 * `target = issuedAt + ratio * lifetime`, or `expiresAt - minRemaining` if earlier (only for
 * tokens that live longer than `minRemaining`); the wait until `target` is shortened by a
 * random fraction of at most `jitterRatio`; and the result is never sooner than
 * `minRefreshIntervalMs` after the last request started.
 *
 * @example
 * ```ts
 * computeRefreshAtMs({ nowMs: 0, issuedAtMs: 0, expiresAtMs: 3_600_000, refreshRatio: 0.75,
 *   minRemainingMs: 300_000, jitterRatio: 0, minRefreshIntervalMs: 1000,
 *   lastRequestStartMs: 0, random: 0 }); // 2_700_000
 * ```
 */
export function computeRefreshAtMs(input: RefreshScheduleInput): number {
  const lifetimeMs = Math.max(0, input.expiresAtMs - input.issuedAtMs);
  let targetMs = input.issuedAtMs + input.refreshRatio * lifetimeMs;
  if (lifetimeMs > input.minRemainingMs) {
    targetMs = Math.min(targetMs, input.expiresAtMs - input.minRemainingMs);
  }
  const waitMs = Math.max(0, targetMs - input.nowMs);
  const jitteredMs = waitMs * (1 - input.jitterRatio * input.random);
  return Math.round(
    Math.max(input.nowMs + jitteredMs, input.lastRequestStartMs + input.minRefreshIntervalMs),
  );
}

/**
 * When to ask again after a credential returned the token we already have (its own cache
 * answered): just inside the credential's cache window, i.e. `expiresAt - window + margin`,
 * where margin is `min(2 s, window / 2)`. Returns `undefined` when that moment is not later than
 * the floor (the caller then backs off instead).
 *
 * @example
 * ```ts
 * cachedTokenRetryAtMs(3_600_000, 300_000, 0, 1000, 0); // 3_302_000
 * ```
 */
export function cachedTokenRetryAtMs(
  expiresAtMs: number,
  cacheWindowMs: number,
  nowMs: number,
  minRefreshIntervalMs: number,
  lastRequestStartMs: number,
): number | undefined {
  const targetMs = expiresAtMs - cacheWindowMs + Math.min(2_000, cacheWindowMs / 2);
  const floorMs = Math.max(nowMs, lastRequestStartMs + minRefreshIntervalMs);
  return targetMs > floorMs ? Math.round(targetMs) : undefined;
}
