// keyv with @keyv/redis on Azure Redis, through a node-redis client authenticated with Entra ID.
// Run: npx tsx examples/keyv/app.ts (emulator), or set REDIS_HOST (Azure).
import KeyvRedis from '@keyv/redis';
import Keyv from 'keyv';
import { setTimeout as sleep } from 'node:timers/promises';
import { pathToFileURL } from 'node:url';
import { cacheSettingsFromEnv, connectRedis, type RedisClient } from './redis.js';

/**
 * A keyv store in Redis under `namespace` (keys look like `namespace::key`). Redis errors are
 * emitted as `'error'` on the store; reads then return `undefined`.
 *
 * @example
 * ```ts
 * const profiles = createStore<Profile>(client, 'profiles');
 * await profiles.set('42', { name: 'Ada' }, 60_000);
 * ```
 */
export function createStore<T>(client: RedisClient, namespace: string): Keyv<T> {
  return new Keyv<T>({ store: new KeyvRedis(client), namespace, useKeyPrefix: false });
}

/**
 * Cache-aside: the cached value of `key`, or `load()`'s result, stored for `ttlMs`.
 *
 * @example
 * ```ts
 * const profile = await cached(profiles, id, () => db.profile(id), 60_000);
 * ```
 */
export async function cached<T>(
  store: Keyv<T>,
  key: string,
  load: () => Promise<T>,
  ttlMs: number,
): Promise<T> {
  const hit = await store.get(key);
  if (hit !== undefined) return hit;
  const value = await load();
  await store.set(key, value, ttlMs);
  return value;
}

/** A user profile, as the example caches it. */
export interface Profile {
  readonly id: string;
  readonly name: string;
  readonly loadedAt: string;
}

async function loadProfile(id: string): Promise<Profile> {
  await sleep(100); // stands for a slow database query
  return { id, name: `User ${id}`, loadedAt: new Date().toISOString() };
}

async function main(): Promise<void> {
  const settings = await cacheSettingsFromEnv();
  const client = await connectRedis(settings);
  const profiles = createStore<Profile>(client, 'profiles');
  profiles.on('error', (error: Error) => console.error(`keyv: ${error.message}`));

  const stop = new AbortController();
  process.once('SIGINT', () => stop.abort());
  process.once('SIGTERM', () => stop.abort());
  console.log('reading profiles through a 5 s cache; Ctrl-C to stop');
  for (let i = 0; !stop.signal.aborted; i += 1) {
    const id = String(i % 3);
    const profile = await cached(profiles, id, () => loadProfile(id), 5_000);
    console.log(`profile ${id} loaded at ${profile.loadedAt}`);
    await sleep(1_000, undefined, { signal: stop.signal }).catch(() => undefined);
  }
  await client.close();
  await settings.close();
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) await main();
