// What a protected ioredis client does with failures on their way to the application: error
// replies (no token in their arguments, NOPERM explained), a QUIT whose connection closed
// first, a refused re-AUTH, and the commands in flight when a token expired with no fresh one.
import { EntraRedisError, withoutPointer } from '../errors.js';
import {
  diagnoseServerError,
  dropCommandArgs,
  inFlightExpiredError,
  tokenExpiredError,
} from '../reauth/index.js';
import type { RedisCredentials } from '../token/credentials.js';
import type { TokenSource } from '../token/token-source.js';
import type { IORedisCommandLike, IORedisLike } from './types.js';

/** ioredis's message for a command whose connection closed. */
export const CLOSED = 'Connection is closed.';
/** Rejection of an own AUTH that ioredis tried to re-send after a reconnect (ignored). */
export const OBSOLETE = Object.freeze(new Error('entra-redis: obsolete re-AUTH not re-sent'));
/** Commands whose arguments carry the token. */
const CREDENTIAL_COMMANDS = new Set(['auth', 'hello']);
const noop = (): void => {};

/** ioredis's queue of the commands unanswered when the last connection closed (a Denque). */
interface CommandDeque {
  shift(): { command: IORedisCommandLike } | undefined;
}

/**
 * An error reply on its way to its command, the 'error' event and every command the failure
 * flushes. ioredis copies the failed command's arguments onto it (`error.command.args`): for
 * the opening AUTH or HELLO AUTH (a token refused at a reconnect) they are the oid and the
 * token, so they are dropped. A NOPERM reply is explained (which identity, which command,
 * what to grant); other replies pass as they are.
 */
export function explainErrorReply(
  source: TokenSource,
  command: IORedisCommandLike,
  error: Error,
): Error {
  if (CREDENTIAL_COMMANDS.has(command.name.toLowerCase())) dropCommandArgs(error);
  if (!/^NOPERM\b/.test(error?.message ?? '')) return error;
  const current = source.current();
  return (
    diagnoseServerError(error, {
      ...(current ? { oid: current.oid, username: current.username } : {}),
      command: command.name,
    }) ?? error
  );
}

/**
 * Makes a QUIT whose connection closed before its OK was read (the server, a proxy or a RESP2
 * handoff closed it a moment earlier) resolve 'OK': the client ended as asked, as ioredis's own
 * quit of an unwritable connection does, instead of rejecting with "Connection is closed."
 * during an application's shutdown.
 */
export function wrapQuit(redis: IORedisLike, command: IORedisCommandLike): void {
  const reject = command.reject;
  command.reject = (error: Error) => {
    if (error?.message === CLOSED && redis.status === 'end') command.resolve(Buffer.from('OK'));
    else reject.call(command, error);
  };
}

/**
 * The error a refused re-AUTH is reported with: the connection keeps its previous identity
 * until that token expires, then reconnects with the newest one.
 */
export function reauthFailedError(error: unknown, credentials: RedisCredentials): EntraRedisError {
  const diagnosed = diagnoseServerError(error, credentials);
  return new EntraRedisError(
    'REAUTH_FAILED',
    `entra-redis: re-authenticating a live connection failed; it keeps its previous ` +
      `identity until that token expires, then reconnects with the newest token. ` +
      `${withoutPointer(diagnosed?.message ?? (error as Error)?.message ?? '')}`,
    { isRetryable: true, cause: diagnosed ?? error },
  );
}

/**
 * The reconnect waits for a token that expired with no fresh one to be had (the cache closed
 * the connection at expiry during an identity outage): the commands that were in flight fail
 * with TOKEN_EXPIRED instead of being resent once the outage ends, and so do those queued.
 */
export function failPendingCommands(redis: IORedisLike, source: TokenSource): void {
  source.getCredentials().then(noop, (error: unknown) => {
    const inFlight = redis.prevCommandQueue as CommandDeque | null | undefined;
    redis.prevCommandQueue = null;
    for (let item = inFlight?.shift(); item; item = inFlight?.shift()) {
      item.command.reject(inFlightExpiredError(error));
    }
    redis.flushQueue?.(tokenExpiredError((error as { cause?: unknown })?.cause ?? error));
  });
}
