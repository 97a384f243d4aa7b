// entra-redis/ioredis createCluster against a 3-shard emulated cluster (each node behind the
// validating front end) with 3-second tokens: ioredis 6 (RESP3 and RESP2) and ioredis 5 (RESP2),
// and a Cluster the application built, protected by attachClusterAuth; keys on every shard,
// classic and sharded pub/sub, a slot migration and a failover.
import type { TokenSource } from 'entra-redis';
import {
  attachClusterAuth,
  createCluster,
  type IORedisClusterConstructor,
} from 'entra-redis/ioredis';
import { inspect } from 'node:util';
import { Cluster } from 'ioredis';
import { Cluster as Cluster5 } from 'ioredis5';
import { describe, expect, it } from 'vitest';
import type { ClusterUnderTest } from './cluster-fixture.js';
import { clusterScenario, clusterSuiteEmulator, type ClusterEnv } from './cluster-scenario.js';
import { sleep, waitFor } from './helpers/emulator.js';

interface Variant {
  label: string;
  Class: IORedisClusterConstructor<Cluster>;
  /** RESP2: ioredis 5, or ioredis 6 with `protocol: 2`. */
  resp2?: true;
  /** Built as an application would, then protected by `attachClusterAuth`. */
  attach?: true;
}

const Cluster6 = Cluster as IORedisClusterConstructor<Cluster>;
const Cluster5Class = Cluster5 as unknown as IORedisClusterConstructor<Cluster>;
const VARIANTS: Variant[] = [
  { label: 'ioredis 6 cluster (RESP3)', Class: Cluster6 },
  { label: 'ioredis 5 cluster (RESP2)', Class: Cluster5Class, resp2: true },
];
const MORE_VARIANTS: Variant[] = [
  { label: 'ioredis 6 cluster (RESP2)', Class: Cluster6, resp2: true },
  {
    label: 'ioredis 5 cluster, attachClusterAuth',
    Class: Cluster5Class,
    resp2: true,
    attach: true,
  },
];

async function build(env: ClusterEnv, source: TokenSource, variant: Variant): Promise<Cluster> {
  const redisOptions = {
    tls: { ca: env.emulator.caCertPem },
    ...(variant.resp2 && variant.Class === Cluster6 ? { protocol: 2 as const } : {}),
  };
  if (!variant.attach) {
    return createCluster(
      env.emulator.cluster!.rootNodes,
      { tokenSource: source, redisOptions },
      variant.Class,
    );
  }
  // As docs/cluster.md shows it: the current credentials, lazyConnect, attach, then connect.
  const { username, password } = await source.getCredentials();
  const ClusterClass = variant.Class as unknown as typeof Cluster;
  const cluster = new ClusterClass(env.emulator.cluster!.rootNodes, {
    redisOptions: { ...redisOptions, username, password },
    lazyConnect: true,
  });
  attachClusterAuth(cluster, source);
  await cluster.connect();
  return cluster;
}

async function underTest(
  env: ClusterEnv,
  source: TokenSource,
  variant: Variant,
): Promise<ClusterUnderTest> {
  const cluster = await build(env, source, variant);
  cluster.on('error', () => undefined);
  // Subscribers on a duplicate (as applications do): protected without extra code.
  const subscriber = cluster.duplicate(undefined, { shardedSubscribers: true });
  subscriber.on('error', () => undefined);
  const listeners = new Map<string, (message: string) => void>();
  for (const event of ['message', 'smessage']) {
    subscriber.on(event, (channel: string, message: string) => listeners.get(channel)?.(message));
  }
  return {
    label: variant.label,
    set: (key, value) => cluster.set(key, value),
    get: (key) => cluster.get(key),
    publish: (channel, message) => cluster.publish(channel, message),
    spublish: (channel, message) => cluster.spublish(channel, message),
    async subscribe(channel, onMessage) {
      listeners.set(channel, onMessage);
      await subscriber.subscribe(channel);
    },
    async ssubscribe(channel, onMessage) {
      listeners.set(channel, onMessage);
      await subscriber.ssubscribe(channel);
    },
    async close() {
      await Promise.all([subscriber.quit(), cluster.quit()]).catch(() => undefined);
      subscriber.disconnect();
      cluster.disconnect();
    },
  };
}

describe('entra-redis/ioredis createCluster against a 3-shard emulated cluster', () => {
  const env = clusterSuiteEmulator();

  it('ioredis 6 and 5: every shard read and written, pub/sub and sharded pub/sub, across >= 5 rotations, a slot migration and a failover: nothing evicted, nothing failed, lost or doubled outside the topology changes', async () => {
    await clusterScenario(env, 'io', (source) =>
      VARIANTS.map((variant) => underTest(env, source, variant)),
    );
  }, 90_000);

  it('the same with ioredis 6 over RESP2, and with ioredis 5 protected by attachClusterAuth', async () => {
    await clusterScenario(env, 'io2', (source) =>
      MORE_VARIANTS.map((variant) => underTest(env, source, variant)),
    );
  }, 90_000);

  it.each(VARIANTS)(
    '$label: quit() ends every node, used or not, leaving no connection; inspect shows no token',
    async (variant) => {
      const source = env.tokenSource();
      const cluster = await createCluster(
        env.emulator.cluster!.rootNodes,
        { tokenSource: source, redisOptions: { tls: { ca: env.emulator.caCertPem } } },
        variant.Class,
      );
      cluster.on('error', () => undefined);
      const copy = cluster.duplicate();
      copy.on('error', () => undefined);
      await cluster.set('k', 'v');
      const token = (await source.getCredentials()).password;
      for (const shown of [cluster, copy]) {
        const text = inspect(shown, { depth: 10 }) + inspect(shown, { showHidden: true });
        expect(text).toMatch(/^Cluster /);
        expect(text.includes(token), 'the token').toBe(false);
      }
      const nodes = cluster.nodes('all');
      // Replicas and the subscriber's node are lazy: never connected before the quit.
      expect(nodes.map((n) => n.status)).toContain('wait');
      await Promise.all([cluster.quit(), copy.quit()]);
      await sleep(300); // a node connection opened by mistake would be counted by now
      expect(nodes.map((n) => n.status)).toEqual(nodes.map(() => 'end'));
      expect(env.emulator.cluster!.stats().connectionsOpen).toBe(0);
      await waitFor(() => source.listenerCount('credentials') === 0, 2_000, 'no listener left');
      await source.close();
    },
  );

  it.each(VARIANTS)(
    '$label: attachClusterAuth protects a Cluster the application built (the call of the guide compiles as written) across rotations',
    async (variant) => {
      const source = env.tokenSource();
      const { username, password } = await source.getCredentials();
      const ClusterClass = variant.Class as unknown as typeof Cluster;
      const cluster = new ClusterClass(env.emulator.cluster!.rootNodes, {
        redisOptions: { tls: { ca: env.emulator.caCertPem }, username, password },
        lazyConnect: true,
      });
      cluster.on('error', () => undefined);
      const detach = attachClusterAuth(cluster, source);
      await cluster.connect();
      const before = env.emulator.stats().redis;
      const firstExpiry = (await source.getCredentials()).expiresAtMs;
      let rotations = 0;
      const off = source.onCredentials(() => void rotations++);
      // Past two token lifetimes: every node connection is re-authenticated, none evicted.
      const until = firstExpiry + 2 * env.emulator.tenant.tokenLifetimeSec * 1_000;
      for (let i = 0; Date.now() < until; i++) {
        await cluster.set(`attached:${i % 30}`, String(i));
        expect(await cluster.get(`attached:${i % 30}`)).toBe(String(i));
        await sleep(20);
      }
      off();
      const after = env.emulator.stats().redis;
      expect(rotations).toBeGreaterThanOrEqual(2);
      expect(after.evictions - before.evictions).toBe(0);
      expect(after.reauthOk - before.reauthOk).toBeGreaterThan(0);
      detach();
      await cluster.quit();
      await source.close();
    },
    40_000,
  );

  it('refuses credentials in redisOptions, an empty node list, and plaintext to an Azure host name', async () => {
    const tokenSource = env.tokenSource();
    await expect(
      createCluster([{ host: '127.0.0.1', port: 1 }], {
        tokenSource,
        redisOptions: { password: 'x' } as never,
      }),
    ).rejects.toThrow(/redisOptions\.username"\/"password"/);
    await expect(createCluster([], { tokenSource })).rejects.toThrow(/startupNodes/);
    await expect(
      createCluster([{ host: 'cache.westeurope.redis.azure.net', port: 10000 }], {
        tokenSource,
        redisOptions: { tls: false as never },
        lazyConnect: true,
      }),
    ).rejects.toMatchObject({ code: 'INSECURE_CONNECTION' });
  });
});
