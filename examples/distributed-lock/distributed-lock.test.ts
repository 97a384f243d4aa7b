// The lock example against the emulator with 3-second tokens: concurrent workers, each with its
// own client, increment a counter under the lock across token rotations; no update is lost, no
// write is refused as stale and no connection is evicted.
import type { Redis } from 'ioredis';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startExampleEmulator, waitFor, type ExampleEmulator } from '../test-emulator.js';
import { acquireLock, extendLock, releaseLock } from './lock.js';
import { connectRedis } from './redis.js';
import { incrementCounter, readCounter, runWorker } from './worker.js';

describe('distributed lock with fencing tokens (ioredis, Entra ID)', () => {
  let env: ExampleEmulator;
  const clients: Redis[] = [];
  const connect = async (): Promise<Redis> => {
    const redis = await connectRedis(env.settings);
    clients.push(redis);
    return redis;
  };

  beforeAll(async () => {
    env = await startExampleEmulator(3);
  });

  afterAll(async () => {
    await Promise.all(clients.map((redis) => redis.quit().catch(() => redis.disconnect())));
    await env?.close();
  });

  it('keeps mutual exclusion and fencing order across token rotations', async () => {
    const workers = await Promise.all([1, 2, 3, 4].map(connect));
    const start = env.rotations();
    const writes: Array<{ value: number; fence: number }> = [];
    const stop = new AbortController();
    const runs = workers.map((redis) =>
      runWorker(redis, {
        lockName: 'counter',
        counterKey: 'counter',
        signal: stop.signal,
        onIncrement: (value, fence) => writes.push({ value, fence }),
      }),
    );
    await waitFor(() => env.rotations() - start >= 4, 30_000, '4 token rotations');
    stop.abort();
    const counts = await Promise.all(runs); // a refused (stale) write would reject here

    const total = counts.reduce((a, b) => a + b, 0);
    expect(total).toBeGreaterThan(20);
    expect(writes).toHaveLength(total);
    expect(await readCounter(workers[0]!, 'counter')).toBe(total); // no lost update
    // The writes, in the order the counter stored them (1, 2, 3, …), carry increasing fences.
    const stored = [...writes].sort((a, b) => a.value - b.value);
    expect(stored.map((w) => w.value)).toEqual(stored.map((_, i) => i + 1));
    for (let i = 1; i < stored.length; i += 1) {
      expect(stored[i]!.fence).toBeGreaterThan(stored[i - 1]!.fence);
    }

    const { redis } = env.emulator.stats();
    expect(redis.reauthOk).toBeGreaterThanOrEqual(4 * workers.length);
    expect(redis.evictions).toBe(0);
  }, 60_000);

  it('refuses a holder whose lock expired; release and extend only by the holder', async () => {
    const [a, b] = [await connect(), await connect()];
    const stale = await acquireLock(a, 'invoice', { ttlMs: 200 });
    await sleep(300); // a long pause (GC, a slow call): the lock expires and another worker takes it
    const current = await acquireLock(b, 'invoice', { ttlMs: 2_000, waitMs: 5_000 });
    expect(current.fence).toBeGreaterThan(stale.fence);

    expect(await incrementCounter(b, 'invoice', current)).toBe(1);
    await expect(incrementCounter(a, 'invoice', stale)).rejects.toThrow(/stale/);
    expect(await releaseLock(a, stale)).toBe(false);
    expect(await extendLock(a, stale)).toBe(false);

    expect(await extendLock(b, current, 60_000)).toBe(true);
    expect(await b.pttl('lock:{invoice}')).toBeGreaterThan(2_000);
    await expect(acquireLock(a, 'invoice', { waitMs: 100 })).rejects.toThrow(/not acquired/);
    expect(await releaseLock(b, current)).toBe(true);
    expect(await releaseLock(b, current)).toBe(false);
    expect(await readCounter(a, 'invoice')).toBe(1);
  });
});
