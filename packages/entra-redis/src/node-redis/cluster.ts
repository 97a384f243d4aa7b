import * as redis from 'redis';
import {
  newCluster,
  type CreateClusterOptions,
  type RedisClusterModuleLike,
} from './new-cluster.js';

export type { CreateClusterOptions, RedisClusterModuleLike } from './new-cluster.js';

/**
 * Creates a node-redis cluster (`createCluster`) authenticated with Entra ID: every node
 * connection — those opened at `connect()`, those opened later after a `MOVED`, a slot
 * migration or a failover, and the pub/sub and sharded pub/sub connections — uses the current
 * token on each (re)connect and is re-authenticated in place at each rotation, exactly like a
 * client from `createClient` (transactions, blocking commands, RESP2 subscriber handoff,
 * fail-fast `TOKEN_EXPIRED`). One token request per rotation for the whole cluster.
 * Azure practice in `defaults` where unset: TLS with the cache's host name as `servername`
 * (every node presents the cache's certificate), keepalive, a client name, reconnect backoff.
 *
 * node-redis has no hook for new node connections, so, while this function runs
 * (synchronously), `RedisClient.factory` is wrapped to hand this cluster's client factory to
 * the adapter, then restored: nothing stays patched. Pass the redis module as the second
 * argument to use another copy (e.g. `import * as redis5 from 'redis5'`).
 *
 * @example
 * ```ts
 * import { createCluster } from 'entra-redis/node-redis';
 *
 * const host = 'cache.westeurope.redis.azure.net';
 * const cluster = createCluster({ rootNodes: [{ socket: { host, port: 10000 } }], tokenSource });
 * await cluster.connect();
 * await cluster.set('key', 'value');
 * ```
 */
export function createCluster<C = ReturnType<typeof redis.createCluster>>(
  options: CreateClusterOptions,
  redisModule: RedisClusterModuleLike = redis as unknown as RedisClusterModuleLike,
): C {
  return newCluster(options, redisModule) as C;
}
