// Issue 24.1: whatever the order of construction, attachment, duplication and the first token,
// nothing goes out unauthenticated and no command fails. BullMQ's Worker and QueueEvents
// duplicate a client the moment they are built, before any token exists.
import type { TokenSource } from 'entra-redis';
import { attachEntraAuth } from 'entra-redis/ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestEmulator, waitFor, type TestEmulator } from './helpers/emulator.js';
import { VARIANTS, type AnyRedis } from './ioredis-fixture.js';

describe.each(VARIANTS)('ioredis startup order: $name', (variant) => {
  let env: TestEmulator;
  beforeAll(async () => {
    env = await startTestEmulator({ tokenLifetimeSec: 30, redis: { plainPort: 0 } });
  });
  afterAll(() => env?.close());

  /** A client that connects at once and has no credentials of its own (ioredis's default). */
  function plainClient(extra: Record<string, unknown> = {}): AnyRedis {
    const Redis = variant.Redis as unknown as new (o: object) => AnyRedis;
    return new Redis({
      host: env.emulator.redis.host,
      port: env.emulator.redis.port,
      tls: { ca: env.emulator.caCertPem },
      ...(variant.protocol ? { protocol: variant.protocol } : {}),
      ...extra,
    });
  }

  /** Runs `scenario` with clients whose errors are collected; checks the front end saw nothing unauthenticated. */
  async function expectClean(
    scenario: (source: TokenSource, track: (c: AnyRedis) => AnyRedis) => Promise<unknown[]>,
  ): Promise<void> {
    const before = env.emulator.stats().redis;
    const source = env.tokenSource();
    const errors: string[] = [];
    const clients: AnyRedis[] = [];
    const track = (client: AnyRedis): AnyRedis => {
      client.on('error', (e: Error) => errors.push(`${e?.message}`));
      clients.push(client);
      return client;
    };
    const replies = await scenario(source, track);
    expect(
      replies.every((r) => r === 'OK' || r === 'PONG' || r === 'v'),
      String(replies),
    ).toBe(true);
    expect(errors).toEqual([]);
    const after = env.emulator.stats().redis;
    expect(after.unauthenticatedCommands - before.unauthenticatedCommands).toBe(0);
    expect(after.authFailed - before.authFailed).toBe(0);
    await Promise.all(clients.map((c) => c.quit()));
    await waitFor(() => source.listenerCount('credentials') === 0, 5_000, 'no listener left');
  }

  /** Commands issued at once on each client, before any connection is ready. */
  function commands(clients: AnyRedis[]): Promise<unknown[]> {
    return Promise.all(clients.flatMap((c, i) => [c.set(`k${i}`, 'v'), c.get(`k${i}`), c.ping()]));
  }

  it('a client that connects at once, attached and duplicated before the first token', () =>
    expectClean(async (source, track) => {
      const redis = track(plainClient());
      attachEntraAuth(redis, source);
      const copy = track(redis.duplicate() as AnyRedis);
      const copyOfCopy = track(copy.duplicate() as AnyRedis);
      return commands([redis, copy, copyOfCopy]);
    }));

  it('the same while the identity endpoint fails for a while (the token comes after the sockets connect)', () =>
    expectClean(async (source, track) => {
      const fault = env.emulator.identity.faults.inject({
        kind: 'status',
        status: 500,
        durationMs: 1_500,
      });
      const redis = track(plainClient());
      attachEntraAuth(redis, source);
      const copy = track(redis.duplicate() as AnyRedis);
      const replies = commands([redis, copy]);
      // The sockets connect long before the token: they must wait for it, not go without AUTH.
      await waitFor(() => fault.ended, 10_000, 'the fault to end');
      expect(fault.affected).toBeGreaterThan(0);
      return replies;
    }));

  it('a lazy client attached before the first token, duplicated with and without lazyConnect', () =>
    expectClean(async (source, track) => {
      const redis = track(plainClient({ lazyConnect: true }));
      attachEntraAuth(redis, source);
      const eager = track(redis.duplicate({ lazyConnect: false }) as AnyRedis);
      const lazy = track(redis.duplicate() as AnyRedis);
      expect(lazy.status).toBe('wait');
      return commands([redis, eager, lazy]);
    }));

  it('the same over plaintext (the socket emits connect, not secureConnect)', () =>
    expectClean(async (source, track) => {
      const redis = track(plainClient({ tls: undefined, port: env.emulator.redis.plainPort }));
      attachEntraAuth(redis, source);
      return commands([redis, track(redis.duplicate() as AnyRedis)]);
    }));

  it('a client attached while its socket is connecting, before the first token', () =>
    expectClean(async (source, track) => {
      const redis = track(plainClient({ enableReadyCheck: true }));
      await new Promise((resolve) => setImmediate(resolve)); // the socket exists now
      expect(redis.status).toBe('connecting');
      attachEntraAuth(redis, source);
      return commands([redis, track(redis.duplicate() as AnyRedis)]);
    }));

  it('disconnect() while the handshake waits for a token ends the client and its socket', async () => {
    const source = env.tokenSource();
    const open = env.emulator.stats().redis.connectionsOpen;
    const fault = env.emulator.identity.faults.inject({
      kind: 'status',
      status: 500,
      durationMs: 20_000,
    });
    try {
      const redis = plainClient();
      redis.on('error', () => {});
      attachEntraAuth(redis, source);
      const pending = redis.get('k').then(
        () => 'answered',
        (e: Error) => e.message,
      );
      await waitFor(
        () => env.emulator.stats().redis.connectionsOpen > open,
        5_000,
        'the held socket',
      );
      expect(redis.status).toBe('connecting');
      redis.disconnect();
      expect(await pending).toBe('Connection is closed.');
      expect(redis.status).toBe('end');
      await waitFor(
        () => env.emulator.stats().redis.connectionsOpen === open,
        5_000,
        'the socket closed',
      );
      expect(source.listenerCount('credentials')).toBe(0);
    } finally {
      fault.cancel();
    }
  });
});
