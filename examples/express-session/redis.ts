// How the example reaches Redis. With REDIS_HOST set: that cache, as the identity that
// DefaultAzureCredential finds (AZURE_* variables, workload identity, managed identity, Azure CLI).
// Without it: an emulator of Entra ID and Azure Redis started in this process, so it runs as is.
import {
  createTokenSource,
  defaultAzureCredential,
  servicePrincipalSecret,
  type TokenSource,
} from 'entra-redis';
import { createClient } from 'entra-redis/node-redis';
import type { createClient as createRedisClient } from 'redis';

/** A node-redis client. */
export type RedisClient = ReturnType<typeof createRedisClient>;

/** Where the cache is and which identity opens it. */
export interface CacheSettings {
  readonly host: string;
  readonly port: number;
  /** A CA to trust besides the system's: the emulator's (an Azure cache needs none). */
  readonly ca?: string;
  /** Fresh Entra ID tokens; one source serves every client of the process. */
  readonly tokenSource: TokenSource;
}

/** {@link CacheSettings} that stop their token source (and emulator) on `close()`. */
export interface OwnedCacheSettings extends CacheSettings {
  close(): Promise<void>;
}

/**
 * Settings from `REDIS_HOST` and `REDIS_PORT` (default 6380; use 10000 for Azure Managed Redis).
 * A custom `AZURE_AUTHORITY_HOST` (a sovereign cloud, or an emulator started with `--env-file`)
 * is used as given, without instance discovery. Without `REDIS_HOST`, starts the emulator with
 * `EMULATOR_TOKEN_LIFETIME_SEC` (default 30) second tokens.
 *
 * @example
 * ```ts
 * const settings = await cacheSettingsFromEnv();
 * const client = await connectRedis(settings);
 * ```
 */
export async function cacheSettingsFromEnv(env = process.env): Promise<OwnedCacheSettings> {
  if (!env.REDIS_HOST) return startLocalEmulator(Number(env.EMULATOR_TOKEN_LIFETIME_SEC ?? 30));
  const authorityHost = env.AZURE_AUTHORITY_HOST;
  const tokenSource = createTokenSource({
    credential: defaultAzureCredential(
      authorityHost ? { authorityHost, disableInstanceDiscovery: true } : {},
    ),
  });
  return {
    host: env.REDIS_HOST,
    port: Number(env.REDIS_PORT ?? 6380),
    tokenSource,
    close: () => tokenSource.close(),
  };
}

/**
 * A connected node-redis client that re-authenticates itself (and its duplicates) with every new
 * token. `onError` receives connection errors (node-redis reconnects by itself).
 *
 * @example
 * ```ts
 * const client = await connectRedis(settings);
 * ```
 */
export async function connectRedis(
  settings: CacheSettings,
  onError = (error: Error) => console.error(`redis: ${error.message}`),
): Promise<RedisClient> {
  const client = createClient({
    socket: {
      host: settings.host,
      port: settings.port,
      tls: true, // Entra ID auth is TLS only
      ...(settings.ca ? { ca: settings.ca } : {}),
    },
    tokenSource: settings.tokenSource,
  });
  client.on('error', onError);
  await client.connect();
  return client;
}

async function startLocalEmulator(tokenLifetimeSec: number): Promise<OwnedCacheSettings> {
  // A devDependency, loaded only here: a production install does not need it.
  const { startEmulator } = await import('@entra-redis/emulator');
  const emulator = await startEmulator({ tokenLifetimeSec });
  const tokenSource = createTokenSource({
    credential: servicePrincipalSecret({
      tenantId: emulator.tenantId,
      clientId: emulator.servicePrincipal.clientId,
      clientSecret: emulator.servicePrincipal.clientSecret,
      ...emulator.credentialOptions(),
    }),
  });
  tokenSource.on('refreshed', () => console.log('new token: connections re-authenticated'));
  console.log(
    `emulator: Redis at ${emulator.redis.host}:${emulator.redis.port}, ${tokenLifetimeSec} s tokens`,
  );
  return {
    host: emulator.redis.host,
    port: emulator.redis.port,
    ca: emulator.caCertPem,
    tokenSource,
    async close() {
      await tokenSource.close();
      await emulator.close();
    },
  };
}
