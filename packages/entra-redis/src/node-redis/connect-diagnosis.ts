// What `connect()` of a protected node-redis client, pool or cluster does when the cache
// refuses the token or the handshake keeps failing.
import type { EntraRedisError } from '../errors.js';
import {
  diagnoseHandshakeFailure,
  diagnoseServerError,
  HANDSHAKE_CLOSES_BEFORE_DIAGNOSIS,
} from '../reauth/index.js';
import type { TokenSource } from '../token/token-source.js';
import { ownerOf } from './internals.js';

/** What {@link diagnoseConnect} needs of a client, pool or cluster. */
export interface ConnectTarget {
  connect(): Promise<unknown>;
  destroy?(): unknown;
  on?(event: 'error' | 'node-error', listener: (error: unknown) => void): unknown;
  off?(event: 'error' | 'node-error', listener: (error: unknown) => void): unknown;
}

/** Options of {@link diagnoseConnect}. */
interface DiagnoseOptions {
  /** Close the target and reject `connect()` on a failure that retrying cannot fix. */
  stopOnFailure?: boolean;
}

/** What a diagnosed target's `connect()` needs: its own `connect`, the source, the options. */
interface Diagnosis {
  readonly connect: () => Promise<unknown>;
  readonly source: TokenSource;
  readonly options: DiagnoseOptions;
}

/**
 * The targets {@link diagnoseConnect} wrapped, by their instance (see `ownerOf`): their copies
 * get the same options. One shared `connect` override finds its target's entry here, so a
 * diagnosed client holds no closure.
 */
const diagnosed = new WeakMap<object, Diagnosis>();

/** Connection errors of a client, and of a cluster's node connections (node-redis 5 and 6). */
const ERROR_EVENTS = ['error', 'node-error'] as const;

/**
 * Makes `connect()` of `target` reject a refused token with `AUTH_REFUSED` (naming the
 * principal and the fix) instead of node-redis's bare `WRONGPASS`. With `stopOnFailure`, while
 * `connect()` is pending, a refused handshake, a TLS certificate the client does not accept, a
 * server that does not speak TLS, or a server that closes the connection during the handshake
 * three times in a row (TLS expected?) closes `target` (`destroy()`), so `connect()` rejects
 * with the diagnosis (`AUTH_REFUSED`, `HANDSHAKE_FAILED`) instead of retrying for ever under a
 * reconnect strategy that never gives up; once connected, failures are retried as any other.
 *
 * @example
 * ```ts
 * diagnoseConnect(pool, tokenSource, { stopOnFailure: true });
 * ```
 */
export function diagnoseConnect(
  target: ConnectTarget,
  tokenSource: TokenSource,
  options: DiagnoseOptions = {},
): void {
  const owner = ownerOf(target) as ConnectTarget;
  if (diagnosed.has(owner)) return;
  diagnosed.set(owner, { connect: owner.connect, source: tokenSource, options });
  Object.defineProperty(owner, 'connect', {
    configurable: true,
    writable: true,
    value: diagnosedConnect,
  });
}

/** The shared `connect` override: `this` is the target (or a proxy of it). */
async function diagnosedConnect(this: ConnectTarget): Promise<unknown> {
  const entry = diagnosed.get(ownerOf(this));
  // Not a diagnosed target (a method borrowed onto another object): its own connect().
  if (!entry) return (Object.getPrototypeOf(ownerOf(this)) as ConnectTarget).connect.call(this);
  const { source, options } = entry;
  const diagnose = (error: unknown): EntraRedisError | undefined => {
    const credentials = source.current();
    return diagnoseServerError(
      error,
      credentials ? { oid: credentials.oid, username: credentials.username } : {},
    );
  };
  let stopped: EntraRedisError | undefined;
  let closes = 0;
  const onError = (error: unknown): void => {
    if (stopped) return;
    const refused = diagnose(error);
    if (refused?.code === 'AUTH_REFUSED') stopped = refused;
    else {
      const failure = diagnoseHandshakeFailure(error, closes + 1);
      if (!failure) return;
      if (failure.kind === 'closed' && ++closes < HANDSHAKE_CLOSES_BEFORE_DIAGNOSIS) return;
      stopped = failure.error;
    }
    this.destroy?.(); // node-redis then ends the pending connect()
  };
  const watch = options.stopOnFailure === true && typeof this.on === 'function';
  if (watch) for (const event of ERROR_EVENTS) this.on!(event, onError);
  try {
    const connected = await entry.connect.call(this);
    if (stopped) throw stopped; // redis 5 ends connect() without an error when destroyed
    return connected;
  } catch (error) {
    throw stopped ?? diagnose(error) ?? error;
  } finally {
    if (watch) for (const event of ERROR_EVENTS) this.off?.(event, onError);
  }
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
  const entry = diagnosed.get(ownerOf(original));
  if (entry) diagnoseConnect(copy, tokenSource, entry.options);
}
