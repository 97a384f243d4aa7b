// Issue 24.2: when the cache refuses the token a connection opens with (an access policy
// removed, an expired token at a reconnect), no error the adapters let through — 'error'
// events, onError, rejected commands, a rejected connect() or createRedis() — holds the token.
// ioredis puts a failed command's arguments on its reply error (`command.args`), and for the
// opening AUTH or HELLO AUTH those are [oid, token].
import { inspect } from 'node:util';
import type { TokenSource } from 'entra-redis';
import {
  createCluster as createIORedisCluster,
  type IORedisClusterConstructor,
} from 'entra-redis/ioredis';
import { createCluster as createNodeRedisCluster } from 'entra-redis/node-redis';
import { Cluster } from 'ioredis';
import { Cluster as Cluster5 } from 'ioredis5';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sleep, startTestEmulator, waitFor, type TestEmulator } from './helpers/emulator.js';
import { connect, VARIANTS, type AnyRedis } from './ioredis-fixture.js';
import { NODE_REDIS_VARIANTS, nodeRedisClient } from './node-redis-fixture.js';
import { LIFETIME_SEC, SOURCE_OPTIONS } from './reliability-fixture.js';

const JWT = /eyJ[\w-]{4,}\.eyJ[\w-]{4,}\.[\w-]+/;

/** Everything a logger or a human could print of `value`. */
function show(value: unknown): string {
  const out = [
    inspect(value, { depth: Infinity, getters: true }),
    inspect(value, { depth: Infinity, showHidden: true }),
  ];
  try {
    out.push(JSON.stringify(value) ?? '');
  } catch {
    // circular: inspect covers it
  }
  if (value instanceof Error) out.push(String(value), value.stack ?? '');
  return out.join('\n');
}

interface Kind {
  name: string;
  /** A connected client whose errors go to `seen`. */
  open(env: TestEmulator, source: TokenSource, seen: unknown[]): Promise<Client>;
  /** Connects a new client while the cache refuses; returns the rejection. */
  refusedConnect(env: TestEmulator, source: TokenSource, seen: unknown[]): Promise<unknown>;
}

interface Client {
  command(i: number): Promise<unknown>;
  close(): Promise<unknown> | void;
}

const IOREDIS_KINDS: Kind[] = VARIANTS.map((variant) => ({
  name: variant.name,
  async open(env, source, seen) {
    const redis = await connect(env, variant, source, { onError: (e: unknown) => seen.push(e) });
    redis.on('error', (e: unknown) => seen.push(e));
    return { command: (i) => redis.set('refused:io', String(i)), close: () => redis.disconnect() };
  },
  async refusedConnect(env, source, seen) {
    const redis = connect(env, variant, source, {
      onError: (e: unknown) => seen.push(e),
      retryStrategy: () => null,
    });
    return redis.then(
      (r: AnyRedis) => (r.disconnect(), new Error('connected while the cache refuses')),
      (error: unknown) => error,
    );
  },
}));

const NODE_REDIS_KINDS: Kind[] = NODE_REDIS_VARIANTS.map((variant) => ({
  name: `node-redis ${variant.name}`,
  async open(env, source, seen) {
    const client = nodeRedisClient(env, source, variant, { onError: (e: unknown) => seen.push(e) });
    client.on('error', (e: unknown) => seen.push(e));
    await client.connect();
    return { command: (i) => client.set('refused:node', String(i)), close: () => client.destroy() };
  },
  async refusedConnect(env, source, seen) {
    const client = nodeRedisClient(env, source, variant, { onError: (e: unknown) => seen.push(e) });
    client.on('error', (e: unknown) => seen.push(e));
    return client.connect().then(
      () => (client.destroy(), new Error('connected while the cache refuses')),
      (error: unknown) => error,
    );
  },
}));

const IOREDIS_CLUSTER_KINDS: Kind[] = [
  { label: 'ioredis 6 cluster', Class: Cluster as IORedisClusterConstructor<Cluster> },
  { label: 'ioredis 5 cluster', Class: Cluster5 as unknown as IORedisClusterConstructor<Cluster> },
].map(({ label, Class }) => {
  const create = (env: TestEmulator, source: TokenSource, seen: unknown[], extra = {}) =>
    createIORedisCluster(
      env.emulator.cluster!.rootNodes,
      {
        tokenSource: source,
        redisOptions: { tls: { ca: env.emulator.caCertPem } },
        onError: (e: unknown) => seen.push(e),
        ...extra,
      },
      Class,
    );
  const listen = (cluster: Cluster, seen: unknown[]) => {
    for (const event of ['error', 'node error']) cluster.on(event, (e: unknown) => seen.push(e));
  };
  return {
    name: label,
    async open(env, source, seen) {
      const cluster = await create(env, source, seen);
      listen(cluster, seen);
      return {
        command: (i) => cluster.set('refused:io', String(i)),
        close: () => cluster.disconnect(),
      };
    },
    async refusedConnect(env, source, seen) {
      return create(env, source, seen, { clusterRetryStrategy: () => null }).then(
        (c) => (c.disconnect(), new Error('connected while the cache refuses')),
        (error: unknown) => error,
      );
    },
  };
});

const NODE_REDIS_CLUSTER_KINDS: Kind[] = ([3, 2] as const).map((RESP) => {
  const create = (env: TestEmulator, source: TokenSource, seen: unknown[]) => {
    const cluster = createNodeRedisCluster({
      rootNodes: env.emulator.cluster!.rootNodes.map(({ host, port }) => ({
        socket: { host, port },
      })),
      defaults: { socket: { tls: true, ca: env.emulator.caCertPem } },
      RESP,
      tokenSource: source,
      onError: (e: unknown) => seen.push(e),
    });
    cluster.on('error', (e: unknown) => seen.push(e));
    return cluster;
  };
  return {
    name: `node-redis cluster RESP${RESP}`,
    async open(env, source, seen) {
      const cluster = create(env, source, seen);
      await cluster.connect();
      return {
        command: (i) => cluster.set('refused:node', String(i)),
        close: () => cluster.destroy(),
      };
    },
    async refusedConnect(env, source, seen) {
      const cluster = create(env, source, seen);
      return cluster.connect().then(
        () => (cluster.destroy(), new Error('connected while the cache refuses')),
        (error: unknown) => error,
      );
    },
  };
});

describe.each([
  { topology: 'a single node', cluster: undefined, kinds: [...IOREDIS_KINDS, ...NODE_REDIS_KINDS] },
  {
    topology: 'a cluster',
    cluster: { shards: 2, replicasPerShard: 0 },
    kinds: [...IOREDIS_CLUSTER_KINDS, ...NODE_REDIS_CLUSTER_KINDS],
  },
])('a token the cache refuses, $topology', ({ cluster, kinds }) => {
  let env: TestEmulator;
  beforeAll(async () => {
    env = await startTestEmulator({
      tokenLifetimeSec: LIFETIME_SEC,
      ...(cluster ? { cluster } : {}),
    });
  });
  afterAll(() => env?.close());

  it.each(kinds)(
    '$name: reconnects, commands, connect() and re-AUTH refused; no error or event holds a token',
    async (kind) => {
      const { tenant } = env.emulator;
      const source = env.tokenSource(SOURCE_OPTIONS);
      const tokens = new Set<string>();
      source.onCredentials((c) => tokens.add(c.password));
      const seen: unknown[] = [];
      for (const event of ['refreshed', 'refreshFailed', 'expired', 'recovered'] as const) {
        source.on(event, (payload: unknown) => seen.push({ event, payload }));
      }
      tokens.add((await source.getCredentials()).password);
      const client = await kind.open(env, source, seen);
      const verify = tenant.verifyRedisAuth.bind(tenant);
      let refusals = 0;
      const commands: Promise<unknown>[] = [];
      tenant.verifyRedisAuth = async () => (refusals++, { ok: false, reason: 'no-access-policy' });
      try {
        // Every reconnect's opening AUTH is refused, and so is the re-AUTH of a rotation.
        env.emulator.faults.dropRedisConnections();
        // Commands meanwhile fail, or wait for the connection (ioredis's offline queue).
        const until = Date.now() + 1_500;
        for (let i = 0; Date.now() < until; i++) {
          commands.push(client.command(i).catch((e: unknown) => seen.push(e)));
          await sleep(50);
        }
        seen.push(await kind.refusedConnect(env, source, seen));
        const { expiresAtMs } = await source.getCredentials();
        await waitFor(
          () => source.current()?.expiresAtMs !== expiresAtMs,
          LIFETIME_SEC * 1_000,
          'a rotation',
        );
        tokens.add((await source.getCredentials()).password);
        await sleep(300);
      } finally {
        tenant.verifyRedisAuth = verify;
      }
      await waitFor(
        () =>
          client.command(-1).then(
            () => true,
            () => false,
          ),
        LIFETIME_SEC * 1_000,
        'recovery',
      );
      await Promise.all(commands);
      await client.close();
      await source.close();

      const text = seen.map(show).join('\n');
      expect(refusals).toBeGreaterThan(0);
      expect(text).toMatch(/WRONGPASS|AUTH_REFUSED/);
      for (const token of tokens) {
        expect(text.includes(token), 'an issued token').toBe(false);
        expect(text.includes(token.split('.')[2]!), 'a token signature').toBe(false);
      }
      expect(text.match(JWT)?.[0].slice(0, 12), 'a JWT').toBeUndefined();
    },
    60_000,
  );
});
