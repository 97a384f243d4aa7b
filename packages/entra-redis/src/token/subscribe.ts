// How an adapter's per-connection object listens to a token source without a closure per
// connection: the object is the listener (its `receiveCredentials` method). A source from an
// older copy of the library without that entry point gets a plain `onCredentials` function.
import type { CredentialsListener } from './fan-out.js';
import type { TokenSource } from './token-source.js';

/**
 * The methods an adapter subscribes a listener object with (see `CredentialsListener`):
 * global symbols, so that every copy of the library (the ESM and CommonJS builds, each entry
 * point's bundle) finds them on a source made by another.
 * @internal
 */
export const SUBSCRIBE = Symbol.for('entra-redis.token-source.subscribe');
/** @internal */
export const UNSUBSCRIBE = Symbol.for('entra-redis.token-source.unsubscribe');

export type { CredentialsListener } from './fan-out.js';

type Subscribable = TokenSource & {
  [SUBSCRIBE]?(listener: CredentialsListener): void;
  [UNSUBSCRIBE]?(listener: CredentialsListener): void;
};

/** Unsubscribe functions of listeners subscribed through `onCredentials` (the fallback). */
const fallbacks = new WeakMap<CredentialsListener, () => void>();

/** Subscribes `listener` to `source`'s new tokens. */
export function subscribe(source: TokenSource, listener: CredentialsListener): void {
  const s = source as Subscribable;
  if (typeof s[SUBSCRIBE] === 'function') s[SUBSCRIBE](listener);
  else
    fallbacks.set(
      listener,
      source.onCredentials((c) => listener.receiveCredentials(c)),
    );
}

/** Undoes {@link subscribe}; idempotent. */
export function unsubscribe(source: TokenSource, listener: CredentialsListener): void {
  const s = source as Subscribable;
  if (typeof s[UNSUBSCRIBE] === 'function') s[UNSUBSCRIBE](listener);
  fallbacks.get(listener)?.();
  fallbacks.delete(listener);
}
