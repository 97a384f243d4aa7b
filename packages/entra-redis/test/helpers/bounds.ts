// Time bounds of the integration tests, derived from the token schedule they configure instead
// of fixed numbers (issue 22). A rotation-driven wait must allow for what the schedule allows:
// a token may have arrived just before the wait began, its refresh comes at a ratio of its life,
// and the token request, TLS handshakes and re-AUTHs take longer on a loaded machine (`npm test`
// runs two files at once on two cores, next to whatever else the machine does). A bound that
// asserts speed ("fails fast") stays a fixed number: stretching it would hide the defect.
import { TOKEN_SOURCE_DEFAULTS } from 'entra-redis';

/** The schedule a test configures: the emulator's token lifetime and the source's options. */
export interface TokenSchedule {
  /**
   * The emulator's `tokenLifetimeSec` × 1000. Its `exp` is whole seconds, so a token lives
   * between `tokenLifetimeMs - 1000` and `tokenLifetimeMs` after it was minted.
   */
  readonly tokenLifetimeMs: number;
  /** @default TOKEN_SOURCE_DEFAULTS.refreshRatio */
  readonly refreshRatio?: number;
  /** @default TOKEN_SOURCE_DEFAULTS.minRemainingMs */
  readonly minRemainingMs?: number;
  /** @default TOKEN_SOURCE_DEFAULTS.minRefreshIntervalMs */
  readonly minRefreshIntervalMs?: number;
}

/**
 * Slack for one step that involves I/O on a loaded 2-core machine: a token request through
 * msal (an HTTPS round trip and an RS256 signature), a TLS handshake, an event-loop stall of the
 * process that runs the emulator, its front end and the clients.
 * `ENTRA_REDIS_TEST_SLACK_MS` overrides it (a slower CI machine).
 */
export const SLACK_MS = Number(process.env.ENTRA_REDIS_TEST_SLACK_MS) || 2_000;

/**
 * Longest wait from a token's arrival until its refresh is requested: `refreshRatio` of its
 * life, or `minRemainingMs` before expiry for tokens that live longer than that, never sooner
 * than `minRefreshIntervalMs` (jitter only shortens the wait).
 *
 * @example
 * ```ts
 * refreshAfterMs({ tokenLifetimeMs: 4_000 }); // 3000 (0.75 × 4 s)
 * ```
 */
export function refreshAfterMs(s: TokenSchedule): number {
  const d = TOKEN_SOURCE_DEFAULTS;
  const ratio = s.refreshRatio ?? d.refreshRatio;
  const minRemainingMs = s.minRemainingMs ?? d.minRemainingMs;
  let waitMs = ratio * s.tokenLifetimeMs;
  if (s.tokenLifetimeMs > minRemainingMs) {
    waitMs = Math.min(waitMs, s.tokenLifetimeMs - minRemainingMs);
  }
  return Math.max(waitMs, s.minRefreshIntervalMs ?? d.minRefreshIntervalMs);
}

/**
 * Longest time until `n` more rotations have happened: the current token may have just arrived,
 * so each rotation takes up to one refresh wait plus one token request (`SLACK_MS`); plus one
 * `SLACK_MS` for the re-AUTHs and the test's own reaction.
 *
 * @example
 * ```ts
 * rotationsWithinMs(3, { tokenLifetimeMs: 3_000 }); // 3 × (2250 + 2000) + 2000
 * ```
 */
export function rotationsWithinMs(n: number, s: TokenSchedule): number {
  return n * (refreshAfterMs(s) + SLACK_MS) + SLACK_MS;
}

/**
 * The test's deadline for `n` rotations counted from its clients' connect(): a token is replaced
 * before it expires (or the connections using it are evicted), so `n` rotations come within `n`
 * token lifetimes; one more of slack.
 *
 * @example
 * ```ts
 * rotationsAfterConnectWithinMs(5, 3); // 18000
 * ```
 */
export function rotationsAfterConnectWithinMs(n: number, tokenLifetimeSec: number): number {
  return (n + 1) * tokenLifetimeSec * 1_000;
}

/**
 * Longest time until the token current now has expired: a whole lifetime (it may have just
 * arrived), plus `SLACK_MS` for the front end's expiry sweep and the client to notice.
 *
 * @example
 * ```ts
 * expiryWithinMs({ tokenLifetimeMs: 4_000 }); // 6000
 * ```
 */
export function expiryWithinMs(s: TokenSchedule): number {
  return s.tokenLifetimeMs + SLACK_MS;
}

/**
 * A test's vitest timeout: the phases it waits through (each already a derived bound), plus
 * `SETUP_MS` for its clients' connections and teardown. A hang guard, not an assertion.
 *
 * @example
 * ```ts
 * testTimeoutMs(rotationsWithinMs(5, schedule)); // 5 rotations and the setup
 * ```
 */
export function testTimeoutMs(...phasesMs: number[]): number {
  return phasesMs.reduce((a, b) => a + b, SETUP_MS);
}

/** Connecting and closing a test's clients (TLS handshakes, the first token) under load. */
export const SETUP_MS = 10_000;

/**
 * Longest time from an identity endpoint's recovery until a client works again: the token
 * source's next retry (at most `retry.maxDelayMs` away), its token request, and the client's
 * reconnect and handshake (one `SLACK_MS` each).
 *
 * @example
 * ```ts
 * recoveryWithinMs(); // 5000 + 2 × 2000
 * ```
 */
export function recoveryWithinMs(retryMaxDelayMs = TOKEN_SOURCE_DEFAULTS.retry.maxDelayMs): number {
  return retryMaxDelayMs + 2 * SLACK_MS;
}
