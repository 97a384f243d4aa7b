// An Express API whose slow GET responses are cached in Azure Redis (Entra ID auth, ioredis).
// Run: npx tsx examples/output-cache/server.ts, then curl -i localhost:3000/products/42 (twice).
import express, { type Express } from 'express';
import type { Redis } from 'ioredis';
import { setTimeout as sleep } from 'node:timers/promises';
import { pathToFileURL } from 'node:url';
import { outputCache } from './cache.js';
import { cacheSettingsFromEnv, connectRedis } from './redis.js';

/** What the API returns for a product. */
export interface Product {
  readonly id: string;
  readonly name: string;
  readonly renderedAt: string;
}

/**
 * Stands for a slow database query or upstream call.
 *
 * @example
 * ```ts
 * const product = await loadProduct('42');
 * ```
 */
export async function loadProduct(id: string): Promise<Product> {
  await sleep(200);
  return { id, name: `Product ${id}`, renderedAt: new Date().toISOString() };
}

/** Options of {@link createApp}. */
export interface AppOptions {
  /** How long responses stay cached, in seconds. @default 30 */
  readonly ttlSec?: number;
  /** Where products come from. @default loadProduct */
  readonly load?: (id: string) => Promise<Product>;
  /** Redis failures (requests are then served uncached). @default console.error */
  readonly onCacheError?: (error: Error) => void;
}

/**
 * The API: `GET /products/:id`, cached in Redis for `ttlSec`.
 *
 * @example
 * ```ts
 * createApp(redis, { ttlSec: 60 }).listen(3000);
 * ```
 */
export function createApp(redis: Redis, options: AppOptions = {}): Express {
  const { ttlSec = 30, load = loadProduct, onCacheError } = options;
  const app = express();
  const cache = outputCache(redis, { ttlSec, ...(onCacheError ? { onError: onCacheError } : {}) });
  app.get<{ id: string }>('/products/:id', cache, async (req, res) => {
    res.json(await load(req.params.id));
  });
  return app;
}

async function main(): Promise<void> {
  const settings = await cacheSettingsFromEnv();
  const redis = await connectRedis(settings);
  const port = Number(process.env.PORT ?? 3000);
  const server = createApp(redis).listen(port, () =>
    console.log(`listening on http://localhost:${port}/products/42`),
  );
  const shutdown = async (): Promise<void> => {
    server.close();
    server.closeAllConnections();
    await redis.quit();
    await settings.close();
  };
  process.once('SIGINT', shutdown);
  process.once('SIGTERM', shutdown);
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) await main();
