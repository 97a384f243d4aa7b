import type { EntraRedisError } from '../errors.js';
import { isAzureRedisHost, RECONNECT_BACKOFF, reconnectDelayMs } from '../reauth/index.js';
import { OptionValidator } from '../lib/validate.js';
import type { TokenSource } from '../token/token-source.js';

/**
 * Entra ID options of {@link attachEntraAuth} (and, with `tokenSource`, of `createRedis`).
 *
 * @example
 * ```ts
 * const detach = attachEntraAuth(redis, source, { blockingCommandSafetyMarginMs: 2_000 });
 * ```
 */
export interface EntraAuthOptions {
  /**
   * Allow a plaintext connection to an Azure Redis host (`*.redis.cache.windows.net`, …).
   * Only for local tunnels and tests: the token would cross the network unencrypted.
   * @default false
   */
  readonly allowInsecureConnection?: boolean;
  /**
   * A blocking command (BLPOP 0, XREAD BLOCK, …) whose timeout outlives the connection's token
   * is cut to end this long before the token expires, and re-issued; in ms.
   * @default 1000
   */
  readonly blockingCommandSafetyMarginMs?: number;
  /**
   * Called with re-authentication failures (`REAUTH_FAILED`, `AUTH_REFUSED`, …). Never holds a
   * token. By default the error is emitted as `'error'` on the client, if it has listeners.
   */
  readonly onError?: (error: EntraRedisError) => void;
}

/**
 * Options of `createRedis`: ioredis's own options plus the Entra ID ones.
 *
 * @example
 * ```ts
 * const redis = await createRedis({ host, port: 6380, tokenSource: source });
 * ```
 */
export interface EntraClientOptions extends EntraAuthOptions {
  /** Where tokens come from (one source can serve every client and connection). */
  readonly tokenSource: TokenSource;
}

/**
 * Defaults `createRedis` applies to ioredis options the user did not set.
 *
 * @example
 * ```ts
 * IOREDIS_DEFAULTS.keepAliveMs; // 30000
 * ```
 */
export const IOREDIS_DEFAULTS = Object.freeze({
  /** TCP keep-alive initial delay (Azure's load balancer drops idle connections after ~10 min), ms. */
  keepAliveMs: 30_000,
  /** `CLIENT SETNAME` of every connection. */
  connectionName: 'entra-redis',
  /** Reconnect backoff: first ceiling, ms (full jitter). */
  reconnectInitialDelayMs: RECONNECT_BACKOFF.initialDelayMs,
  /** Reconnect backoff: cap, ms. */
  reconnectMaxDelayMs: RECONNECT_BACKOFF.maxDelayMs,
  /** Blocking commands end this long before the token expires, ms. */
  blockingCommandSafetyMarginMs: 1_000,
});

/** The normalised Entra options. */
export interface NormalizedEntraOptions {
  readonly allowInsecureConnection: boolean;
  readonly blockingCommandSafetyMarginMs: number;
  readonly onError: ((error: EntraRedisError) => void) | undefined;
}

const v = new OptionValidator('entra-redis ioredis');

/** Validates and normalises {@link EntraAuthOptions} (throws `INVALID_OPTION`). */
export function normalizeEntraOptions(options: EntraAuthOptions = {}): NormalizedEntraOptions {
  v.object('options', options);
  const margin = options.blockingCommandSafetyMarginMs;
  return {
    allowInsecureConnection:
      options.allowInsecureConnection === undefined
        ? false
        : v.boolean('allowInsecureConnection', options.allowInsecureConnection),
    blockingCommandSafetyMarginMs:
      margin === undefined
        ? IOREDIS_DEFAULTS.blockingCommandSafetyMarginMs
        : v.number(
            'blockingCommandSafetyMarginMs',
            margin,
            0,
            600_000,
            'a number of ms between 0 and 600000',
          ),
    onError: options.onError === undefined ? undefined : v.func('onError', options.onError),
  };
}

/**
 * ioredis's `retryStrategy` as `createRedis` sets it: capped exponential backoff with full
 * jitter (`random() * min(5000, 100 * 2^(times-1))` ms); never gives up.
 *
 * @example
 * ```ts
 * new Redis({ retryStrategy: entraRetryStrategy });
 * ```
 */
export function entraRetryStrategy(times: number): number {
  return reconnectDelayMs(times);
}

const ENTRA_KEYS = [
  'tokenSource',
  'allowInsecureConnection',
  'blockingCommandSafetyMarginMs',
  'onError',
] as const;

/**
 * The ioredis options `createRedis` uses: the caller's, plus Azure practice where unset —
 * TLS with `servername` for Azure hosts (added to a `tls` object that names none), `keepAlive`
 * 30 s, `connectionName` `'entra-redis'`, a capped exponential `retryStrategy` with jitter —
 * and `lazyConnect`.
 *
 * @example
 * ```ts
 * const options = withAzureDefaults({ host: 'cache.redis.cache.windows.net', port: 6380 });
 * // { ..., tls: { servername: 'cache.redis.cache.windows.net' }, keepAlive: 30000, ... }
 * ```
 */
export function withAzureDefaults(options: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = { ...options };
  for (const key of ENTRA_KEYS) delete out[key];
  const host = typeof out.host === 'string' ? out.host : undefined;
  if (isAzureRedisHost(host)) {
    if (out.tls === undefined && out.port !== 6379) out.tls = { servername: host };
    // A cluster's nodes are reached by the addresses they announce, yet present the cache's
    // certificate: without the host name as server name, Node sends none to them and checks
    // the certificate against the address (a `tls` given for its `ca` alone, say).
    else if (isPlainObject(out.tls) && out.tls.servername === undefined) {
      out.tls = { ...out.tls, servername: host };
    }
  }
  out.keepAlive ??= IOREDIS_DEFAULTS.keepAliveMs;
  out.connectionName ??= IOREDIS_DEFAULTS.connectionName;
  out.retryStrategy ??= entraRetryStrategy;
  return out;
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
