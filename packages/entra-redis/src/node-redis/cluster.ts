import * as redis from 'redis';
import type {
  RedisClusterOptions,
  RedisFunctions,
  RedisModules,
  RedisScripts,
  RespVersions,
} from 'redis';
import { EntraRedisError } from '../errors.js';
import { checkTransportSecurity } from '../reauth/index.js';
import { attachEntraAuth, type NodeRedisClient, type NodeRedisEntraOptions } from './attach.js';
import { diagnoseConnect } from './connect-diagnosis.js';
import { redisClientClass, withClientHook } from './internals.js';
import {
  normalizeClientOptions,
  type AnyRespClientOptions,
  type CreateClientOptions,
} from './options.js';

type NodeOptions = Omit<AnyRespClientOptions, 'username' | 'password' | 'credentialsProvider'>;

/**
 * Options of {@link createCluster}: node-redis cluster options whose `rootNodes` and `defaults`
 * carry no credentials (they come from the token source), plus the Entra options.
 *
 * @example
 * ```ts
 * const options: CreateClusterOptions = {
 *   rootNodes: [{ socket: { host: 'cache.westeurope.redis.azure.net', port: 10000 } }],
 *   tokenSource,
 * };
 * ```
 */
export type CreateClusterOptions = Omit<
  RedisClusterOptions<RedisModules, RedisFunctions, RedisScripts, RespVersions>,
  'rootNodes' | 'defaults'
> &
  NodeRedisEntraOptions & {
    /** Where discovery starts: any node(s) of the cluster. */
    rootNodes: NodeOptions[];
    /** Options of every node connection (TLS, keepalive, name...), as in node-redis. */
    defaults?: NodeOptions;
    /** The token source shared by every node connection. */
    tokenSource: CreateClientOptions['tokenSource'];
    /** Allow plaintext connections to Azure host names (refused by default). @default false */
    allowInsecureConnection?: boolean;
  };

/** The functions of a redis module {@link createCluster} needs: `import * as redis5 from 'redis5'` fits. */
export interface RedisClusterModuleLike {
  createClient(options?: object): object;
  createCluster(options: object): object;
}

function rootAddress(node: NodeOptions): { host?: string; port?: number; tls?: boolean } {
  const socket = (node?.socket ?? {}) as { host?: unknown; port?: unknown; tls?: unknown };
  let url: URL | undefined;
  try {
    url = node?.url ? new URL(node.url) : undefined;
  } catch {
    url = undefined;
  }
  return {
    ...(typeof socket.host === 'string'
      ? { host: socket.host }
      : url
        ? { host: url.hostname }
        : {}),
    ...(typeof socket.port === 'number' ? { port: socket.port } : {}),
    ...(socket.tls !== undefined ? { tls: socket.tls === true } : {}),
    ...(url?.protocol === 'rediss:' ? { tls: true } : {}),
  };
}

/**
 * Creates a node-redis cluster (`createCluster`) authenticated with Entra ID: every node
 * connection — those opened at `connect()`, those opened later after a `MOVED`, a slot
 * migration or a failover, and the pub/sub and sharded pub/sub connections — uses the current
 * token on each (re)connect and is re-authenticated in place at each rotation, exactly like a
 * client from `createClient` (transactions, blocking commands, RESP2 subscriber handoff,
 * fail-fast `TOKEN_EXPIRED`). One token request per rotation for the whole cluster.
 * Azure practice in `defaults` where unset: TLS with the cache's host name as `servername`
 * (every node presents the cache's certificate), keepalive, a client name, reconnect backoff.
 *
 * node-redis has no hook for new node connections, so, while this function runs
 * (synchronously), `RedisClient.factory` is wrapped to hand this cluster's client factory to
 * the adapter, then restored: nothing stays patched. Pass the redis module as the second
 * argument to use another copy (e.g. `import * as redis5 from 'redis5'`).
 *
 * @example
 * ```ts
 * import { createCluster } from 'entra-redis/node-redis';
 *
 * const host = 'cache.westeurope.redis.azure.net';
 * const cluster = createCluster({ rootNodes: [{ socket: { host, port: 10000 } }], tokenSource });
 * await cluster.connect();
 * await cluster.set('key', 'value');
 * ```
 */
export function createCluster<C = ReturnType<typeof redis.createCluster>>(
  options: CreateClusterOptions,
  redisModule: RedisClusterModuleLike = redis as unknown as RedisClusterModuleLike,
): C {
  const { rootNodes, defaults, tokenSource, allowInsecureConnection, onError, ...rest } =
    options ?? ({} as CreateClusterOptions);
  if (!Array.isArray(rootNodes) || rootNodes.length === 0) {
    throw new EntraRedisError(
      'INVALID_OPTION',
      'entra-redis createCluster: "rootNodes" must be a non-empty array of { socket: { host, port } }',
    );
  }
  for (const node of rootNodes) {
    const keys = ['username', 'password', 'credentialsProvider'] as const;
    const found = keys.find((k) => (node as Record<string, unknown>)?.[k] !== undefined);
    if (found) {
      throw new EntraRedisError(
        'INVALID_OPTION',
        `entra-redis createCluster: do not set "rootNodes[].${found}": credentials come from "tokenSource"`,
      );
    }
  }
  const first = rootAddress(rootNodes[0]!);
  const givenSocket = (defaults?.socket ?? {}) as Record<string, unknown>;
  const { clientOptions, entra } = normalizeClientOptions(
    {
      ...(defaults ?? {}),
      socket: {
        ...(first.host !== undefined ? { host: first.host } : {}),
        ...(first.port !== undefined ? { port: first.port } : {}),
        ...(first.tls !== undefined ? { tls: first.tls } : {}),
        ...givenSocket,
      },
      tokenSource,
      ...(allowInsecureConnection !== undefined ? { allowInsecureConnection } : {}),
      ...(onError !== undefined ? { onError } : {}),
    } as CreateClientOptions,
    'createCluster',
  );
  // The defaults apply to every node: keep TLS, servername, keepalive... not the root's address.
  const socket = clientOptions.socket as Record<string, unknown>;
  for (const key of ['host', 'port'] as const) if (!(key in givenSocket)) delete socket[key];
  for (const node of rootNodes) {
    const address = rootAddress(node);
    checkTransportSecurity({
      host: address.host,
      port: address.port,
      tls: address.tls ?? socket.tls === true,
      allowInsecureConnection,
    });
  }
  const provider = clientOptions.credentialsProvider;
  const RedisClient = redisClientClass(redisModule.createClient, 'createCluster');
  const cluster = withClientHook(
    RedisClient,
    (config) =>
      (config as { defaults?: { credentialsProvider?: unknown } } | undefined)?.defaults
        ?.credentialsProvider === provider,
    (client) => attachEntraAuth(client as NodeRedisClient, tokenSource, entra),
    () => redisModule.createCluster({ ...rest, rootNodes, defaults: clientOptions }),
    'createCluster',
  ) as { connect(): Promise<unknown> };
  diagnoseConnect(cluster, tokenSource);
  return cluster as C;
}
