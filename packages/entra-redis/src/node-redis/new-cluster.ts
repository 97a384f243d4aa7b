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
 * `createCluster` of this adapter with the redis module given: the implementation, free of any import of
 * `redis` (the zero-code preload hands it the copy the application loaded).
 */
export function newCluster(
  options: CreateClusterOptions,
  redisModule: RedisClusterModuleLike,
): unknown {
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
        ...sharedRootSocket(rootNodes),
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
  diagnoseConnect(cluster, tokenSource, { stopOnFailure: true });
  return cluster;
}

/** Where a root node is, as opposed to how to connect to any node of its cache. */
const ADDRESS_KEYS = new Set(['host', 'port', 'path']);

/**
 * The socket settings every root node has in common, but its address (TLS, `ca`,
 * `servername`, timeouts...). node-redis gives the nodes it discovers only `defaults`: a user
 * who put `tls: true, ca` on the root nodes alone had discovered nodes connect without them,
 * and `connect()` never settled. They are nodes of the same cache, so they get the same.
 */
function sharedRootSocket(rootNodes: NodeOptions[]): Record<string, unknown> {
  const sockets = rootNodes.map((node) => (node?.socket ?? {}) as Record<string, unknown>);
  const shared: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(sockets[0] ?? {})) {
    if (ADDRESS_KEYS.has(key) || value === undefined) continue;
    if (sockets.every((socket) => socket[key] === value)) shared[key] = value;
  }
  return shared;
}
