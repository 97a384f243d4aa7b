// Concurrent workers, each with its own Redis client, increment a shared counter under the lock.
// Run: npx tsx examples/distributed-lock/worker.ts (emulator), or set REDIS_HOST (Azure).
import { setTimeout as sleep } from 'node:timers/promises';
import { pathToFileURL } from 'node:url';
import type { Redis } from 'ioredis';
import { withLock, type Lock } from './lock.js';
import { cacheSettingsFromEnv, connectRedis } from './redis.js';

// The protected resource: a counter that, like any resource guarded by a lock with fencing,
// refuses a write whose fencing token is not greater than the last one it accepted. (A database
// does the same with `UPDATE … SET value = $1, fence = $2 WHERE fence < $2`.)
const FENCED_WRITE = `
if tonumber(ARGV[2]) <= tonumber(redis.call('HGET', KEYS[1], 'fence') or '0') then return 0 end
redis.call('HSET', KEYS[1], 'value', ARGV[1], 'fence', ARGV[2])
return 1`;

/**
 * The counter's current value.
 *
 * @example
 * ```ts
 * console.log(await readCounter(redis, 'counter'));
 * ```
 */
export async function readCounter(redis: Redis, key: string): Promise<number> {
  return Number((await redis.hget(key, 'value')) ?? 0);
}

/**
 * Reads the counter, works a little, writes back value + 1 with the lock's fencing token. Without
 * the lock, concurrent callers would lose updates. Throws if the write was refused as stale.
 *
 * @example
 * ```ts
 * const value = await withLock(redis, 'counter', (lock) => incrementCounter(redis, 'counter', lock));
 * ```
 */
export async function incrementCounter(
  redis: Redis,
  key: string,
  lock: Lock,
  workMs = 5,
): Promise<number> {
  const value = (await readCounter(redis, key)) + 1;
  await sleep(workMs); // stands for real work between the read and the write
  const accepted = await redis.eval(FENCED_WRITE, 1, key, value, lock.fence);
  if (accepted !== 1) throw new Error(`write refused: fencing token ${lock.fence} is stale`);
  return value;
}

/** Options of {@link runWorker}. */
export interface WorkerOptions {
  readonly lockName: string;
  readonly counterKey: string;
  /** Stops the worker (after the increment in progress). */
  readonly signal: AbortSignal;
  /** Called after each accepted write with the value written and the lock's fencing token. */
  readonly onIncrement?: (value: number, fence: number) => void;
}

/**
 * Increments the counter under the lock until `signal` aborts, with a short pause between
 * increments (work done outside the lock, which also gives the other workers their turn);
 * resolves with its number of increments.
 *
 * @example
 * ```ts
 * const done = runWorker(redis, { lockName: 'counter', counterKey: 'counter', signal });
 * ```
 */
export async function runWorker(redis: Redis, options: WorkerOptions): Promise<number> {
  const { lockName, counterKey, signal, onIncrement } = options;
  let increments = 0;
  while (!signal.aborted) {
    await withLock(redis, lockName, async (lock) => {
      const value = await incrementCounter(redis, counterKey, lock);
      onIncrement?.(value, lock.fence);
    });
    increments += 1;
    await sleep(Math.random() * 20);
  }
  return increments;
}

async function main(): Promise<void> {
  const settings = await cacheSettingsFromEnv();
  const clients = await Promise.all([1, 2, 3].map(() => connectRedis(settings)));
  const counterKey = `counter:${Date.now()}`;
  const stop = new AbortController();
  const workers = clients.map((redis) =>
    runWorker(redis, { lockName: counterKey, counterKey, signal: stop.signal }),
  );
  const progress = setInterval(() => {
    readCounter(clients[0]!, counterKey).then(
      (value) => console.log(`counter = ${value}`),
      (error: Error) => console.error(error.message),
    );
  }, 2_000);

  const shutdown = async (): Promise<void> => {
    stop.abort();
    clearInterval(progress);
    const counts = await Promise.all(workers);
    const total = counts.reduce((a, b) => a + b, 0);
    console.log(`counter = ${await readCounter(clients[0]!, counterKey)}; increments = ${total}`);
    await Promise.all(clients.map((redis) => redis.quit()));
    await settings.close();
  };
  process.once('SIGINT', shutdown);
  process.once('SIGTERM', shutdown);
  console.log('3 workers incrementing a counter under one lock; Ctrl-C to stop');
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) await main();
