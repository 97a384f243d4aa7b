import type { TokenSource } from 'entra-redis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  NODE_REDIS_VARIANTS,
  nodeRedisClient,
  type Client,
  type NodeRedisVariant,
} from './node-redis-fixture.js';
import { sleep, startTestEmulator, waitFor, type TestEmulator } from './helpers/emulator.js';

// node-redis subscribers against the emulator with 3-second tokens: RESP3 re-authenticates in
// place; RESP2 (Redis refuses AUTH in subscribe mode) uses the two-marker handoff. A publisher
// sends on a channel, a pattern and a shard channel every 10 ms; nothing may be lost.

const VARIANTS = NODE_REDIS_VARIANTS;

describe('entra-redis/node-redis pub/sub against the emulator', () => {
  let env: TestEmulator;

  beforeAll(async () => {
    env = await startTestEmulator({ tokenLifetimeSec: 3 });
  });
  afterAll(() => env?.close());

  const client = (source: TokenSource, variant?: NodeRedisVariant, extra?: object): Client =>
    nodeRedisClient(env, source, variant, extra);

  it.each(VARIANTS)(
    '$name: a subscriber (channel, pattern, shard channel, buffers) loses no message and gets no duplicate across five rotations',
    async (variant) => {
      const source = env.tokenSource();
      let rotations = 0;
      source.on('refreshed', () => (rotations += 1));
      const publisher = client(source, variant);
      const subscriber = client(source, variant);
      await Promise.all([publisher.connect(), subscriber.connect()]);
      const tag = variant.name.replace(/\W+/g, '-');
      const got = { channel: [] as number[], pattern: [] as number[], shard: [] as number[] };
      const buffers: number[] = [];
      await subscriber.subscribe(`ps:${tag}:c`, (m) => got.channel.push(Number(m)));
      await subscriber.subscribe(
        `ps:${tag}:c`,
        (m: Buffer) => buffers.push(Number(m.toString())),
        true,
      );
      await subscriber.pSubscribe(`ps:${tag}:p:*`, (m) => got.pattern.push(Number(m)));
      await subscriber.sSubscribe(`ps:${tag}:s`, (m) => got.shard.push(Number(m)));
      const before = env.emulator.stats().redis;
      let authFailures = 0;
      const onAuth = (e: { ok: boolean }): void => {
        if (!e.ok) authFailures += 1;
      };
      env.emulator.front.events.on('auth', onAuth);
      let connections = 0;
      const onConnection = (): void => {
        connections += 1;
      };
      env.emulator.front.events.on('connection', onConnection);

      let sent = 0;
      const deadline = Date.now() + 11_000;
      while (Date.now() < deadline) {
        await Promise.all([
          publisher.publish(`ps:${tag}:c`, String(sent)),
          publisher.publish(`ps:${tag}:p:x`, String(sent)),
          publisher.sPublish(`ps:${tag}:s`, String(sent)),
        ]);
        sent += 1;
        await sleep(10);
      }
      const all = Array.from({ length: sent }, (_, i) => i);
      await waitFor(
        () => Object.values(got).every((a) => a.length >= sent) && buffers.length >= sent,
        3_000,
        'every message',
      ).catch(() => undefined);
      env.emulator.front.events.off('auth', onAuth);
      env.emulator.front.events.off('connection', onConnection);
      const after = env.emulator.stats().redis;
      expect(got.channel).toEqual(all);
      expect(buffers).toEqual(all);
      expect(got.pattern).toEqual(all);
      expect(got.shard).toEqual(all);
      expect(rotations).toBeGreaterThanOrEqual(5);
      expect(after.evictions - before.evictions).toBe(0);
      expect(authFailures).toBe(0);
      // The subscriber was re-authenticated on every rotation (in place, or by the handoff).
      expect(after.reauthOk - before.reauthOk).toBeGreaterThanOrEqual(2 * 4);
      // RESP3: in place, no new connection; RESP2: the handoff's two temporary connections per
      // rotation (the subscriber itself is never reconnected).
      if (variant.RESP === 3) expect(connections).toBe(0);
      else expect(connections).toBeGreaterThanOrEqual(2 * 4);
      // Listeners are exactly as the application left them: nothing added, nothing lost.
      const channels = subscriber.getPubSubListeners('CHANNELS' as never) as Map<
        string,
        { strings: Set<unknown>; buffers: Set<unknown> }
      >;
      expect([...channels.keys()]).toEqual([`ps:${tag}:c`]);
      expect(channels.get(`ps:${tag}:c`)!.strings.size).toBe(1);
      expect(channels.get(`ps:${tag}:c`)!.buffers.size).toBe(1);
      publisher.destroy();
      subscriber.destroy();
      await waitFor(() => source.listenerCount('credentials') === 0, 2_000, 'no subscription');
      await source.close();
    },
    30_000,
  );
});
