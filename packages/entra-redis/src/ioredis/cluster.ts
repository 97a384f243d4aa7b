import { Cluster, type ClusterNode, type ClusterOptions, type RedisOptions } from 'ioredis';
import { EntraRedisError } from '../errors.js';
import { requireTokenSource } from '../lib/validate.js';
import {
  checkTransportSecurity,
  diagnoseHandshakeFailure,
  diagnoseServerError,
} from '../reauth/index.js';
import { attachClusterAuth, type IORedisClusterLike } from './cluster-attach.js';
import { applyCredentials } from './group.js';
import { normalizeEntraOptions, withAzureDefaults, type EntraClientOptions } from './options.js';

/**
 * Options of {@link createCluster}: ioredis `ClusterOptions` whose `redisOptions` carry no
 * `username`/`password` (they come from the token source), plus the Entra options.
 *
 * @example
 * ```ts
 * const options: CreateClusterOptions = { tokenSource, redisOptions: { tls: { servername: host } } };
 * ```
 */
export type CreateClusterOptions = Omit<ClusterOptions, 'redisOptions'> &
  EntraClientOptions & {
    redisOptions?: Omit<RedisOptions, 'username' | 'password'>;
  };

/** An ioredis `Cluster` class (6.x by default; pass ioredis 5's to use it). */
export type IORedisClusterConstructor<C> = new (nodes: never, options: never) => C;

/**
 * Creates an ioredis `Cluster` authenticated with Entra ID (see {@link attachClusterAuth}),
 * with Azure practice where unset: TLS with `servername` for Azure host names (every node
 * presents the cache's certificate), TCP keepalive, a connection name and a reconnect backoff.
 * Waits for a token, connects (unless `lazyConnect: true`) and resolves with the cluster; a
 * refused token rejects with `AUTH_REFUSED` naming the principal.
 *
 * @example
 * ```ts
 * import { createCluster } from 'entra-redis/ioredis';
 *
 * const host = 'cache.westeurope.redis.azure.net';
 * const cluster = await createCluster([{ host, port: 10000 }], { tokenSource });
 * await cluster.set('key', 'value');
 * ```
 */
export async function createCluster(
  startupNodes: ClusterNode[],
  options: CreateClusterOptions,
): Promise<Cluster>;
export async function createCluster<C>(
  startupNodes: ClusterNode[],
  options: CreateClusterOptions,
  ClusterClass: IORedisClusterConstructor<C>,
): Promise<C>;
export async function createCluster(
  startupNodes: ClusterNode[],
  options: CreateClusterOptions,
  ClusterClass: IORedisClusterConstructor<unknown> = Cluster as never,
): Promise<unknown> {
  if (!Array.isArray(startupNodes) || startupNodes.length === 0) {
    throw new EntraRedisError(
      'INVALID_OPTION',
      'entra-redis createCluster: "startupNodes" must be a non-empty array of { host, port }',
    );
  }
  const { tokenSource, allowInsecureConnection, blockingCommandSafetyMarginMs, onError } =
    options ?? ({} as CreateClusterOptions);
  const given = (options?.redisOptions ?? {}) as Record<string, unknown>;
  if ('password' in given || 'username' in given) {
    throw new EntraRedisError(
      'INVALID_OPTION',
      'entra-redis createCluster: do not set "redisOptions.username"/"password": they come from "tokenSource"',
    );
  }
  const first = startupNodes[0] as { host?: string } | string | number;
  const host = typeof first === 'object' ? first.host : undefined;
  const redisOptions = withAzureDefaults({ host, ...given });
  delete redisOptions.host;
  // Node connections never use it (the cluster sets its own, see `clusterRetryStrategy`).
  if (given.retryStrategy === undefined) delete redisOptions.retryStrategy;
  const entra = {
    ...(allowInsecureConnection !== undefined ? { allowInsecureConnection } : {}),
    ...(blockingCommandSafetyMarginMs !== undefined ? { blockingCommandSafetyMarginMs } : {}),
    ...(onError !== undefined ? { onError } : {}),
  };
  normalizeEntraOptions(entra);
  for (const node of startupNodes) {
    const address = typeof node === 'object' ? node : {};
    checkTransportSecurity({
      host: address.host,
      port: address.port,
      tls: Boolean(redisOptions.tls),
      allowInsecureConnection: allowInsecureConnection ?? false,
    });
  }
  requireTokenSource('entra-redis createCluster', tokenSource);
  const credentials = await tokenSource.getCredentials();
  const clusterOptions: Record<string, unknown> = { ...options, redisOptions };
  for (const key of ['tokenSource', 'allowInsecureConnection', 'blockingCommandSafetyMarginMs'])
    delete clusterOptions[key];
  delete clusterOptions.onError;
  applyCredentials(redisOptions as { username?: string; password?: string }, credentials);
  const lazy = options.lazyConnect === true;
  const cluster = new ClusterClass(
    startupNodes as never,
    { ...clusterOptions, lazyConnect: true } as never,
  ) as IORedisClusterLike & { connect(): Promise<void>; disconnect(): void };
  (cluster.options as { lazyConnect?: boolean }).lazyConnect = lazy;
  const detach = attachClusterAuth(cluster, tokenSource, entra);
  if (lazy) return cluster;
  // Until connect() settles, its failure is the rejection: the 'error' events that come with
  // it are not left unhandled (ioredis prints those on stderr).
  cluster.on('error', noop);
  try {
    await cluster.connect();
    return cluster;
  } catch (error) {
    cluster.disconnect();
    detach();
    // "None of startup nodes is available" carries the nodes' last error.
    const cause = (error as { lastNodeError?: unknown })?.lastNodeError ?? error;
    throw (
      diagnoseServerError(cause, { oid: credentials.oid, username: credentials.username }) ??
      diagnoseHandshakeFailure(cause)?.error ??
      cause
    );
  } finally {
    cluster.off('error', noop);
  }
}

const noop = (): void => {};
