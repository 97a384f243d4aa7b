// Shared pieces of the ioredis integration tests: the client variants under test and a
// helper that builds a protected client against the emulator.
import { Redis as IORedis6 } from 'ioredis';
import { Redis as IORedis5 } from 'ioredis5';
import type { TokenSource } from 'entra-redis';
import { createRedis } from 'entra-redis/ioredis';
import type { TestEmulator } from './helpers/emulator.js';

/** A client variant: ioredis major and protocol. */
export interface Variant {
  readonly name: string;
  readonly Redis: typeof IORedis6 | typeof IORedis5;
  /** ioredis 6 `protocol` option; undefined for ioredis 5 (RESP2 only). */
  readonly protocol?: 2 | 3;
}

export const VARIANTS: readonly Variant[] = [
  { name: 'ioredis 6 RESP3', Redis: IORedis6, protocol: 3 },
  { name: 'ioredis 6 RESP2', Redis: IORedis6, protocol: 2 },
  { name: 'ioredis 5 (RESP2)', Redis: IORedis5 },
];

/** The loose shape both majors share, for tests. */
export type AnyRedis = InstanceType<typeof IORedis6>;

/** A protected client for the emulator's TLS endpoint. */
export async function connect(
  env: TestEmulator,
  variant: Variant,
  source: TokenSource,
  extra: Record<string, unknown> = {},
): Promise<AnyRedis> {
  const { emulator } = env;
  const redis = await createRedis(
    {
      host: emulator.redis.host,
      port: emulator.redis.port,
      tls: { ca: emulator.caCertPem },
      tokenSource: source,
      enableReadyCheck: false,
      ...(variant.protocol ? { protocol: variant.protocol } : {}),
      ...extra,
    },
    variant.Redis as unknown as new (o: never) => AnyRedis,
  );
  redis.on('error', (e: unknown) => {
    if (process.env.DEBUG_IT) console.log('client error', e);
  });
  return redis;
}
