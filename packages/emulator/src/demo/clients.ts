import { ioredisClient } from './clients-ioredis.js';
import { nodeRedisClient } from './clients-node-redis.js';
import type { DemoClientFactory } from './types.js';

/** The clients the demo runs, each with its own workload, all on one token source. */
export const DEMO_CLIENTS: readonly DemoClientFactory[] = [
  nodeRedisClient(3),
  nodeRedisClient(2),
  ioredisClient(3),
  ioredisClient(2),
];
