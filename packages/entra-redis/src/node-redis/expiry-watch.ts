// A command node-redis accepted but had not yet written when its connection went stays queued
// until the client reconnects. At a token's expiry during an identity outage that reconnect
// cannot authenticate until the outage ends, and such a command would wait as long (node-redis
// 6 fails it after its per-command timeout, node-redis 5 never): e.g. one sent in the instant
// between the cache closing the connection at the expiry and the token source's expiry alarm.
// While a source's refreshes are failing, the guard gives each command this watch's signal,
// which aborts at the expiry: node-redis drops the commands it has not written (a written one
// is past it), and the guard fails them as it fails any command sent after the expiry
// (TOKEN_EXPIRED naming the cause, or sent again if a token came meanwhile). One watch per
// token source, made with its first guard; nothing per connection or per command otherwise.
import type { TokenSource } from '../token/token-source.js';

class ExpiryWatch {
  /** A refresh failed and no token arrived since: the current one may expire. */
  atRisk = false;
  #controller: AbortController | undefined;

  constructor(source: TokenSource) {
    source.on('refreshFailed', () => void (this.atRisk = true));
    source.on('refreshed', () => {
      this.atRisk = false;
      this.#controller = undefined;
    });
    source.on('expired', () => {
      this.#controller?.abort();
      this.#controller = undefined;
    });
  }

  /** Aborts at the current token's expiry (a new one for each token). */
  get signal(): AbortSignal {
    return (this.#controller ??= new AbortController()).signal;
  }
}

export type { ExpiryWatch };

const WATCHES = new WeakMap<TokenSource, ExpiryWatch>();

/** The watch of `source` (made on first use). */
export function expiryWatchOf(source: TokenSource): ExpiryWatch {
  let watch = WATCHES.get(source);
  if (!watch) WATCHES.set(source, (watch = new ExpiryWatch(source)));
  return watch;
}

/** node-redis command `options` with `signal` added to an abort signal of their own. */
export function withExpirySignal(options: unknown, signal: AbortSignal): Record<string, unknown> {
  const own = (options as { abortSignal?: AbortSignal } | undefined)?.abortSignal;
  return {
    ...(options as Record<string, unknown> | undefined),
    abortSignal: own ? AbortSignal.any([own, signal]) : signal,
  };
}

/**
 * Whether `error` is node-redis's rejection of a command dropped by the watch's `signal` (not by
 * an abort signal of the caller's own, `options.abortSignal`).
 */
export function droppedAtExpiry(error: unknown, signal: AbortSignal, options: unknown): boolean {
  if (!signal.aborted || (options as { abortSignal?: AbortSignal })?.abortSignal?.aborted) {
    return false;
  }
  return (
    error instanceof Error &&
    (error.constructor.name === 'AbortError' || error.message === 'The command was aborted')
  );
}
