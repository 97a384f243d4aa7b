/**
 * Handle of a timer started through a {@link TokenSourceClock}.
 *
 * @example
 * ```ts
 * const handle: TimerHandle = clock.setTimeout(() => {}, 1000);
 * clock.clearTimeout(handle);
 * ```
 */
export type TimerHandle = unknown;

/**
 * Time and timers, injectable so that schedules are tested without sleeping. The default
 * (the system clock) uses `Date.now`, `setTimeout` (timers `unref()`ed) and `clearTimeout`
 * as they were when the library loaded. Meant for tests.
 *
 * @example
 * ```ts
 * const clock: TokenSourceClock = {
 *   now: () => fakeNow,
 *   setTimeout: (fn, ms) => fake.add(fn, ms),
 *   clearTimeout: (h) => fake.remove(h),
 * };
 * ```
 */
export interface TokenSourceClock {
  /** Current time in ms since the epoch. */
  now(): number;
  /** Runs `callback` once after `delayMs`; must not keep the process alive. */
  setTimeout(callback: () => void, delayMs: number): TimerHandle;
  /** Cancels a timer; a no-op for a timer that already ran or was cancelled. */
  clearTimeout(handle: TimerHandle): void;
}

// Taken once, when this module loads. Test suites often install fake timers (sinon,
// `vi.useFakeTimers()`, Jest) after loading their dependencies; those replace the globals, and
// the functions of Node's `timers` module, but not references taken before. The cache's clock
// runs on whatever a test does with its own, so refreshes, retries and deadlines must too.
const loaded = Object.freeze({
  dateNow: Date.now,
  setTimeout: globalThis.setTimeout,
  clearTimeout: globalThis.clearTimeout,
  setInterval: globalThis.setInterval,
  clearInterval: globalThis.clearInterval,
});

/**
 * Real time for the library's own schedules, with the timer functions and `Date.now` taken
 * when the library loaded: fake timers installed later do not stop it. Timers are `unref()`ed.
 * @internal
 */
export const realTime = Object.freeze({
  now: (): number => loaded.dateNow(),
  setTimeout(callback: () => void, delayMs: number): NodeJS.Timeout {
    const timer = loaded.setTimeout(callback, Math.max(0, delayMs));
    timer.unref();
    return timer;
  },
  clearTimeout(timer: NodeJS.Timeout | undefined): void {
    loaded.clearTimeout(timer);
  },
  setInterval(callback: () => void, everyMs: number): NodeJS.Timeout {
    const timer = loaded.setInterval(callback, everyMs);
    timer.unref();
    return timer;
  },
  clearInterval(timer: NodeJS.Timeout | undefined): void {
    loaded.clearInterval(timer);
  },
});

/**
 * The real clock, the default `clock` of a token source: `Date.now` and unref'ed timers, as
 * they were when the library loaded. Fake timers installed afterwards (sinon, Jest,
 * `vi.useFakeTimers()`) do not freeze it: the token source keeps refreshing while the cache's
 * clock runs on. To drive a source with fake time, pass a `clock` of your own.
 *
 * @example
 * ```ts
 * const t = systemClock.setTimeout(() => {}, 10);
 * systemClock.clearTimeout(t);
 * ```
 */
export const systemClock: TokenSourceClock = Object.freeze({
  now: realTime.now,
  setTimeout: (callback: () => void, delayMs: number): TimerHandle =>
    realTime.setTimeout(callback, delayMs),
  clearTimeout: (handle: TimerHandle): void => {
    realTime.clearTimeout(handle as NodeJS.Timeout);
  },
});

/**
 * `promise`, or a rejection with "timed out after `ms` ms waiting for `what`" if it takes
 * longer; the timer is real (see {@link realTime}) and cleared either way.
 * @internal
 */
export function withTimeout<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = realTime.setTimeout(
      () => reject(new Error(`timed out after ${ms} ms waiting for ${what}`)),
      ms,
    );
  });
  return Promise.race([promise, timeout]).finally(() => realTime.clearTimeout(timer));
}
