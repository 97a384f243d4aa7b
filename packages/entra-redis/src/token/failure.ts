import { EntraRedisError, isEntraRedisError, withoutPointer } from '../errors.js';
import { retryDelayMs } from '../lib/backoff.js';
import { classifyError } from '../lib/classify.js';
import type { TimerHandle, TokenSourceClock } from '../lib/clock.js';
import { redactedCause, summarizeError } from '../lib/redact.js';
import type { NormalizedTokenSourceOptions } from './normalize-options.js';

/**
 * Wraps whatever a credential threw into an {@link EntraRedisError}, classified (transient or
 * not) by name, code and HTTP status. The message carries a redacted one-line summary of the
 * cause, which stays available as `cause`: unchanged, unless printing it would show a token (a
 * credential's own error quoting one), then as a redacted copy.
 */
export function toRequestError(error: unknown, nowMs: number, retryCapMs: number): EntraRedisError {
  if (isEntraRedisError(error)) return error;
  const c = classifyError(error, nowMs);
  const name = (error as { name?: unknown } | null)?.name;
  const code =
    name === 'CredentialUnavailableError' ? 'CREDENTIAL_UNAVAILABLE' : 'TOKEN_REQUEST_FAILED';
  const advice = c.transient
    ? 'retrying with backoff'
    : `this looks permanent: check the identity's configuration (tenant, client id, secret, ` +
      `certificate, role assignment); retrying every ~${Math.round(retryCapMs / 1000)} s meanwhile`;
  return new EntraRedisError(
    code,
    `entra-redis: token request failed (${c.reason}): ${summarizeError(error)}; ${advice}`,
    {
      isRetryable: c.transient,
      cause: redactedCause(error),
      ...(c.statusCode !== undefined ? { statusCode: c.statusCode } : {}),
      ...(c.retryAfterMs !== undefined ? { retryAfterMs: c.retryAfterMs } : {}),
    },
  );
}

/** The error of a request that exceeded `requestTimeoutMs`. */
export function timeoutError(requestTimeoutMs: number): EntraRedisError {
  return new EntraRedisError(
    'TOKEN_REQUEST_TIMEOUT',
    `entra-redis: the token request took longer than "requestTimeoutMs" (${requestTimeoutMs} ms); ` +
      'it was aborted and will be retried',
    { isRetryable: true },
  );
}

/** The error every waiter gets once the source is closed. */
export function closedError(): EntraRedisError {
  return new EntraRedisError(
    'SOURCE_CLOSED',
    'entra-redis: the token source is closed; create a new one to get credentials',
  );
}

/** When the token expired, for each error {@link expiredError} made. */
const expiredAt = new WeakMap<object, number>();

/**
 * When the token expired, if `error` is a `getCredentials()` rejection for an expired token.
 *
 * @example
 * ```ts
 * source.getCredentials().catch((error) => expiredAtOf(error)); // ms since the epoch
 * ```
 */
export function expiredAtOf(error: unknown): number | undefined {
  return typeof error === 'object' && error !== null ? expiredAt.get(error) : undefined;
}

/** The fast failure of `getCredentials()` after the last token expired. */
export function expiredError(
  expiredAtMs: number,
  cause: EntraRedisError | undefined,
): EntraRedisError {
  const why = cause
    ? `the last refresh failed: ${withoutPointer(cause.message)}`
    : 'no fresh token has arrived yet (a request is pending or scheduled)';
  const error = new EntraRedisError(
    'TOKEN_EXPIRED',
    `entra-redis: the access token expired at ${new Date(expiredAtMs).toISOString()} and ${why}. ` +
      'The source keeps retrying and recovers by itself when the identity endpoint answers',
    { isRetryable: true, ...(cause ? { cause } : {}) },
  );
  expiredAt.set(error, expiredAtMs);
  return error;
}

/** What the `recovered` event reports at the end of an outage. */
export type Recovery = {
  readonly outageMs: number;
  readonly attempts: number;
  readonly wasExpired: boolean;
};

/** A token source's run of failed requests: since when, how many, the last error. */
export class Outage {
  #failures = 0;
  #firstAtMs = 0;
  #lastError: EntraRedisError | undefined;

  /** The last request's error while the outage lasts. */
  get lastError(): EntraRedisError | undefined {
    return this.#lastError;
  }

  /** Records a failed request; returns its attempt number (1 for the first of an outage). */
  failed(error: EntraRedisError, nowMs: number): number {
    if (this.#failures === 0) this.#firstAtMs = nowMs;
    this.#lastError = error;
    return ++this.#failures;
  }

  /** A token arrived: the outage's figures, or `undefined` if there was none. */
  end(nowMs: number, wasExpired: boolean): Recovery | undefined {
    if (this.#failures === 0) return undefined;
    const recovery = { outageMs: nowMs - this.#firstAtMs, attempts: this.#failures, wasExpired };
    this.#failures = 0;
    this.#lastError = undefined;
    return recovery;
  }
}

/** Calls back once when the current token expires with no fresh one to replace it. */
export class ExpiryAlarm {
  readonly #clock: TokenSourceClock;
  #timer: TimerHandle | undefined;
  #rang = false;

  constructor(clock: TokenSourceClock) {
    this.#clock = clock;
  }

  /** Whether the current token expired (from the alarm until {@link ExpiryAlarm.arm}). */
  get rang(): boolean {
    return this.#rang;
  }

  /** Watches a new token's expiry instead of the previous one's. */
  arm(expiresAtMs: number, onExpired: () => void): void {
    this.stop();
    this.#rang = false;
    this.#timer = this.#clock.setTimeout(
      () => {
        this.#timer = undefined;
        this.#rang = true;
        onExpired();
      },
      Math.max(0, expiresAtMs - this.#clock.now()),
    );
  }

  /** Stops watching. */
  stop(): void {
    if (this.#timer !== undefined) this.#clock.clearTimeout(this.#timer);
    this.#timer = undefined;
  }
}

/**
 * When to retry after the `attempt`-th failed request in a row: backoff (or the server's
 * Retry-After), never sooner than the floor after the last request started.
 */
export function failureRetryAtMs(
  o: Pick<NormalizedTokenSourceOptions, 'retry' | 'random' | 'minRefreshIntervalMs'>,
  attempt: number,
  error: EntraRedisError,
  nowMs: number,
  lastRequestStartMs: number,
): number {
  const delay = retryDelayMs(
    o.retry,
    attempt,
    {
      transient: error.isRetryable,
      ...(error.retryAfterMs !== undefined ? { retryAfterMs: error.retryAfterMs } : {}),
    },
    o.random,
  );
  return Math.max(nowMs + delay, lastRequestStartMs + o.minRefreshIntervalMs);
}
