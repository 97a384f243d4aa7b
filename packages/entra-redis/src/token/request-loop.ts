// One token request at a time, on a schedule: the request in flight and who waits for it, the
// timer of the next one, and the floor between the starts of two requests.
import type { AccessToken } from '@azure/identity';
import type { EntraRedisError } from '../errors.js';
import type { TimerHandle, TokenSourceClock } from '../lib/clock.js';
import type { TokenEntry } from './access-token.js';
import { closedError } from './failure.js';
import type { TimedRequest } from './timed-request.js';

/** What a {@link RequestLoop} calls: its owner's credential call and result handling. */
export interface RequestHandlers {
  /** Starts the credential call of request number `seq`. */
  start(seq: number): TimedRequest;
  /** Applies request `seq`'s token (throws to reject the request's callers). */
  onToken(seq: number, token: AccessToken | null): TokenEntry;
  /** Handles request `seq`'s failure; throws the error its callers get. */
  onFailure(seq: number, error: unknown): never;
}

interface Inflight {
  readonly seq: number;
  readonly promise: Promise<TokenEntry>;
  readonly cancel: (error: EntraRedisError) => void;
}

interface Waiter {
  resolve(entry: TokenEntry): void;
  reject(error: unknown): void;
}

/**
 * Runs a token source's requests: never two at once (callers join the one in flight), never
 * two starts closer than `floorMs`, and the next one on a timer set by {@link schedule}.
 */
export class RequestLoop {
  readonly #clock: TokenSourceClock;
  readonly #floorMs: number;
  readonly #handlers: RequestHandlers;
  #inflight: Inflight | undefined;
  #waiters: Waiter[] = [];
  #seq = 0;
  #timer: TimerHandle | undefined;
  #timerAtMs: number | undefined;
  #lastStartMs = Number.NEGATIVE_INFINITY;
  #closed = false;

  constructor(clock: TokenSourceClock, floorMs: number, handlers: RequestHandlers) {
    this.#clock = clock;
    this.#floorMs = floorMs;
    this.#handlers = handlers;
  }

  /** Number of the latest request (a result of an older one is superseded). */
  get seq(): number {
    return this.#seq;
  }

  /** When the latest request started (the floor counts from it). */
  get lastStartMs(): number {
    return this.#lastStartMs;
  }

  /** The next attempt's result: the in-flight one, a new one, or one right after the floor. */
  next(): Promise<TokenEntry> {
    if (this.#inflight) return this.#inflight.promise;
    const floorAtMs = this.#lastStartMs + this.#floorMs;
    if (this.#clock.now() >= floorAtMs) return this.request();
    if (this.#timerAtMs === undefined || this.#timerAtMs > floorAtMs) this.schedule(floorAtMs);
    return new Promise<TokenEntry>((resolve, reject) => this.#waiters.push({ resolve, reject }));
  }

  /** Starts the next request at `atMs` (at the floor if callers are waiting). */
  schedule(atMs: number): void {
    this.#clearTimer();
    if (this.#closed) return;
    if (this.#waiters.length > 0) atMs = Math.min(atMs, this.#lastStartMs + this.#floorMs);
    this.#timerAtMs = atMs;
    this.#timer = this.#clock.setTimeout(
      () => {
        this.#timer = undefined;
        this.#timerAtMs = undefined;
        void this.request().catch(() => {});
      },
      Math.max(0, atMs - this.#clock.now()),
    );
  }

  /** Starts one token request now (or joins the one in flight). */
  request(): Promise<TokenEntry> {
    if (this.#closed) return Promise.reject(closedError());
    if (this.#inflight) return this.#inflight.promise;
    this.#clearTimer();
    const seq = ++this.#seq;
    this.#lastStartMs = this.#clock.now();
    const request = this.#handlers.start(seq);
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
      (token) => settle(() => this.#handlers.onToken(seq, token)),
      (error: unknown) => settle(() => this.#handlers.onFailure(seq, error)),
    );
    promise.catch(() => {});
    this.#inflight = { seq, promise, cancel: (error) => request.cancel(error) };
    for (const w of this.#waiters.splice(0)) promise.then(w.resolve, w.reject);
    return promise;
  }

  /** Stops: no timer, the request in flight aborted, every waiter rejected with `error`. */
  close(error: EntraRedisError): void {
    this.#closed = true;
    this.#clearTimer();
    this.#inflight?.cancel(error);
    this.#inflight = undefined;
    for (const w of this.#waiters.splice(0)) w.reject(error);
  }

  #clearTimer(): void {
    if (this.#timer !== undefined) this.#clock.clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#timerAtMs = undefined;
  }
}
