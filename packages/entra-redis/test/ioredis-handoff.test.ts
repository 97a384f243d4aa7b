// The RESP2 subscriber handoff when its temporary connection drops after the original read
// marker #1: the messages the original held since are emitted, the handoff is tried again, and
// the subscriber ends up on a connection made with the current credentials, with every message
// delivered exactly once. A handoff where each connection reads a marker late (the windows in
// which both hold the same messages): every message once, in order. Plain (unprotected) ioredis
// clients against the emulator; rotateSubscriber is driven directly. Then the same with an
// ioredis 5 Cluster that replaces its subscriber connection mid-handoff. And the original's own
// connection lost before marker #1: the handoff ends at once, nothing is delivered twice.
import net from 'node:net';
import { Cluster as Cluster5 } from 'ioredis5';
import { createCluster, type IORedisClusterConstructor } from 'entra-redis/ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { IORedisLike } from '../src/ioredis/types.js';
import { rotateSubscriber, STEP_TIMEOUT_MS } from '../src/ioredis/rotation.js';
import { sleep, startTestEmulator, waitFor, type TestEmulator } from './helpers/emulator.js';
import { VARIANTS, type AnyRedis } from './ioredis-fixture.js';

/** Publishes 1, 2, 3, … on `news`, one about every millisecond, until `stop()`. */
function startPublisher(publish: (channel: string, message: string) => Promise<unknown>): {
  count(): number;
  /** Stops and returns how many were published. */
  stop(): Promise<number>;
} {
  let published = 0;
  let publishing = true;
  const loop = (async () => {
    while (publishing) {
      await publish('news', String(++published));
      await sleep(1);
    }
  })();
  return {
    count: () => published,
    async stop() {
      publishing = false;
      await loop;
      return published;
    },
  };
}

describe.each([VARIANTS[1]!, VARIANTS[2]!])(
  'ioredis RESP2 subscriber handoff: $name',
  (variant) => {
    let env: TestEmulator;
    beforeAll(async () => {
      env = await startTestEmulator({ tokenLifetimeSec: 60 });
    });
    afterAll(() => env?.close());
    const Redis = variant.Redis as unknown as new (o: Record<string, unknown>) => AnyRedis;
    /** Options of a plain (unprotected) client of the emulator, with a token now. */
    const clientOptions = async (): Promise<Record<string, unknown>> => {
      const { username, password } = await env.tokenSource().getCredentials();
      const { emulator } = env;
      return {
        host: emulator.redis.host,
        port: emulator.redis.port,
        tls: { ca: emulator.caCertPem },
        username,
        password,
        ...(variant.protocol ? { protocol: variant.protocol } : {}),
      };
    };

    /** A subscriber of `news` and a publisher sending to it, messages already arriving. */
    const newsPair = async () => {
      const options = await clientOptions();
      const sub = new Redis(options);
      const pub = new Redis(options);
      for (const c of [sub, pub]) c.on('error', () => undefined);
      const received: string[] = [];
      const foreign: string[] = [];
      sub.on('message', (channel: string, message: string) => {
        if (channel === 'news') received.push(message);
        else foreign.push(channel);
      });
      await sub.subscribe('news');
      const publisher = startPublisher((channel, message) => pub.publish(channel, message));
      await waitFor(() => received.length > 20, 5_000, 'messages before the handoff');
      return { sub, pub, received, foreign, publisher };
    };
    /**
     * Hands `sub` off, calling `atMarker` as the first attempt's helper publishes each marker
     * (before it does); returns the connections the handoff made.
     */
    const handOffWatched = async (
      sub: AnyRedis,
      atMarker: (message: string, made: IORedisLike[]) => void,
    ): Promise<IORedisLike[]> => {
      const made: IORedisLike[] = [];
      await rotateSubscriber(sub as unknown as IORedisLike, (override) => {
        const client = (sub as unknown as IORedisLike).duplicate(override);
        made.push(client);
        if (made.length === 2) {
          const publish = client.publish.bind(client);
          client.publish = (channel: string, message: string) => {
            atMarker(message, made);
            return publish(channel, message);
          };
        }
        return client;
      });
      return made;
    };

    it('a temporary connection that drops before reading marker #1: held messages emitted, handoff retried, nothing lost or doubled', async () => {
      const { sub, pub, received, foreign, publisher } = await newsPair();
      const oldStream = (sub as unknown as { stream: unknown }).stream;
      // At marker #1 the temporary connection stops reading (the original reads on and holds
      // what follows), then drops.
      const made = await handOffWatched(sub, (message, connections) => {
        if (message !== '1') return;
        const temp = connections[0] as unknown as { stream: { pause(): void; destroy(): void } };
        temp.stream.pause();
        setTimeout(() => temp.stream.destroy(), 200);
      });
      expect(made).toHaveLength(4); // two attempts, each a temporary connection and a helper
      expect(sub.status).toBe('ready');
      expect((sub as unknown as { stream: unknown }).stream).not.toBe(oldStream);

      const at = publisher.count();
      await waitFor(() => publisher.count() > at + 50, 5_000, 'messages after the handoff');
      const published = await publisher.stop();
      await waitFor(() => received.length >= published, 5_000, 'every message');
      await sleep(50);
      const expected = Array.from({ length: published }, (_, i) => String(i + 1));
      expect(received).toEqual(expected);
      expect(foreign, foreign.join()).toEqual([]); // no marker reached the application
      await waitFor(
        () => made.every((c) => c.status === 'end'),
        5_000,
        'temporary connections closed',
      );
      await Promise.all([sub.quit(), pub.quit()]);
    }, 30_000);

    // Each connection reads a marker late in turn, which widens the two windows where both
    // connections hold the same messages: the temporary connection reads marker #1 late (the
    // original has read on past it), and the original, once reconnected, reads marker #2 late
    // (the temporary connection has read on past it). Each message must still come once, in
    // order: the original drops what it read past #1, the temporary one stops at #2.
    it('each connection reading a marker late: every message once and in order, none twice', async () => {
      const { sub, pub, received, publisher } = await newsPair();
      const LATE_MS = 300;
      const readLate = (client: unknown): void => {
        const stream = (client as { stream: { pause(): void; resume(): void } }).stream;
        stream.pause();
        setTimeout(() => stream.resume(), LATE_MS);
      };
      const made = await handOffWatched(sub, (message, connections) =>
        readLate(message === '1' ? connections[0] : sub),
      );
      expect(made).toHaveLength(2); // one attempt, which succeeded

      const at = publisher.count();
      await waitFor(() => publisher.count() > at + 50, 5_000, 'messages after the handoff');
      const published = await publisher.stop();
      await waitFor(() => received.length >= published, 5_000, 'every message').catch(
        () => undefined, // the assertion below shows what is missing
      );
      await sleep(100); // a duplicate would arrive by now
      const expected = Array.from({ length: published }, (_, i) => String(i + 1));
      const twice = received.filter((m, i) => received.indexOf(m) !== i);
      expect(twice, 'delivered twice').toEqual([]);
      expect(received).toEqual(expected);
      await Promise.all([sub.quit(), pub.quit()]);
    }, 30_000);

    // The original's own connection drops just before marker #1 (a failover, a network cut):
    // it misses the marker, ioredis reconnects and resubscribes it, and from then on it and the
    // temporary connection (which read the marker) would both emit every message until a step
    // timed out. The handoff must end at once instead; the reconnect takes the new token.
    it("the original's connection lost before marker #1: the handoff ends at once, nothing twice", async () => {
      const { sub, pub, received, publisher } = await newsPair();
      const oldStream = (sub as unknown as { stream: { destroy(): void } }).stream;
      const made = await handOffWatched(sub, (message) => {
        if (message === '1') oldStream.destroy();
      });
      await waitFor(() => sub.status === 'ready', 5_000, 'the subscriber reconnected');
      const at = publisher.count();
      await waitFor(() => received.includes(String(at + 1)), 5_000, 'messages after the loss');
      // Longer than a step: a handoff still running would deliver twice meanwhile.
      await sleep(STEP_TIMEOUT_MS + 500);
      const published = await publisher.stop();
      await waitFor(() => received.includes(String(published)), 5_000, 'the last message');
      await sleep(100); // a duplicate would arrive by now
      const twice = received.filter((m, i) => received.indexOf(m) !== i);
      expect(twice, 'delivered twice').toEqual([]);
      // Lost only while reconnecting: everything from the first message after it arrives.
      const from = received.indexOf(String(at + 1));
      const expected = Array.from({ length: published - at }, (_, i) => String(at + 1 + i));
      expect(received.slice(from)).toEqual(expected);
      expect(made).toHaveLength(2); // one attempt, ended by the loss: no retry
      expect(made.every((c) => c.status === 'end' || c.status === 'close')).toBe(true);
      await Promise.all([sub.quit(), pub.quit()]);
    }, 30_000);

    it('quit() during a handoff: nothing is written after the QUIT, no retry, quit() resolves', async () => {
      const sub = new Redis(await clientOptions());
      sub.on('error', () => undefined);
      await sub.subscribe('news');
      const written: string[] = [];
      const send = sub.sendCommand.bind(sub);
      (sub as unknown as { sendCommand: typeof send }).sendCommand = (command, ...rest) => {
        written.push((command as unknown as { name: string }).name);
        return send(command, ...rest);
      };
      // The temporary connection fails (nothing listens on its port) while the QUIT's reply is
      // held unread: the attempt ends with the application's QUIT already written.
      const closedPort = await new Promise<number>((resolve) => {
        const server = net.createServer().listen(0, '127.0.0.1', () => {
          const { port } = server.address() as net.AddressInfo;
          server.close(() => resolve(port));
        });
      });
      const made: IORedisLike[] = [];
      const rotation = rotateSubscriber(sub as unknown as IORedisLike, (override) => {
        const client = (sub as unknown as IORedisLike).duplicate({ ...override, port: closedPort });
        made.push(client);
        return client;
      });
      const stream = (sub as unknown as { stream: { pause(): void; resume(): void } }).stream;
      stream.pause();
      const quit = sub.quit();
      const quitAt = written.length;
      await waitFor(() => made.every((c) => c.status === 'end'), 5_000, 'the attempt failed');
      await sleep(50);
      expect(written.slice(quitAt), 'written after the QUIT').toEqual([]);
      stream.resume();
      await expect(quit).resolves.toBe('OK');
      await rotation;
      expect(made).toHaveLength(2); // one attempt: no retry on a client being closed
      await waitFor(() => sub.status === 'end', 5_000, 'sub ended');
    });
  },
);

// An ioredis 5 Cluster replaces its subscriber connection (here: it ended) in the middle of a
// handoff, after the original read marker #1 and before the temporary connection did: the
// temporary connection bridges until the replacement holds the subscription, then ends; the
// replacement does not keep the marker channel; nothing is lost.
describe('ioredis 5 Cluster subscriber replaced mid-handoff', () => {
  let env: TestEmulator;
  beforeAll(async () => {
    env = await startTestEmulator({ tokenLifetimeSec: 60, cluster: { shards: 2 } });
  });
  afterAll(() => env?.close());

  it('the temporary connection bridges to the replacement: nothing lost, no marker left or shown', async () => {
    const source = env.tokenSource();
    const cluster = await createCluster(
      env.emulator.cluster!.rootNodes,
      { tokenSource: source, redisOptions: { tls: { ca: env.emulator.caCertPem } } },
      Cluster5 as unknown as IORedisClusterConstructor<Cluster5>,
    );
    cluster.on('error', () => undefined);
    const received = new Set<string>();
    const foreign: string[] = [];
    cluster.on('message', (channel: string, message: string) => {
      if (channel === 'news') received.add(message);
      else foreign.push(channel);
    });
    await cluster.subscribe('news');
    const holder = (cluster as unknown as { subscriber: { getInstance(): IORedisLike } })
      .subscriber;
    const original = holder.getInstance();

    const publisher = startPublisher((channel, message) => cluster.publish(channel, message));
    await waitFor(() => received.size > 20, 5_000, 'messages before the handoff');

    const made: IORedisLike[] = [];
    const startedAt = Date.now();
    await rotateSubscriber(original, (override) => {
      const client = original.duplicate(override);
      made.push(client);
      if (made.length === 2) {
        const temp = made[0] as unknown as { stream: { pause(): void; resume(): void } };
        const publish = client.publish.bind(client);
        client.publish = (channel: string, message: string) => {
          if (message === '1') {
            temp.stream.pause(); // the temporary connection reads marker #1 late
            setTimeout(() => {
              original.disconnect(); // the cluster selects a new subscriber
              setTimeout(() => temp.stream.resume(), 100);
            }, 150);
          }
          return publish(channel, message);
        };
      }
      return client;
    });
    expect(original.status).toBe('end');
    await waitFor(() => made[0]!.status === 'end', 3_500, 'the bridge ending');
    const bridgedMs = Date.now() - startedAt;

    const at = publisher.count();
    await waitFor(() => publisher.count() > at + 50, 5_000, 'messages after the handoff');
    const published = await publisher.stop();
    await waitFor(() => received.size >= published, 5_000, 'every message');
    const missing = Array.from({ length: published }, (_, i) => String(i + 1)).filter(
      (n) => !received.has(n),
    );
    expect(missing).toEqual([]);
    expect(foreign, foreign.join()).toEqual([]);
    const replacement = holder.getInstance();
    expect(replacement).not.toBe(original);
    await waitFor(
      () =>
        !(replacement.condition?.subscriber || { channels: () => [] })
          .channels('subscribe')
          .some((c) => c.startsWith('__entra-redis:')),
      2_000,
      'the replacement leaving the marker channel',
    );
    expect(bridgedMs).toBeLessThan(3_000); // ended with the replacement, not at the 3 s bound
    await cluster.quit();
  }, 30_000);
});
