import type { TokenSource } from 'entra-redis';
import { createCluster, type IORedisClusterConstructor } from 'entra-redis/ioredis';
import { Cluster } from 'ioredis';
import { Cluster as Cluster5 } from 'ioredis5';
import { afterAll, beforeAll, describe, it } from 'vitest';
import { refreshAfterMs, SLACK_MS, testTimeoutMs, type TokenSchedule } from './helpers/bounds.js';
import { sleep, startTestEmulator, waitFor, type TestEmulator } from './helpers/emulator.js';
import { trackTimersOf } from './helpers/timers.js';
import { connect, VARIANTS, type AnyRedis } from './ioredis-fixture.js';

// ioredis: quit() and disconnect() leave no timer of the adapter (nor of ioredis) behind, also
// when they come in the middle of a rotation (issue 22, claim 8; the node-redis test is in
// node-redis.test.ts). Each client is caught at work: re-AUTHs being fanned out, a RESP2
// subscriber's handoff (its step timeouts; in a cluster, its bridge), a call blocked in a cut
// BLPOP 0, a call waiting for a fresh token (a safety margin longer than any token's life makes
// every blocking call wait: a timer until the token's expiry), a transaction deferring its
// re-AUTH. The token source's own refresh timers stay: it serves other clients.

const SCHEDULE: TokenSchedule = { tokenLifetimeMs: 4_000 };
/** Timers the adapter (src/ioredis, src/reauth, src/lib, the re-AUTH fan-out) or ioredis made. */
const OWNED =
  /\/entra-redis\/src\/(ioredis|reauth|lib)\/|\/src\/token\/fan-out\.ts|\/node_modules\/ioredis5?\//;
/**
 * What the tracker must see before the close (the control): the adapter's timer of the call
 * waiting for a token, the only one under src/ioredis while no handoff runs.
 */
const WAITER = /\/entra-redis\/src\/ioredis\//;
/**
 * How soon after the clients ended no timer may be left: the adapter's only periodic timer (a
 * cluster subscriber's bridge) stops at its next 50 ms tick once the cluster is closed; 1 s allows
 * for event-loop stalls and stays below every timer a leak would leave running (a re-AUTH's slot
 * 2 s, a handoff step 5 s, a token waiter until the expiry, over 1 s after a refresh).
 */
const ENDED_WITHIN_MS = 1_000;

type Closable = { status: string; quit(): Promise<unknown>; disconnect(): void };

/** Waits for a rotation, then closes `clients` `delayMs` into it, and checks what is left. */
async function closeMidRotation(
  source: TokenSource,
  clients: Closable[],
  how: 'quit' | 'disconnect',
  delayMs: number,
  timers: ReturnType<typeof trackTimersOf>,
): Promise<void> {
  await waitFor(
    () => timers.live().some((site) => WAITER.test(site)),
    refreshAfterMs(SCHEDULE) + SLACK_MS,
    'the token waiter timer (the tracker sees the adapter)',
  );
  await new Promise<void>((resolve) => source.once('refreshed', () => resolve()));
  await sleep(delayMs);
  if (how === 'quit') await Promise.all(clients.map((c) => c.quit().catch(() => undefined)));
  else for (const c of clients) c.disconnect();
  // A Cluster closed by disconnect() stays 'close' (ioredis emits no 'end' then).
  const ended = (c: Closable) => c.status === 'end' || (c.status === 'close' && 'nodes' in c);
  await waitFor(() => clients.every(ended), SLACK_MS, 'every client ended').catch(() => {
    throw new Error(`${how}(): not ended: ${clients.map((c) => c.status).join(', ')}`);
  });
  await waitFor(() => timers.live().length === 0, ENDED_WITHIN_MS, 'no timer').catch(() => {
    throw new Error(`${how}() ${delayMs} ms into a rotation left: ${timers.live().join('; ')}`);
  });
}

const rounds = [
  { how: 'quit', delayMs: 0 },
  { how: 'disconnect', delayMs: 20 },
] as const;
/** One round: the waiter's timer seen, a rotation awaited (one refresh wait each), the close. */
const perRound = refreshAfterMs(SCHEDULE) * 2 + 2 * SLACK_MS;

describe('ioredis: no timer left after quit() or disconnect() in the middle of a rotation', () => {
  let env: TestEmulator;
  beforeAll(async () => {
    env = await startTestEmulator({ tokenLifetimeSec: SCHEDULE.tokenLifetimeMs / 1000 });
  });
  afterAll(() => env?.close());

  it.each(VARIANTS)(
    '$name standalone: a client, a subscriber, a blocked and a waiting BLPOP 0, a transaction',
    async (variant) => {
      const source = env.tokenSource();
      await source.getCredentials();
      const timers = trackTimersOf((site) => OWNED.test(site));
      try {
        for (const { how, delayMs } of rounds) {
          const base = await connect(env, variant, source);
          const waiting = await connect(env, variant, source, {
            blockingCommandSafetyMarginMs: 60_000,
          });
          const [blocked, sub, tx] = [0, 1, 2].map(() => base.duplicate() as AnyRedis);
          for (const c of [blocked, sub, tx]) c.on('error', () => undefined);
          await sub.subscribe('timers:news');
          await tx.watch('timers:w');
          await tx.multi({ pipeline: false });
          await tx.set('timers:w', '1');
          const pops = [blocked.blpop('timers:q', 0), waiting.blpop('timers:q', 0)];
          for (const p of pops) p.catch(() => undefined);
          await closeMidRotation(source, [base, waiting, blocked, sub, tx], how, delayMs, timers);
        }
      } finally {
        timers.stop();
      }
      await source.close();
    },
    testTimeoutMs(perRound * rounds.length),
  );

  // A RESP2 handoff reconnects the subscriber (a handshake at every rotation), and an application
  // may close a client at any time: ioredis 5 fails that handshake's AUTH with "Connection is
  // closed." and disconnects once more, arming a 2 s timer on the closed socket.
  it.each(VARIANTS)('$name: quit() or disconnect() during the handshake', async (variant) => {
    const source = env.tokenSource();
    const base = await connect(env, variant, source);
    const timers = trackTimersOf((site) => OWNED.test(site));
    try {
      for (const how of ['disconnect', 'quit', 'disconnect'] as const) {
        const client = base.duplicate({ lazyConnect: true }) as AnyRedis;
        client.on('error', () => undefined);
        client.once('connect', () => void (how === 'quit' ? client.quit() : client.disconnect()));
        await client.connect().catch(() => undefined);
        await waitFor(() => client.status === 'end', SLACK_MS, `end after ${how}()`);
        await waitFor(() => timers.live().length === 0, ENDED_WITHIN_MS, 'no timer').catch(() => {
          throw new Error(`${how}() in the handshake left: ${timers.live().join('; ')}`);
        });
      }
    } finally {
      timers.stop();
    }
    await base.quit();
    await source.close();
  });
});

describe('ioredis Cluster: no timer left after quit() or disconnect() in the middle of a rotation', () => {
  let env: TestEmulator;
  beforeAll(async () => {
    env = await startTestEmulator({
      tokenLifetimeSec: SCHEDULE.tokenLifetimeMs / 1000,
      cluster: { shards: 2, replicasPerShard: 0 },
    });
  });
  afterAll(() => env?.close());

  it.each([
    { name: 'ioredis 6 Cluster (RESP3)', Class: Cluster },
    { name: 'ioredis 5 Cluster (RESP2)', Class: Cluster5 },
  ])(
    '$name: the cluster, a subscriber copy, a blocked and a waiting BLPOP 0',
    async ({ Class }) => {
      const source = env.tokenSource();
      await source.getCredentials();
      const make = (extra: object = {}) =>
        createCluster(
          env.emulator.cluster!.rootNodes,
          { tokenSource: source, redisOptions: { tls: { ca: env.emulator.caCertPem } }, ...extra },
          Class as unknown as IORedisClusterConstructor<Cluster>,
        );
      const timers = trackTimersOf((site) => OWNED.test(site));
      try {
        for (const { how, delayMs } of rounds) {
          const cluster = await make();
          const waiting = await make({ blockingCommandSafetyMarginMs: 60_000 });
          const sub = cluster.duplicate();
          const blocked = cluster.duplicate();
          for (const c of [cluster, waiting, sub, blocked]) c.on('error', () => undefined);
          await sub.subscribe('timers:news');
          const pops = [blocked.blpop('timers:q', 0), waiting.blpop('timers:q', 0)];
          for (const p of pops) p.catch(() => undefined);
          await closeMidRotation(source, [cluster, waiting, sub, blocked], how, delayMs, timers);
        }
      } finally {
        timers.stop();
      }
      await source.close();
    },
    testTimeoutMs(perRound * rounds.length),
  );
});
