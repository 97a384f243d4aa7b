// Public exports of the ioredis adapter ("entra-redis/ioredis"), listed by hand.

export { attachEntraAuth, type IORedisClient } from './attach.js';
export { attachClusterAuth, type IORedisClusterLike } from './cluster-attach.js';
export {
  createCluster,
  type CreateClusterOptions,
  type IORedisClusterConstructor,
} from './cluster.js';
export { createRedis, type CreateRedisOptions, type IORedisConstructor } from './create.js';
export {
  IOREDIS_DEFAULTS,
  entraRetryStrategy,
  withAzureDefaults,
  type EntraAuthOptions,
  type EntraClientOptions,
} from './options.js';
