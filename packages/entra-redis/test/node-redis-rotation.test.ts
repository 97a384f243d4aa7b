// node-redis against the emulator with 3-second tokens, across five rotations counted after
// every client connected: a client, its duplicates and a pool stay authenticated under load
// (in-place re-authentication, zero evictions); multi(), a raw MULTI held open and WATCH commit
// or abort exactly as without rotation. redis 6 (RESP3 default, and RESP2) and redis 5.
import { createClientPool } from 'entra-redis/node-redis';
import type { createClientPool as createRedisPool } from 'redis';
import { describe, expect, it } from 'vitest';
import { sleep, suiteEmulator, waitFor } from './helpers/emulator.js';
import {
  NODE_REDIS_VARIANTS,
  emulatorClientOptions,
  nodeRedisClients,
  type Client,
} from './node-redis-fixture.js';
import { rotationsAfterConnectWithinMs } from './helpers/bounds.js';

type Pool = ReturnType<typeof createRedisPool>;

const VARIANTS = NODE_REDIS_VARIANTS;
const LIFETIME_SEC = 3;
const ROTATIONS = 5;
/** Deadline for the rotations after connect(): one token lifetime each, and one of slack. */
const ROTATIONS_WITHIN_MS = rotationsAfterConnectWithinMs(ROTATIONS, LIFETIME_SEC);
/** The load runs at least this long (its counts are asserted below), and until ROTATIONS. */
const MIN_LOAD_MS = 11_000;

describe('entra-redis/node-redis across rotations under load', () => {
  const env = suiteEmulator({ tokenLifetimeSec: LIFETIME_SEC });
  const client = nodeRedisClients(env);

  it.each(VARIANTS)(
    '$name: a client, its duplicate and a pool stay authenticated across five rotations under load; transactions commit or fail exactly as without rotation',
    async (variant) => {
      const source = env.tokenSource();
      const main = client(source, variant);
      await main.connect();
      const copy = main.duplicate();
      const raw = main.duplicate(); // a raw MULTI holds its connection: give it its own
      const watcher = main.duplicate(); // WATCH is per connection: give it its own
      for (const c of [copy, raw, watcher]) c.on('error', () => undefined);
      await Promise.all([copy.connect(), raw.connect(), watcher.connect()]);
      const pool = createClientPool<Pool>(
        emulatorClientOptions(env, source, variant),
        { minimum: 2, maximum: 6 },
        variant.module,
      );
      pool.on('error', () => undefined);
      await pool.connect();
      // Rotations after every connect() (an event listener: the census below counts the
      // token source's credentials listeners).
      const connectedAt = Date.now();
      let rotations = 0;
      const onRefreshed = (): void => void rotations++;
      source.on('refreshed', onRefreshed);
      const before = env.emulator.stats().redis;
      const failures: string[] = [];
      const counts = { ops: 0, poolOps: 0, rawTx: 0, watchCommits: 0, watchAborts: 0 };
      let running = true;
      const prefix = `nr:${variant.name}`;
      const guard = async (what: string, fn: () => Promise<void>): Promise<void> => {
        while (running) {
          try {
            await fn();
          } catch (error) {
            failures.push(`${what}: ${(error as Error).message}`);
          }
          await sleep(5);
        }
      };
      // Plain commands and a multi() block on the client and on its duplicate.
      const load = (c: Client, key: string) => {
        let n = 0;
        return guard(key, async () => {
          n += 1;
          await c.set(`${key}:${n % 50}`, String(n));
          if ((await c.get(`${key}:${n % 50}`)) !== String(n)) failures.push('bad read');
          const [a, b] = (await c
            .multi()
            .incr(`${key}:n`)
            .incr(`${key}:n`)
            .exec()) as unknown as number[];
          if (Number(b) !== Number(a) + 1) failures.push(`multi ${a}, ${b}`);
          counts.ops += 1;
        });
      };
      // A raw MULTI held open across awaits: a re-AUTH must wait until after EXEC.
      const rawTransactions = guard('raw MULTI', async () => {
        expect(await raw.sendCommand(['MULTI'])).toBe('OK');
        await raw.sendCommand(['INCR', `${prefix}:raw`]);
        await sleep(40);
        await raw.sendCommand(['INCR', `${prefix}:raw`]);
        const reply = (await raw.sendCommand(['EXEC'])) as unknown[];
        if (reply.length !== 2 || reply.some((r) => typeof r !== 'number')) {
          failures.push(`raw EXEC replied ${JSON.stringify(reply)}`);
        }
        counts.rawTx += 1;
      });
      // WATCH: untouched keys always commit; a key changed by another client always aborts.
      const watched = guard('WATCH', async () => {
        const key = `${prefix}:watched`;
        await watcher.watch(key);
        const value = Number(await watcher.get(key));
        await sleep(20);
        await watcher
          .multi()
          .set(key, String(value + 1))
          .exec();
        counts.watchCommits += 1;
        await watcher.watch(key);
        await copy.set(key, '0');
        await expect(watcher.multi().set(key, 'lost').exec()).rejects.toThrow(/watch/i);
        counts.watchAborts += 1;
      });
      // The pool: concurrent commands on several members, transactions on one member.
      const pooled = guard('pool', async () => {
        const ids = Array.from({ length: 8 }, (_, i) => i);
        await Promise.all(ids.map((i) => pool.set(`${prefix}:pool:${i}`, String(i))));
        const values = await Promise.all(ids.map((i) => pool.get(`${prefix}:pool:${i}`)));
        if (values.join() !== ids.join()) failures.push(`pool read ${values.join()}`);
        await pool.execute(async (member) => {
          const [a, b] = (await member
            .multi()
            .incr(`${prefix}:pn`)
            .incr(`${prefix}:pn`)
            .exec()) as unknown as number[];
          if (Number(b) !== Number(a) + 1) failures.push(`pool multi ${a}, ${b}`);
        });
        counts.poolOps += 1;
      });
      let members = 0;
      const census = guard('census', async () => {
        // Every connected client holds one subscription: the four clients, the pool's two first
        // members, and those it adds under load once they are connected.
        members = Math.max(members, pool.totalClients);
        const subscribed = source.listenerCount('credentials');
        expect(subscribed).toBeGreaterThanOrEqual(4 + 2);
        expect(subscribed).toBeLessThanOrEqual(4 + pool.totalClients);
        await sleep(100);
      });
      const loads = Promise.all([
        load(main, `${prefix}:a`),
        load(copy, `${prefix}:b`),
        rawTransactions,
        watched,
        pooled,
        census,
      ]);
      try {
        await sleep(MIN_LOAD_MS);
        await waitFor(
          () => rotations >= ROTATIONS,
          Math.max(0, connectedAt + ROTATIONS_WITHIN_MS - Date.now()),
          `${ROTATIONS} rotations after connect`,
        );
      } finally {
        running = false;
        await loads;
        source.off('refreshed', onRefreshed);
      }
      expect(members).toBeGreaterThan(2);
      const after = env.emulator.stats().redis;
      expect(failures).toEqual([]);
      expect(counts.ops).toBeGreaterThan(200);
      expect(counts.poolOps).toBeGreaterThan(50);
      expect(counts.rawTx).toBeGreaterThan(50);
      expect(counts.watchCommits).toBe(counts.watchAborts);
      expect(counts.watchCommits).toBeGreaterThan(50);
      expect(rotations).toBeGreaterThanOrEqual(ROTATIONS);
      expect(after.evictions - before.evictions).toBe(0);
      expect(after.reauthFailed - before.reauthFailed).toBe(0);
      // main, copy and at least the pool's two members, on each of at least four rotations.
      expect(after.reauthOk - before.reauthOk).toBeGreaterThanOrEqual(4 * 4);
      for (const c of [copy, raw]) c.destroy();
      await Promise.all([main.close(), watcher.close(), pool.close()]);
      await waitFor(() => source.listenerCount('credentials') === 0, 2_000, 'no subscription left');
      await source.close(); // stop refreshing: the emulator counts token requests per oid
    },
    ROTATIONS_WITHIN_MS + 20_000,
  );
});
