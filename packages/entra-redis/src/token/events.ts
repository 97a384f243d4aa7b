import type { EntraRedisError } from '../errors.js';

/**
 * Payload of `'refreshed'`: a new token arrived. Never holds the token.
 *
 * @example
 * ```ts
 * source.on('refreshed', (e: TokenRefreshedEvent) => log(e.oid, e.nextRefreshAtMs));
 * ```
 */
export interface TokenRefreshedEvent {
  /** Object id of the principal. */
  readonly oid: string;
  /** Redis username in use. */
  readonly username: string;
  /** When the new token expires, in ms since the epoch. */
  readonly expiresAtMs: number;
  /** When the next refresh is scheduled, in ms since the epoch. */
  readonly nextRefreshAtMs: number;
}

/**
 * Payload of `'refreshFailed'`: a token request failed; another is scheduled.
 *
 * @example
 * ```ts
 * source.on('refreshFailed', (e: TokenRefreshFailedEvent) => log(e.error.code, e.retryInMs));
 * ```
 */
export interface TokenRefreshFailedEvent {
  /** Consecutive failures so far (1 for the first). */
  readonly attempt: number;
  /** The failure (its `cause` is the credential's error). */
  readonly error: EntraRedisError;
  /** Delay until the next request, in ms. */
  readonly retryInMs: number;
  /** Expiry of the token still being served, in ms since the epoch, if there is one. */
  readonly tokenExpiresAtMs?: number;
}

/**
 * Payload of `'expired'`: the last token expired and no fresh one arrived in time.
 *
 * @example
 * ```ts
 * source.on('expired', (e: TokenExpiredEvent) => alert(e.cause?.message));
 * ```
 */
export interface TokenExpiredEvent {
  /** When the token expired, in ms since the epoch. */
  readonly expiredAtMs: number;
  /** The last refresh failure, if any. */
  readonly cause: EntraRedisError | undefined;
}

/**
 * Payload of `'recovered'`: a new token arrived after one or more failed requests.
 *
 * @example
 * ```ts
 * source.on('recovered', (e: TokenRecoveredEvent) => log(`back after ${e.outageMs} ms`));
 * ```
 */
export interface TokenRecoveredEvent {
  /** Time from the first failure of the streak to this success, in ms. */
  readonly outageMs: number;
  /** Failed requests in the streak. */
  readonly attempts: number;
  /** Whether the previous token had expired before the recovery. */
  readonly wasExpired: boolean;
}

/**
 * Events of a {@link TokenSource}, by name.
 *
 * @example
 * ```ts
 * const onFail = (e: TokenSourceEvents['refreshFailed']) => {};
 * source.on('refreshFailed', onFail);
 * ```
 */
export interface TokenSourceEvents {
  refreshed: TokenRefreshedEvent;
  refreshFailed: TokenRefreshFailedEvent;
  expired: TokenExpiredEvent;
  recovered: TokenRecoveredEvent;
}
