import { Redis, type RedisOptions } from 'ioredis';
import { EntraRedisError } from '../errors.js';
import { requireTokenSource } from '../lib/validate.js';
import {
  checkTransportSecurity,
  diagnoseHandshakeFailure,
  diagnoseServerError,
} from '../reauth/index.js';
import { attachEntraAuth } from './attach.js';
import { normalizeEntraOptions, withAzureDefaults, type EntraClientOptions } from './options.js';
import type { IORedisLike } from './types.js';

/**
 * A `Redis` class of ioredis 5.x or 6.x (`import Redis from 'ioredis'`).
 *
 * @example
 * ```ts
 * import { Redis as Redis5 } from 'ioredis5'; // ioredis 5 next to 6
 * const redis = await createRedis({ host, port: 6380, tokenSource }, Redis5 as IORedisConstructor<Redis5>);
 * ```
 */
export type IORedisConstructor<R> = new (options: never) => R;

/**
 * Options of {@link createRedis}: ioredis options plus {@link EntraClientOptions}.
 * `username`/`password` come from the token source and must not be set.
 *
 * @example
 * ```ts
 * const options: CreateRedisOptions = { host: 'cache.redis.cache.windows.net', port: 6380, tokenSource };
 * ```
 */
export type CreateRedisOptions = Omit<RedisOptions, 'username' | 'password'> & EntraClientOptions;

/**
 * Creates an ioredis client authenticated with Entra ID tokens and keeps it authenticated
 * for as long as it lives (see {@link attachEntraAuth} for what that covers). Waits for a
 * fresh token, then connects (unless `lazyConnect: true`); rejects with `AUTH_REFUSED`
 * (naming the principal and the fix) when the cache refuses the token, with
 * `HANDSHAKE_FAILED` when the TLS handshake fails or the server closes the connection before
 * it is ready (TLS settings), with the token source's error when no token can be obtained,
 * and with `INSECURE_CONNECTION` for a plaintext Azure host. Pass `Redis` (second argument) to use another ioredis copy or major.
 *
 * @example
 * ```ts
 * import { createTokenSource, managedIdentity } from 'entra-redis';
 * import { createRedis } from 'entra-redis/ioredis';
 *
 * const tokenSource = createTokenSource({ credential: managedIdentity() });
 * const redis = await createRedis({ host: 'contoso.redis.cache.windows.net', port: 6380, tokenSource });
 * await redis.set('greeting', 'hello');
 * ```
 */
export async function createRedis(options: CreateRedisOptions): Promise<Redis>;
export async function createRedis<R>(
  options: CreateRedisOptions | (Record<string, unknown> & EntraClientOptions),
  RedisClass: IORedisConstructor<R>,
): Promise<R>;
export async function createRedis(
  options: CreateRedisOptions,
  RedisClass: IORedisConstructor<unknown> = Redis as unknown as IORedisConstructor<unknown>,
): Promise<unknown> {
  const raw = options as unknown as Record<string, unknown>;
  requireTokenSource('entra-redis ioredis', options?.tokenSource);
  if ('password' in raw || 'username' in raw) {
    throw new EntraRedisError(
      'INVALID_OPTION',
      'entra-redis ioredis: do not set "username"/"password": they come from "tokenSource"',
    );
  }
  const entra = normalizeEntraOptions({
    ...(options.allowInsecureConnection !== undefined
      ? { allowInsecureConnection: options.allowInsecureConnection }
      : {}),
    ...(options.blockingCommandSafetyMarginMs !== undefined
      ? { blockingCommandSafetyMarginMs: options.blockingCommandSafetyMarginMs }
      : {}),
    ...(options.onError !== undefined ? { onError: options.onError } : {}),
  });
  const redisOptions = withAzureDefaults(raw);
  checkTransportSecurity({
    host: redisOptions.host as string | undefined,
    port: redisOptions.port as number | undefined,
    tls: Boolean(redisOptions.tls),
    allowInsecureConnection: entra.allowInsecureConnection,
  });
  const credentials = await options.tokenSource.getCredentials();
  const lazy = redisOptions.lazyConnect === true;
  const redis = new RedisClass({
    ...redisOptions,
    username: credentials.username,
    password: credentials.password,
    lazyConnect: true,
  } as never) as IORedisLike & { connect(): Promise<void> };
  // Duplicates copy the options: give them the caller's lazyConnect, not ours.
  redis.options.lazyConnect = lazy;
  const detach = attachEntraAuth(redis, options.tokenSource, entra);
  if (lazy) return redis;
  let firstError: unknown;
  const onError = (error: unknown): void => {
    firstError ??= error;
  };
  redis.on('error', onError);
  try {
    await redis.connect();
    // ioredis 5 without a ready check reports "ready" before the AUTH reply: one round trip
    // after the handshake settles it.
    await (redis as unknown as { ping(): Promise<unknown> }).ping();
    if (firstError !== undefined) throw firstError;
    return redis;
  } catch (error) {
    redis.disconnect();
    detach();
    const cause = firstError ?? error; // its AUTH args (the token) were dropped by the guard
    throw (
      diagnoseServerError(cause, { oid: credentials.oid, username: credentials.username }) ??
      diagnoseHandshakeFailure(cause)?.error ??
      cause
    );
  } finally {
    redis.off('error', onError);
  }
}
