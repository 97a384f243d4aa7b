// Delivery of a new token to the source's listeners, paced: at most `window` re-authentications
// pending at once, the next listener called as one settles.

import type { TimerHandle, TokenSourceClock } from '../lib/clock.js';
import type { RedisCredentials } from './credentials.js';

/** A listener as the token source keeps it. */
export interface CredentialsListener {
  fn(credentials: RedisCredentials): unknown;
}

/**
 * How long one pending re-authentication may hold its place in the window; after that the next
 * listener is called anyway (a connection that does not answer must not stall the rest).
 *
 * @example
 * ```ts
 * REAUTH_SLOT_TIMEOUT_MS; // 2000
 * ```
 */
export const REAUTH_SLOT_TIMEOUT_MS = 2_000;

/**
 * Longest a paced fan-out runs before every connection still waiting is re-authenticated at
 * once; sooner when the previous token expires sooner (see {@link FanOut.deliver}).
 *
 * @example
 * ```ts
 * FANOUT_MAX_MS; // 30000
 * ```
 */
export const FANOUT_MAX_MS = 30_000;

/**
 * No pacing when it could last less than this (the old token has under 4 s left: test tokens
 * of a few seconds): every connection is re-authenticated at once and keeps the whole margin.
 *
 * @example
 * ```ts
 * FANOUT_MIN_PACING_MS; // 1000
 * ```
 */
export const FANOUT_MIN_PACING_MS = 1_000;

/**
 * Calls listeners with a new token. A listener that returns a promise (its connection's re-AUTH)
 * holds a place in the window until the promise settles or {@link REAUTH_SLOT_TIMEOUT_MS}
 * passes; one that returns anything else is done at once. So a rotation over thousands of
 * connections keeps at most `window` AUTHs in flight: the event loop is never blocked for the
 * whole fan-out, and commands on other connections wait behind a few AUTHs at the server, not
 * behind all of them. Without promises every listener is called at once, in subscription
 * order. The pacing ends at a deadline (a quarter of the previous token's remaining life, at
 * most {@link FANOUT_MAX_MS}): whoever is still waiting then goes at once, so connections that
 * do not answer can never hold the others near the old token's expiry; below
 * {@link FANOUT_MIN_PACING_MS} there is no pacing at all. A newer delivery, or
 * {@link FanOut.cancel}, stops the calls still queued.
 *
 * @example
 * ```ts
 * const fanOut = new FanOut(32, clock, (error) => log(error));
 * fanOut.deliver([...listeners], credentials, (l) => listeners.has(l));
 * ```
 */
export class FanOut {
  readonly #window: number;
  readonly #clock: TokenSourceClock;
  readonly #failed: (error: unknown) => void;
  #generation = 0;
  #deadlineTimer: TimerHandle | undefined;
  /** Timers of the places still held in the current fan-out (cleared when it stops). */
  readonly #slotTimers = new Set<TimerHandle>();

  constructor(window: number, clock: TokenSourceClock, failed: (error: unknown) => void) {
    this.#window = window;
    this.#clock = clock;
    this.#failed = failed;
  }

  /**
   * Calls each of `listeners` still `subscribed` with `credentials`, paced by the window for a
   * quarter of the time left until `previousExpiresAtMs` (at most {@link FANOUT_MAX_MS}).
   */
  deliver(
    listeners: readonly CredentialsListener[],
    credentials: RedisCredentials,
    subscribed: (listener: CredentialsListener) => boolean,
    previousExpiresAtMs: number | undefined,
  ): void {
    this.#stop();
    const generation = this.#generation;
    let next = 0;
    let pending = 0;
    const nowMs = this.#clock.now();
    const paceForMs = Math.min(
      FANOUT_MAX_MS,
      previousExpiresAtMs === undefined ? FANOUT_MAX_MS : (previousExpiresAtMs - nowMs) / 4,
    );
    let window = paceForMs < FANOUT_MIN_PACING_MS ? Infinity : this.#window;
    const pump = (): void => {
      while (pending < window && next < listeners.length) {
        if (generation !== this.#generation) return;
        const listener = listeners[next++]!;
        if (!subscribed(listener)) continue;
        let result: unknown;
        try {
          result = listener.fn(credentials);
        } catch (error) {
          this.#failed(error);
          continue;
        }
        if (typeof (result as PromiseLike<unknown> | undefined)?.then !== 'function') continue;
        pending++;
        let done = false;
        const settle = (): void => {
          if (done) return;
          done = true;
          this.#clock.clearTimeout(timer);
          this.#slotTimers.delete(timer);
          pending--;
          pump();
        };
        const timer: TimerHandle = this.#clock.setTimeout(settle, REAUTH_SLOT_TIMEOUT_MS);
        this.#slotTimers.add(timer);
        (result as PromiseLike<unknown>).then(settle, (error: unknown) => {
          this.#failed(error);
          settle();
        });
      }
      if (generation !== this.#generation) return;
      if (next >= listeners.length) {
        this.#clearDeadline();
      } else if (window === this.#window) {
        this.#deadlineTimer ??= this.#clock.setTimeout(
          () => {
            this.#deadlineTimer = undefined;
            if (generation !== this.#generation) return;
            window = Infinity; // the deadline: everyone still waiting goes now
            pump();
          },
          Math.max(0, paceForMs - (this.#clock.now() - nowMs)),
        );
      }
    };
    pump();
  }

  /** Stops the calls still queued (the source closed). */
  cancel(): void {
    this.#stop();
  }

  #stop(): void {
    this.#generation++;
    this.#clearDeadline();
    // Places of a stopped fan-out no longer pace anything: no timer outlives it.
    for (const timer of this.#slotTimers) this.#clock.clearTimeout(timer);
    this.#slotTimers.clear();
  }

  #clearDeadline(): void {
    if (this.#deadlineTimer === undefined) return;
    this.#clock.clearTimeout(this.#deadlineTimer);
    this.#deadlineTimer = undefined;
  }
}
