import { describe, expect, it } from 'vitest';
import { NODE_REDIS_VARIANTS, nodeRedisClients, type Client } from './node-redis-fixture.js';
import { sleep, suiteEmulator } from './helpers/emulator.js';

// Blocking commands with infinite timeouts against the emulator with 3-second tokens: the
// emulator counts a re-AUTH written behind BLPOP 0 only when Redis runs it, and evicts the
// connection if that is after the token's expiry. The adapter cuts each call to end before the
// token expires and re-issues it; no item may be lost, none popped twice, nothing may hang.

const VARIANTS = [NODE_REDIS_VARIANTS[0]!, NODE_REDIS_VARIANTS[2]!];
const LIFETIME_MS = 3_000;

describe('entra-redis/node-redis blocking commands against the emulator', () => {
  const env = suiteEmulator({ tokenLifetimeSec: LIFETIME_MS / 1000 });
  const client = nodeRedisClients(env);

  it.each(VARIANTS)(
    '$name: BLPOP 0, BRPOP 0, BZPOPMIN 0 and XREAD BLOCK 0 $ across rotations: every item once, in order, no eviction',
    async (variant) => {
      const source = env.tokenSource();
      const tag = variant.name.replace(/\W+/g, '-');
      const producer = client(source, variant);
      const consumers = Array.from({ length: 4 }, () => client(source, variant));
      await Promise.all([producer, ...consumers].map((c) => c.connect()));
      // Rotations after connect() (whose own token is no rotation).
      let rotations = 0;
      source.on('refreshed', () => (rotations += 1));
      const [lists, rlists, zsets, streams] = consumers as [Client, Client, Client, Client];
      const keys = { l: `bl:${tag}:l`, r: `bl:${tag}:r`, z: `bl:${tag}:z`, s: `bl:${tag}:s` };
      const evictionsBefore = env.emulator.stats().redis.evictions;
      const total = 30;
      const got = {
        blpop: [] as string[],
        brpop: [] as string[],
        bzpopmin: [] as string[],
        xread: [] as string[],
      };
      const consume = async (into: string[], next: () => Promise<string[]>) => {
        while (into.length < total) into.push(...(await next()));
      };
      let id = '$';
      const consumed = Promise.all([
        consume(got.blpop, async () => {
          const item = await lists.blPop(keys.l, 0);
          return item ? [item.element] : [];
        }),
        consume(got.brpop, async () => {
          const item = await rlists.brPop(keys.r, 0);
          return item ? [item.element] : [];
        }),
        consume(got.bzpopmin, async () => {
          const item = await zsets.bzPopMin(keys.z, 0);
          return item ? [item.value] : [];
        }),
        consume(got.xread, async () => {
          const reply = (await streams.xRead({ key: keys.s, id }, { BLOCK: 0 })) as Array<{
            messages: Array<{ id: string; message: Record<string, string> }>;
          }> | null;
          const entries = reply?.[0]?.messages ?? [];
          if (entries.length > 0) id = entries[entries.length - 1]!.id;
          return entries.map((e) => e.message.n!);
        }),
      ]);
      await sleep(200);
      const producingFrom = Date.now();
      for (let n = 0; n < total; n += 1) {
        // Two gaps longer than a token's whole life: the consumers stay blocked across an expiry.
        await sleep(n === 10 || n === 20 ? LIFETIME_MS + 500 : 150);
        await Promise.all([
          producer.rPush(keys.l, String(n)),
          producer.lPush(keys.r, String(n)),
          producer.zAdd(keys.z, { score: n, value: String(n) }),
          producer.xAdd(keys.s, '*', { n: String(n) }),
        ]);
      }
      const producedMs = Date.now() - producingFrom;
      await consumed;
      const expected = Array.from({ length: total }, (_, n) => String(n));
      expect(got).toEqual({
        blpop: expected,
        brpop: expected,
        bzpopmin: expected,
        xread: expected,
      });
      // A token is replaced within its life or its connections are evicted (asserted next): the
      // production phase held at least one rotation per token lifetime (with 3-second tokens,
      // about five on an idle machine; the schedule guarantees no more).
      expect(rotations).toBeGreaterThanOrEqual(Math.floor(producedMs / LIFETIME_MS));
      expect(env.emulator.stats().redis.evictions - evictionsBefore).toBe(0);
      for (const c of [producer, ...consumers]) c.destroy();
      expect(source.listenerCount('credentials')).toBe(0);
      await source.close();
    },
    30_000,
  );
});
