import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  expiryWithinMs,
  recoveryWithinMs,
  refreshAfterMs,
  SLACK_MS,
  testTimeoutMs,
  type TokenSchedule,
} from './helpers/bounds.js';
import { sleep, startTestEmulator, waitFor, type TestEmulator } from './helpers/emulator.js';
import { connect, VARIANTS, type AnyRedis } from './ioredis-fixture.js';

// ioredis reconnects during an identity outage that outlasts the token (issue 22, claim 4): the
// cache closes every connection when the token expires and the application's clients (a client,
// a duplicate, a subscriber) try to reconnect while the identity endpoint still fails. The front
// end must see no AUTH at all meanwhile (none with the expired token: it would be refused), and
// once the endpoint answers again the same client objects reconnect by themselves and work:
// commands succeed and the subscriber receives again, with no call from the application.

const SCHEDULE: TokenSchedule = { tokenLifetimeMs: 4_000 };
/** How long reconnects are held after the expiry before the endpoint answers again. */
const HELD_MS = 3_000;

describe('ioredis reconnect during an identity outage past expiry', () => {
  let env: TestEmulator;
  beforeAll(async () => {
    env = await startTestEmulator({ tokenLifetimeSec: SCHEDULE.tokenLifetimeMs / 1000 });
  });
  afterAll(() => env?.close());

  it.each(VARIANTS)(
    '$name: connections dropped at expiry are not re-authenticated with the expired token; the clients recover by themselves',
    async (variant) => {
      const source = env.tokenSource();
      const redis = await connect(env, variant, source);
      const dup = redis.duplicate() as AnyRedis;
      const sub = redis.duplicate() as AnyRedis;
      const clients = [redis, dup, sub];
      for (const c of [dup, sub]) c.on('error', () => undefined);
      const received: string[] = [];
      sub.on('message', (_channel: string, message: string) => received.push(message));
      await dup.ping();
      await sub.subscribe('outage:news');
      const refused: string[] = [];
      const onAuth = (e: { ok: boolean; reauth: boolean; reason?: string }) => {
        if (!e.ok) refused.push(`${e.reauth ? 're-AUTH' : 'AUTH'} refused: ${e.reason}`);
      };
      env.emulator.front.events.on('auth', onAuth);
      const before = env.emulator.stats().redis;

      // Right after a refresh, so the outage holds back every later one and outlasts the token.
      await new Promise<void>((resolve) => source.once('refreshed', () => resolve()));
      const expiresAtMs = source.current()!.expiresAtMs;
      const fault = env.emulator.identity.faults.inject({
        kind: 'status',
        status: 503,
        durationMs: expiresAtMs - Date.now() + HELD_MS,
      });
      await waitFor(() => source.current() === undefined, expiryWithinMs(SCHEDULE), 'expiry');
      // The cache closes the connections whose token expired (its sweep runs every 200 ms).
      await waitFor(
        () => clients.every((c) => c.status !== 'ready'),
        SLACK_MS,
        `connections dropped at expiry (${clients.map((c) => c.status).join(', ')})`,
      );
      const evicted = env.emulator.stats().redis.evictions - before.evictions;
      // Reconnects happen now (ioredis retries within 100 ms … 5 s); drop anything that got
      // through too, then let the attempts run for the rest of the outage.
      env.emulator.faults.dropRedisConnections();
      const heldFrom = env.emulator.stats().redis;
      await sleep(Math.max(0, fault.endsAtMs - Date.now() - 200));
      const held = env.emulator.stats().redis;
      expect(fault.ended, 'all of the above during the outage').toBe(false);
      expect(evicted, 'connections closed by the cache at expiry').toBeGreaterThanOrEqual(3);
      expect(clients.map((c) => c.status)).not.toContain('ready');
      expect({
        refused,
        authFailed: held.authFailed - before.authFailed,
        unauthenticatedCommands: held.unauthenticatedCommands - before.unauthenticatedCommands,
        // A reconnect waits for a token before it opens a socket.
        connectionsOpened: held.connectionsTotal - heldFrom.connectionsTotal,
      }).toEqual({ refused: [], authFailed: 0, unauthenticatedCommands: 0, connectionsOpened: 0 });

      // The endpoint answers again: the same clients reconnect with a fresh token by themselves.
      await waitFor(() => fault.ended, SLACK_MS, 'the outage to end');
      await waitFor(
        () => clients.every((c) => c.status === 'ready'),
        recoveryWithinMs(),
        `recovery (${clients.map((c) => c.status).join(', ')})`,
      );
      expect(await redis.set('outage:k', 'v')).toBe('OK');
      expect(await dup.get('outage:k')).toBe('v');
      // The subscriber resubscribed on its own: a message published now reaches it.
      await waitFor(
        async () => (await redis.publish('outage:news', 'back')) > 0 && received.includes('back'),
        SLACK_MS,
        'the subscriber receiving again',
      );
      expect(refused).toEqual([]);
      expect(env.emulator.stats().redis.authFailed - before.authFailed).toBe(0);
      env.emulator.front.events.off('auth', onAuth);
      await Promise.all(clients.map((c) => c.quit()));
      await source.close();
    },
    testTimeoutMs(refreshAfterMs(SCHEDULE), expiryWithinMs(SCHEDULE), HELD_MS, recoveryWithinMs()),
  );
});
