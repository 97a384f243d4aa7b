import {
  diagnoseServerError,
  mayBlock,
  tokenExpiredError,
  type TransactionTracker,
} from '../reauth/index.js';
import type { TokenSource } from '../token/token-source.js';
import { sendBounded } from './blocking.js';

type SendCommand = (args: unknown[], options?: unknown) => Promise<unknown>;

/**
 * Wraps `sendCommand` of the client's inner instance, through which node-redis 5.x and 6.x
 * send every single command (command methods call `this._self.sendCommand`; `multi().exec()`
 * and pipelines do not pass here, they are queued as one block):
 * - fails fast with `TOKEN_EXPIRED` (nothing sent) while the token source has no valid token;
 * - cuts blocking commands to the token's life and re-issues them (`sendBounded`);
 * - tells `tracker` about each command in queue order, so a re-AUTH is never queued between a
 *   raw `MULTI` and its `EXEC`/`DISCARD`;
 * - turns `NOPERM`/`WRONGPASS` replies into `PERMISSION_DENIED`/`AUTH_REFUSED` naming the
 *   principal (the original reply stays as `cause`).
 * Returns the function that removes the wrapper (and aborts waits for a token).
 *
 * @example
 * ```ts
 * const remove = installCommandGuard(client, tokenSource, new TransactionTracker());
 * ```
 */
export function installCommandGuard(
  client: object,
  tokenSource: TokenSource,
  tracker: TransactionTracker,
): () => void {
  // The object `createClient` returns is `Object.create(instance)`; `_self` is the instance.
  const inner = ((client as { _self?: object })._self ?? client) as { sendCommand: SendCommand };
  const own = Object.getOwnPropertyDescriptor(inner, 'sendCommand');
  const protoSend = inner.sendCommand;
  const abort = new AbortController();
  let hadToken = tokenSource.current() !== undefined;
  let lastFailure: unknown; // the token source's last refresh error: the cause of TOKEN_EXPIRED
  const onFailed = (event: { error: unknown }): void => {
    lastFailure = event.error;
  };
  const onToken = (): void => {
    hadToken = true;
  };
  tokenSource.on('refreshFailed', onFailed);
  tokenSource.on('refreshed', onToken);
  tokenSource.on('expired', onToken); // a token existed and expired: fail fast from now on

  // node-redis passes `(args, options)`; named parameters, and no closure or array allocated for
  // a command that cannot block: this runs for every command.
  const sendNow = (args: unknown[], options: unknown): Promise<unknown> =>
    options === undefined ? protoSend.call(inner, args) : protoSend.call(inner, args, options);
  Object.defineProperty(inner, 'sendCommand', {
    configurable: true,
    writable: true,
    value: (args: unknown[], options?: unknown) => {
      const credentials = tokenSource.current();
      if (credentials) hadToken = true;
      else if (hadToken && !tokenSource.closed) {
        // The source answers at once after expiry: TOKEN_EXPIRED naming the cause (the last
        // refresh error, or that a request is still pending); or a token that just arrived.
        return tokenSource.getCredentials().then(
          () => inner.sendCommand(args, options),
          (error: unknown) => {
            throw (error as { code?: unknown })?.code === 'TOKEN_EXPIRED'
              ? error
              : tokenExpiredError(lastFailure ?? error);
          },
        );
      }
      const first = args[0];
      const name = typeof first === 'string' ? first : String(first ?? '');
      const reply =
        (mayBlock(name)
          ? sendBounded((a) => sendNow(a, options), args as never, tokenSource, abort.signal)
          : undefined) ?? sendNow(args, options);
      tracker.onCommandWritten(name);
      return reply.catch((error: unknown) => {
        throw (
          diagnoseServerError(error, {
            ...(credentials ? { oid: credentials.oid, username: credentials.username } : {}),
            command: name,
          }) ?? error
        );
      });
    },
  });
  return () => {
    abort.abort();
    tokenSource.off('refreshFailed', onFailed);
    tokenSource.off('refreshed', onToken);
    tokenSource.off('expired', onToken);
    if (own) Object.defineProperty(inner, 'sendCommand', own);
    else delete (inner as { sendCommand?: SendCommand }).sendCommand;
  };
}
