// Blocking slices waiting for a token that outlives the one they were cut for.
import { realTime } from '../lib/clock.js';
import type { RedisCredentials } from '../token/credentials.js';

interface TokenWaiter {
  afterMs: number;
  resolve(credentials: RedisCredentials | undefined): void;
  timer?: NodeJS.Timeout;
}

/** The waiters of one connection (made on its first wait: most connections never wait). */
export class TokenWaiters {
  #waiters: Set<TokenWaiter> | undefined;

  /**
   * The first token expiring after `afterMs`, or `undefined` at `deadlineMs` (a time on the
   * library's real clock; `Infinity`: no deadline) or when {@link TokenWaiters.clear} is called.
   */
  wait(afterMs: number, deadlineMs: number): Promise<RedisCredentials | undefined> {
    return new Promise((resolve) => {
      const waiter: TokenWaiter = { afterMs, resolve };
      if (Number.isFinite(deadlineMs)) {
        waiter.timer = realTime.setTimeout(
          () => this.#settle(waiter, undefined),
          deadlineMs - realTime.now(),
        );
      }
      (this.#waiters ??= new Set()).add(waiter);
    });
  }

  /** A new token: the waiters it outlasts get it. */
  deliver(credentials: RedisCredentials): void {
    if (!this.#waiters) return;
    for (const w of [...this.#waiters]) {
      if (credentials.expiresAtMs > w.afterMs) this.#settle(w, credentials);
    }
  }

  /** The connection ended: every waiter gets `undefined`, no timer is left. */
  clear(): void {
    if (this.#waiters) for (const w of [...this.#waiters]) this.#settle(w, undefined);
  }

  #settle(waiter: TokenWaiter, credentials: RedisCredentials | undefined): void {
    if (!this.#waiters?.delete(waiter)) return;
    realTime.clearTimeout(waiter.timer);
    waiter.resolve(credentials);
  }
}
