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
 * Time and timers, injectable so that schedules are tested without sleeping. The default uses
 * `Date.now`, `setTimeout` (timers `unref()`ed) and `clearTimeout`. Meant for tests.
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

/**
 * The real clock: `Date.now` and unref'ed Node.js timers (looked up at call time, so that
 * `vi.useFakeTimers()` also works).
 *
 * @example
 * ```ts
 * const t = systemClock.setTimeout(() => {}, 10);
 * systemClock.clearTimeout(t);
 * ```
 */
export const systemClock: TokenSourceClock = Object.freeze({
  now: () => Date.now(),
  setTimeout: (callback: () => void, delayMs: number): TimerHandle => {
    const timer = setTimeout(callback, Math.max(0, delayMs));
    (timer as { unref?: () => void }).unref?.();
    return timer;
  },
  clearTimeout: (handle: TimerHandle): void => {
    clearTimeout(handle as ReturnType<typeof setTimeout>);
  },
});
