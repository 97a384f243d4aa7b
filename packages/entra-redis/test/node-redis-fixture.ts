// Shared pieces of the node-redis integration tests: the client variants under test and a
// helper that builds a protected client for the emulator's TLS endpoint.
import type { TokenSource } from 'entra-redis';
import { createClient } from 'entra-redis/node-redis';
import type { createClient as createRedisClient } from 'redis';
import * as redis5 from 'redis5';
import type { TestEmulator } from './helpers/emulator.js';

/** A node-redis client (the redis 6 type; redis 5 clients are used through the same shape). */
export type Client = ReturnType<typeof createRedisClient>;

/** redis 6 over RESP3 (its default) and RESP2, and redis 5 (RESP2 by default). */
export const NODE_REDIS_VARIANTS = [
  { name: 'redis 6 RESP3', RESP: 3 as const, create: undefined, module: undefined },
  { name: 'redis 6 RESP2', RESP: 2 as const, create: undefined, module: undefined },
  {
    name: 'redis 5 (RESP2)',
    RESP: undefined,
    create: redis5.createClient as never,
    module: redis5,
  },
];

/** One entry of {@link NODE_REDIS_VARIANTS}. */
export type NodeRedisVariant = (typeof NODE_REDIS_VARIANTS)[number];

/** `createClient`/`createClientPool` options for the emulator's TLS endpoint. */
export function emulatorClientOptions(
  env: TestEmulator,
  source: TokenSource,
  variant: NodeRedisVariant = NODE_REDIS_VARIANTS[0]!,
) {
  return {
    socket: {
      host: env.emulator.redis.host,
      port: env.emulator.redis.port,
      tls: true as const,
      ca: env.emulator.caCertPem,
    },
    tokenSource: source,
    ...(variant.RESP ? { RESP: variant.RESP } : {}),
  };
}

/** A protected client (not yet connected) for the emulator; `'error'` events are swallowed. */
export function nodeRedisClient(
  env: TestEmulator,
  source: TokenSource,
  variant: NodeRedisVariant = NODE_REDIS_VARIANTS[0]!,
  extra: object = {},
): Client {
  const c = createClient<Client>(
    { ...emulatorClientOptions(env, source, variant), ...extra },
    variant.create,
  );
  c.on('error', () => undefined);
  return c;
}

/** {@link nodeRedisClient} bound to the emulator of a suite. */
export function nodeRedisClients(
  env: TestEmulator,
): (source: TokenSource, variant?: NodeRedisVariant, extra?: object) => Client {
  return (source, variant, extra) => nodeRedisClient(env, source, variant, extra);
}
