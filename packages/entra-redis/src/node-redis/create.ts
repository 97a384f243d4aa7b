import * as redis from 'redis';
import type { EntraRedisError } from '../errors.js';
import { diagnoseServerError } from '../reauth/index.js';
import type { TokenSource } from '../token/token-source.js';
import { attachEntraAuth, type NodeRedisClient } from './attach.js';
import {
  normalizeClientOptions,
  type AnyRespClientOptions,
  type CreateClientOptions,
} from './options.js';

/**
 * A node-redis `createClient` (redis 6's by default, or redis 5's: its options type comes from
 * another copy of @redis/client, hence `never`).
 */
type CreateClientFn = (options: never) => unknown;

/**
 * Makes `connect()` of `target` reject a refused token with `AUTH_REFUSED` (naming the
 * principal and the fix) instead of node-redis's bare `WRONGPASS`. With `stopOnRefusal`, a
 * handshake refused while `connect()` is pending closes `target` (`destroy()`), so `connect()`
 * rejects at once instead of retrying for ever under a reconnect strategy that never gives up;
 * once connected, a refused reconnect is retried as any other failure.
 *
 * @example
 * ```ts
 * diagnoseConnect(pool, tokenSource, { stopOnRefusal: true });
 * ```
 */
export function diagnoseConnect(
  target: {
    connect(): Promise<unknown>;
    destroy?(): unknown;
    on?(event: 'error', listener: (error: unknown) => void): unknown;
    off?(event: 'error', listener: (error: unknown) => void): unknown;
  },
  tokenSource: TokenSource,
  options: { stopOnRefusal?: boolean } = {},
): void {
  const connect = target.connect.bind(target);
  const diagnose = (error: unknown): EntraRedisError | undefined => {
    const credentials = tokenSource.current();
    return diagnoseServerError(
      error,
      credentials ? { oid: credentials.oid, username: credentials.username } : {},
    );
  };
  Object.defineProperty(target, 'connect', {
    configurable: true,
    writable: true,
    value: async () => {
      let refused: EntraRedisError | undefined;
      const onError = (error: unknown): void => {
        const diagnosed = diagnose(error);
        if (refused || diagnosed?.code !== 'AUTH_REFUSED') return;
        refused = diagnosed;
        target.destroy?.(); // node-redis then ends the pending connect()
      };
      const watch = options.stopOnRefusal === true && typeof target.on === 'function';
      if (watch) target.on!('error', onError);
      try {
        const connected = await connect();
        if (refused) throw refused; // redis 5 ends connect() without an error when destroyed
        return connected;
      } catch (error) {
        throw refused ?? diagnose(error) ?? error;
      } finally {
        if (watch) target.off?.('error', onError);
      }
    },
  });
}

/**
 * Creates a node-redis client authenticated with Entra ID: every (re)connect uses the token
 * source's current token, every new token re-authenticates the live connection in place (see
 * {@link attachEntraAuth}), and `duplicate()` copies are protected too. Applies Azure practice
 * where unset: TLS with `servername` for Azure host names, TCP keepalive (30 s), a client name
 * and a reconnect backoff with jitter. Refuses a plaintext connection to an Azure host name
 * (`INSECURE_CONNECTION`) unless `allowInsecureConnection: true`. Pass another `createClient`
 * (e.g. from redis 5) as the second argument to use it. A token the cache refuses makes
 * `connect()` reject with `AUTH_REFUSED` naming the principal.
 *
 * @example
 * ```ts
 * import { TokenSource, managedIdentity } from 'entra-redis';
 * import { createClient } from 'entra-redis/node-redis';
 *
 * const tokenSource = new TokenSource({ credential: managedIdentity() });
 * const client = createClient({ socket: { host: 'cache.redis.cache.windows.net', port: 6380 }, tokenSource });
 * await client.connect();
 * ```
 */
export function createClient<C = ReturnType<typeof redis.createClient>>(
  options: CreateClientOptions,
  createRedisClient?: CreateClientFn,
): C {
  const { clientOptions, entra, tokenSource } = normalizeClientOptions(options, 'createClient');
  const build = (createRedisClient ?? redis.createClient) as (o: AnyRespClientOptions) => unknown;
  const client = build(clientOptions) as NodeRedisClient & { connect(): Promise<unknown> };
  attachEntraAuth(client, tokenSource, entra);
  diagnoseConnect(client, tokenSource, { stopOnRefusal: true });
  return client as C;
}
