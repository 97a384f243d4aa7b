// Express sessions stored in Azure Redis with Entra ID auth (express-session + connect-redis +
// node-redis). Run: npx tsx examples/express-session/server.ts, then open
// http://localhost:3000/visit and reload: the count lives in the session, in Redis.
import { RedisStore } from 'connect-redis';
import express, { type Express } from 'express';
import session from 'express-session';
import { randomBytes } from 'node:crypto';
import { pathToFileURL } from 'node:url';
import { cacheSettingsFromEnv, connectRedis, type RedisClient } from './redis.js';

declare module 'express-session' {
  interface SessionData {
    visits?: number;
  }
}

/** Options of {@link createApp}. */
export interface AppOptions {
  /** Signs the session cookie; the same on every instance of the app. */
  readonly secret: string;
  /** Lifetime of an idle session (cookie and Redis key), in seconds. @default 86400 */
  readonly ttlSec?: number;
}

/**
 * The app: `GET /visit` counts the visits of this session; `POST /logout` ends it. Sessions are
 * kept in Redis under `sess:<id>`, so every instance of the app shares them.
 *
 * @example
 * ```ts
 * createApp(client, { secret: process.env.SESSION_SECRET! }).listen(3000);
 * ```
 */
export function createApp(client: RedisClient, options: AppOptions): Express {
  const { secret, ttlSec = 86_400 } = options;
  const app = express();
  app.use(
    session({
      store: new RedisStore({ client, prefix: 'sess:', ttl: ttlSec }),
      secret,
      resave: false, // the store's TTL is refreshed by touch(); no rewrite of unchanged sessions
      saveUninitialized: false, // no Redis key until the session holds something
      // Behind HTTPS (as in production) add `secure: true`.
      cookie: { httpOnly: true, sameSite: 'lax', maxAge: ttlSec * 1000 },
    }),
  );
  app.get('/visit', (req, res) => {
    req.session.visits = (req.session.visits ?? 0) + 1;
    res.json({ visits: req.session.visits });
  });
  app.post('/logout', (req, res, next) => {
    req.session.destroy((error) => (error ? next(error) : res.status(204).end()));
  });
  return app;
}

async function main(): Promise<void> {
  const settings = await cacheSettingsFromEnv();
  const client = await connectRedis(settings);
  // A fixed secret keeps sessions valid across restarts and instances; a random one is for a try.
  const secret = process.env.SESSION_SECRET ?? randomBytes(32).toString('hex');
  const port = Number(process.env.PORT ?? 3000);
  const server = createApp(client, { secret }).listen(port, () =>
    console.log(`listening on http://localhost:${port}/visit`),
  );
  const shutdown = async (): Promise<void> => {
    server.close();
    server.closeAllConnections();
    await client.close();
    await settings.close();
  };
  process.once('SIGINT', shutdown);
  process.once('SIGTERM', shutdown);
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) await main();
