import type { AccessToken, TokenCredential } from '@azure/identity';
import type { EntraRedisError } from '../errors.js';
import type { TimerHandle, TokenSourceClock } from '../lib/clock.js';
import { timeoutError } from './failure.js';

/** One `getToken` call raced against a timeout and a cancel switch (internal). */
export interface TimedRequest {
  /** Settles with the token, the credential's error, a timeout or the cancel error. */
  readonly result: Promise<AccessToken | null>;
  /** Aborts the call's `AbortSignal` and rejects `result` with `error` (no-op once settled). */
  cancel(error: EntraRedisError): void;
  /** Clears the timeout timer. */
  dispose(): void;
}

/**
 * Calls `credential().getToken(scopes)` with an `AbortSignal`, raced against `timeoutMs`. Most
 * @azure/identity credentials ignore the signal, so a timed-out or cancelled call is
 * abandoned: its late answer is dropped and its rejection never goes unhandled.
 */
export function startTimedRequest(
  credential: () => TokenCredential,
  scopes: string[],
  timeoutMs: number,
  clock: TokenSourceClock,
): TimedRequest {
  const controller = new AbortController();
  let timer: TimerHandle | undefined;
  let cancel: (error: EntraRedisError) => void = () => {};
  const stop = new Promise<never>((_, reject) => {
    cancel = (error) => {
      controller.abort(error);
      reject(error);
    };
  });
  const dispose = (): void => {
    if (timer !== undefined) clock.clearTimeout(timer);
    timer = undefined;
  };
  timer = clock.setTimeout(() => {
    timer = undefined;
    cancel(timeoutError(timeoutMs));
  }, timeoutMs);
  const call = Promise.resolve().then(() =>
    credential().getToken(scopes, {
      abortSignal: controller.signal,
      requestOptions: { timeout: timeoutMs },
    }),
  );
  call.catch(() => {}); // an abandoned call must not surface as an unhandled rejection
  return { result: Promise.race([call, stop]), cancel: (error) => cancel(error), dispose };
}
