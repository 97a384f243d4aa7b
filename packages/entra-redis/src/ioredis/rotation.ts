import { randomUUID } from 'node:crypto';
import type { IORedisLike } from './types.js';

const MESSAGE_EVENTS = new Set([
  'message',
  'messageBuffer',
  'pmessage',
  'pmessageBuffer',
  'smessage',
  'smessageBuffer',
]);
const STEP_TIMEOUT_MS = 5_000;
/** How long a delivering temporary connection outlives a subscriber that ended mid-handoff. */
const BRIDGE_AFTER_END_MS = 3_000;

/** Subscribers a Cluster may replace, with whether that cluster is still in use. */
const BRIDGES = new WeakMap<IORedisLike, () => boolean>();

/**
 * Marks `sub` as a cluster's subscriber connection: if the cluster replaces it during a RESP2
 * handoff, the temporary connection keeps delivering while `inUse()` holds, for up to 3 s.
 */
export function bridgeWhenReplaced(sub: IORedisLike, inUse: () => boolean): void {
  BRIDGES.set(sub, inUse);
}

/** Channel of a message event's arguments (pmessage: the second one). */
function channelOf(event: string, args: unknown[]): string {
  return String(event.startsWith('pmessage') ? args[1] : args[0]);
}

function withTimeout<T>(promise: Promise<T>, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out waiting for ${what}`)), STEP_TIMEOUT_MS);
    timer.unref();
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

function once(redis: IORedisLike, event: string): Promise<void> {
  return new Promise((resolve) => redis.once(event, () => resolve()));
}

/**
 * Makes `disconnect(true)` reconnect a client whose `retryStrategy` is not a function (ioredis
 * Cluster's subscriber connections: without one they end instead, and the cluster would
 * resubscribe on another connection with a gap). Returns the function that restores it.
 */
function reconnectOnce(sub: IORedisLike): () => void {
  const options = sub.options;
  if (typeof options.retryStrategy === 'function') return () => undefined;
  const had = Object.prototype.hasOwnProperty.call(options, 'retryStrategy');
  const previous = options.retryStrategy;
  options.retryStrategy = () => 0;
  return () => {
    if (had) options.retryStrategy = previous;
    else delete options.retryStrategy;
  };
}

/**
 * Unsubscribes the marker channel. ioredis (RESP2) leaves subscriber mode as soon as an
 * UNSUBSCRIBE reply counts 0 subscriptions, but Redis counts shard channels apart: on a
 * connection subscribed only to shard channels ioredis would then parse the next shard message
 * (often in the same read) as a command reply and drop it, and forget the shard channels on its
 * next reconnect. While the marker is left, its subscription set is kept as long as shard
 * channels remain.
 */
function leaveMarker(sub: IORedisLike, marker: string): void {
  const condition = sub.condition;
  let value = condition?.subscriber;
  if (!condition || !value) {
    sub.unsubscribe(marker).catch(() => undefined);
    return;
  }
  Object.defineProperty(condition, 'subscriber', {
    configurable: true,
    enumerable: true,
    get: () => value,
    set: (next: typeof value) => {
      if (!next && value && value.channels('ssubscribe').length > 0) return;
      value = next;
    },
  });
  const settle = (): void => {
    Object.defineProperty(condition, 'subscriber', {
      configurable: true,
      enumerable: true,
      writable: true,
      value,
    });
  };
  sub.unsubscribe(marker).then(settle, settle);
}

/**
 * Moves a RESP2 subscriber (where Redis refuses AUTH) to a connection authenticated with the
 * credentials now in `sub.options`, losing no message and delivering none twice.
 *
 * Two-marker handoff: Redis delivers pub/sub in one server-wide order, so a marker published on
 * a private channel cuts every subscriber's stream at the same point.
 * 1. the original subscribes to the marker channel; a temporary connection (same options, the
 *    new token) subscribes to the same channels, patterns and shard channels plus the marker;
 * 2. marker #1 is published: the original stops emitting message events after it, the temporary
 *    one starts forwarding them to the original's listeners;
 * 3. the original reconnects with the new token and resubscribes (ioredis `autoResubscribe`, or
 *    here when that is off); a PING confirms the resubscription;
 * 4. marker #2 is published: the temporary connection stops forwarding at it, the original
 *    resumes; the marker channel is left and the temporary connections closed.
 * If a step fails (or times out), the original still reconnects with the new token; messages
 * may then be lost or duplicated during that one rotation.
 */
export async function rotateSubscriber(
  sub: IORedisLike,
  duplicate: (override: Record<string, unknown>) => IORedisLike,
): Promise<void> {
  const set = sub.condition?.subscriber;
  if (!set) return;
  const channels = set.channels('subscribe');
  const patterns = set.channels('psubscribe');
  const shards = set.channels('ssubscribe');
  const marker = `__entra-redis:rotation:${randomUUID()}`;
  const hadOwnEmit = Object.prototype.hasOwnProperty.call(sub, 'emit');
  const previousEmit = sub.emit;
  const seen = { original: 0, temp: 0 };
  const waiters: Array<{ who: 'original' | 'temp'; n: number; resolve: () => void }> = [];
  const markerSeen = (who: 'original' | 'temp', n: number): void => {
    seen[who] = Math.max(seen[who], n);
    for (const w of waiters.splice(0)) {
      if (seen[w.who] >= w.n) w.resolve();
      else waiters.push(w);
    }
  };
  const waitMarker = (who: 'original' | 'temp', n: number): Promise<void> =>
    seen[who] >= n
      ? Promise.resolve()
      : new Promise((resolve) => waiters.push({ who, n, resolve }));
  const isMarker = (event: string, args: unknown[]): boolean => channelOf(event, args) === marker;
  const markerNumber = (args: unknown[]): number => Number(String(args[1]));

  // The original emits until marker #1, is silent between #1 and #2, emits again after #2.
  sub.emit = function (this: IORedisLike, event: string | symbol, ...args: unknown[]): boolean {
    if (typeof event === 'string' && MESSAGE_EVENTS.has(event)) {
      if (isMarker(event, args)) {
        if (event === 'messageBuffer') markerSeen('original', markerNumber(args));
        return true;
      }
      if (seen.original === 1) return true;
    }
    return previousEmit.call(this, event, ...args);
  };
  const temp = duplicate({ lazyConnect: false, connectionName: 'entra-redis:rotation' });
  const helper = duplicate({ lazyConnect: false, connectionName: 'entra-redis:rotation' });
  temp.on('error', () => {});
  helper.on('error', () => {});
  // The temporary connection forwards between marker #1 and marker #2 only.
  for (const event of MESSAGE_EVENTS) {
    temp.on(event, (...args: unknown[]) => {
      if (isMarker(event, args)) {
        if (event === 'messageBuffer') markerSeen('temp', markerNumber(args));
        return;
      }
      if (seen.temp === 1) previousEmit.call(sub, event, ...args);
    });
  }
  let reconnected = false;
  // A client closed during the handoff (quit(), or a cluster replacing it) ends the handoff at
  // once, so the temporary connections do not outlive it.
  let onEnd = (): void => undefined;
  const ended = new Promise<never>((_, reject) => {
    onEnd = () => reject(new Error('the subscriber was closed'));
    sub.once('end', onEnd);
  });
  ended.catch(() => undefined);
  const step = <T>(promise: Promise<T>, what: string): Promise<T> =>
    withTimeout(Promise.race([promise, ended]), what);
  try {
    await step(sub.subscribe(marker), 'the marker subscription');
    await step(temp.subscribe(...channels, marker), 'the temporary subscription');
    if (patterns.length > 0) await step(temp.psubscribe(...patterns), 'psubscribe');
    for (const shard of shards) await step(temp.ssubscribe(shard), 'ssubscribe');
    await step(helper.publish(marker, '1'), 'marker #1');
    await step(Promise.all([waitMarker('original', 1), waitMarker('temp', 1)]), 'marker #1');
    if (sub.manuallyClosing || sub.status !== 'ready') return; // closed meanwhile: leave it be
    reconnected = true;
    const ready = once(sub, 'ready');
    const restoreRetry = reconnectOnce(sub);
    sub.disconnect(true);
    await step(ready, 'the reconnect').finally(restoreRetry);
    if (sub.options.autoResubscribe === false) {
      await sub.subscribe(...channels, marker);
      if (patterns.length > 0) await sub.psubscribe(...patterns);
      for (const shard of shards) await sub.ssubscribe(shard);
    }
    await step(sub.ping(), 'the resubscription');
    await step(helper.publish(marker, '2'), 'marker #2');
    await step(Promise.all([waitMarker('original', 2), waitMarker('temp', 2)]), 'marker #2');
  } catch {
    if (!reconnected && sub.status === 'ready' && !sub.manuallyClosing) {
      // Still reconnect in place (a cluster subscriber would otherwise end and be replaced).
      const restoreRetry = reconnectOnce(sub);
      const settled = (): void => {
        sub.off('ready', settled);
        sub.off('end', settled);
        restoreRetry();
      };
      sub.on('ready', settled);
      sub.on('end', settled);
      sub.disconnect(true);
    }
  } finally {
    sub.off('end', onEnd);
    if (hadOwnEmit) sub.emit = previousEmit;
    else delete (sub as { emit?: unknown }).emit;
    helper.disconnect();
    const stillWanted = BRIDGES.get(sub);
    if (sub.status === 'end' && seen.original >= 1 && stillWanted?.()) {
      // A Cluster replaced its subscriber connection mid-handoff (it disconnects the old one);
      // the replacement subscribes on its own. The original went silent at marker #1; the
      // temporary connection holds every subscription and delivers from marker #1 on (it may
      // not have read that marker yet): let it bridge the gap a little longer (duplicates
      // possible, never a gap), and no longer than the cluster is wanted.
      const endAt = Date.now() + BRIDGE_AFTER_END_MS;
      const timer = setInterval(() => {
        if (Date.now() < endAt && stillWanted()) return;
        clearInterval(timer);
        temp.disconnect();
      }, 100);
    } else {
      temp.disconnect();
    }
    if (sub.status === 'ready') leaveMarker(sub, marker);
  }
}
