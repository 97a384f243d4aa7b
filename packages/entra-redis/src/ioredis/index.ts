// Public exports of the ioredis adapter ("entra-redis/ioredis"), listed by hand.

export { attachEntraAuth, type IORedisClient } from './attach.js';
export {
  attachClusterAuth,
  createCluster,
  type CreateClusterOptions,
  type IORedisClusterConstructor,
  type IORedisClusterLike,
} from './cluster.js';
export {
  createRedis,
  withAzureDefaults,
  type CreateRedisOptions,
  type IORedisConstructor,
} from './create.js';
export {
  IOREDIS_DEFAULTS,
  entraRetryStrategy,
  type EntraAuthOptions,
  type EntraClientOptions,
} from './options.js';
