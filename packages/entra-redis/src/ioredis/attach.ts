import { EntraRedisError } from '../errors.js';
import { checkTransportSecurity } from '../reauth/index.js';
import type { TokenSource } from '../token/token-source.js';
import type { GuardGroup } from './group.js';
import { ConnectionGuard } from './guard.js';
import {
  normalizeEntraOptions,
  type EntraAuthOptions,
  type NormalizedEntraOptions,
} from './options.js';
import type { IORedisLike } from './types.js';

/**
 * The minimal shape of an ioredis 5.x or 6.x `Redis` instance accepted here.
 *
 * @example
 * ```ts
 * const client: IORedisClient = new Redis({ lazyConnect: true });
 * ```
 */
export interface IORedisClient {
  options: object;
  readonly status: string;
  sendCommand(...args: never[]): unknown;
  duplicate(...args: never[]): unknown;
}

/**
 * Protects an existing ioredis (5.x or 6.x) client with Entra ID tokens from `tokenSource`,
 * and every client later made from it with `duplicate()` (BullMQ, `monitor()` excepted):
 *
 * - each new token is written to `options.username/password` (read by every reconnect and
 *   `duplicate()`) and sent as `AUTH` on the live connection, in order with your commands,
 *   never inside `MULTI … EXEC` (sent right after); a RESP2 subscriber, where Redis refuses
 *   AUTH, is moved to a fresh connection with no message lost;
 * - a (re)connect waits for a valid token instead of sending an expired one;
 * - while the token is expired and none can be obtained, commands fail at once with
 *   `TOKEN_EXPIRED` (retryable); the client recovers by itself;
 * - blocking commands that would outlive the token are cut to fit and re-issued (no item lost);
 * - `NOPERM` replies become `PERMISSION_DENIED` errors with guidance.
 *
 * Throws `INSECURE_CONNECTION` for a plaintext connection to an Azure host unless
 * `allowInsecureConnection`. Returns `detach()`, which removes everything from the client and
 * its duplicates (idempotent); `quit()`/`disconnect()` also release the token source.
 *
 * @example
 * ```ts
 * import Redis from 'ioredis';
 * import { createTokenSource, managedIdentity } from 'entra-redis';
 * import { attachEntraAuth } from 'entra-redis/ioredis';
 *
 * const source = createTokenSource({ credential: managedIdentity() });
 * const { username, password } = await source.getCredentials();
 * const redis = new Redis({ host, port: 6380, tls: { servername: host }, username, password, lazyConnect: true });
 * const detach = attachEntraAuth(redis, source);
 * await redis.connect();
 * ```
 */
export function attachEntraAuth(
  redis: IORedisClient,
  tokenSource: TokenSource,
  options: EntraAuthOptions = {},
): () => void {
  if (typeof (tokenSource as Partial<TokenSource> | null)?.onCredentials !== 'function') {
    throw new EntraRedisError(
      'INVALID_OPTION',
      'entra-redis ioredis: "tokenSource" must be a TokenSource (createTokenSource(...))',
    );
  }
  const normalized = normalizeEntraOptions(options);
  const root = redis as unknown as IORedisLike;
  checkTransportSecurity({
    host: root.options.host,
    port: root.options.port,
    tls: Boolean(root.options.tls),
    allowInsecureConnection: normalized.allowInsecureConnection,
  });
  const protector = createProtector(tokenSource, normalized);
  protector.protect(root);
  return protector.detach;
}

/** Protects any number of ioredis instances with one token source; `detach()` undoes all. */
export interface Protector {
  /** Installs a guard on `client` (and, through it, on its future `duplicate()`s). */
  protect(client: IORedisLike): void;
  /** Removes every guard installed so far; later `protect` calls do nothing. Idempotent. */
  detach(): void;
}

/**
 * The guards of one `attachEntraAuth` (or cluster) call: they share the token source, the
 * options and the "a token was served" state.
 */
export function createProtector(
  tokenSource: TokenSource,
  normalized: NormalizedEntraOptions,
): Protector {
  const guards = new Set<ConnectionGuard>();
  const protectedClients = new WeakSet<IORedisLike>();
  let detached = false;
  const group: GuardGroup = {
    source: tokenSource,
    options: normalized,
    hadToken: tokenSource.current() !== undefined,
    report(error, client) {
      try {
        if (normalized.onError) normalized.onError(error);
        else if (client.listenerCount('error') > 0) client.emit('error', error);
      } catch {
        // A throwing error handler must not break re-authentication.
      }
    },
  };
  const protect = (client: IORedisLike): void => {
    if (detached || protectedClients.has(client)) return;
    protectedClients.add(client);
    new ConnectionGuard(group, client, protect, guards);
  };
  return {
    protect,
    detach() {
      if (detached) return;
      detached = true;
      for (const guard of guards) guard.uninstall();
      guards.clear();
    },
  };
}
