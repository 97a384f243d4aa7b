import * as redis from 'redis';
import type { RedisPoolOptions } from 'redis';
import { newClientPool, type RedisModuleLike } from './new-client.js';
import type { CreateClientOptions } from './options.js';

export type { RedisModuleLike } from './new-client.js';

/**
 * Creates a node-redis client pool (`createClientPool`) whose every member — those created at
 * `connect()` and those the pool adds later under load — is authenticated with Entra ID exactly
 * like a client from {@link createClient}: current token on each (re)connect, `AUTH` in place
 * on each new token, blocking commands cut to the token's life, fail-fast `TOKEN_EXPIRED`.
 * One token source serves all members (one token request per refresh). `close()`/`destroy()`
 * leave no subscription on the token source.
 *
 * node-redis exposes no hook for new pool members, so while this function runs (synchronously)
 * it wraps `RedisClient.factory` of the given redis module to hand this pool's member factory
 * to the adapter, then restores it: nothing stays patched, other pools are not affected. Pass
 * the redis module as the third argument to use another copy (e.g. `import * as redis5 from
 * 'redis5'`).
 *
 * @example
 * ```ts
 * import { createClientPool } from 'entra-redis/node-redis';
 *
 * const pool = createClientPool({ socket: { host, port: 10000 }, tokenSource }, { maximum: 20 });
 * await pool.connect();
 * await pool.set('key', 'value');
 * ```
 */
export function createClientPool<P = ReturnType<typeof redis.createClientPool>>(
  options: CreateClientOptions,
  poolOptions?: Partial<RedisPoolOptions>,
  redisModule: RedisModuleLike = redis as unknown as RedisModuleLike,
): P {
  return newClientPool(options, poolOptions, redisModule) as P;
}
