import type { EntraRedisError } from '../errors.js';
import { requireTokenSource } from '../lib/validate.js';
import { checkTransportSecurity } from '../reauth/index.js';
import type { TokenSource } from '../token/token-source.js';
import { GUARDED, type ConnectionGuardLike, type GuardGroup } from './group.js';
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
  requireTokenSource('entra-redis ioredis', tokenSource);
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
  return () => protector.detach();
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
 * options and the "a token was served" state. One object, no closure per client.
 */
class GuardProtector implements Protector, GuardGroup {
  readonly source: TokenSource;
  readonly options: NormalizedEntraOptions;
  hadToken: boolean;
  /**
   * The guards of live clients: the first in a field, others in a set made when a second one
   * joins (most groups are one client: a set each would cost more than the guard itself).
   */
  #first: ConnectionGuardLike | undefined;
  #others: Set<ConnectionGuardLike> | undefined;
  #detached = false;

  constructor(source: TokenSource, options: NormalizedEntraOptions) {
    this.source = source;
    this.options = options;
    this.hadToken = source.current() !== undefined;
  }

  protect(client: IORedisLike): void {
    if (this.#detached || GUARDED in client) return;
    new ConnectionGuard(this, client);
  }

  detach(): void {
    if (this.#detached) return;
    this.#detached = true;
    const live = [this.#first, ...(this.#others ?? [])];
    this.#first = this.#others = undefined;
    for (const guard of live) guard?.uninstall();
  }

  join(guard: ConnectionGuardLike): void {
    if (this.#first === guard) return;
    if (!this.#first && !this.#others?.has(guard)) this.#first = guard;
    else (this.#others ??= new Set()).add(guard);
  }

  leave(guard: ConnectionGuardLike): void {
    if (this.#first === guard) this.#first = undefined;
    else this.#others?.delete(guard);
  }

  report(error: EntraRedisError, client: IORedisLike): void {
    try {
      if (this.options.onError) this.options.onError(error);
      else if (client.listenerCount('error') > 0) client.emit('error', error);
    } catch {
      // A throwing error handler must not break re-authentication.
    }
  }
}

/**
 * The guards of one `attachEntraAuth` (or cluster) call, sharing the token source and options.
 */
export function createProtector(
  tokenSource: TokenSource,
  normalized: NormalizedEntraOptions,
): Protector {
  return new GuardProtector(tokenSource, normalized);
}
