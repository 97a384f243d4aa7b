// The Redis side of the emulator, single node or cluster, behind one shape, so that
// `startEmulator` assembles either the same way.

import { EmulatorError } from '../errors.js';
import { startRedisFront } from '../redis-front/front.js';
import type { RedisFront, RedisFrontOptions, RedisFrontStats } from '../redis-front/types.js';
import { startRedisServer, type RedisServer, type RedisServerOptions } from '../redis-server.js';
import type { EmulatorOptions } from '../emulator.js';
import { startCluster, type StartClusterOptions } from './cluster.js';
import type { EmulatorCluster } from './types.js';

/** What the emulator needs from its Redis side. */
export interface RedisBackend {
  /** Where single-node clients connect (in cluster mode: the first master). */
  readonly redis: { readonly host: string; readonly port: number; readonly plainPort?: number };
  readonly front: RedisFront;
  readonly redisServer: RedisServer;
  readonly cluster?: EmulatorCluster;
  /** Extra environment variables for client processes. */
  env(): Record<string, string>;
  stats(): RedisFrontStats;
  dropConnections(): void;
  restart(): Promise<void>;
  stop(): Promise<void>;
}

/**
 * Starts the cluster and presents it as a {@link RedisBackend}: `redis`, `front` and
 * `redisServer` are the first master's; stats are summed; `env()` adds `REDIS_CLUSTER_NODES`.
 *
 * @example
 * ```ts
 * const backend = await startClusterBackend({ cluster: { shards: 3 }, front, tlsPort: 0, plainPort: false });
 * backend.env().REDIS_CLUSTER_NODES; // '127.0.0.1:p1,127.0.0.1:p2,127.0.0.1:p3'
 * ```
 */
export async function startClusterBackend(o: StartClusterOptions): Promise<RedisBackend> {
  const running = await startCluster(o);
  const first = running.nodes[0]!;
  const { handle } = running;
  return {
    redis: {
      host: '127.0.0.1',
      port: first.tlsPort,
      ...(first.front.plainPort !== undefined ? { plainPort: first.front.plainPort } : {}),
    },
    front: first.front,
    redisServer: first.server,
    cluster: handle,
    env: () => ({
      REDIS_CLUSTER_NODES: handle.rootNodes.map((n) => `${n.host}:${n.port}`).join(','),
    }),
    stats: () => {
      const { perNode: _perNode, ...total } = handle.stats();
      return total;
    },
    dropConnections: () => {
      for (const node of running.nodes) node.dropConnections();
    },
    restart: () =>
      Promise.reject(
        new EmulatorError(
          'INVALID_OPTION',
          'faults.restartRedis is not available in cluster mode; use emulator.cluster.faults (failover, migrateSlot, dropConnections)',
        ),
      ),
    stop: () => running.stop(),
  };
}

/** Options of {@link startSingleBackend}. */
export interface SingleBackendOptions extends Pick<RedisServerOptions, 'binary' | 'extraArgs'> {
  front: Omit<RedisFrontOptions, 'upstream' | 'plainPort'>;
  plainPort: number | false;
}

/**
 * Starts one redis-server and its front end as a {@link RedisBackend}.
 *
 * @example
 * ```ts
 * const backend = await startSingleBackend({ front: { authenticate, tls }, plainPort: false });
 * await backend.stop();
 * ```
 */
export async function startSingleBackend(o: SingleBackendOptions): Promise<RedisBackend> {
  const redisServer = await startRedisServer({
    ...(o.binary ? { binary: o.binary } : {}),
    ...(o.extraArgs ? { extraArgs: o.extraArgs } : {}),
  });
  let front: RedisFront;
  try {
    front = await startRedisFront({
      ...o.front,
      upstream: {
        host: redisServer.host,
        port: redisServer.port,
        adminPassword: redisServer.adminPassword,
        socketPath: redisServer.socketPath,
      },
      plainPort: o.plainPort,
    });
  } catch (e) {
    await redisServer.stop();
    throw e;
  }
  const { host, tlsPort, plainPort } = front;
  if (tlsPort === undefined) {
    await Promise.all([front.close(), redisServer.stop()]);
    throw new EmulatorError('INVALID_OPTION', 'startEmulator: the Redis front end has no TLS port');
  }
  return {
    redis: { host, port: tlsPort, ...(plainPort !== undefined ? { plainPort } : {}) },
    front,
    redisServer,
    env: () => ({}),
    stats: () => front.stats(),
    dropConnections: () => front.dropAllConnections(),
    restart: () => redisServer.restart(),
    stop: async () => {
      await front.close();
      await redisServer.stop();
    },
  };
}

/**
 * Starts the emulator's Redis side from its options: one node, or the cluster when
 * `options.cluster` is set. Every front end checks tokens with `shared.authenticate`.
 *
 * @example
 * ```ts
 * const backend = await startRedisBackend(options, { authenticate, tls: { key, cert } });
 * ```
 */
export async function startRedisBackend(
  options: Pick<EmulatorOptions, 'redis' | 'cluster' | 'accessPolicies'>,
  shared: Pick<RedisFrontOptions, 'authenticate'> & { tls: { key: string; cert: string } },
): Promise<RedisBackend> {
  const front = {
    authenticate: shared.authenticate,
    rejectHelloAuth: options.redis?.rejectHelloAuth ?? false,
    ...(options.accessPolicies ? { accessPolicies: options.accessPolicies } : {}),
  };
  const server = {
    ...(options.redis?.binary ? { binary: options.redis.binary } : {}),
    ...(options.redis?.extraArgs ? { extraArgs: options.redis.extraArgs } : {}),
  };
  const tlsPort = options.redis?.tlsPort ?? 0;
  const plainPort = options.redis?.plainPort ?? false;
  if (options.cluster) {
    return startClusterBackend({
      ...server,
      cluster: options.cluster,
      front: { ...front, tls: shared.tls },
      tlsPort,
      plainPort,
    });
  }
  return startSingleBackend({
    ...server,
    front: { ...front, tls: { ...shared.tls, port: tlsPort } },
    plainPort,
  });
}
