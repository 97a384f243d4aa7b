import type { EntraRedisError } from '../errors.js';
import type { RedisCredentials } from '../token/credentials.js';
import type { TokenSource } from '../token/token-source.js';
import type { NormalizedEntraOptions } from './options.js';

/**
 * What every protected connection of one `attachEntraAuth` call shares: the token source, the
 * options, and whether a token was ever served (to tell "expired" from "not yet").
 */
export interface GuardGroup {
  readonly source: TokenSource;
  readonly options: NormalizedEntraOptions;
  /** Set once any connection of the group got a token. */
  hadToken: boolean;
  /** Reports a failure to `onError`, or as `'error'` on `client` if it has listeners. */
  report(
    error: EntraRedisError,
    client: { emit(e: string, x: unknown): boolean; listenerCount(e: string): number },
  ): void;
}

/** Writes the credentials into an ioredis options object (read on every (re)connect). */
export function applyCredentials(
  options: { username?: string; password?: string },
  credentials: RedisCredentials,
): void {
  options.username = credentials.username;
  options.password = credentials.password;
}
