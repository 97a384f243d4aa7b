import type { TokenCredential } from '@azure/identity';
import { EntraRedisError } from '../errors.js';
import { systemClock } from '../lib/clock.js';
import { TypedEmitter } from '../lib/emitter.js';
import { createSourceMetrics, type SourceMetrics } from '../lib/otel.js';
import { summarizeError } from '../lib/redact.js';
import { toTokenEntry, type TokenEntry } from './access-token.js';
import type { RedisCredentials } from './credentials.js';
import type { TokenSourceEvents } from './events.js';
import { CredentialHolder } from './credential-holder.js';
import {
  closedError,
  ExpiryAlarm,
  expiredError,
  failureRetryAtMs,
  Outage,
  toRequestError,
} from './failure.js';
import { FanOut, type CredentialsListener } from './fan-out.js';
import {
  normalizeTokenSourceOptions,
  type NormalizedTokenSourceOptions,
} from './normalize-options.js';
import type { TokenSourceOptions } from './options.js';
import { RequestLoop } from './request-loop.js';
import { lateFloorWarning, nextRefreshAtMs, unchangedRetryAtMs } from './schedule.js';
import { SUBSCRIBE, UNSUBSCRIBE } from './subscribe.js';
import { startTimedRequest } from './timed-request.js';

export { SUBSCRIBE, UNSUBSCRIBE } from './subscribe.js';

type Level = 'debug' | 'info' | 'warn' | 'error';

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
  readonly #credential: CredentialHolder;
  readonly #outage = new Outage();
  readonly #expiry: ExpiryAlarm;
  #entry: TokenEntry | undefined;
  readonly #requests: RequestLoop;
  #started = false;
  #closed = false;
  #unchanged = 0;
  #lateRefreshWarned = false;

  /** Validates `options` (throws `INVALID_OPTION`); does not request a token yet. */
  constructor(options: TokenSourceOptions) {
    this.#o = normalizeTokenSourceOptions(options);
    this.#expiry = new ExpiryAlarm(this.#o.clock);
    this.#requests = new RequestLoop(this.#o.clock, this.#o.minRefreshIntervalMs, {
      start: (seq) => {
        this.#log('debug', 'requesting a token', { seq });
        const o = this.#o;
        return startTimedRequest(
          () => this.#credential.get(),
          o.scopes,
          o.requestTimeoutMs,
          o.clock,
        );
      },
      onToken: (seq, token) => this.#onToken(seq, token),
      onFailure: (seq, error) => this.#onFailure(seq, error),
    });
    this.#credential = new CredentialHolder(this.#o.credential, this.#o.factory, () =>
      this.#log('debug', 'built a fresh credential from the factory'),
    );
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
    void this.#requests.request().catch(() => {});
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
    if (this.#entry) throw expiredError(this.#entry.expiresAtMs, this.#outage.lastError);
    return (await this.#requests.next()).credentials;
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
    const entry: CredentialsListener = { receiveCredentials: listener };
    this[SUBSCRIBE](entry);
    return () => this[UNSUBSCRIBE](entry);
  }

  /**
   * @internal Subscribes `listener` itself: its `receiveCredentials` is called as
   * {@link onCredentials} calls a function. For the adapters' per-connection objects.
   */
  [SUBSCRIBE](listener: CredentialsListener): void {
    if (!this.#closed) this.#listeners.add(listener);
    this.start();
  }

  /** @internal Undoes {@link TokenSource[SUBSCRIBE]}; idempotent. */
  [UNSUBSCRIBE](listener: CredentialsListener): void {
    this.#listeners.delete(listener);
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
   * Whether the last token has expired without a fresh one (from the `expired` event until the
   * next token): what {@link current} tells too, without reading the clock, for checks made on
   * every command.
   */
  get expired(): boolean {
    return this.#expiry.rang;
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
    this.#expiry.stop();
    const error = closedError();
    this.#requests.close(error);
    this.#listeners.clear();
    this.#events.clear();
    this.#metrics.close();
    this.#credential.clear();
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

  #log(level: Level, message: string, fields: Record<string, unknown> = {}): void {
    try {
      this.#o.logger[level](`entra-redis: ${message}`, { source: this.#o.name, ...fields });
    } catch {
      // A logger that throws must not break the source.
    }
  }

  #onToken(seq: number, accessToken: Awaited<ReturnType<TokenCredential['getToken']>>): TokenEntry {
    if (this.#closed) throw closedError();
    const now = this.#o.clock.now();
    // The credential computed `expiresOnTimestamp` with `Date`, which fake timers installed
    // after the library loaded may have frozen; the real clock puts it back in real time.
    const dateOffsetMs = this.#o.clock === systemClock ? now - Date.now() : 0;
    let entry: TokenEntry;
    try {
      entry = toTokenEntry(accessToken, this.#o.username, now, seq, this.#o.scopes, dateOffsetMs);
    } catch (error) {
      return this.#onFailure(seq, error);
    }
    const previous = this.#entry;
    if (previous && previous.token === entry.token) return this.#onUnchanged(previous, now);
    if (previous && previous.seq > seq) return previous; // never let an older answer win
    this.#entry = entry;
    this.#unchanged = 0;
    this.#credential.issued();
    const wasExpired = this.#expiry.rang || (previous !== undefined && previous.expiresAtMs <= now);
    const recovered = this.#outage.end(now, wasExpired);
    if (recovered) {
      this.#log('info', 'token refresh recovered', recovered);
      this.#events.emit('recovered', recovered);
    }
    const o = this.#o;
    const c = entry.credentials;
    const refreshAtMs = nextRefreshAtMs(o, entry, now, this.#requests.lastStartMs);
    const late = this.#lateRefreshWarned
      ? undefined
      : lateFloorWarning(
          c.expiresAtMs,
          now,
          refreshAtMs,
          this.#requests.lastStartMs,
          o.minRefreshIntervalMs,
        );
    if (late !== undefined) {
      this.#lateRefreshWarned = true;
      this.#log('warn', late);
    }
    this.#requests.schedule(refreshAtMs);
    this.#armExpiry(entry);
    this.#metrics.recordRefresh();
    const event = {
      oid: c.oid,
      username: c.username,
      expiresAtMs: c.expiresAtMs,
      nextRefreshAtMs: refreshAtMs,
    };
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
    const fresh = this.#credential.fromFactory && this.#unchanged === 1;
    if (fresh) this.#credential.rebuild(); // a fresh credential has an empty cache
    const atMs = unchangedRetryAtMs(
      o,
      this.#unchanged,
      current.expiresAtMs,
      now,
      this.#requests.lastStartMs,
      fresh,
    );
    this.#requests.schedule(atMs);
    this.#log(
      'debug',
      'the credential returned the token already in use (cached); asking again later',
      {
        nextRequestAtMs: atMs,
        expiresAtMs: current.expiresAtMs,
        freshCredential: this.#credential.rebuilding,
      },
    );
    return current;
  }

  #onFailure(seq: number, raw: unknown): never {
    if (this.#closed) throw closedError();
    const o = this.#o;
    const now = o.clock.now();
    const error = toRequestError(raw, now, o.retry.maxDelayMs);
    if (seq !== this.#requests.seq) throw error; // superseded: the newer request decides
    const attempt = this.#outage.failed(error, now);
    this.#credential.rebuild(); // drop MSAL's throttling cache with it
    const atMs = failureRetryAtMs(o, attempt, error, now, this.#requests.lastStartMs);
    this.#requests.schedule(atMs);
    this.#metrics.recordFailure(error.code, error.isRetryable);
    const valid = this.#valid();
    const event = {
      attempt,
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
    this.#expiry.arm(entry.expiresAtMs, () => {
      const cause = this.#outage.lastError;
      this.#log('error', 'access token expired without a fresh one; still retrying', {
        expiredAtMs: entry.expiresAtMs,
        cause: cause?.message,
      });
      this.#events.emit('expired', { expiredAtMs: entry.expiresAtMs, cause });
    });
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
