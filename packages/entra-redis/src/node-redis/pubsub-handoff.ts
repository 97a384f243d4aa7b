import { randomUUID } from 'node:crypto';
import { withTimeout } from '../lib/clock.js';

/** node-redis pub/sub listener maps (`getPubSubListeners(type)`), as in 5.x and 6.x. */
export type PubSubType = 'CHANNELS' | 'PATTERNS' | 'SHARDED';
// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Listener = (message: any, channel: any) => unknown;
interface ChannelListeners {
  readonly strings: Set<Listener>;
  readonly buffers: Set<Listener>;
}
type Subscribe = (
  channels: string | string[],
  listener: Listener,
  bufferMode?: boolean,
) => Promise<unknown>;
type Unsubscribe = (
  channels?: string | string[],
  listener?: Listener,
  bufferMode?: boolean,
) => Promise<unknown>;

/** The public node-redis pub/sub surface the handoff uses (5.x and 6.x). */
export interface PubSubClient {
  getPubSubListeners(type: PubSubType): Map<string, ChannelListeners>;
  subscribe: Subscribe;
  pSubscribe: Subscribe;
  sSubscribe: Subscribe;
  unsubscribe: Unsubscribe;
  pUnsubscribe: Unsubscribe;
  sUnsubscribe: Unsubscribe;
  publish(channel: string, message: string): Promise<unknown>;
  connect(): Promise<unknown>;
  destroy(): void;
  on(event: 'error', listener: (error: unknown) => void): unknown;
  on(event: 'end' | 'reconnecting', listener: () => void): unknown;
  off(event: 'end' | 'reconnecting', listener: () => void): unknown;
}

const TYPES: readonly PubSubType[] = ['CHANNELS', 'PATTERNS', 'SHARDED'];
const METHODS = {
  CHANNELS: ['subscribe', 'unsubscribe'],
  PATTERNS: ['pSubscribe', 'pUnsubscribe'],
  SHARDED: ['sSubscribe', 'sUnsubscribe'],
} as const;

/**
 * Longest wait for one step (a connection, an acknowledgement, a marker).
 *
 * @example
 * ```ts
 * HANDOFF_STEP_TIMEOUT_MS; // 5000
 * ```
 */
export const HANDOFF_STEP_TIMEOUT_MS = 5_000;

/**
 * The message a handoff rejects with when the subscriber's own connection drops during it (the
 * client reconnects and resubscribes by itself, with the current token).
 *
 * @example
 * ```ts
 * if (error.message === HANDOFF_CONNECTION_LOST) return; // node-redis reconnects
 * ```
 */
export const HANDOFF_CONNECTION_LOST = "the subscriber's connection was lost";

interface Entry {
  readonly type: PubSubType;
  readonly channel: string;
  readonly fn: Listener;
  readonly isBuffer: boolean;
}

/** Replaces each listener `f` in the client's listener sets by `map(f)` (when defined). */
function swapListeners(client: PubSubClient, map: (f: Listener) => Listener | undefined): void {
  for (const type of TYPES) {
    for (const listeners of client.getPubSubListeners(type).values()) {
      for (const set of [listeners.strings, listeners.buffers]) {
        for (const f of [...set]) {
          const g = map(f);
          if (g && g !== f) {
            set.delete(f);
            set.add(g);
          }
        }
      }
    }
  }
}

/**
 * Re-authenticates a RESP2 subscriber (where Redis refuses AUTH in subscribe mode) without
 * losing or duplicating a message: a two-marker handoff.
 *
 * Redis delivers pub/sub messages to all subscribers in one server-wide order, so a marker
 * published on a private channel cuts every subscriber's stream at the same point.
 * 1. a temporary connection (the new token) subscribes to every channel, pattern and shard
 *    channel of `client`, plus the marker channel; `client` subscribes to the marker channel;
 * 2. a temporary publisher publishes marker #1: `client`'s listeners stop receiving at it, and
 *    the temporary connection starts delivering to the same listener functions;
 * 3. `client` unsubscribes from everything (leaving subscribe mode), runs `auth()`, and
 *    subscribes again — one pipelined write, the same client object, no reconnect;
 * 4. marker #2 is published: the temporary connection stops delivering at it and `client`'s
 *    listeners resume; the marker channel is left and the temporary connections closed.
 * Each message is thus delivered exactly once, by the connection that was subscribed at its
 * point in the order. Rejects (after restoring every listener) if a step fails or takes longer
 * than {@link HANDOFF_STEP_TIMEOUT_MS}; the caller then falls back to a reconnect. Rejects at
 * once, with {@link HANDOFF_CONNECTION_LOST}, if the client's own connection drops meanwhile.
 *
 * @example
 * ```ts
 * await handOffSubscriber(subscriber, {
 *   duplicate: () => subscriber.duplicate(),
 *   auth: () => subscriber.sendCommand(['AUTH', username, password]),
 * });
 * ```
 */
export async function handOffSubscriber(
  client: PubSubClient,
  deps: { duplicate(): PubSubClient; auth(): Promise<unknown> },
): Promise<void> {
  const plan: Entry[] = [];
  for (const type of TYPES) {
    for (const [channel, listeners] of client.getPubSubListeners(type)) {
      for (const fn of listeners.strings) plan.push({ type, channel, fn, isBuffer: false });
      for (const fn of listeners.buffers) plan.push({ type, channel, fn, isBuffer: true });
    }
  }
  if (plan.length === 0) {
    await deps.auth();
    return;
  }
  const marker = `__entra-redis:rotation:${randomUUID()}`;
  // The client closed (destroy(), close(), quit()) mid-handoff ends it at once: its temporary
  // connections and step timers must not outlive the client by up to a step timeout (they
  // would be evicted when their token expires). So does the client's connection lost (a
  // failover, a network cut): the client misses the markers sent meanwhile, and once it has
  // resubscribed both it and the temporary connection would deliver every message until a step
  // timed out. Its reconnect authenticates with the current token, as the fallback would.
  let onEnd = (): void => undefined;
  let onLost = (): void => undefined;
  const ended = new Promise<never>((_, reject) => {
    onEnd = () => reject(new Error('the subscriber was closed'));
    onLost = () => reject(new Error(HANDOFF_CONNECTION_LOST));
  });
  ended.catch(() => undefined);
  client.on('end', onEnd);
  client.on('reconnecting', onLost);
  const withStepTimeout = <T>(promise: Promise<T>, what: string): Promise<T> =>
    withTimeout(Promise.race([promise, ended]), HANDOFF_STEP_TIMEOUT_MS, what);
  let clientOpen = true; // client's own listeners deliver
  let tempOpen = false; // the temporary connection delivers
  const seen = { client: 0, temp: 0 };
  const waiters: Array<() => void> = [];
  const onMarker = (who: 'client' | 'temp', message: unknown): void => {
    const n = Number(String(message));
    seen[who] = Math.max(seen[who], n);
    if (who === 'client') clientOpen = n !== 1;
    else tempOpen = n === 1;
    for (const w of waiters.splice(0)) w();
  };
  const markerSeen = (n: number): Promise<void> =>
    withStepTimeout(
      new Promise<void>((resolve) => {
        const check = (): void => {
          if (seen.client >= n && seen.temp >= n) resolve();
          else waiters.push(check);
        };
        check();
      }),
      `rotation marker #${n}`,
    );
  const clientMarker: Listener = (message) => onMarker('client', message);

  const wrappers = new Map<Listener, Listener>();
  const originals = new Map<Listener, Listener>();
  const wrap = (fn: Listener): Listener => {
    let w = wrappers.get(fn);
    if (!w) {
      w = (message: unknown, channel: unknown) => {
        if (clientOpen && String(channel) !== marker) fn(message, channel);
      };
      wrappers.set(fn, w);
      originals.set(w, fn);
    }
    return w;
  };
  swapListeners(client, (f) => (f === clientMarker ? undefined : wrap(f)));

  const temps: PubSubClient[] = [];
  const open = async (): Promise<PubSubClient> => {
    const c = deps.duplicate();
    temps.push(c);
    c.on('error', () => undefined); // its failures surface as step timeouts
    await withStepTimeout(c.connect(), 'a temporary connection');
    return c;
  };
  let markerOnClient = false;
  try {
    const [temp, publisher] = await Promise.all([open(), open()]);
    const groups = new Map<string, Entry[]>();
    for (const e of plan) {
      const key = `${e.type}\u0000${e.channel}`;
      groups.set(key, [...(groups.get(key) ?? []), e]);
    }
    const subscribed: Promise<unknown>[] = [];
    for (const entries of groups.values()) {
      const { type, channel } = entries[0]!;
      const forward: Listener = (message: Buffer, from: Buffer) => {
        if (!tempOpen || String(from) === marker) return;
        for (const e of entries) {
          e.fn(e.isBuffer ? message : message.toString(), e.isBuffer ? from : from.toString());
        }
      };
      subscribed.push(temp[METHODS[type][0]](channel, forward, true));
    }
    subscribed.push(temp.subscribe(marker, (message) => onMarker('temp', message)));
    subscribed.push(client.subscribe(marker, clientMarker));
    markerOnClient = true;
    await withStepTimeout(Promise.all(subscribed), 'the temporary subscriptions');

    await withStepTimeout(publisher.publish(marker, '1'), 'marker #1');
    await markerSeen(1);

    // In place: leave subscribe mode, AUTH, subscribe again (one pipelined write).
    const left = TYPES.map((type) => {
      const keys = [...client.getPubSubListeners(type).keys()];
      return keys.length > 0 ? client[METHODS[type][1]](keys) : undefined;
    });
    const auth = deps.auth();
    await withStepTimeout(Promise.all([...left, auth]), 'AUTH');
    const back = plan.map((e) => client[METHODS[e.type][0]](e.channel, wrap(e.fn), e.isBuffer));
    back.push(client.subscribe(marker, clientMarker));
    await withStepTimeout(Promise.all(back), 'the resubscription');

    await withStepTimeout(publisher.publish(marker, '2'), 'marker #2');
    await markerSeen(2);
    await withStepTimeout(client.unsubscribe(marker, clientMarker), 'leaving the marker channel');
    markerOnClient = false;
  } catch (error) {
    // Never leave a listener behind: resubscribe whatever the client lost.
    clientOpen = true;
    for (const e of plan) {
      if (!client.getPubSubListeners(e.type).has(e.channel)) {
        client[METHODS[e.type][0]](e.channel, e.fn, e.isBuffer).catch(() => undefined);
      }
    }
    throw error;
  } finally {
    client.off('end', onEnd);
    client.off('reconnecting', onLost);
    swapListeners(client, (f) => originals.get(f));
    if (markerOnClient) client.unsubscribe(marker, clientMarker).catch(() => undefined);
    for (const c of temps) {
      try {
        c.destroy();
      } catch {
        // already closed
      }
    }
  }
}
