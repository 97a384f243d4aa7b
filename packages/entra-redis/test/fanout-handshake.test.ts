// Issue 22.10: a connection that authenticated during its handshake with token T is not
// re-authenticated with the same T by the rotation's paced fan-out. The front end counts an
// AUTH with the token a connection already uses as redundant.
import type { TokenSource } from 'entra-redis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sleep, startTestEmulator, waitFor, type TestEmulator } from './helpers/emulator.js';
import { connect, VARIANTS } from './ioredis-fixture.js';
import { nodeRedisClient } from './node-redis-fixture.js';

/**
 * Long enough for the fan-out to be paced: at a refresh ratio of 0.5 the old token has 5 s left,
 * and pacing applies to tokens replaced with 4 s or more to go.
 */
const LIFETIME_SEC = 10;

let env: TestEmulator;
beforeAll(async () => {
  env = await startTestEmulator({ tokenLifetimeSec: LIFETIME_SEC });
});
afterAll(() => env?.close());

/** When the source will next ask for a token (from its 'refreshed' event). */
function nextRefreshAt(source: TokenSource): Promise<number> {
  return new Promise((resolve) =>
    source.once('refreshed', (event: { nextRefreshAtMs: number }) =>
      resolve(event.nextRefreshAtMs),
    ),
  );
}

describe('clients connecting while a rotation fans out', () => {
  it.each(['node-redis', 'ioredis'] as const)(
    '%s: no connection is re-authenticated with the token its handshake just used',
    async (kind) => {
      // One AUTH at a time: with 150 connections the fan-out lasts a while, and the clients that
      // start connecting just before the token arrives finish their handshake with it before the
      // fan-out reaches them (they are the last in its list).
      const source = env.tokenSource({
        refreshRatio: 0.5,
        jitterRatio: 0,
        maxConcurrentReauth: 1,
      });
      const refreshAt = nextRefreshAt(source);
      const opened: Array<{ ping(): Promise<unknown>; close(): unknown }> = [];
      const open = async (): Promise<void> => {
        if (kind === 'node-redis') {
          const client = nodeRedisClient(env, source);
          await client.connect();
          opened.push({ ping: () => client.ping(), close: () => client.destroy() });
        } else {
          const redis = await connect(env, VARIANTS[0]!, source);
          opened.push({ ping: () => redis.ping(), close: () => redis.disconnect() });
        }
      };
      await Promise.all(Array.from({ length: 150 }, () => open()));
      const before = env.emulator.stats().redis;
      let rotated = false;
      const off = source.onCredentials(() => void (rotated = true));
      // A client every 5 ms from shortly before the refresh until shortly after the new token.
      await sleep(Math.max(0, (await refreshAt) - Date.now() - 300));
      const connecting: Promise<void>[] = [];
      for (let end = Infinity; Date.now() < end;) {
        connecting.push(open());
        await sleep(5);
        if (rotated && end === Infinity) end = Date.now() + 300;
      }
      await Promise.all(connecting);
      off();
      // The fan-out reaches every connection of its list, one at a time.
      await waitFor(
        () => env.emulator.stats().redis.reauthOk - before.reauthOk >= 150,
        LIFETIME_SEC * 1_000,
        'the fan-out',
      );
      await sleep(500);
      const after = env.emulator.stats().redis;
      await Promise.all(opened.map((c) => c.ping()));
      for (const c of opened) c.close();
      await source.close();
      expect(opened.length).toBeGreaterThan(200);
      expect(after.redundantReauths - before.redundantReauths).toBe(0);
      expect(after.evictions - before.evictions).toBe(0);
    },
    60_000,
  );
});
