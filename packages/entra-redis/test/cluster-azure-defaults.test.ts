// Azure practice on every node connection of a cluster, for both adapters (docs/cluster.md,
// "Both"): a cluster reached by the cache's host name, whose nodes announce addresses, sends that
// host name as the TLS server name to every node (the emulator's front end names the SNI it
// got), turns TCP keepalive on with a 30 s first probe, and names each connection. Every node
// is reached: primaries, replicas, the classic subscriber and the shard subscribers.
import type { TokenSource } from 'entra-redis';
import {
  createCluster as createIORedisCluster,
  IOREDIS_DEFAULTS,
  withAzureDefaults,
} from 'entra-redis/ioredis';
import {
  createCluster as createNodeRedisCluster,
  NODE_REDIS_DEFAULTS,
} from 'entra-redis/node-redis';
import type { RedisFrontConnectionEvent } from '@entra-redis/emulator';
import { Cluster, Redis } from 'ioredis';
import type { createCluster as createRedisCluster } from 'redis';
import { Cluster as Cluster5 } from 'ioredis5';
import type { LookupFunction } from 'node:net';
import tls from 'node:tls';
import * as redis5 from 'redis5';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { keysOnEveryShard } from './cluster-fixture.js';
import { shardSlots } from './cluster-scenario.js';
import { startTestEmulator, waitFor, type TestEmulator } from './helpers/emulator.js';
import { recordTlsSockets } from './helpers/tls-sockets.js';

/** The cache's host name; every node of the emulated cluster answers for it. */
const HOST = 'mycache.westeurope.redis.azure.net';
/** Resolves the host name to the emulator (node-redis: `socket.lookup`). */
const lookup = ((_host, options, callback) =>
  options.all
    ? callback(null, [{ address: '127.0.0.1', family: 4 }])
    : callback(null, '127.0.0.1', 4)) as LookupFunction;
/**
 * The emulator's certificate names localhost, not `HOST`: the chain is verified against its CA,
 * the name against localhost. What a client sends as server name is unchanged.
 */
const checkServerIdentity = (_name: string, cert: tls.PeerCertificate): Error | undefined =>
  tls.checkServerIdentity('localhost', cert);

type NodeRedisCluster = ReturnType<typeof createRedisCluster>;

/** A cluster client under test: what it must do, whichever library it is. */
interface Client {
  /** Reads and writes on every shard, subscribes, and connects to every node. */
  exercise(keys: string[]): Promise<void>;
  close(): Promise<void>;
}

let env: TestEmulator;
beforeAll(async () => {
  env = await startTestEmulator({
    tokenLifetimeSec: 600,
    cluster: { shards: 3, replicasPerShard: 1 },
  });
});
afterAll(() => env?.close());

const root = () => ({ host: HOST, port: env.emulator.cluster!.rootNodes[0]!.port });

function ioredisClient(Class: typeof Cluster | typeof Cluster5) {
  return async (source: TokenSource): Promise<Client> => {
    const cluster = await createIORedisCluster(
      [root()],
      {
        tokenSource: source,
        redisOptions: { tls: { ca: env.emulator.caCertPem, checkServerIdentity } },
        dnsLookup: (_address, callback) => callback(null, '127.0.0.1'),
        scaleReads: 'all',
        shardedSubscribers: true,
      },
      Class as unknown as typeof Cluster,
    );
    cluster.on('error', () => undefined);
    return {
      async exercise(keys) {
        for (const key of keys) await cluster.set(key, key);
        for (const key of keys) expect(await cluster.get(key)).toBe(key);
        await cluster.subscribe('defaults:news');
        await cluster.ssubscribe('defaults:orders');
        await Promise.all(cluster.nodes('all').map((node) => node.ping()));
      },
      async close() {
        await cluster.quit();
      },
    };
  };
}

function nodeRedisClient(module?: typeof redis5) {
  return async (source: TokenSource): Promise<Client> => {
    const options = {
      rootNodes: [{ socket: root() }],
      defaults: { socket: { ca: env.emulator.caCertPem, checkServerIdentity, lookup } },
      useReplicas: true,
      tokenSource: source,
    };
    const cluster = (
      module
        ? createNodeRedisCluster(options, module)
        : createNodeRedisCluster<NodeRedisCluster>(options)
    ) as NodeRedisCluster;
    cluster.on('error', () => undefined);
    await cluster.connect();
    return {
      async exercise(keys) {
        for (const key of keys) await cluster.set(key, key);
        for (const key of keys) expect(await cluster.get(key)).toBe(key);
        await cluster.subscribe('defaults:news', () => undefined);
        await cluster.sSubscribe('defaults:orders', () => undefined);
        for (const node of [...cluster.masters, ...cluster.replicas]) {
          await (await cluster.nodeClient(node)).ping();
        }
      },
      async close() {
        cluster.destroy();
      },
    };
  };
}

const VARIANTS = [
  { name: 'ioredis 6', make: ioredisClient(Cluster), keepAliveMs: IOREDIS_DEFAULTS.keepAliveMs },
  { name: 'ioredis 5', make: ioredisClient(Cluster5), keepAliveMs: IOREDIS_DEFAULTS.keepAliveMs },
  {
    name: 'node-redis 6',
    make: nodeRedisClient(),
    keepAliveMs: NODE_REDIS_DEFAULTS.keepAliveInitialDelayMs,
  },
  {
    name: 'node-redis 5',
    make: nodeRedisClient(redis5),
    keepAliveMs: NODE_REDIS_DEFAULTS.keepAliveInitialDelayMs,
  },
];

/**
 * `CLIENT LIST` of the node at `port`: the connections the front end made for clients, without
 * the emulator's own (user `default`), replication links (flags M, S) and the probe's.
 */
async function clientsOf(port: number, source: TokenSource): Promise<string[]> {
  const { username, password } = await source.getCredentials();
  const probe = new Redis({
    host: '127.0.0.1',
    port,
    tls: { ca: env.emulator.caCertPem },
    username,
    password,
    connectionName: 'probe',
  });
  try {
    const list = String(await probe.call('CLIENT', 'LIST'));
    return list
      .split('\n')
      .filter((line) => line.trim() !== '')
      .filter((line) => !/ user=default | flags=\S*[MS]| name=probe /.test(line));
  } finally {
    probe.disconnect();
  }
}

describe('Azure practice on every node connection of a cluster', () => {
  it.each(VARIANTS)(
    '$name: the cache host name as TLS server name, keepalive and a connection name on every node',
    async ({ make, keepAliveMs }) => {
      const cluster = env.emulator.cluster!;
      const nodes = cluster.nodes();
      const ports = new Set(nodes.map((n) => n.port));
      // Server side: the server name each node's front end got, per connection.
      const sni = new Map<number, (string | undefined)[]>(nodes.map((n) => [n.port, []]));
      const listeners = cluster.fronts.map((front, i) => {
        const listener = (e: RedisFrontConnectionEvent) =>
          sni.get(nodes[i]!.port)!.push(e.servername);
        front.events.on('connection', listener);
        return () => front.events.off('connection', listener);
      });
      const sockets = recordTlsSockets(ports);
      const source = env.tokenSource();
      const client = await make(source);
      try {
        await client.exercise(keysOnEveryShard('defaults', shardSlots(env), 4));
        sockets.stop();
        for (const off of listeners) off();

        for (const [port, names] of sni) {
          expect(names.length, `connections to node ${port}`).toBeGreaterThan(0);
          expect(names, `server names sent to node ${port}`).toEqual(names.map(() => HOST));
        }
        const all = sockets.sockets();
        expect(all.length).toBe([...sni.values()].flat().length);
        for (const socket of all) {
          expect(socket, `a connection to node ${socket.port}`).toMatchObject({
            servername: HOST,
            keepAliveMs,
          });
        }
        for (const node of nodes) {
          const lines = await clientsOf(node.port, source);
          expect(lines.length, `connections on node ${node.port}`).toBeGreaterThan(0);
          for (const line of lines) expect(line).toMatch(/ name=\S*entra-redis\S* /);
        }
      } finally {
        sockets.stop();
        for (const off of listeners) off();
        await client.close();
        await waitFor(() => cluster.stats().connectionsOpen === 0, 5_000, 'connections closed');
        await source.close();
      }
    },
    30_000,
  );
});

describe('withAzureDefaults (ioredis): the server name', () => {
  it('is the Azure host name when tls is unset or names none; a given one, or another host, is left alone', () => {
    const ca = 'a CA';
    expect(withAzureDefaults({ host: HOST, port: 10000 }).tls).toEqual({ servername: HOST });
    expect(withAzureDefaults({ host: HOST, tls: { ca } }).tls).toEqual({ ca, servername: HOST });
    const own = { ca, servername: 'other.example' };
    expect(withAzureDefaults({ host: HOST, tls: own }).tls).toBe(own);
    expect(withAzureDefaults({ host: 'localhost', tls: { ca } }).tls).toEqual({ ca });
    expect(withAzureDefaults({ host: HOST, port: 6379 }).tls).toBeUndefined();
  });
});
