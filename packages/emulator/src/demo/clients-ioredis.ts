import type { DemoClient, DemoClientFactory, DemoConnection, DemoTarget } from './types.js';

import type { Redis as IORedis } from 'ioredis';

function wrap(redis: IORedis): DemoConnection {
  return {
    set: (key, value) => redis.set(key, value),
    get: (key) => redis.get(key),
    async incrTwiceInTransaction(key) {
      const results = await redis.multi().incr(key).incr(key).exec();
      const values = (results ?? []).map(([error, value]) => {
        if (error) throw error;
        return Number(value);
      });
      return [values[0] ?? NaN, values[1] ?? NaN];
    },
    publish: (channel, message) => redis.publish(channel, message),
    lpush: (key, value) => redis.lpush(key, value),
    async brpopForever(key) {
      const reply = await redis.brpop(key, 0);
      return reply ? reply[1] : null;
    },
    async close() {
      await redis.quit().catch(() => redis.disconnect());
    },
  };
}

/** An ioredis 6 client through `entra-redis/ioredis`, speaking RESP `protocol`. */
export function ioredisClient(protocol: 2 | 3): DemoClientFactory {
  return async (target: DemoTarget): Promise<DemoClient> => {
    const { createRedis } = await import('entra-redis/ioredis');
    const redis = (await createRedis({
      host: target.host,
      port: target.port,
      tls: { ca: target.ca },
      tokenSource: target.tokenSource,
      protocol,
      connectionName: `entra-redis-demo-ioredis-resp${protocol}`,
    })) as IORedis;
    redis.on('error', () => undefined); // counted by the workload through failed commands
    const consumer = redis.duplicate();
    consumer.on('error', () => undefined);
    const subscriber = redis.duplicate();
    subscriber.on('error', () => undefined);
    return {
      label: `ioredis RESP${protocol}`,
      main: wrap(redis),
      consumer: wrap(consumer),
      async subscribe(channel, onMessage) {
        subscriber.on('message', (ch: string, message: string) => {
          if (ch === channel) onMessage(message);
        });
        await subscriber.subscribe(channel);
      },
      async close() {
        await Promise.all([wrap(subscriber).close(), wrap(consumer).close(), wrap(redis).close()]);
      },
    };
  };
}
