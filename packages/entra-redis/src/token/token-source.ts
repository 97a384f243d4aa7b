import type { TokenCredential } from '@azure/identity';
import { EntraRedisError } from '../errors.js';
import { retryDelayMs } from '../lib/backoff.js';
import type { TimerHandle } from '../lib/clock.js';
import { TypedEmitter } from '../lib/emitter.js';
import { createSourceMetrics, type SourceMetrics } from '../lib/otel.js';
import { summarizeError } from '../lib/redact.js';
import { toTokenEntry, type TokenEntry } from './access-token.js';
import type { RedisCredentials } from './credentials.js';
import type { TokenSourceEvents } from './events.js';
import { closedError, expiredError, toRequestError } from './failure.js';
import { FanOut, type CredentialsListener } from './fan-out.js';
import {
  normalizeTokenSourceOptions,
  type NormalizedTokenSourceOptions,
} from './normalize-options.js';
import type { TokenSourceOptions } from './options.js';
import { cachedTokenRetryAtMs, computeRefreshAtMs } from './schedule.js';
import { startTimedRequest } from './timed-request.js';

interface Inflight {
  readonly seq: number;
  readonly promise: Promise<TokenEntry>;
  readonly cancel: (error: EntraRedisError) => void;
}
interface Waiter {
  resolve(entry: TokenEntry): void;
  reject(error: unknown): void;
}
type Level = 'debug' | 'info' | 'warn' | 'error';

/**
 * A credential built from a factory is replaced after this many tokens. @azure/identity's MSAL
 * network client keeps an AbortController for every token request it ever sent (about 3 KB
 * each, never released: Azure/azure-sdk-for-js#26161); a fresh credential starts empty, so a
 * process that runs for years holds at most this many. The cost: one more authority metadata
 * request (or managed identity probe) every 32 tokens, a day and a half with hourly tokens.
 */
const TOKENS_PER_CREDENTIAL = 32;

/**
 * Turns an identity into a stream of fresh Redis credentials shared by every client and
 * connection: one token request in flight at a time, proactive refresh before expiry (ratio,
 * minimum remaining time, jitter, floor), retries with capped backoff forever while open,
 * typed events, and no token in any log, event or error.
 *
 * Refreshing starts on first use ({@link TokenSource.getCredentials},
 * {@link TokenSource.onCredentials}) or with {@link TokenSource.start}. Timers are unref'ed:
 * an open source does not keep the process alive. Close it with {@link TokenSource.close}.
 *
 * @example
 * ```ts
 * const source = new TokenSource({ credential: managedIdentity() });
 * const { username, password } = await source.getCredentials();
 * const off = source.onCredentials((c) => reauthenticateAll(c));
 * source.on('expired', (e) => console.error(e.cause));
 * await source.close();
 * ```
 */
export class TokenSource implements AsyncDisposable {
  readonly #o: NormalizedTokenSourceOptions;
  readonly #events: TypedEmitter<TokenSourceEvents>;
  readonly #listeners = new Set<CredentialsListener>();
  readonly #fanOut: FanOut;
  readonly #metrics: SourceMetrics;
  #credential: TokenCredential | undefined;
  #rebuildCredential = false;
  /** Tokens the current credential (built from the factory) has handed out. */
  #tokensFromCredential = 0;
  #entry: TokenEntry | undefined;
  #inflight: Inflight | undefined;
  #waiters: Waiter[] = [];
  #seq = 0;
  #started = false;
  #closed = false;
  #timer: TimerHandle | undefined;
  #timerAtMs: number | undefined;
  #expiryTimer: TimerHandle | undefined;
  #lastRequestStartMs = Number.NEGATIVE_INFINITY;
  #failures = 0;
  #firstFailureAtMs = 0;
  #lastError: EntraRedisError | undefined;
  #unchanged = 0;
  #expiredEmitted = false;
  #lateRefreshWarned = false;

  /** Validates `options` (throws `INVALID_OPTION`); does not request a token yet. */
  constructor(options: TokenSourceOptions) {
    this.#o = normalizeTokenSourceOptions(options);
    this.#credential = this.#o.credential;
    this.#events = new TypedEmitter<TokenSourceEvents>((event, error) =>
      this.#log('error', `a "${String(event)}" listener threw; ignored`, {
        error: summarizeError(error, this.#secrets()),
      }),
    );
    this.#metrics = createSourceMetrics(
      this.#o.metrics,
      this.#o.name,
      () => this.#valid()?.expiresAtMs,
      () => this.#o.clock.now(),
    );
    this.#fanOut = new FanOut(this.#o.maxConcurrentReauth, this.#o.clock, (error) =>
      this.#listenerFailed(error),
    );
  }

  /** Starts acquiring and refreshing now (otherwise the first use does); idempotent. */
  start(): void {
    if (this.#started || this.#closed) return;
    this.#started = true;
    void this.#request().catch(() => {});
  }

  /**
   * The current valid credentials. Before the first token, waits for it (all callers share
   * one request; if it fails every waiter gets the same error, and a later call tries again).
   * After the last token expired with no fresh one, rejects at once with `TOKEN_EXPIRED`
   * whose `cause` is the last refresh error. Rejects with `SOURCE_CLOSED` once closed.
   */
  async getCredentials(): Promise<RedisCredentials> {
    if (this.#closed) throw closedError();
    this.start();
    const valid = this.#valid();
    if (valid) return valid.credentials;
    if (this.#entry) throw expiredError(this.#entry.expiresAtMs, this.#lastError);
    return (await this.#nextAttempt()).credentials;
  }

  /** The current credentials if still valid (synchronous; never an expired token). */
  current(): RedisCredentials | undefined {
    return this.#closed ? undefined : this.#valid()?.credentials;
  }

  /**
   * Calls `listener` once per new token (not for the token current at subscription), e.g. to
   * re-AUTH every connection. A listener may return a promise of its re-AUTH: at most
   * `maxConcurrentReauth` of those are pending at once, and the next listeners are called as
   * they settle (see {@link TokenSourceOptions.maxConcurrentReauth}); listeners that return
   * nothing are called at once, in subscription order. A listener that throws or rejects is
   * logged and ignored. Starts the source. Returns an idempotent unsubscribe function.
   */
  onCredentials(listener: (credentials: RedisCredentials) => unknown): () => void {
    if (typeof listener !== 'function') {
      throw new EntraRedisError('INVALID_OPTION', 'entra-redis: onCredentials needs a function');
    }
    const entry = { fn: listener };
    if (!this.#closed) this.#listeners.add(entry);
    this.start();
    return () => {
      this.#listeners.delete(entry);
    };
  }

  /** Subscribes to an event. Listeners that throw are logged and ignored. */
  on<K extends keyof TokenSourceEvents>(
    event: K,
    listener: (e: TokenSourceEvents[K]) => void,
  ): this {
    this.#events.on(event, listener);
    return this;
  }

  /** Unsubscribes from an event. */
  off<K extends keyof TokenSourceEvents>(
    event: K,
    listener: (e: TokenSourceEvents[K]) => void,
  ): this {
    this.#events.off(event, listener);
    return this;
  }

  /** Subscribes to the next occurrence of an event only. */
  once<K extends keyof TokenSourceEvents>(
    event: K,
    listener: (e: TokenSourceEvents[K]) => void,
  ): this {
    this.#events.once(event, listener);
    return this;
  }

  /** Number of listeners of an event, or of `'credentials'` ({@link onCredentials}). */
  listenerCount(event: keyof TokenSourceEvents | 'credentials'): number {
    return event === 'credentials' ? this.#listeners.size : this.#events.listenerCount(event);
  }

  /** Whether {@link close} was called. */
  get closed(): boolean {
    return this.#closed;
  }

  /**
   * Stops everything: timers cleared, the in-flight request aborted (its `AbortSignal` fires
   * and its result is ignored), waiters rejected with `SOURCE_CLOSED`, listeners dropped.
   * Idempotent.
   */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#fanOut.cancel();
    this.#clearTimer();
    if (this.#expiryTimer !== undefined) this.#o.clock.clearTimeout(this.#expiryTimer);
    this.#expiryTimer = undefined;
    const error = closedError();
    this.#inflight?.cancel(error);
    this.#inflight = undefined;
    for (const w of this.#waiters.splice(0)) w.reject(error);
    this.#listeners.clear();
    this.#events.clear();
    this.#metrics.close();
    this.#credential = undefined;
    this.#log('debug', 'token source closed');
  }

  /** Same as {@link close}, for `await using source = new TokenSource(...)`. */
  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }

  #valid(): TokenEntry | undefined {
    const e = this.#entry;
    return e && this.#o.clock.now() < e.expiresAtMs ? e : undefined;
  }

  #secrets(): string[] {
    return this.#entry ? [this.#entry.token] : [];
  }

  /**
   * Warns once when `minRefreshIntervalMs` pushes the refresh into the last quarter of a token's
   * life: only very short tokens (test setups) get there, and their connections are then
   * re-authenticated with little time to spare.
   */
  #warnIfFloorIsLate(entry: TokenEntry, nowMs: number, refreshAtMs: number): void {
    if (this.#lateRefreshWarned) return;
    const lifetimeMs = entry.expiresAtMs - nowMs;
    if (lifetimeMs <= 0 || refreshAtMs < entry.expiresAtMs - lifetimeMs / 4) return;
    const floorAtMs = Math.round(this.#lastRequestStartMs + this.#o.minRefreshIntervalMs);
    if (refreshAtMs !== floorAtMs) return; // the ratio decided, not the floor
    this.#lateRefreshWarned = true;
    this.#log(
      'warn',
      `tokens live ${Math.round(lifetimeMs)} ms, so minRefreshIntervalMs ` +
        `(${this.#o.minRefreshIntervalMs} ms) puts the refresh ${Math.round(entry.expiresAtMs - refreshAtMs)} ms ` +
        `before expiry; lower minRefreshIntervalMs below half the token lifetime for such short tokens`,
    );
  }

  #log(level: Level, message: string, fields: Record<string, unknown> = {}): void {
    try {
      this.#o.logger[level](`entra-redis: ${message}`, { source: this.#o.name, ...fields });
    } catch {
      // A logger that throws must not break the source.
    }
  }

  /** The next attempt's result: the in-flight one, a new one, or one right after the floor. */
  #nextAttempt(): Promise<TokenEntry> {
    if (this.#inflight) return this.#inflight.promise;
    const floorAtMs = this.#lastRequestStartMs + this.#o.minRefreshIntervalMs;
    if (this.#o.clock.now() >= floorAtMs) return this.#request();
    if (this.#timerAtMs === undefined || this.#timerAtMs > floorAtMs) this.#schedule(floorAtMs);
    return new Promise<TokenEntry>((resolve, reject) => this.#waiters.push({ resolve, reject }));
  }

  #schedule(atMs: number): void {
    this.#clearTimer();
    if (this.#closed) return;
    const clock = this.#o.clock;
    if (this.#waiters.length > 0) {
      atMs = Math.min(atMs, this.#lastRequestStartMs + this.#o.minRefreshIntervalMs);
    }
    this.#timerAtMs = atMs;
    this.#timer = clock.setTimeout(
      () => {
        this.#timer = undefined;
        this.#timerAtMs = undefined;
        void this.#request().catch(() => {});
      },
      Math.max(0, atMs - clock.now()),
    );
  }

  #clearTimer(): void {
    if (this.#timer !== undefined) this.#o.clock.clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#timerAtMs = undefined;
  }

  #getCredential(): TokenCredential {
    const factory = this.#o.factory;
    if (factory && (this.#credential === undefined || this.#rebuildCredential)) {
      let built: unknown;
      try {
        built = factory();
      } catch (error) {
        throw new EntraRedisError(
          'CREDENTIAL_UNAVAILABLE',
          `entra-redis: the credential factory threw: ${summarizeError(error)}`,
          { cause: error },
        );
      }
      if (typeof (built as TokenCredential | null)?.getToken !== 'function') {
        throw new EntraRedisError(
          'CREDENTIAL_UNAVAILABLE',
          'entra-redis: the credential factory must return a TokenCredential (an object with getToken())',
        );
      }
      this.#credential = built as TokenCredential;
      this.#rebuildCredential = false;
      this.#tokensFromCredential = 0;
      this.#log('debug', 'built a fresh credential from the factory');
    }
    return this.#credential as TokenCredential;
  }

  /** Starts one token request (or joins the one in flight). */
  #request(): Promise<TokenEntry> {
    if (this.#closed) return Promise.reject(closedError());
    if (this.#inflight) return this.#inflight.promise;
    this.#clearTimer();
    const clock = this.#o.clock;
    const seq = ++this.#seq;
    this.#lastRequestStartMs = clock.now();
    const request = startTimedRequest(
      () => this.#getCredential(),
      this.#o.scopes,
      this.#o.requestTimeoutMs,
      clock,
    );
    this.#log('debug', 'requesting a token', { seq });
    // The in-flight marker is cleared only after the result is applied, so that no caller can
    // slip a second request in between.
    const settle = <T>(apply: () => T): T => {
      request.dispose();
      try {
        return apply();
      } finally {
        if (this.#inflight?.seq === seq) this.#inflight = undefined;
      }
    };
    const promise = request.result.then(
      (token) => settle(() => this.#onToken(seq, token)),
      (error: unknown) => settle(() => this.#onFailure(seq, error)),
    );
    promise.catch(() => {});
    this.#inflight = { seq, promise, cancel: (error) => request.cancel(error) };
    for (const w of this.#waiters.splice(0)) promise.then(w.resolve, w.reject);
    return promise;
  }

  #onToken(seq: number, accessToken: Awaited<ReturnType<TokenCredential['getToken']>>): TokenEntry {
    if (this.#closed) throw closedError();
    const now = this.#o.clock.now();
    let entry: TokenEntry;
    try {
      entry = toTokenEntry(accessToken, this.#o.username, now, seq, this.#o.scopes);
    } catch (error) {
      return this.#onFailure(seq, error);
    }
    const previous = this.#entry;
    if (previous && previous.token === entry.token) return this.#onUnchanged(previous, now);
    if (previous && previous.seq > seq) return previous; // never let an older answer win
    this.#entry = entry;
    this.#unchanged = 0;
    this.#tokensFromCredential += 1;
    if (this.#o.factory && this.#tokensFromCredential >= TOKENS_PER_CREDENTIAL) {
      this.#rebuildCredential = true;
    }
    if (this.#failures > 0) {
      const recovered = {
        outageMs: now - this.#firstFailureAtMs,
        attempts: this.#failures,
        wasExpired: this.#expiredEmitted || (previous !== undefined && previous.expiresAtMs <= now),
      };
      this.#failures = 0;
      this.#lastError = undefined;
      this.#log('info', 'token refresh recovered', recovered);
      this.#events.emit('recovered', recovered);
    }
    this.#expiredEmitted = false;
    const o = this.#o;
    const nextRefreshAtMs = computeRefreshAtMs({
      nowMs: now,
      issuedAtMs: entry.issuedAtMs,
      expiresAtMs: entry.expiresAtMs,
      refreshRatio: o.refreshRatio,
      minRemainingMs: o.minRemainingMs,
      jitterRatio: o.jitterRatio,
      minRefreshIntervalMs: o.minRefreshIntervalMs,
      lastRequestStartMs: this.#lastRequestStartMs,
      random: o.random(),
    });
    this.#warnIfFloorIsLate(entry, now, nextRefreshAtMs);
    this.#schedule(nextRefreshAtMs);
    this.#armExpiry(entry);
    this.#metrics.recordRefresh();
    const c = entry.credentials;
    const event = { oid: c.oid, username: c.username, expiresAtMs: c.expiresAtMs, nextRefreshAtMs };
    this.#log('info', 'access token refreshed', { ...event, lifetimeMs: c.expiresAtMs - now });
    this.#events.emit('refreshed', event);
    this.#fanOut.deliver(
      [...this.#listeners],
      c,
      (l) => this.#listeners.has(l),
      previous?.expiresAtMs,
    );
    return entry;
  }

  #listenerFailed(error: unknown): void {
    this.#log('error', 'an onCredentials listener threw; ignored', {
      error: summarizeError(error, this.#secrets()),
    });
  }

  /** The credential handed back the token we already have (its own cache answered). */
  #onUnchanged(current: TokenEntry, now: number): TokenEntry {
    this.#unchanged += 1;
    const o = this.#o;
    let atMs: number | undefined;
    if (o.factory && this.#unchanged === 1) {
      this.#rebuildCredential = true; // a fresh credential has an empty cache
      atMs = Math.max(now, this.#lastRequestStartMs + o.minRefreshIntervalMs);
    } else {
      atMs = cachedTokenRetryAtMs(
        current.expiresAtMs,
        o.credentialCacheWindowMs,
        now,
        o.minRefreshIntervalMs,
        this.#lastRequestStartMs,
      );
    }
    if (atMs === undefined) {
      const delay = retryDelayMs(o.retry, this.#unchanged, { transient: true }, o.random);
      atMs = Math.max(now + delay, this.#lastRequestStartMs + o.minRefreshIntervalMs);
    }
    this.#schedule(atMs);
    this.#log(
      'debug',
      'the credential returned the token already in use (cached); asking again later',
      {
        nextRequestAtMs: atMs,
        expiresAtMs: current.expiresAtMs,
        freshCredential: this.#rebuildCredential,
      },
    );
    return current;
  }

  #onFailure(seq: number, raw: unknown): never {
    if (this.#closed) throw closedError();
    const o = this.#o;
    const now = o.clock.now();
    const error = toRequestError(raw, now, o.retry.maxDelayMs);
    if (seq !== this.#seq) throw error; // superseded: the newer request decides
    if (this.#failures === 0) this.#firstFailureAtMs = now;
    this.#failures += 1;
    this.#lastError = error;
    if (o.factory) this.#rebuildCredential = true; // drop MSAL's throttling cache with it
    const delay = retryDelayMs(
      o.retry,
      this.#failures,
      {
        transient: error.isRetryable,
        ...(error.retryAfterMs !== undefined ? { retryAfterMs: error.retryAfterMs } : {}),
      },
      o.random,
    );
    const atMs = Math.max(now + delay, this.#lastRequestStartMs + o.minRefreshIntervalMs);
    this.#schedule(atMs);
    this.#metrics.recordFailure(error.code, error.isRetryable);
    const valid = this.#valid();
    const event = {
      attempt: this.#failures,
      error,
      retryInMs: atMs - now,
      ...(this.#entry ? { tokenExpiresAtMs: this.#entry.expiresAtMs } : {}),
    };
    this.#log(valid ? 'warn' : 'error', 'token request failed', {
      attempt: event.attempt,
      code: error.code,
      retryable: error.isRetryable,
      retryInMs: event.retryInMs,
      error: error.message,
      ...(event.tokenExpiresAtMs !== undefined ? { tokenExpiresAtMs: event.tokenExpiresAtMs } : {}),
    });
    this.#events.emit('refreshFailed', event);
    throw error;
  }

  #armExpiry(entry: TokenEntry): void {
    const clock = this.#o.clock;
    if (this.#expiryTimer !== undefined) clock.clearTimeout(this.#expiryTimer);
    this.#expiryTimer = clock.setTimeout(
      () => {
        this.#expiryTimer = undefined;
        if (this.#closed || this.#entry !== entry || this.#expiredEmitted) return;
        this.#expiredEmitted = true;
        const event = { expiredAtMs: entry.expiresAtMs, cause: this.#lastError };
        this.#log('error', 'access token expired without a fresh one; still retrying', {
          expiredAtMs: event.expiredAtMs,
          cause: this.#lastError?.message,
        });
        this.#events.emit('expired', event);
      },
      Math.max(0, entry.expiresAtMs - clock.now()),
    );
  }
}

/**
 * Creates a {@link TokenSource}; same as `new TokenSource(options)`.
 *
 * @example
 * ```ts
 * const source = createTokenSource({ credential: defaultAzureCredential() });
 * ```
 */
export function createTokenSource(options: TokenSourceOptions): TokenSource {
  return new TokenSource(options);
}
