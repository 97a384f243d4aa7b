import { describe, expect, it } from 'vitest';
import { NODE_REDIS_VARIANTS, nodeRedisClients } from './node-redis-fixture.js';
import { sleep, suiteEmulator, waitFor } from './helpers/emulator.js';
import { rotationsAfterConnectWithinMs } from './helpers/bounds.js';

// node-redis subscribers against the emulator with 3-second tokens: RESP3 re-authenticates in
// place; RESP2 (Redis refuses AUTH in subscribe mode) uses the two-marker handoff. A publisher
// sends on a channel, a pattern and a shard channel every 10 ms, across five rotations counted
// after connect(); nothing may be lost or delivered twice.

const VARIANTS = NODE_REDIS_VARIANTS;
const LIFETIME_SEC = 3;
const ROTATIONS = 5;
/** Deadline for the rotations after connect(): one token lifetime each, and one of slack. */
const ROTATIONS_WITHIN_MS = rotationsAfterConnectWithinMs(ROTATIONS, LIFETIME_SEC);

describe('entra-redis/node-redis pub/sub against the emulator', () => {
  const env = suiteEmulator({ tokenLifetimeSec: LIFETIME_SEC });
  const client = nodeRedisClients(env);

  it.each(VARIANTS)(
    '$name: a subscriber (channel, pattern, shard channel, buffers) loses no message and gets no duplicate across five rotations',
    async (variant) => {
      const source = env.tokenSource();
      const publisher = client(source, variant);
      const subscriber = client(source, variant);
      await Promise.all([publisher.connect(), subscriber.connect()]);
      const connectedAt = Date.now();
      let rotations = 0;
      source.on('refreshed', () => (rotations += 1));
      const tag = variant.name.replace(/\W+/g, '-');
      const got = { channel: [] as number[], pattern: [] as number[], shard: [] as number[] };
      const buffers: number[] = [];
      const onChannel = (m: string) => void got.channel.push(Number(m));
      const onBuffer = (m: Buffer) => void buffers.push(Number(m.toString()));
      const onPattern = (m: string) => void got.pattern.push(Number(m));
      const onShard = (m: string) => void got.shard.push(Number(m));
      await subscriber.subscribe(`ps:${tag}:c`, onChannel);
      await subscriber.subscribe(`ps:${tag}:c`, onBuffer, true);
      await subscriber.pSubscribe(`ps:${tag}:p:*`, onPattern);
      await subscriber.sSubscribe(`ps:${tag}:s`, onShard);
      type Listeners = Map<string, { strings: Set<unknown>; buffers: Set<unknown> }>;
      const listeners = (type: string) => subscriber.getPubSubListeners(type as never) as Listeners;
      const same = (set: Set<unknown>, fns: unknown[]): boolean =>
        set.size === fns.length && fns.every((f) => set.has(f));
      const only = (type: string, key: string, strings: unknown[], buffers: unknown[] = []) => {
        const map = listeners(type);
        const entry = map.get(key);
        return (
          map.size === 1 &&
          entry !== undefined &&
          same(entry.strings, strings) &&
          same(entry.buffers, buffers)
        );
      };
      /**
       * The application's listeners exactly as it left them. A RESP2 handoff replaces them with
       * its own from its start (in the rotation's fan-out, right after the 'refreshed' event)
       * to its end, so this is false while one runs.
       */
      const asLeft = (): boolean =>
        only('CHANNELS', `ps:${tag}:c`, [onChannel], [onBuffer]) &&
        only('PATTERNS', `ps:${tag}:p:*`, [onPattern]) &&
        only('SHARDED', `ps:${tag}:s`, [onShard]);
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
      // Until the last rotation's handoff is over too: it ends before the token it replaces
      // expires, or the subscriber would be evicted (one more lifetime at most).
      const deadline = connectedAt + ROTATIONS_WITHIN_MS + LIFETIME_SEC * 1_000;
      while ((rotations < ROTATIONS || !asLeft()) && Date.now() < deadline) {
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
      expect(rotations, 'rotations after connect').toBeGreaterThanOrEqual(ROTATIONS);
      expect(after.evictions - before.evictions).toBe(0);
      expect(authFailures).toBe(0);
      // Both clients were re-authenticated on every rotation (the subscriber in place, or by the
      // handoff), the last one's perhaps still under way.
      expect(after.reauthOk - before.reauthOk).toBeGreaterThanOrEqual(2 * (ROTATIONS - 1));
      // RESP3: in place, no new connection; RESP2: the handoff's two temporary connections per
      // rotation (the subscriber itself is never reconnected).
      if (variant.RESP === 3) expect(connections).toBe(0);
      else expect(connections).toBeGreaterThanOrEqual(2 * (ROTATIONS - 1));
      // Listeners are exactly as the application left them: nothing added, nothing lost.
      const channels = listeners('CHANNELS');
      expect([...channels.keys()]).toEqual([`ps:${tag}:c`]);
      expect(channels.get(`ps:${tag}:c`)!.strings.size).toBe(1);
      expect(channels.get(`ps:${tag}:c`)!.buffers.size).toBe(1);
      expect(asLeft(), 'the same listener functions').toBe(true);
      publisher.destroy();
      subscriber.destroy();
      await waitFor(() => source.listenerCount('credentials') === 0, 2_000, 'no subscription');
      await source.close();
    },
    ROTATIONS_WITHIN_MS + LIFETIME_SEC * 1_000 + 15_000,
  );
});
