import type { EntraRedisError } from '../errors.js';
import type { RedisCredentials } from '../token/credentials.js';
import type { TokenSource } from '../token/token-source.js';
import type { NormalizedEntraOptions } from './options.js';
import type { IORedisLike } from './types.js';

/**
 * Set on every ioredis client and Cluster the adapter protects (and removed by `detach()`): a
 * global symbol, so that another copy of the library (the zero-code preload, an ESM and a CJS
 * build side by side) sees it and does not protect the same client twice.
 */
export const GUARDED = Symbol.for('entra-redis.ioredis.guarded');

/**
 * What every protected connection of one `attachEntraAuth` call shares: the token source, the
 * options, and whether a token was ever served (to tell "expired" from "not yet").
 */
export interface GuardGroup {
  readonly source: TokenSource;
  readonly options: NormalizedEntraOptions;
  /** Set once any connection of the group got a token. */
  hadToken: boolean;
  /** A guard's client is live: `detach()` uninstalls it. */
  join(guard: ConnectionGuardLike): void;
  /** A guard's client ended. */
  leave(guard: ConnectionGuardLike): void;
  /** Installs a guard on `client` (a `duplicate()` of a protected client). */
  protect(client: IORedisLike): void;
  /** Reports a failure to `onError`, or as `'error'` on `client` if it has listeners. */
  report(
    error: EntraRedisError,
    client: { emit(e: string, x: unknown): boolean; listenerCount(e: string): number },
  ): void;
}

/** What a group knows of its guards. */
export interface ConnectionGuardLike {
  uninstall(): void;
}

/** Writes the credentials into an ioredis options object (read on every (re)connect). */
export function applyCredentials(
  options: { username?: string; password?: string },
  credentials: RedisCredentials,
): void {
  options.username = credentials.username;
  options.password = credentials.password;
}
