import { retryDelayMs } from '../lib/backoff.js';
import type { NormalizedTokenSourceOptions } from './normalize-options.js';

/** Inputs of {@link computeRefreshAtMs}. All times in ms since the epoch. */
export interface RefreshScheduleInput {
  readonly nowMs: number;
  readonly issuedAtMs: number;
  readonly expiresAtMs: number;
  readonly refreshRatio: number;
  readonly minRemainingMs: number;
  /** Refresh no later than this long after issue (`undefined`: no cap). */
  readonly maxTokenAgeMs?: number | undefined;
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
 * tokens that live longer than `minRemaining`), or `issuedAt + maxTokenAge` if earlier; the wait until `target` is shortened by a
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
  if (input.maxTokenAgeMs !== undefined) {
    targetMs = Math.min(targetMs, input.issuedAtMs + input.maxTokenAgeMs);
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

/**
 * The warning to log when `minRefreshIntervalMs` puts the refresh into the last quarter of a
 * token's life (only very short tokens, in test setups, get there: their connections are then
 * re-authenticated with little time to spare); `undefined` when the ratio decided.
 *
 * @example
 * ```ts
 * lateFloorWarning(2_000, 0, 1_800, 800, 1_000); // 'tokens live 2000 ms, so …'
 * ```
 */
export function lateFloorWarning(
  expiresAtMs: number,
  nowMs: number,
  refreshAtMs: number,
  lastRequestStartMs: number,
  minRefreshIntervalMs: number,
): string | undefined {
  const lifetimeMs = expiresAtMs - nowMs;
  if (lifetimeMs <= 0 || refreshAtMs < expiresAtMs - lifetimeMs / 4) return undefined;
  if (refreshAtMs !== Math.round(lastRequestStartMs + minRefreshIntervalMs)) return undefined;
  return (
    `tokens live ${Math.round(lifetimeMs)} ms, so minRefreshIntervalMs ` +
    `(${minRefreshIntervalMs} ms) puts the refresh ${Math.round(expiresAtMs - refreshAtMs)} ms ` +
    `before expiry; lower minRefreshIntervalMs below half the token lifetime for such short tokens`
  );
}

/** The options {@link nextRefreshAtMs} and {@link unchangedRetryAtMs} read. */
export type ScheduleOptions = Pick<
  NormalizedTokenSourceOptions,
  | 'refreshRatio'
  | 'minRemainingMs'
  | 'maxTokenAgeMs'
  | 'jitterRatio'
  | 'minRefreshIntervalMs'
  | 'credentialCacheWindowMs'
  | 'retry'
  | 'random'
>;

/**
 * {@link computeRefreshAtMs} for a token just received, with a source's options.
 *
 * @example
 * ```ts
 * nextRefreshAtMs(options, entry, Date.now(), lastRequestStartMs);
 * ```
 */
export function nextRefreshAtMs(
  o: ScheduleOptions,
  token: { readonly issuedAtMs: number; readonly expiresAtMs: number },
  nowMs: number,
  lastRequestStartMs: number,
): number {
  return computeRefreshAtMs({
    nowMs,
    issuedAtMs: token.issuedAtMs,
    expiresAtMs: token.expiresAtMs,
    refreshRatio: o.refreshRatio,
    minRemainingMs: o.minRemainingMs,
    maxTokenAgeMs: o.maxTokenAgeMs,
    jitterRatio: o.jitterRatio,
    minRefreshIntervalMs: o.minRefreshIntervalMs,
    lastRequestStartMs,
    random: o.random(),
  });
}

/**
 * When to ask again after the credential handed back the token in use for the `unchanged`-th
 * time in a row: at once (after the floor) with a `freshCredential` (its cache is empty), else
 * just inside the credential's cache window ({@link cachedTokenRetryAtMs}), else with backoff.
 *
 * @example
 * ```ts
 * unchangedRetryAtMs(options, 1, expiresAtMs, Date.now(), lastRequestStartMs, false);
 * ```
 */
export function unchangedRetryAtMs(
  o: ScheduleOptions,
  unchanged: number,
  expiresAtMs: number,
  nowMs: number,
  lastRequestStartMs: number,
  freshCredential: boolean,
): number {
  const floorMs = lastRequestStartMs + o.minRefreshIntervalMs;
  const atMs = freshCredential
    ? Math.max(nowMs, floorMs)
    : cachedTokenRetryAtMs(
        expiresAtMs,
        o.credentialCacheWindowMs,
        nowMs,
        o.minRefreshIntervalMs,
        lastRequestStartMs,
      );
  if (atMs !== undefined) return atMs;
  const delay = retryDelayMs(o.retry, unchanged, { transient: true }, o.random);
  return Math.max(nowMs + delay, floorMs);
}
