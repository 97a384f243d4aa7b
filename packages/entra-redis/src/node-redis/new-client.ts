// The implementations of createClient and createClientPool, free of any import of `redis`:
// the public functions give them the module's default copy, the zero-code preload the copy
// the application loaded.
import type { RedisPoolOptions } from 'redis';
import { attachEntraAuth, type NodeRedisClient } from './attach.js';
import { diagnoseConnect } from './connect-diagnosis.js';
import { redisClientClass, withClientHook } from './internals.js';
import {
  normalizeClientOptions,
  type AnyRespClientOptions,
  type CreateClientOptions,
} from './options.js';

/**
 * The functions of a redis module `createClientPool` needs: `import * as redis5 from 'redis5'`
 * fits.
 *
 * @example
 * ```ts
 * import * as redis5 from 'redis5';
 * const module: RedisModuleLike = redis5;
 * ```
 */
export interface RedisModuleLike {
  createClient(options?: object): object;
  createClientPool(clientOptions?: object, poolOptions?: object): object;
}

/** `createClient` of this adapter, with the node-redis `createClient` given. */
export function newClient(
  options: CreateClientOptions,
  createRedisClient: (options: AnyRespClientOptions) => unknown,
): unknown {
  const { clientOptions, entra, tokenSource } = normalizeClientOptions(options, 'createClient');
  const client = createRedisClient(clientOptions) as NodeRedisClient & {
    connect(): Promise<unknown>;
  };
  attachEntraAuth(client, tokenSource, entra);
  diagnoseConnect(client, tokenSource, { stopOnFailure: true });
  return client;
}

/** `createClientPool` of this adapter, with the redis module given. */
export function newClientPool(
  options: CreateClientOptions,
  poolOptions: Partial<RedisPoolOptions> | undefined,
  redisModule: RedisModuleLike,
): unknown {
  const { clientOptions, entra, tokenSource } = normalizeClientOptions(options, 'createClientPool');
  const provider = clientOptions.credentialsProvider;
  const RedisClient = redisClientClass(redisModule.createClient);
  const pool = withClientHook(
    RedisClient,
    (config) =>
      (config as { credentialsProvider?: unknown } | undefined)?.credentialsProvider === provider,
    (member) => attachEntraAuth(member as NodeRedisClient, tokenSource, entra),
    () => redisModule.createClientPool(clientOptions, poolOptions),
  ) as { connect(): Promise<unknown> };
  diagnoseConnect(pool, tokenSource, { stopOnFailure: true });
  return pool;
}
