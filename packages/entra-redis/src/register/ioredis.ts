// ioredis (5.x and 6.x) under the preload: `connect()` of `Redis` and `Cluster` is where every
// client starts (the constructor calls it unless lazyConnect; the first command otherwise),
// after its options are final and before its connector runs. A client aimed at a matching
// host with no password of its own is handed to the adapter there.
import { isAzureRedisHost } from '../reauth/index.js';
import { attachEntraAuth } from '../ioredis/attach.js';
import { attachClusterAuth, type IORedisClusterLike } from '../ioredis/cluster-attach.js';
import { GUARDED } from '../ioredis/group.js';
import { IOREDIS_DEFAULTS } from '../ioredis/options.js';
import type { IORedisLike, IORedisOptionsLike } from '../ioredis/types.js';
import { hostMatches } from './hosts.js';
import { wrapMethod } from './patch.js';
import type { RegisterRuntime } from './runtime.js';

interface ClusterLike extends IORedisClusterLike {
  startupNodes?: unknown[];
  options: { redisOptions?: IORedisOptionsLike };
  connectionPool?: { redisOptions?: IORedisOptionsLike };
}

const considered = new WeakSet<object>();

/** `{ host, port }` of an ioredis startup node (an object, "host:port", a URL or a port). */
function nodeAddress(node: unknown): { host?: string; port?: number } {
  if (typeof node === 'number') return { host: '127.0.0.1', port: node };
  if (typeof node === 'object' && node !== null) {
    const { host, port } = node as { host?: unknown; port?: unknown };
    return {
      host: typeof host === 'string' ? host : '127.0.0.1',
      port: Number(port) || 6379,
    };
  }
  if (typeof node !== 'string') return {};
  try {
    const url = new URL(node.includes('://') ? node : `redis://${node}`);
    return { host: url.hostname, port: Number(url.port) || 6379 };
  } catch {
    return {};
  }
}

/** Azure practice where the application left it unset: TLS for Azure names, keepalive, name. */
function applyAzureDefaults(options: IORedisOptionsLike, host: string | undefined): void {
  if (options.tls === undefined && isAzureRedisHost(host) && options.port !== 6379) {
    options.tls = { servername: host };
  }
  // ioredis's own default is 0 (off); Azure's load balancer drops idle connections.
  if (!options.keepAlive) options.keepAlive = IOREDIS_DEFAULTS.keepAliveMs;
  options.connectionName ??= IOREDIS_DEFAULTS.connectionName;
}

/** Why a client is left alone, or undefined when it is to be protected. */
function leaveAlone(
  runtime: RegisterRuntime,
  options: IORedisOptionsLike | undefined,
  hosts: Array<{ host?: string; port?: number }>,
): string | undefined {
  if (!hosts.some((h) => hostMatches(runtime.config.hosts, h.host, h.port))) return 'other host';
  if (options?.password) return 'it has a password of its own';
  if (options?.sentinels || options?.Connector) return 'Sentinel or a custom connector';
  return undefined;
}

function protectClient(runtime: RegisterRuntime, redis: IORedisLike): void {
  if (GUARDED in redis || considered.has(redis)) return;
  considered.add(redis);
  const options = redis.options;
  if (options.path) return; // a Unix socket: not a cache in Azure
  const address = `${options.host}:${options.port}`;
  const why = leaveAlone(runtime, options, [{ host: options.host, port: options.port }]);
  if (why) {
    if (why !== 'other host') runtime.log.debug(`ioredis client ${address} left alone: ${why}`);
    return;
  }
  applyAzureDefaults(options, options.host);
  if (!options.tls && isAzureRedisHost(options.host)) {
    runtime.log.info(
      `ioredis client ${address} left alone: Entra ID needs TLS (port 6380 or 10000 with tls)`,
    );
    return;
  }
  attachEntraAuth(redis, runtime.source());
  runtime.log.debug(`protecting ioredis client ${address} (RESP${options.protocol ?? 2})`);
}

function protectCluster(runtime: RegisterRuntime, cluster: ClusterLike): void {
  if (GUARDED in cluster || considered.has(cluster)) return;
  considered.add(cluster);
  const nodes = (cluster.startupNodes ?? []).map(nodeAddress);
  const list = nodes.map((n) => `${n.host}:${n.port}`).join(', ');
  const why = leaveAlone(runtime, cluster.options.redisOptions, nodes);
  if (why) {
    if (why !== 'other host') runtime.log.debug(`ioredis Cluster ${list} left alone: ${why}`);
    return;
  }
  // The node options the pool builds connections from, and the cluster's own (subscribers).
  const host = nodes.find((n) => isAzureRedisHost(n.host))?.host;
  for (const options of new Set([
    cluster.connectionPool?.redisOptions,
    cluster.options.redisOptions,
  ])) {
    if (options) applyAzureDefaults(options, host);
  }
  attachClusterAuth(cluster, runtime.source());
  runtime.log.debug(`protecting ioredis Cluster ${list}`);
}

/**
 * Patches one loaded copy of ioredis (its CommonJS exports or its ESM namespace): `connect()`
 * of `Redis` and `Cluster` protects a matching client first. Idempotent per copy.
 *
 * @example
 * ```ts
 * patchIORedis(require('ioredis'), runtime);
 * ```
 */
export function patchIORedis(exported: unknown, runtime: RegisterRuntime): void {
  const root = exported as { Redis?: unknown; Cluster?: unknown; default?: unknown };
  const fallback = root.default as { Redis?: unknown; Cluster?: unknown } | undefined;
  const Redis = (root.Redis ?? fallback?.Redis) as { prototype?: object } | undefined;
  const Cluster = (root.Cluster ?? fallback?.Cluster) as { prototype?: object } | undefined;
  const guard = (protect: () => void, what: string): void => {
    try {
      protect();
    } catch (error) {
      // Never break the application's connect(): it then runs as it would have without us.
      runtime.log.info(`could not protect ${what}: ${(error as Error)?.message ?? error}`);
    }
  };
  wrapMethod(Redis?.prototype, 'connect', (client) =>
    guard(() => protectClient(runtime, client as IORedisLike), 'an ioredis client'),
  );
  wrapMethod(Cluster?.prototype, 'connect', (cluster) =>
    guard(() => protectCluster(runtime, cluster as ClusterLike), 'an ioredis Cluster'),
  );
}
