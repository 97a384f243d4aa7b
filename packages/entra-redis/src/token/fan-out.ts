// Delivery of a new token to the source's listeners, paced: at most `window` re-authentications
// pending at once, the next listener called as one settles. The window adapts: it widens while
// answers come back about as fast as the fastest one, and narrows when they slow down (the
// server's queue is growing), between FANOUT_WINDOW.floor and the configured ceiling.

import type { TimerHandle, TokenSourceClock } from '../lib/clock.js';
import type { RedisCredentials } from './credentials.js';

/**
 * A listener as the token source keeps it: called as a method (`this` is the listener), so an
 * adapter's per-connection object can be one itself, with no closure per connection.
 */
export interface CredentialsListener {
  receiveCredentials(credentials: RedisCredentials): unknown;
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
 * The adaptive pacing window of a fan-out: it starts at `initial` re-AUTHs in flight (or the
 * ceiling, `maxConcurrentReauth`, if lower), widens by one for each answer that comes back
 * about as fast as the fastest of this fan-out (within twice its round trip plus 1 ms: so it
 * doubles per window's worth of fast answers), and halves, not below `floor`, at most once per
 * window's worth of answers when they come back slower (AUTHs are queueing at the server, and
 * so would the application's commands).
 *
 * @example
 * ```ts
 * FANOUT_WINDOW; // { initial: 32, floor: 8 }
 * ```
 */
export const FANOUT_WINDOW = Object.freeze({ initial: 32, floor: 8 });

/** A re-AUTH holding a place in the window: when it started, and whether it let go. */
interface Place {
  readonly startedAtMs: number;
  done: boolean;
}

/**
 * Calls listeners with a new token. A listener that returns a promise (its connection's re-AUTH)
 * holds a place in the window until the promise settles or {@link REAUTH_SLOT_TIMEOUT_MS}
 * passes; one that returns anything else is done at once. So a rotation over thousands of
 * connections keeps a bounded number of AUTHs in flight (see {@link FANOUT_WINDOW}; at most the
 * ceiling): the event loop is never blocked for the whole fan-out, and commands on other
 * connections wait behind a few AUTHs at the server, not behind all of them. Without promises
 * every listener is called at once, in subscription order. The pacing ends at a deadline (a
 * quarter of the previous token's remaining life, at most {@link FANOUT_MAX_MS}): whoever is
 * still waiting then goes at once, so connections that do not answer can never hold the
 * others near the old token's expiry; below {@link FANOUT_MIN_PACING_MS} there is no pacing
 * at all. A newer delivery, or {@link FanOut.cancel}, stops the calls still queued. Two timers
 * at most, whatever the number of connections: the deadline, and one watchdog for the oldest
 * place held.
 *
 * @example
 * ```ts
 * const fanOut = new FanOut(1024, clock, (error) => log(error));
 * fanOut.deliver([...listeners], credentials, (l) => listeners.has(l), oldExpiresAtMs);
 * ```
 */
export class FanOut {
  readonly #ceiling: number;
  readonly #clock: TokenSourceClock;
  readonly #failed: (error: unknown) => void;
  #current: Delivery | undefined;

  constructor(ceiling: number, clock: TokenSourceClock, failed: (error: unknown) => void) {
    this.#ceiling = ceiling;
    this.#clock = clock;
    this.#failed = failed;
  }

  /**
   * Calls each of `listeners` still `subscribed` with `credentials`, paced for a quarter of
   * the time left until `previousExpiresAtMs` (at most {@link FANOUT_MAX_MS}).
   */
  deliver(
    listeners: readonly CredentialsListener[],
    credentials: RedisCredentials,
    subscribed: (listener: CredentialsListener) => boolean,
    previousExpiresAtMs: number | undefined,
  ): void {
    this.#current?.stop();
    const nowMs = this.#clock.now();
    const paceForMs = Math.min(
      FANOUT_MAX_MS,
      previousExpiresAtMs === undefined ? FANOUT_MAX_MS : (previousExpiresAtMs - nowMs) / 4,
    );
    const ceiling = paceForMs < FANOUT_MIN_PACING_MS ? Infinity : this.#ceiling;
    const delivery = new Delivery(
      listeners,
      credentials,
      subscribed,
      ceiling,
      this.#clock,
      this.#failed,
    );
    this.#current = delivery;
    delivery.start(paceForMs);
  }

  /** Stops the calls still queued (the source closed). */
  cancel(): void {
    this.#current?.stop();
    this.#current = undefined;
  }
}

/** One token's fan-out: its queue of listeners, its window, its places and its two timers. */
class Delivery {
  readonly #listeners: readonly CredentialsListener[];
  readonly #credentials: RedisCredentials;
  readonly #subscribed: (listener: CredentialsListener) => boolean;
  readonly #ceiling: number;
  readonly #clock: TokenSourceClock;
  readonly #failed: (error: unknown) => void;
  #window: number;
  #next = 0;
  #pending = 0;
  #stopped = false;
  #fastestMs = Infinity;
  #answersSinceCut = 0;
  /** Places in the order they were taken: the oldest is the next to time out. */
  readonly #places: Place[] = [];
  #oldest = 0;
  #watchdog: TimerHandle | undefined;
  #deadline: TimerHandle | undefined;

  constructor(
    listeners: readonly CredentialsListener[],
    credentials: RedisCredentials,
    subscribed: (listener: CredentialsListener) => boolean,
    ceiling: number,
    clock: TokenSourceClock,
    failed: (error: unknown) => void,
  ) {
    this.#listeners = listeners;
    this.#credentials = credentials;
    this.#subscribed = subscribed;
    this.#ceiling = ceiling;
    this.#window = ceiling === Infinity ? Infinity : Math.min(ceiling, FANOUT_WINDOW.initial);
    this.#clock = clock;
    this.#failed = failed;
  }

  start(paceForMs: number): void {
    this.#pump();
    if (this.#stopped || this.#next >= this.#listeners.length || this.#ceiling === Infinity) {
      return;
    }
    this.#deadline = this.#clock.setTimeout(() => {
      this.#deadline = undefined;
      this.#window = Infinity; // the deadline: everyone still waiting goes now
      this.#pump();
    }, paceForMs);
  }

  stop(): void {
    this.#stopped = true;
    // A stopped fan-out paces nothing any more: no timer outlives it.
    this.#clock.clearTimeout(this.#deadline);
    this.#clock.clearTimeout(this.#watchdog);
    this.#deadline = this.#watchdog = undefined;
    this.#places.length = 0;
  }

  #pump(): void {
    while (!this.#stopped && this.#pending < this.#window && this.#next < this.#listeners.length) {
      const listener = this.#listeners[this.#next++]!;
      if (!this.#subscribed(listener)) continue;
      let result: unknown;
      try {
        result = listener.receiveCredentials(this.#credentials);
      } catch (error) {
        this.#failed(error);
        continue;
      }
      if (typeof (result as PromiseLike<unknown> | undefined)?.then !== 'function') continue;
      this.#hold(result as PromiseLike<unknown>);
    }
    if (this.#next >= this.#listeners.length && this.#deadline !== undefined) {
      this.#clock.clearTimeout(this.#deadline);
      this.#deadline = undefined;
    }
  }

  #hold(answer: PromiseLike<unknown>): void {
    const place: Place = { startedAtMs: this.#clock.now(), done: false };
    this.#pending++;
    this.#places.push(place);
    this.#watchdog ??= this.#clock.setTimeout(() => this.#expire(), REAUTH_SLOT_TIMEOUT_MS);
    answer.then(
      () => this.#answered(place),
      (error: unknown) => {
        this.#failed(error);
        this.#answered(place);
      },
    );
  }

  #answered(place: Place): void {
    if (place.done || this.#stopped) return;
    place.done = true;
    this.#pending--;
    this.#adapt(this.#clock.now() - place.startedAtMs);
    this.#pump();
    if (this.#pending === 0 && this.#next >= this.#listeners.length) this.stop(); // all answered
  }

  /** Widens or narrows the window after an answer (`undefined`: none came in time). */
  #adapt(roundTripMs: number | undefined): void {
    this.#answersSinceCut++;
    if (roundTripMs !== undefined) this.#fastestMs = Math.min(this.#fastestMs, roundTripMs);
    if (roundTripMs !== undefined && roundTripMs <= 2 * this.#fastestMs + 1) {
      if (this.#window < this.#ceiling) this.#window++;
    } else if (this.#answersSinceCut >= this.#window) {
      this.#window = Math.max(Math.min(this.#ceiling, FANOUT_WINDOW.floor), this.#window >> 1);
      this.#answersSinceCut = 0;
    }
  }

  /** The watchdog: places held for {@link REAUTH_SLOT_TIMEOUT_MS} let go; re-armed for the next. */
  #expire(): void {
    this.#watchdog = undefined;
    const nowMs = this.#clock.now();
    const places = this.#places;
    while (this.#oldest < places.length) {
      const place = places[this.#oldest]!;
      if (!place.done && nowMs - place.startedAtMs < REAUTH_SLOT_TIMEOUT_MS) break;
      this.#oldest++;
      if (place.done) continue;
      place.done = true; // unanswered: its connection must not stall the rest
      this.#pending--;
      this.#adapt(undefined);
    }
    if (this.#oldest > 1024 && this.#oldest * 2 > places.length) {
      places.splice(0, this.#oldest);
      this.#oldest = 0;
    }
    const next = places[this.#oldest];
    if (next !== undefined) {
      this.#watchdog = this.#clock.setTimeout(
        () => this.#expire(),
        next.startedAtMs + REAUTH_SLOT_TIMEOUT_MS - nowMs,
      );
    }
    this.#pump();
  }
}
