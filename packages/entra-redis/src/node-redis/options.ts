import type {
  RedisClientOptions,
  RedisFunctions,
  RedisModules,
  RedisScripts,
  RespVersions,
} from 'redis';
import { isIP } from 'node:net';
import { EntraRedisError } from '../errors.js';
import { OptionValidator, requireTokenSource } from '../lib/validate.js';
import {
  RECONNECT_BACKOFF,
  checkTransportSecurity,
  isAzureRedisHost,
  reconnectDelayMs,
} from '../reauth/index.js';
import type { TokenSource } from '../token/token-source.js';
import { entraCredentialsProvider, type NodeRedisEntraOptions } from './attach.js';

/** node-redis client options for either protocol version. */
export type AnyRespClientOptions = RedisClientOptions<
  RedisModules,
  RedisFunctions,
  RedisScripts,
  RespVersions
>;

/**
 * Options of {@link createClient} and `createClientPool`: node-redis client options without
 * `username`/`password`/`credentialsProvider` (they come from the token source), plus the
 * Entra options.
 *
 * @example
 * ```ts
 * const options: CreateClientOptions = { socket: { host, port: 6380 }, tokenSource };
 * ```
 */
export type CreateClientOptions = Omit<
  AnyRespClientOptions,
  'username' | 'password' | 'credentialsProvider'
> &
  NodeRedisEntraOptions & {
    /** The token source shared by every client and connection of this identity. */
    tokenSource: TokenSource;
    /** Allow a plaintext connection to an Azure host name (refused by default). @default false */
    allowInsecureConnection?: boolean;
  };

/**
 * Defaults applied where the caller set nothing (Azure practice).
 *
 * @example
 * ```ts
 * NODE_REDIS_DEFAULTS.name; // 'entra-redis'
 * ```
 */
export const NODE_REDIS_DEFAULTS = Object.freeze({
  /** `CLIENT SETNAME`. */
  name: 'entra-redis',
  /** TCP keepalive: Azure's load balancer drops connections idle for about 10 minutes. */
  keepAlive: true,
  /** Delay before the first TCP keepalive probe, in milliseconds. */
  keepAliveInitialDelayMs: 30_000,
  /** Reconnect backoff: first ceiling of the random delay, in milliseconds. */
  reconnectInitialDelayMs: RECONNECT_BACKOFF.initialDelayMs,
  /** Reconnect backoff: cap, in milliseconds. */
  reconnectMaxDelayMs: RECONNECT_BACKOFF.maxDelayMs,
});

/** Parses the `url` option; refuses credentials in it (they would override the token). */
function parseUrl(url: unknown, what: string): URL | undefined {
  if (url === undefined) return undefined;
  let parsed: URL;
  try {
    parsed = new URL(String(url));
  } catch {
    throw new EntraRedisError(
      'INVALID_OPTION',
      `entra-redis ${what}: "url" is not a valid URL; use rediss://<host>:<port>`,
    );
  }
  if (parsed.username || parsed.password) {
    throw new EntraRedisError(
      'INVALID_OPTION',
      `entra-redis ${what}: "url" must not carry a username or password: they come from "tokenSource"`,
    );
  }
  return parsed;
}

/** node-redis `reconnectStrategy` (0-based retries): the shared capped backoff with jitter. */
const reconnectStrategy = (retries: number): number => reconnectDelayMs(retries + 1);

/**
 * Validates `options` (throws `INVALID_OPTION` or `INSECURE_CONNECTION`) and returns the
 * node-redis options to build clients with: the Entra credentials provider, TLS with
 * `servername` for Azure host names, keepalive, a client name and a reconnect backoff where
 * the caller set none. `what` names the calling function in messages.
 *
 * @example
 * ```ts
 * const { clientOptions } = normalizeClientOptions({ socket: { host }, tokenSource }, 'createClient');
 * ```
 */
export function normalizeClientOptions(
  options: CreateClientOptions,
  what: string,
): { clientOptions: AnyRespClientOptions; entra: NodeRedisEntraOptions; tokenSource: TokenSource } {
  const { tokenSource, allowInsecureConnection, onError, ...rest } = options ?? {};
  requireTokenSource(`entra-redis ${what}`, tokenSource);
  const v = new OptionValidator(`entra-redis ${what}`);
  if (allowInsecureConnection !== undefined) {
    v.boolean('allowInsecureConnection', allowInsecureConnection);
  }
  if (onError !== undefined) v.func('onError', onError);
  for (const key of ['username', 'password', 'credentialsProvider'] as const) {
    if ((rest as Record<string, unknown>)[key] !== undefined) {
      throw new EntraRedisError(
        'INVALID_OPTION',
        `entra-redis ${what}: do not set "${key}": the username is the token's oid and the password the token, both from "tokenSource"`,
      );
    }
  }
  const url = parseUrl(rest.url, what);
  const socket = { ...(rest.socket ?? {}) } as Record<string, unknown>;
  const host = typeof socket.host === 'string' ? socket.host : url?.hostname;
  if (!url && socket.tls === undefined && isAzureRedisHost(host)) socket.tls = true;
  // SNI carries host names only (RFC 6066): an IP address is verified against the certificate
  // without it.
  if (socket.tls === true && host && !isIP(host) && socket.servername === undefined) {
    socket.servername = host;
  }
  checkTransportSecurity({
    host,
    port: typeof socket.port === 'number' ? socket.port : Number(url?.port) || undefined,
    tls: socket.tls === true || url?.protocol === 'rediss:',
    allowInsecureConnection,
  });
  if (socket.keepAlive === undefined) socket.keepAlive = NODE_REDIS_DEFAULTS.keepAlive;
  if (socket.keepAlive !== false && socket.keepAliveInitialDelay === undefined) {
    socket.keepAliveInitialDelay = NODE_REDIS_DEFAULTS.keepAliveInitialDelayMs;
  }
  if (socket.reconnectStrategy === undefined) socket.reconnectStrategy = reconnectStrategy;
  const clientOptions = {
    ...rest,
    name: rest.name ?? NODE_REDIS_DEFAULTS.name,
    socket,
    credentialsProvider: entraCredentialsProvider(tokenSource),
  } as AnyRespClientOptions;
  return { clientOptions, entra: onError ? { onError } : {}, tokenSource };
}
