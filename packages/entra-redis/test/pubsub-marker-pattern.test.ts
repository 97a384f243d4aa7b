// The RESP2 handoff publishes its markers on a private channel, `__entra-redis:rotation:<uuid>`,
// which a pattern such as `*` matches too. A subscriber whose application listens on `*` must
// never see them (docs/semantics.md): across several handoffs, its pattern listener (and, with
// ioredis, every message event) gets the application's messages only, each once. Both adapters,
// both majors, over RESP2; one subscriber in the emulator at a time.
import type { TokenSource } from 'entra-redis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sleep, startTestEmulator, waitFor, type TestEmulator } from './helpers/emulator.js';
import { connect, VARIANTS as IOREDIS_VARIANTS } from './ioredis-fixture.js';
import { NODE_REDIS_VARIANTS, nodeRedisClient } from './node-redis-fixture.js';

const LIFETIME_SEC = 3;
/** Handoffs to watch, counted after the subscriber connected. */
const ROTATIONS = 3;

/** A RESP2 subscriber listening on `*`, and a publisher, of either adapter. */
interface Pair {
  /** Calls `onMessage` with the channel of everything the application's listeners get. */
  listen(onMessage: (channel: string, message: string) => void): Promise<void>;
  publish(channel: string, message: string): Promise<unknown>;
  /** False while a handoff of the subscriber runs. */
  settled(): boolean;
  close(): Promise<void>;
}

let env: TestEmulator;
beforeAll(async () => {
  env = await startTestEmulator({ tokenLifetimeSec: LIFETIME_SEC });
});
afterAll(() => env?.close());

const nodeRedisPairs = NODE_REDIS_VARIANTS.filter((v) => v.RESP !== 3).map((variant) => ({
  name: `node-redis: ${variant.name}`,
  async make(source: TokenSource): Promise<Pair> {
    const subscriber = nodeRedisClient(env, source, variant);
    const publisher = nodeRedisClient(env, source, variant);
    await Promise.all([subscriber.connect(), publisher.connect()]);
    const mine: unknown[] = [];
    return {
      async listen(onMessage) {
        const string = (message: string, channel: string) => onMessage(channel, message);
        const buffer = (message: Buffer, channel: Buffer) =>
          onMessage(String(channel), String(message));
        mine.push(string, buffer);
        await subscriber.pSubscribe('*', string);
        await subscriber.pSubscribe('*', buffer, true);
      },
      publish: (channel, message) => publisher.publish(channel, message),
      // A handoff replaces the application's listener functions with its own while it runs.
      settled() {
        const entry = (
          subscriber.getPubSubListeners('PATTERNS' as never) as Map<
            string,
            { strings: Set<unknown>; buffers: Set<unknown> }
          >
        ).get('*');
        const all = entry ? [...entry.strings, ...entry.buffers] : [];
        return all.length === mine.length && mine.every((f) => all.includes(f));
      },
      async close() {
        subscriber.destroy();
        publisher.destroy();
      },
    };
  },
}));

const ioredisPairs = IOREDIS_VARIANTS.filter((v) => v.protocol !== 3).map((variant) => ({
  name: `ioredis: ${variant.name}`,
  async make(source: TokenSource): Promise<Pair> {
    const subscriber = await connect(env, variant, source);
    const publisher = await connect(env, variant, source);
    return {
      async listen(onMessage) {
        const string = (channel: unknown, message: unknown) =>
          onMessage(String(channel), String(message));
        subscriber.on('message', string);
        subscriber.on('messageBuffer', string);
        subscriber.on('pmessage', (_pattern: string, channel: string, message: string) =>
          string(channel, message),
        );
        subscriber.on('pmessageBuffer', (_pattern: Buffer, channel: Buffer, message: Buffer) =>
          string(channel, message),
        );
        await subscriber.psubscribe('*');
      },
      publish: (channel, message) => publisher.publish(channel, message),
      // A handoff filters the client's events (an own emit) while it runs.
      settled: () => !Object.hasOwn(subscriber, 'emit'),
      async close() {
        await Promise.all([subscriber.quit(), publisher.quit()]);
      },
    };
  },
}));

describe("the handoff's marker channel and a `*` pattern", () => {
  it.each([...nodeRedisPairs, ...ioredisPairs])(
    '$name: across handoffs the application sees its own messages only, each once',
    async ({ make }) => {
      const source = env.tokenSource();
      const pair = await make(source);
      const seen = new Map<string, number>();
      await pair.listen((channel, message) => {
        const key = `${channel} ${message}`;
        seen.set(key, (seen.get(key) ?? 0) + 1);
      });
      const connectedAt = Date.now();
      let rotations = 0;
      const off = source.onCredentials(() => void rotations++);
      let connections = 0;
      const onConnection = (): void => void connections++;
      env.emulator.front.events.on('connection', onConnection);
      let sent = 0;
      let publishing = true;
      const publishing$ = (async () => {
        while (publishing) {
          await pair.publish('app', String(sent++));
          await sleep(10);
        }
      })();
      try {
        try {
          // A token is replaced within its lifetime; one lifetime of slack. Then until the
          // last handoff is over: it ends before the token it replaces expires (one more).
          await waitFor(
            () => rotations >= ROTATIONS && pair.settled(),
            Math.max(0, connectedAt + (ROTATIONS + 2) * LIFETIME_SEC * 1_000 - Date.now()),
            `${ROTATIONS} rotations after connect, the last handoff over`,
          );
        } finally {
          publishing = false;
          await publishing$;
          off();
        }
        await sleep(300); // the last messages
        // The handoffs ran: each opens at least two connections (node-redis: two temporary
        // ones; ioredis: a temporary one, a helper, and the subscriber's reconnect).
        expect(connections).toBeGreaterThanOrEqual(2 * ROTATIONS);
        const foreign = [...seen.keys()].filter((key) => !key.startsWith('app '));
        expect(foreign, 'messages on channels the application did not publish').toEqual([]);
        const twiceOrMore = [...seen].filter(([, count]) => count > 2); // string + buffer
        expect(twiceOrMore, 'delivered more than once to a listener').toEqual([]);
        for (let n = 0; n < sent; n++) expect(seen.get(`app ${n}`), `app ${n}`).toBe(2);
      } finally {
        // Closed whatever happened: a subscriber left running would show its markers to the
        // next variant's `*` listener.
        env.emulator.front.events.off('connection', onConnection);
        await pair.close().catch(() => undefined);
        await source.close();
      }
    },
    (ROTATIONS + 6) * LIFETIME_SEC * 1_000,
  );
});
