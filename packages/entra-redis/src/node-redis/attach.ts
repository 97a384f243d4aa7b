import type { EntraRedisError } from '../errors.js';
import { OptionValidator, requireTokenSource } from '../lib/validate.js';
import type { TokenSource } from '../token/token-source.js';
import { ClientGuard } from './client-guard.js';
export { entraCredentialsProvider, type EntraCredentialsProvider } from './provider.js';

/**
 * The part of a node-redis 5.x or 6.x client this adapter uses (all public API).
 *
 * @example
 * ```ts
 * const client: NodeRedisClient = createClient({ url });
 * ```
 */
export interface NodeRedisClient {
  /** Whether the client is connected or connecting (node-redis's own flag). */
  readonly isOpen?: boolean;
  readonly isReady: boolean;
  readonly isPubSubActive: boolean;
  readonly options?: object;
  sendCommand(args: string[], ...rest: never[]): Promise<unknown>;
  duplicate(...args: never[]): NodeRedisClient;
  on(event: string, listener: (...args: unknown[]) => void): unknown;
  off(event: string, listener: (...args: unknown[]) => void): unknown;
}

/** Options of {@link attachEntraAuth}. */
export interface NodeRedisEntraOptions {
  /**
   * Called with every re-authentication failure (an {@link EntraRedisError}); by default it is
   * emitted as `'error'` on the client when the client has `'error'` listeners.
   */
  onError?: (error: EntraRedisError) => void;
}

/**
 * Keeps one node-redis client authenticated with fresh Entra ID tokens, for as long as it lives:
 * - each new token is sent as `AUTH` on the live connection, appended to its queue (never
 *   reordering your commands); never inside a transaction: node-redis writes `multi().exec()`
 *   as one block, and a raw `sendCommand(['MULTI'])` … `EXEC` defers the AUTH to right after
 *   `EXEC`/`DISCARD`;
 * - every reconnect uses the current token (give the client {@link entraCredentialsProvider});
 * - a RESP3 subscriber is re-authenticated in place; a RESP2 subscriber (where Redis refuses
 *   AUTH) by a two-marker handoff that loses and duplicates no message (see
 *   `handOffSubscriber`);
 * - blocking commands whose timeout outlives the token are cut into slices and re-issued;
 * - commands fail fast with `TOKEN_EXPIRED` while no valid token exists, and `NOPERM` becomes
 *   `PERMISSION_DENIED` naming the principal;
 * - `duplicate()` copies are attached too.
 * The client listens to the token source only while it is connected (from each `'ready'` to
 * `'end'`): a closed client, or one never connected, holds no subscription, and a client
 * connected again after `close()` is protected again. Returns `detach()`, which removes
 * everything; attaching a client twice returns the first attachment's `detach()`.
 *
 * @example
 * ```ts
 * const client = createClient({ url, credentialsProvider: entraCredentialsProvider(source) });
 * const detach = attachEntraAuth(client, source);
 * await client.connect();
 * ```
 */
export function attachEntraAuth(
  client: NodeRedisClient,
  tokenSource: TokenSource,
  options: NodeRedisEntraOptions = {},
): () => void {
  const v = new OptionValidator('entra-redis attachEntraAuth');
  if (typeof (client as Partial<NodeRedisClient> | null)?.sendCommand !== 'function') {
    v.fail('client', 'a node-redis client (createClient from redis)', client);
  }
  requireTokenSource('entra-redis attachEntraAuth', tokenSource);
  if (options.onError !== undefined) v.func('onError', options.onError);
  const guard = ClientGuard.install(client, tokenSource, options);
  return () => guard.detach();
}
