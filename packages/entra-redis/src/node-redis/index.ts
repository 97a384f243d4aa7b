// Public exports of the node-redis adapter ("entra-redis/node-redis"), listed by hand.
export {
  attachEntraAuth,
  entraCredentialsProvider,
  type EntraCredentialsProvider,
  type NodeRedisClient,
  type NodeRedisEntraOptions,
} from './attach.js';
export {
  createCluster,
  type CreateClusterOptions,
  type RedisClusterModuleLike,
} from './cluster.js';
export { createClient } from './create.js';
export { NODE_REDIS_DEFAULTS, type CreateClientOptions } from './options.js';
export { createClientPool, type RedisModuleLike } from './pool.js';
