import { EntraRedisError, withoutPointer } from '../errors.js';
import { expiredAtOf } from '../token/failure.js';

/** Who was authenticating, for {@link diagnoseServerError}; never holds the token. */
export interface AuthContext {
  /** Object id of the principal (the token's `oid` claim). */
  readonly oid?: string;
  /** Username sent with AUTH. */
  readonly username?: string;
  /** The command that failed, if known (lower or upper case). */
  readonly command?: string;
}

const messageOf = (error: unknown): string =>
  typeof error === 'string'
    ? error
    : typeof (error as { message?: unknown } | null)?.message === 'string'
      ? (error as { message: string }).message
      : '';

/**
 * Turns a Redis error reply into an {@link EntraRedisError} with a diagnosis, or returns
 * `undefined` for errors it does not know:
 *
 * - `WRONGPASS …` → `AUTH_REFUSED`: names the principal (oid) that was refused and the likely
 *   fixes (no data access policy assignment for this oid on the cache; username not the token's
 *   oid; token for another audience — the scope must be `https://redis.azure.com/.default`);
 * - `NOPERM …` → `PERMISSION_DENIED`: the principal's access policy lacks the command.
 *
 * The original reply stays available as `cause`, and the message starts with its first word so
 * code that looks for `NOPERM`/`WRONGPASS` still finds it. No token is ever included.
 *
 * @example
 * ```ts
 * diagnoseServerError(new Error('WRONGPASS invalid username-password pair'), { oid });
 * // EntraRedisError { code: 'AUTH_REFUSED', ... }
 * ```
 */
export function diagnoseServerError(
  error: unknown,
  context: AuthContext = {},
): EntraRedisError | undefined {
  const message = messageOf(error);
  const who = context.oid ? `principal ${context.oid}` : 'the principal';
  if (/^WRONGPASS\b/.test(message)) {
    const mismatch =
      context.username && context.oid && context.username !== context.oid
        ? ` The username sent ("${context.username}") is not the token's oid (${context.oid}): ` +
          `remove the username override.`
        : '';
    return new EntraRedisError(
      'AUTH_REFUSED',
      `WRONGPASS: the cache refused the Entra ID token of ${who}.${mismatch} Likely fixes: ` +
        `(1) assign a data access policy (Data Owner, Data Contributor, Data Reader or a custom ` +
        `one) to object id ${context.oid ?? '<oid>'} on the cache ("Data Access Configuration" ` +
        `in the portal, or \`az redis access-policy-assignment create\`); (2) the Redis username ` +
        `must be the token's oid; (3) the token must be for the scope ` +
        `https://redis.azure.com/.default (audience https://redis.azure.com). Redis said: ` +
        `${message.slice(0, 200)}`,
      { cause: error },
    );
  }
  if (/^NOPERM\b/.test(message)) {
    // Redis names the command it refused ("… no permissions to run the 'set' command").
    const named = context.command ?? /\bthe '([^']+)' command\b/.exec(message)?.[1];
    const command = named ? ` "${named.toUpperCase()}"` : '';
    return new EntraRedisError(
      'PERMISSION_DENIED',
      `NOPERM: ${who} is authenticated but its data access policy does not allow the ` +
        `command${command}. Assign Data Contributor or Data Owner, or a custom access policy ` +
        `that includes it, to object id ${context.oid ?? '<oid>'} on the cache. Redis said: ` +
        `${message.slice(0, 200)}`,
      { cause: error },
    );
  }
  return undefined;
}

/**
 * The fast failure of a command while the token has expired and no fresh one could be
 * obtained (`TOKEN_EXPIRED`, retryable): names the cause (the token source's last error).
 *
 * @example
 * ```ts
 * tokenExpiredError(lastRefreshError);
 * ```
 */
export function tokenExpiredError(cause: unknown): EntraRedisError {
  const why = messageOf(cause);
  return new EntraRedisError(
    'TOKEN_EXPIRED',
    'entra-redis: command refused without sending: the Entra ID access token expired and no ' +
      `fresh one could be obtained${why ? ` (last refresh error: ${withoutPointer(why)})` : ''}. The token ` +
      'source keeps retrying; the client reconnects and works again by itself when a token arrives.',
    { isRetryable: true, ...(cause !== undefined ? { cause } : {}) },
  );
}

/**
 * The failure of a command already sent when its connection went while the token was expired
 * and no fresh one could be obtained (the cache closes a connection at its token's expiry):
 * `TOKEN_EXPIRED`, retryable, saying when the token expired and the last refresh error. The
 * command may or may not have run. `expired` is the token source's `getCredentials()` rejection
 * (or, if a token came meanwhile, the connection's error); `connectionError` stands as the cause
 * when the source had no refresh error to name.
 *
 * @example
 * ```ts
 * source.getCredentials().catch((expired) => command.reject(inFlightExpiredError(expired)));
 * ```
 */
export function inFlightExpiredError(expired: unknown, connectionError?: unknown): EntraRedisError {
  const expiredAtMs = expiredAtOf(expired);
  const cause =
    expiredAtMs === undefined
      ? expired
      : ((expired as { cause?: unknown }).cause ?? connectionError ?? expired);
  const why = messageOf(cause);
  const when = expiredAtMs === undefined ? '' : ` at ${new Date(expiredAtMs).toISOString()}`;
  return new EntraRedisError(
    'TOKEN_EXPIRED',
    'entra-redis: the connection closed with this command in flight: the access token expired' +
      `${when} (the cache closes a connection when its token expires) and no fresh Entra ID ` +
      'access token could be obtained' +
      `${why ? ` (last refresh error: ${withoutPointer(why)})` : ''}; the command may or may not ` +
      'have run. The token source keeps retrying; the client reconnects and works again by ' +
      'itself when a token arrives.',
    { isRetryable: true, ...(cause !== undefined ? { cause } : {}) },
  );
}

/**
 * The failure of a blocking command that could not keep blocking without outliving the
 * connection's token (`BLOCKING_COMMAND_INTERRUPTED`, retryable). Nothing was popped.
 *
 * @example
 * ```ts
 * blockingInterruptedError('BLPOP', 'no fresh token arrived before expiry', cause);
 * ```
 */
export function blockingInterruptedError(
  command: string,
  reason: string,
  cause?: unknown,
): EntraRedisError {
  return new EntraRedisError(
    'BLOCKING_COMMAND_INTERRUPTED',
    `entra-redis: ${command.toUpperCase()} was interrupted before anything arrived: ${reason}. ` +
      'Nothing was taken from the key; retry the command.',
    { isRetryable: true, ...(cause !== undefined ? { cause } : {}) },
  );
}

/**
 * ioredis attaches the failed command to a reply error (`error.command = { name, args }`); for
 * AUTH the args hold the token. Replaces them (on that copy only) before the error is wrapped
 * or reported, so no `cause` chain can print the token. Returns `error`.
 *
 * @example
 * ```ts
 * report(new EntraRedisError('REAUTH_FAILED', '…', { cause: dropCommandArgs(error) }));
 * ```
 */
export function dropCommandArgs(error: unknown): unknown {
  const command = (error as { command?: { args?: unknown } } | null | undefined)?.command;
  if (command && typeof command === 'object' && 'args' in command) command.args = ['[redacted]'];
  return error;
}
