import * as redis from 'redis';
import { newClient } from './new-client.js';
import type { AnyRespClientOptions, CreateClientOptions } from './options.js';

/**
 * A node-redis `createClient` (redis 6's by default, or redis 5's: its options type comes from
 * another copy of @redis/client, hence `never`).
 */
type CreateClientFn = (options: never) => unknown;

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
  const build = (createRedisClient ?? redis.createClient) as (o: AnyRespClientOptions) => unknown;
  return newClient(options, build) as C;
}
