// entra-redis/node-redis createCluster against a 3-shard emulated cluster (each node behind the
// validating front end) with 3-second tokens: redis 6 over RESP3 and RESP2 side by side, then
// redis 5 (RESP2); keys on every shard, classic and sharded pub/sub, a slot migration and a
// failover during the run.
import type { TokenSource } from 'entra-redis';
import { createCluster } from 'entra-redis/node-redis';
import type { createCluster as createRedisCluster } from 'redis';
import * as redis5 from 'redis5';
import { describe, expect, it } from 'vitest';
import { clusterScenario, clusterSuiteEmulator } from './cluster-scenario.js';
import type { ClusterUnderTest } from './cluster-fixture.js';
import type { TestEmulator } from './helpers/emulator.js';

type Cluster = ReturnType<typeof createRedisCluster>;

/** redis 6 over RESP 3 or 2, or redis 5 (`RESP` undefined: its default, RESP2). */
function nodeRedisCluster(
  env: TestEmulator,
  source: TokenSource,
  RESP: 2 | 3 | undefined,
): Cluster {
  const options = {
    rootNodes: env.emulator.cluster!.rootNodes.map(({ host, port }) => ({
      socket: { host, port },
    })),
    defaults: { socket: { tls: true as const, ca: env.emulator.caCertPem } },
    ...(RESP ? { RESP } : {}),
    tokenSource: source,
  };
  const cluster = RESP
    ? createCluster<Cluster>(options)
    : (createCluster(options, redis5) as unknown as Cluster);
  cluster.on('error', () => undefined);
  return cluster;
}

async function underTest(
  env: TestEmulator,
  source: TokenSource,
  RESP: 2 | 3 | undefined,
): Promise<ClusterUnderTest> {
  const cluster = nodeRedisCluster(env, source, RESP);
  await cluster.connect();
  return {
    label: RESP ? `node-redis cluster RESP${RESP}` : 'node-redis 5 cluster (RESP2)',
    set: (key, value) => cluster.set(key, value),
    get: async (key) => (await cluster.get(key)) as string | null,
    publish: (channel, message) => cluster.publish(channel, message),
    spublish: (channel, message) => cluster.sPublish(channel, message),
    async subscribe(channel, onMessage) {
      await cluster.subscribe(channel, (message) => onMessage(String(message)));
    },
    async ssubscribe(channel, onMessage) {
      await cluster.sSubscribe(channel, (message) => onMessage(String(message)));
    },
    async close() {
      cluster.destroy();
    },
  };
}

describe('entra-redis/node-redis createCluster against a 3-shard emulated cluster', () => {
  const env = clusterSuiteEmulator();

  it('RESP3 and RESP2: every shard read and written, pub/sub and sharded pub/sub, across >= 5 rotations, a slot migration and a failover: nothing evicted, nothing failed, lost or doubled outside the topology changes', async () => {
    await clusterScenario(env, 'nr', (source) => [
      underTest(env, source, 3),
      underTest(env, source, 2),
    ]);
  }, 90_000);

  it('redis 5 (RESP2): the same scenario', async () => {
    await clusterScenario(env, 'nr5', (source) => [underTest(env, source, undefined)]);
  }, 90_000);

  it('refuses credentials in rootNodes or defaults, and plaintext to an Azure host name', () => {
    const source = env.tokenSource();
    expect(() =>
      createCluster({
        rootNodes: [{ socket: { host: '127.0.0.1', port: 1 }, password: 'x' } as never],
        tokenSource: source,
      }),
    ).toThrow(/rootNodes\[\]\.password/);
    expect(() =>
      createCluster({
        rootNodes: [{ socket: { host: 'cache.westeurope.redis.azure.net', port: 10000 } }],
        defaults: { socket: { tls: false } },
        tokenSource: source,
      }),
    ).toThrow(expect.objectContaining({ code: 'INSECURE_CONNECTION' }));
    expect(() => createCluster({ rootNodes: [], tokenSource: source })).toThrow(/rootNodes/);
  });
});
