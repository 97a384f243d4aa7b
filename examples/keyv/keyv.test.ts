// The keyv example against the emulator with 3-second tokens: a cache-aside store on @keyv/redis
// keeps serving hits (and storing misses) while tokens rotate, with no error and no eviction.
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startExampleEmulator, waitFor, type ExampleEmulator } from '../test-emulator.js';
import { cached, createStore, type Profile } from './app.js';
import { connectRedis, type RedisClient } from './redis.js';

describe('keyv + @keyv/redis (node-redis, Entra ID)', () => {
  let env: ExampleEmulator;
  let client: RedisClient;
  const errors: string[] = [];
  const loads = new Map<string, number>();
  const load = async (id: string): Promise<Profile> => {
    loads.set(id, (loads.get(id) ?? 0) + 1);
    return { id, name: `User ${id}`, loadedAt: new Date().toISOString() };
  };

  beforeAll(async () => {
    env = await startExampleEmulator(3);
    client = await connectRedis(env.settings, (error) => errors.push(`redis: ${error.message}`));
  });

  afterAll(async () => {
    await client?.close();
    await env?.close();
  });

  it('serves cached values across token rotations, busy and idle', async () => {
    const profiles = createStore<Profile>(client, 'profiles');
    profiles.on('error', (error: Error) => errors.push(`keyv: ${error.message}`));
    const first = new Map<string, Profile>();
    const start = env.rotations();
    let reads = 0;
    const readAll = async (): Promise<void> => {
      for (const id of ['1', '2', '3']) {
        const profile = await cached(profiles, id, () => load(id), 60_000);
        if (!first.has(id)) first.set(id, profile);
        expect(profile).toEqual(first.get(id)); // every read after the first is a hit
        reads += 1;
      }
    };
    // Busy through two rotations, then idle through two more, then read again.
    while (env.rotations() - start < 2) {
      await readAll();
      await sleep(30);
    }
    await waitFor(() => env.rotations() - start >= 4, 30_000, '4 token rotations');
    await readAll();

    expect(reads).toBeGreaterThan(15);
    expect([...loads.values()]).toEqual([1, 1, 1]); // each loaded once, then served from Redis
    expect(await client.exists('profiles::1')).toBe(1);
    expect(await client.pTTL('profiles::1')).toBeGreaterThan(50_000);
    expect(errors).toEqual([]);
    const stats = env.emulator.stats().redis;
    expect(stats.reauthOk).toBeGreaterThanOrEqual(4);
    expect(stats.evictions).toBe(0);
  }, 60_000);

  it('loads again once the TTL has passed, and deletes', async () => {
    const sessions = createStore<Profile>(client, 'short');
    expect((await cached(sessions, 'a', () => load('a'), 300)).id).toBe('a');
    expect(await sessions.get('a')).toBeDefined();
    await sleep(500);
    expect(await sessions.get('a')).toBeUndefined();
    await cached(sessions, 'a', () => load('a'), 60_000);
    expect(loads.get('a')).toBe(2);
    expect(await sessions.delete('a')).toBe(true);
    expect(await client.exists('short::a')).toBe(0);
  });
});
