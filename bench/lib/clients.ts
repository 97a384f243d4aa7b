// One small interface over node-redis and ioredis clients, so that every section drives every
// arm with the same code. Only public client APIs are used.
import type { Redis } from 'ioredis';

/** The operations the benchmark sections need, on one connection. */
export interface BenchClient {
  get(key: string): Promise<unknown>;
  set(key: string, value: string): Promise<unknown>;
  /** `count` commands of `op` on `keys[i % keys.length]`, written as one pipeline. */
  pipeline(op: 'GET' | 'SET', keys: readonly string[], value: string): Promise<unknown>;
  publish(channel: string, message: string): Promise<unknown>;
  lpush(key: string, value: string): Promise<unknown>;
  /** `BLPOP key 0`: the popped element. */
  blpop(key: string): Promise<string | null>;
  llen(key: string): Promise<number>;
  /** Subscribes this connection (it becomes a subscriber) to `channel`. */
  subscribe(channel: string, onMessage: (message: string) => void): Promise<void>;
  /** Calls `listener` each time the client starts reconnecting. */
  onReconnect(listener: () => void): void;
  /** Closes the connection now. */
  close(): Promise<void>;
}

/** The part of a node-redis 6 client used here (public API). */
export interface NodeRedisLike {
  get(key: string): Promise<unknown>;
  set(key: string, value: string): Promise<unknown>;
  publish(channel: string, message: string): Promise<unknown>;
  lPush(key: string, value: string): Promise<unknown>;
  blPop(key: string, timeout: number): Promise<{ key: string; element: string } | null>;
  lLen(key: string): Promise<number>;
  subscribe(channel: string, listener: (message: string) => void): Promise<void>;
  multi(): NodeRedisMulti;
  on(event: string, listener: (...args: unknown[]) => void): unknown;
  connect(): Promise<unknown>;
  destroy(): void;
}

interface NodeRedisMulti {
  get(key: string): NodeRedisMulti;
  set(key: string, value: string): NodeRedisMulti;
  execAsPipeline(): Promise<unknown>;
}

/**
 * Wraps a connected node-redis client.
 *
 * @example
 * ```ts
 * const client = wrapNodeRedis(redisClient as unknown as NodeRedisLike);
 * ```
 */
export function wrapNodeRedis(c: NodeRedisLike): BenchClient {
  return {
    get: (key) => c.get(key),
    set: (key, value) => c.set(key, value),
    pipeline: (op, keys, value) => {
      let m = c.multi();
      for (const key of keys) m = op === 'GET' ? m.get(key) : m.set(key, value);
      return m.execAsPipeline();
    },
    publish: (channel, message) => c.publish(channel, message),
    lpush: (key, value) => c.lPush(key, value),
    blpop: async (key) => (await c.blPop(key, 0))?.element ?? null,
    llen: (key) => c.lLen(key),
    subscribe: (channel, onMessage) => c.subscribe(channel, onMessage),
    onReconnect: (listener) => void c.on('reconnecting', listener),
    close: async () => c.destroy(),
  };
}

/**
 * Wraps a connected ioredis client.
 *
 * @example
 * ```ts
 * const client = wrapIORedis(redis);
 * ```
 */
export function wrapIORedis(r: Redis): BenchClient {
  return {
    get: (key) => r.get(key),
    set: (key, value) => r.set(key, value),
    pipeline: (op, keys, value) => {
      const p = r.pipeline();
      for (const key of keys) {
        if (op === 'GET') p.get(key);
        else p.set(key, value);
      }
      return p.exec();
    },
    publish: (channel, message) => r.publish(channel, message),
    lpush: (key, value) => r.lpush(key, value),
    blpop: async (key) => (await r.blpop(key, 0))?.[1] ?? null,
    llen: (key) => r.llen(key),
    subscribe: async (channel, onMessage) => {
      r.on('message', (ch: string, message: string) => {
        if (ch === channel) onMessage(message);
      });
      await r.subscribe(channel);
    },
    onReconnect: (listener) => void r.on('reconnecting', listener),
    // disconnect() returns at once; ioredis emits 'end' (and the adapter lets go of the token
    // source) a tick later, so wait for it before anyone counts listeners.
    close: async () => {
      if (r.status === 'end') return;
      const ended = new Promise<void>((resolve) => r.once('end', () => resolve()));
      r.disconnect();
      await Promise.race([
        ended,
        new Promise<void>((resolve) => setTimeout(resolve, 2_000).unref()),
      ]);
    },
  };
}
