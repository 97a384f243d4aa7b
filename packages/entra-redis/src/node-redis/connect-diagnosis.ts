// What `connect()` of a protected node-redis client, pool or cluster does with a refused token.
import type { EntraRedisError } from '../errors.js';
import { diagnoseServerError } from '../reauth/index.js';
import type { TokenSource } from '../token/token-source.js';

/** What {@link diagnoseConnect} needs of a client, pool or cluster. */
export interface ConnectTarget {
  connect(): Promise<unknown>;
  destroy?(): unknown;
  on?(event: 'error', listener: (error: unknown) => void): unknown;
  off?(event: 'error', listener: (error: unknown) => void): unknown;
}

/** Options of {@link diagnoseConnect}. */
interface DiagnoseOptions {
  stopOnRefusal?: boolean;
}

/** The targets {@link diagnoseConnect} wrapped, with its options: their copies get the same. */
const diagnosed = new WeakMap<object, DiagnoseOptions>();

/**
 * Makes `connect()` of `target` reject a refused token with `AUTH_REFUSED` (naming the
 * principal and the fix) instead of node-redis's bare `WRONGPASS`. With `stopOnRefusal`, a
 * handshake refused while `connect()` is pending closes `target` (`destroy()`), so `connect()`
 * rejects at once instead of retrying for ever under a reconnect strategy that never gives up;
 * once connected, a refused reconnect is retried as any other failure.
 *
 * @example
 * ```ts
 * diagnoseConnect(pool, tokenSource, { stopOnRefusal: true });
 * ```
 */
export function diagnoseConnect(
  target: ConnectTarget,
  tokenSource: TokenSource,
  options: DiagnoseOptions = {},
): void {
  diagnosed.set(target, options);
  const connect = target.connect.bind(target);
  const diagnose = (error: unknown): EntraRedisError | undefined => {
    const credentials = tokenSource.current();
    return diagnoseServerError(
      error,
      credentials ? { oid: credentials.oid, username: credentials.username } : {},
    );
  };
  Object.defineProperty(target, 'connect', {
    configurable: true,
    writable: true,
    value: async () => {
      let refused: EntraRedisError | undefined;
      const onError = (error: unknown): void => {
        const diagnosed = diagnose(error);
        if (refused || diagnosed?.code !== 'AUTH_REFUSED') return;
        refused = diagnosed;
        target.destroy?.(); // node-redis then ends the pending connect()
      };
      const watch = options.stopOnRefusal === true && typeof target.on === 'function';
      if (watch) target.on!('error', onError);
      try {
        const connected = await connect();
        if (refused) throw refused; // redis 5 ends connect() without an error when destroyed
        return connected;
      } catch (error) {
        throw refused ?? diagnose(error) ?? error;
      } finally {
        if (watch) target.off?.('error', onError);
      }
    },
  });
}

/**
 * Gives `copy` (a `duplicate()` of `original`) the `connect()` diagnosis `original` has, if any:
 * a client made by `createClient` stops on a refused token, its copies too; a client the
 * application made and only attached keeps node-redis's own behaviour, its copies too.
 *
 * @example
 * ```ts
 * diagnoseCopy(client, client.duplicate(), tokenSource);
 * ```
 */
export function diagnoseCopy(
  original: object,
  copy: ConnectTarget,
  tokenSource: TokenSource,
): void {
  const options = diagnosed.get(original);
  if (options) diagnoseConnect(copy, tokenSource, options);
}
