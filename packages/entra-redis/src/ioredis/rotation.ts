import { randomUUID } from 'node:crypto';
import { realTime, withTimeout } from '../lib/clock.js';
import { handoffConnection, setUntilUndone } from './client-internals.js';
import { channelOf, isOpen, once, ready } from './handoff-helpers.js';
import type { IORedisLike } from './types.js';

const MESSAGE_EVENTS = new Set([
  'message',
  'messageBuffer',
  'pmessage',
  'pmessageBuffer',
  'smessage',
  'smessageBuffer',
]);
/** Longest wait for one step of a handoff (a connection, a subscription, a marker). */
export const STEP_TIMEOUT_MS = 5_000;
/** Handoffs tried before the subscriber is reconnected in place instead. */
const MAX_ATTEMPTS = 2;
/** How long a delivering temporary connection outlives a subscriber that ended mid-handoff. */
export const BRIDGE_AFTER_END_MS = 3_000;
const BRIDGE_CHECK_MS = 50;

/** The cluster behind a subscriber connection it may replace. */
export interface BridgeHost {
  /** False once the cluster is closing or closed. */
  inUse(): boolean;
  /** The cluster's subscriber connection now (its replacement, once it made one). */
  current(): IORedisLike | null | undefined;
}

/** Subscribers a Cluster may replace, with the cluster. */
const BRIDGES = new WeakMap<IORedisLike, BridgeHost>();

/**
 * Marks `sub` as a cluster's subscriber connection: if the cluster replaces it during a RESP2
 * handoff, the temporary connection keeps delivering until the replacement holds every
 * subscription (3 s at most, and only while `host.inUse()`).
 */
export function bridgeWhenReplaced(sub: IORedisLike, host: BridgeHost): void {
  BRIDGES.set(sub, host);
}

const noop = (): void => undefined;

/** True when `next` (a cluster's new subscriber) holds every channel and pattern of `set`. */
function covers(next: IORedisLike, channels: string[], patterns: string[]): boolean {
  const set = next.condition?.subscriber;
  if (next.status !== 'ready' || !set) return false;
  const has = set.channels('subscribe');
  const hasPatterns = set.channels('psubscribe');
  return channels.every((c) => has.includes(c)) && patterns.every((p) => hasPatterns.includes(p));
}

/**
 * Makes `disconnect(true)` reconnect a client whose `retryStrategy` is not a function (ioredis
 * Cluster's subscriber connections: without one they end instead, and the cluster would
 * resubscribe on another connection with a gap), and at once (see {@link reconnectNow}).
 * Returns the function that restores it.
 */
function reconnectOnce(sub: IORedisLike): () => void {
  const undoNow = reconnectNow(sub);
  if (typeof sub.options.retryStrategy === 'function') return undoNow;
  const undoStrategy = setUntilUndone(sub.options, 'retryStrategy', () => 0);
  return () => {
    undoNow();
    undoStrategy();
  };
}

/**
 * Starts the reconnect that follows `disconnect(true)` at once, instead of after the retry
 * strategy's delay (returns the undo). The delay would only keep the subscriber silent longer,
 * and ioredis arms it with the global `setTimeout`, which a test's fake timers may have stopped.
 * Does what ioredis's reconnect timer does.
 */
function reconnectNow(sub: IORedisLike): () => void {
  const now = (): void => {
    const timer = sub.reconnectTimeout;
    if (sub.status !== 'reconnecting' || !timer) return;
    clearTimeout(timer as NodeJS.Timeout); // the global, as it was when ioredis armed it
    sub.reconnectTimeout = undefined;
    sub.connect().catch(noop);
  };
  sub.once('reconnecting', now);
  return () => sub.off('reconnecting', now);
}

/**
 * Turns ioredis's `autoResubscribe` off for the handoff's reconnect (returns the undo): ioredis
 * does not handle the rejection of its own resubscribe commands, so a `quit()` right after that
 * reconnect would raise an unhandled rejection. {@link resubscribe} does it instead.
 */
function resubscribeHere(sub: IORedisLike): () => void {
  return setUntilUndone(sub.options, 'autoResubscribe', false);
}

/** Subscribes `sub` again to everything in `set`, and to the marker channel. */
async function resubscribe(
  sub: IORedisLike,
  set: { channels(type: string): string[] },
  marker: string,
): Promise<void> {
  const patterns = set.channels('psubscribe');
  await Promise.all([
    sub.subscribe(...set.channels('subscribe').filter((c) => c !== marker), marker),
    ...(patterns.length > 0 ? [sub.psubscribe(...patterns)] : []),
    ...set.channels('ssubscribe').map((shard) => sub.ssubscribe(shard)),
  ]);
}

/**
 * Unsubscribes the marker channel. ioredis (RESP2) leaves subscriber mode as soon as an
 * UNSUBSCRIBE reply counts 0 subscriptions, but Redis counts shard channels apart: on a
 * connection subscribed only to shard channels ioredis would then parse the next shard message
 * (often in the same read) as a command reply and drop it, and forget the shard channels on its
 * next reconnect. While the marker is left, its subscription set is kept as long as shard
 * channels remain.
 */
function leaveMarker(sub: IORedisLike, marker: string): Promise<void> {
  const condition = sub.condition;
  let value = condition?.subscriber;
  if (!condition || !value) return sub.unsubscribe(marker).then(noop, noop);
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
  return sub.unsubscribe(marker).then(settle, settle);
}

/**
 * Moves a RESP2 subscriber (where Redis refuses AUTH) to a connection authenticated with the
 * credentials now in `sub.options`, losing no message and delivering none twice.
 *
 * Two-marker handoff: Redis delivers pub/sub in one server-wide order, so a marker published on
 * a private channel cuts every subscriber's stream at the same point.
 * 1. the original subscribes to the marker channel; a temporary connection (same options, the
 *    new token), once ready, subscribes to the same channels, patterns and shard channels plus
 *    the marker;
 * 2. marker #1 is published: the original holds the message events after it until the
 *    temporary connection has read the marker too, then drops them: from there the temporary
 *    one forwards them to the original's listeners;
 * 3. the original reconnects with the new token and subscribes again to what it had (also when
 *    `autoResubscribe` is off: the handoff is not a reconnect the application sees);
 * 4. marker #2 is published: the temporary connection stops forwarding at it, the original
 *    resumes; the marker channel is left and the temporary connections closed.
 * If a step fails (or times out, or the temporary connection drops) before the original
 * reconnected, the original emits what it held and the handoff is tried once more (not when the
 * application is closing the subscriber: nothing is sent on it after its QUIT); after a
 * second failure the original reconnects in place with the new token (messages may then be
 * lost during that one rotation). If the original's own connection drops first, the handoff
 * ends at once: ioredis reconnects it with the new token and resubscribes.
 */
export async function rotateSubscriber(
  sub: IORedisLike,
  duplicate: (override: Record<string, unknown>) => IORedisLike,
): Promise<void> {
  for (let attempt = 1; attempt <= MAX_ATTEMPTS; attempt++) {
    if ((await handOff(sub, duplicate)) === 'done') return;
    if (!isOpen(sub)) return;
  }
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

/**
 * One handoff attempt (see {@link rotateSubscriber}): 'done' when the original now uses the new
 * token or is gone, 'retry' when it failed before the original reconnected.
 */
async function handOff(
  sub: IORedisLike,
  duplicate: (override: Record<string, unknown>) => IORedisLike,
): Promise<'done' | 'retry'> {
  const set = sub.condition?.subscriber;
  if (!set) return 'done';
  const channels = set.channels('subscribe');
  const patterns = set.channels('psubscribe');
  const shards = set.channels('ssubscribe');
  const marker = `__entra-redis:rotation:${randomUUID()}`;
  const previousEmit = sub.emit;
  const seen = { original: 0, temp: 0 };
  /** Message events the original read after marker #1 before the temporary one read it. */
  let held: unknown[][] = [];
  /** How many of the temporary connection's first messages after marker #1 were emitted already. */
  let skip = 0;
  /** Set when the handoff is over: the original only hides the marker channel from then on. */
  let finished = false;
  const waiters: Array<{ who: 'original' | 'temp'; n: number; resolve: () => void }> = [];
  const markerSeen = (who: 'original' | 'temp', n: number): void => {
    seen[who] = Math.max(seen[who], n);
    if (who === 'temp' && n === 1) held = []; // the temporary connection delivers these
    for (const w of waiters.splice(0)) {
      if (seen[w.who] >= w.n) w.resolve();
      else waiters.push(w);
    }
  };
  /** Emits what the original held (the temporary connection will skip as many). */
  const release = (): void => {
    const events = held;
    held = [];
    skip += events.length;
    for (const [event, ...args] of events) previousEmit.call(sub, event as string, ...args);
  };
  const waitMarker = (who: 'original' | 'temp', n: number): Promise<void> =>
    seen[who] >= n
      ? Promise.resolve()
      : new Promise((resolve) => waiters.push({ who, n, resolve }));
  const isMarker = (event: string, args: unknown[]): boolean => channelOf(event, args) === marker;
  const markerNumber = (args: unknown[]): number => Number(String(args[1]));

  // The original emits until marker #1, is silent between #1 and #2, emits again after #2; the
  // marker channel never reaches the application (a failed attempt's marker may still arrive).
  const restoreEmit = setUntilUndone(
    sub,
    'emit',
    function (this: IORedisLike, event: string | symbol, ...args: unknown[]): boolean {
      if (typeof event === 'string' && MESSAGE_EVENTS.has(event)) {
        if (isMarker(event, args)) {
          if (event === 'messageBuffer' && !finished) markerSeen('original', markerNumber(args));
          return true;
        }
        if (seen.original === 1 && !finished) {
          if (seen.temp < 1) held.push([event, ...args]);
          return true;
        }
      }
      return previousEmit.call(this, event, ...args);
    },
  );
  const [temp, helper] = [handoffConnection(duplicate), handoffConnection(duplicate)];
  temp.on('error', () => {});
  helper.on('error', () => {});
  // The temporary connection forwards between marker #1 and marker #2 only.
  for (const event of MESSAGE_EVENTS) {
    temp.on(event, (...args: unknown[]) => {
      if (isMarker(event, args)) {
        if (event === 'messageBuffer') markerSeen('temp', markerNumber(args));
        return;
      }
      if (seen.temp !== 1) return;
      if (skip > 0) skip -= 1;
      else previousEmit.call(sub, event, ...args);
    });
  }
  let reconnected = false;
  let lost = false;
  // A client closed during the handoff (quit(), or a cluster replacing it) ends the handoff at
  // once, so the temporary connections do not outlive it; so does a temporary connection that
  // drops (its messages would be missing). So does the original's connection lost before the
  // handoff reconnects it (a failover, a network cut): it misses the markers sent meanwhile, and
  // once ioredis has resubscribed it, it and the temporary connection would both emit every
  // message until a step timed out. Its reconnect takes the new token, as the handoff's would.
  let onEnd = (): void => undefined;
  let onLost = (): void => undefined;
  let onTempClose = (): void => undefined;
  const ended = new Promise<never>((_, reject) => {
    onEnd = () => {
      release();
      reject(new Error('the subscriber was closed'));
    };
    onLost = () => {
      if (reconnected) return; // the handoff's own reconnect
      lost = true;
      reject(new Error("the subscriber's connection was lost"));
    };
    onTempClose = () => reject(new Error('the temporary connection was closed'));
    sub.once('end', onEnd);
    sub.once('close', onLost);
    temp.once('close', onTempClose);
  });
  ended.catch(() => undefined);
  const step = <T>(promise: Promise<T>, what: string): Promise<T> =>
    withTimeout(Promise.race([promise, ended]), STEP_TIMEOUT_MS, what);
  try {
    await step(sub.subscribe(marker), 'the marker subscription');
    await step(ready(temp), 'the temporary connection');
    await step(temp.subscribe(...channels, marker), 'the temporary subscription');
    if (patterns.length > 0) await step(temp.psubscribe(...patterns), 'psubscribe');
    for (const shard of shards) await step(temp.ssubscribe(shard), 'ssubscribe');
    await step(helper.publish(marker, '1'), 'marker #1');
    await step(Promise.all([waitMarker('original', 1), waitMarker('temp', 1)]), 'marker #1');
    if (!isOpen(sub)) return 'done'; // closed meanwhile
    reconnected = true;
    // The subscriptions now (the application may have added some since the start).
    const now = sub.condition?.subscriber || set;
    const reconnect = once(sub, 'ready');
    const restoreRetry = reconnectOnce(sub);
    const restoreResubscribe = resubscribeHere(sub);
    sub.disconnect(true);
    await step(reconnect, 'the reconnect').finally(() => {
      restoreRetry();
      restoreResubscribe();
    });
    if (!isOpen(sub)) return 'done'; // quit() queued while reconnecting, sent on 'ready'
    await step(resubscribe(sub, now, marker), 'the resubscription');
    await step(helper.publish(marker, '2'), 'marker #2');
    await step(Promise.all([waitMarker('original', 2), waitMarker('temp', 2)]), 'marker #2');
    return 'done';
  } catch {
    if (reconnected) return 'done';
    release();
    return isOpen(sub) && !lost ? 'retry' : 'done';
  } finally {
    finished = true;
    sub.off('end', onEnd);
    sub.off('close', onLost);
    temp.off('close', onTempClose);
    helper.disconnect();
    const host = BRIDGES.get(sub);
    if (sub.status === 'end' && seen.original >= 1 && host?.inUse() && temp.status === 'ready') {
      bridge(temp, host, sub, channels, patterns, marker);
    } else {
      temp.disconnect();
    }
    // The marker channel stays hidden until it is left (its UNSUBSCRIBE reply comes after any
    // marker message still on the way). Nothing is written after the application's QUIT: the
    // server closes the connection on it, and a command arriving then can reset the connection
    // before the client has read the QUIT's OK.
    if (isOpen(sub)) await leaveMarker(sub, marker);
    restoreEmit();
  }
}

/**
 * A Cluster replaced its subscriber connection mid-handoff (it disconnects the old one, and the
 * replacement subscribes on its own). The original went silent at marker #1; the temporary
 * connection holds every subscription and delivers from marker #1 on (it may not have read that
 * marker yet): it bridges the gap until the replacement holds every subscription, then one PING
 * round trip more (everything published before that was read), 3 s at most, and no longer than
 * the cluster is in use. Duplicates are possible, a gap is not.
 */
function bridge(
  temp: IORedisLike,
  host: BridgeHost,
  replaced: IORedisLike,
  channels: string[],
  patterns: string[],
  marker: string,
): void {
  const endAt = realTime.now() + BRIDGE_AFTER_END_MS;
  let finishing = false;
  let finished = false;
  const finish = (): void => {
    if (finished) return;
    finished = true;
    realTime.clearInterval(timer);
    temp.disconnect();
    // The replacement copied the old connection's subscriptions, the marker channel included.
    const next = host.current();
    const set = next && next !== replaced && isOpen(next) && next.condition?.subscriber;
    if (set && set.channels('subscribe').includes(marker)) void leaveMarker(next, marker);
  };
  const timer = realTime.setInterval(() => {
    if (realTime.now() >= endAt || !host.inUse() || temp.status !== 'ready') {
      finish();
      return;
    }
    if (finishing) return;
    const next = host.current();
    if (!next || next === replaced || !covers(next, channels, patterns)) return;
    finishing = true;
    temp.ping().then(finish, finish);
  }, BRIDGE_CHECK_MS);
}
