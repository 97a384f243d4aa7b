// The semi-private parts of an ioredis client that the guard and the RESP2 handoff read or
// correct, for ioredis 5.x and 6.x, and small helpers of the handoff.
import { EntraRedisError } from '../errors.js';
import type { IORedisCommandClass, IORedisConnectorLike, IORedisLike } from './types.js';

/**
 * ioredis 5 with `enableReadyCheck: false` finishes a handshake after its connection closed
 * (ioredis issue 2099, fixed in 6): a `quit()` or a drop while the client is 'connect' leaves it
 * 'ready' on a dead socket (never 'end', never reconnecting). This happens at every RESP2
 * subscriber handoff's reconnect that the application closes at that moment. Called instead of
 * that `setStatus('ready')`: the status stays; the rest of that handshake (resubscribing,
 * re-sending) finds nothing to do, and what it would have used is put back for the real one.
 */
export function ignoreStaleReady(redis: IORedisLike): void {
  const { prevCondition, prevCommandQueue } = redis;
  redis.prevCondition = null;
  redis.prevCommandQueue = null;
  queueMicrotask(() => {
    redis.prevCondition ??= prevCondition;
    redis.prevCommandQueue ??= prevCommandQueue;
  });
}

/**
 * The `Command` class of the ioredis copy that made `redis` (5.x and 6.x; `redis.constructor`
 * is not the Redis class there): read from a pipeline command that is never sent.
 */
export function commandClassOf(redis: IORedisLike): IORedisCommandClass {
  const pipeline = (
    redis as unknown as { pipeline(): { ping(): unknown; _queue?: object[] } }
  ).pipeline();
  pipeline.ping();
  const probe = pipeline._queue?.[0];
  if (!probe) {
    throw new EntraRedisError(
      'INVALID_OPTION',
      'entra-redis ioredis: unsupported ioredis version (expected 5.x or 6.x)',
    );
  }
  return probe.constructor as IORedisCommandClass;
}

/**
 * `connector.disconnect()`, unless the connection's socket is already destroyed. ioredis 5 takes
 * the failure of a handshake command on a connection closed under it ("Connection is closed.",
 * e.g. a RESP2 handoff's temporary connection ended while it authenticates) as fatal and
 * disconnects once more; the connector then arms a `disconnectTimeout` timer (2 s, not unref'ed)
 * to destroy a socket whose 'close' it will never see: the process is held 2 s after `quit()`.
 * (ioredis 6 ignores such stale callbacks.) That timer's only job is done already.
 */
export function disconnectUnlessClosed(
  connector: IORedisConnectorLike,
  disconnect: IORedisConnectorLike['disconnect'],
): void {
  if ((connector.stream as { destroyed?: boolean } | undefined)?.destroyed === true) {
    (connector as { connecting?: boolean }).connecting = false;
    return;
  }
  disconnect.call(connector);
}

/**
 * The handoff's own connections: connect now, and end (never reconnect) when dropped: a
 * reconnected temporary connection would have missed messages, and the attempt fails instead.
 */
const HANDOFF_OPTIONS = Object.freeze({
  lazyConnect: false,
  connectionName: 'entra-redis:rotation',
  retryStrategy: (): null => null,
});

/**
 * A temporary connection of a RESP2 subscriber handoff, made with `duplicate`. The handoff may
 * close it in its handshake: its connector skips the disconnect of a destroyed socket
 * ({@link disconnectUnlessClosed}).
 */
export function handoffConnection(
  duplicate: (override: Record<string, unknown>) => IORedisLike,
): IORedisLike {
  const redis = duplicate(HANDOFF_OPTIONS);
  const connector = redis.connector;
  if (connector && typeof connector.disconnect === 'function') {
    const disconnect = connector.disconnect;
    connector.disconnect = function (this: IORedisConnectorLike): void {
      disconnectUnlessClosed(this, disconnect);
    };
  }
  return redis;
}

/** Sets `target[key]` to `value`; returns the undo (restores the own property, or its absence). */
export function setUntilUndone<T extends object, K extends keyof T>(
  target: T,
  key: K,
  value: T[K],
): () => void {
  const had = Object.prototype.hasOwnProperty.call(target, key);
  const previous = target[key];
  target[key] = value;
  return () => {
    if (had) target[key] = previous;
    else delete target[key];
  };
}
