// The output-cache example against the emulator with 3-second tokens: cached GET responses keep
// being served from Redis across token rotations, and expire after their TTL.
import express, { type Express } from 'express';
import type { Redis } from 'ioredis';
import { once } from 'node:events';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startExampleEmulator, type ExampleEmulator } from '../test-emulator.js';
import { outputCache } from './cache.js';
import { connectRedis } from './redis.js';
import { createApp, loadProduct, type Product } from './server.js';

describe('output cache middleware (Express, ioredis, Entra ID)', () => {
  let env: ExampleEmulator;
  let redis: Redis;
  const servers: Server[] = [];
  const cacheErrors: string[] = [];
  const loads = new Map<string, number>();

  const countingLoad = (id: string): Promise<Product> => {
    loads.set(id, (loads.get(id) ?? 0) + 1);
    return loadProduct(id);
  };

  async function serve(app: Express): Promise<string> {
    const server = app.listen(0, '127.0.0.1');
    servers.push(server);
    await once(server, 'listening');
    return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  }

  beforeAll(async () => {
    env = await startExampleEmulator(3);
    redis = await connectRedis(env.settings);
  });

  afterAll(async () => {
    for (const server of servers) {
      server.closeAllConnections();
      server.close();
    }
    await redis?.quit();
    await env?.close();
  });

  it('renders each URL once and serves hits across token rotations', async () => {
    const onCacheError = (error: Error): number => cacheErrors.push(error.message);
    const base = await serve(createApp(redis, { ttlSec: 60, load: countingLoad, onCacheError }));
    const start = env.rotations();
    const first = new Map<string, string>();
    const results: string[] = [];

    // Five URLs in turn until the token has been replaced at least four times.
    for (let i = 0; env.rotations() - start < 4 || i < 50; i += 1) {
      const url = `/products/${i % 5}`;
      const response = await fetch(base + url);
      const body = await response.text();
      results.push(`${response.status} ${response.headers.get('x-cache')}`);
      if (!first.has(url)) first.set(url, body);
      expect(body).toBe(first.get(url)); // a hit returns exactly what the miss rendered
      expect(response.headers.get('content-type')).toMatch(/^application\/json/);
      await sleep(20);
    }

    expect(results.slice(0, 5)).toEqual(Array(5).fill('200 MISS'));
    expect(results.slice(5)).toEqual(Array(results.length - 5).fill('200 HIT'));
    for (let k = 0; k < 5; k += 1) expect(loads.get(String(k))).toBe(1);
    expect(cacheErrors).toEqual([]);
    // The loop stops as soon as the fourth token arrives: its re-AUTH may still be on its way.
    for (let waited = 0; env.emulator.stats().redis.reauthOk < 4 && waited < 2_000; waited += 20) {
      await sleep(20);
    }
    const stats = env.emulator.stats().redis;
    expect(stats.reauthOk).toBeGreaterThanOrEqual(4);
    expect(stats.evictions).toBe(0);
  }, 60_000);

  it('renders again once the TTL has passed', async () => {
    const base = await serve(createApp(redis, { ttlSec: 1, load: countingLoad }));
    const get = async (): Promise<string | null> =>
      (await fetch(`${base}/products/ttl`)).headers.get('x-cache');

    expect(await get()).toBe('MISS');
    expect(await get()).toBe('HIT');
    expect(await redis.ttl('output-cache:/products/ttl')).toBeGreaterThan(0);
    await sleep(1_300);
    expect(await get()).toBe('MISS');
    expect(await get()).toBe('HIT');
    expect(loads.get('ttl')).toBe(2);
  });

  it('keeps the content type of res.send(string) and caches only 200 responses', async () => {
    const app = express();
    const cache = outputCache(redis, { ttlSec: 60, keyPrefix: 'pages:' });
    app.get('/page', cache, (_req, res) => void res.send('<p>hello</p>'));
    app.get('/missing', cache, (_req, res) => void res.status(404).send('not found'));
    const base = await serve(app);

    for (const expected of ['MISS', 'HIT']) {
      const response = await fetch(`${base}/page`);
      expect(response.headers.get('x-cache')).toBe(expected);
      expect(response.headers.get('content-type')).toMatch(/^text\/html/);
      expect(await response.text()).toBe('<p>hello</p>');
    }
    for (let i = 0; i < 2; i += 1) {
      expect((await fetch(`${base}/missing`)).headers.get('x-cache')).toBe('MISS');
    }
  });
});
