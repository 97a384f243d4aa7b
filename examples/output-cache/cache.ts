// Express middleware that caches GET responses in Redis for a fixed time (output caching).
import type { RequestHandler } from 'express';
import type { Redis } from 'ioredis';

/** Options of {@link outputCache}. */
export interface OutputCacheOptions {
  /** How long a response stays cached, in seconds. */
  readonly ttlSec: number;
  /** Prefix of the Redis keys. @default 'output-cache:' */
  readonly keyPrefix?: string;
  /** Called when Redis fails; the request is then served uncached. @default console.error */
  readonly onError?: (error: Error) => void;
}

/** What is stored per URL: the content type and the body, base64. */
interface CachedResponse {
  readonly type?: string;
  readonly body: string;
}

const logError = (error: Error): void => console.error(`output cache: ${error.message}`);

/**
 * Serves a GET request from Redis when its URL was answered (200) within the last `ttlSec`;
 * otherwise lets the route handle it and stores the response. Sets `X-Cache: HIT` or `MISS`.
 * Cache only responses that are the same for every caller (no per-user content).
 *
 * @example
 * ```ts
 * app.get('/products/:id', outputCache(redis, { ttlSec: 60 }), async (req, res) => {
 *   res.json(await db.product(req.params.id));
 * });
 * ```
 */
export function outputCache(redis: Redis, options: OutputCacheOptions): RequestHandler {
  const { ttlSec, keyPrefix = 'output-cache:', onError = logError } = options;
  return async (req, res, next) => {
    if (req.method !== 'GET') return next();
    const key = keyPrefix + req.originalUrl;
    let cached: string | null;
    try {
      cached = await redis.get(key);
    } catch (error) {
      onError(error as Error);
      return next(); // Redis unavailable: serve uncached rather than fail
    }
    if (cached !== null) {
      const { type, body } = JSON.parse(cached) as CachedResponse;
      if (type) res.set('Content-Type', type);
      res.set('X-Cache', 'HIT').send(Buffer.from(body, 'base64'));
      return;
    }
    res.set('X-Cache', 'MISS');
    const send = res.send.bind(res);
    // res.json() and res.send(object) end in res.send(string): store that final body, once the
    // original send has set its Content-Type.
    res.send = (body?: unknown) => {
      const result = send(body);
      if (res.statusCode === 200 && (typeof body === 'string' || Buffer.isBuffer(body))) {
        const entry: CachedResponse = {
          type: res.get('Content-Type'),
          body: Buffer.from(body).toString('base64'),
        };
        redis.set(key, JSON.stringify(entry), 'EX', ttlSec).catch(onError);
      }
      return result;
    };
    next();
  };
}
