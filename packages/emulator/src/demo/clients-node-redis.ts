import type { createClient } from 'redis';
import type { DemoClient, DemoClientFactory, DemoConnection, DemoTarget } from './types.js';

type NodeRedis = ReturnType<typeof createClient>;

function wrap(client: NodeRedis): DemoConnection {
  return {
    set: (key, value) => client.set(key, value),
    get: async (key) => (await client.get(key)) as string | null,
    async incrTwiceInTransaction(key) {
      const [a, b] = (await client.multi().incr(key).incr(key).exec()) as unknown as number[];
      return [Number(a), Number(b)];
    },
    publish: (channel, message) => client.publish(channel, message),
    lpush: (key, value) => client.lPush(key, value),
    async brpopForever(key) {
      const reply = await client.brPop(key, 0);
      return reply ? reply.element : null;
    },
    async close() {
      client.destroy();
    },
  };
}

/**
 * A node-redis 6 client through `entra-redis/node-redis`, speaking RESP `protocol` (under RESP2
 * its subscriber is handed over to a fresh connection at each rotation, as Redis refuses AUTH in
 * subscribe mode there).
 */
export function nodeRedisClient(protocol: 2 | 3): DemoClientFactory {
  return async (target: DemoTarget): Promise<DemoClient> => {
    const { createClient: createEntraClient } = await import('entra-redis/node-redis');
    const main = createEntraClient<NodeRedis>({
      socket: { host: target.host, port: target.port, tls: true, ca: target.ca },
      tokenSource: target.tokenSource,
      RESP: protocol,
      name: `entra-redis-demo-node-redis-resp${protocol}`,
    });
    const consumer = main.duplicate();
    const subscriber = main.duplicate();
    for (const c of [main, consumer, subscriber]) c.on('error', () => undefined);
    await Promise.all([main.connect(), consumer.connect(), subscriber.connect()]);
    return {
      label: `node-redis RESP${protocol}`,
      main: wrap(main),
      consumer: wrap(consumer),
      async subscribe(channel, onMessage) {
        await subscriber.subscribe(channel, onMessage);
      },
      async close() {
        for (const c of [subscriber, consumer, main]) c.destroy();
      },
    };
  };
}
