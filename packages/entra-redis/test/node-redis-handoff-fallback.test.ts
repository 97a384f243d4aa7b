// The node-redis RESP2 handoff's fallback (docs/semantics.md, "When losses or duplicates can
// still occur"): a step that takes longer than HANDOFF_STEP_TIMEOUT_MS — here the temporary
// connections reach a server that accepts and never answers — restores every listener as the
// application left it and reconnects the subscriber with the new token: it is not evicted when
// the token it had expires, messages lost are only those of the reconnect, none is delivered
// twice. And a subscriber whose own connection drops during a handoff (a failover, a network cut)
// ends the handoff at once, so that it never delivers alongside the temporary connection once it
// has reconnected. redis 6 with RESP2 and redis 5.
import type { TokenSource } from 'entra-redis';
import net from 'node:net';
import { afterAll, beforeAll, describe, it } from 'vitest';
import { HANDOFF_STEP_TIMEOUT_MS } from '../src/node-redis/pubsub-handoff.js';
import { sleep, startTestEmulator, waitFor, type TestEmulator } from './helpers/emulator.js';
import { tcpProxy } from './helpers/tcp-proxy.js';
import {
  emulatorClientOptions,
  NODE_REDIS_VARIANTS,
  nodeRedisClient,
} from './node-redis-fixture.js';

const LIFETIME_SEC = 20;
/**
 * Refresh at 0.65 of a token's life (less up to 10 % jitter; the emulator's `iat` is whole
 * seconds): the first rotation leaves the subscriber's token at least 7 s, more than the 5 s
 * step that fails plus the reconnect; the second comes at least 22 s after the first token's
 * issue, past its expiry at 20 s. So only the fallback's reconnect can save the subscriber from
 * eviction, and no later handoff can.
 */
const REFRESH_RATIO = 0.65;
/** How long after its token's expiry the front end has surely evicted a connection. */
const EVICTION_MARGIN_MS = 1_500;

/** A TCP server that accepts connections and never answers (a TLS handshake never ends). */
async function stallingServer(): Promise<{ port: number; accepted(): number; close(): void }> {
  const sockets: net.Socket[] = [];
  const server = net.createServer((socket) => void sockets.push(socket));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as net.AddressInfo).port,
    accepted: () => sockets.length,
    close() {
      for (const socket of sockets) socket.destroy();
      server.close();
    },
  };
}

let env: TestEmulator;
beforeAll(async () => {
  env = await startTestEmulator({ tokenLifetimeSec: LIFETIME_SEC });
});
afterAll(() => env?.close());

const RESP2 = NODE_REDIS_VARIANTS.filter((v) => v.RESP !== 3);

describe('node-redis RESP2 handoff: a step over the time limit', () => {
  it.concurrent.for(RESP2)(
    '$name: listeners restored as they were, the subscriber reconnected with the new token, nothing doubled',
    { timeout: (LIFETIME_SEC + 30) * 1_000 },
    async (variant, { expect }) => {
      const source: TokenSource = env.tokenSource({ refreshRatio: REFRESH_RATIO });
      const errors: string[] = [];
      const subscriber = nodeRedisClient(env, source, variant, {
        onError: (e: Error) => errors.push(`${(e as { code?: string }).code}: ${e.message}`),
      });
      const publisher = nodeRedisClient(env, source);
      await Promise.all([subscriber.connect(), publisher.connect()]);
      const firstToken = source.current()!;
      const tag = `fb:${variant.name.replace(/\W+/g, '-')}`;
      const got = { channel: [] as number[], pattern: [] as number[], buffer: [] as number[] };
      const onChannel = (m: string) => void got.channel.push(Number(m));
      const onPattern = (m: string) => void got.pattern.push(Number(m));
      const onBuffer = (m: Buffer) => void got.buffer.push(Number(m.toString()));
      await subscriber.subscribe(`${tag}:c`, onChannel);
      await subscriber.subscribe(`${tag}:c`, onBuffer, true);
      await subscriber.pSubscribe(`${tag}:p:*`, onPattern);

      // The handoff's temporary connections are duplicates of the subscriber, made at the
      // rotation from its options (the subscriber's own socket was made at its creation).
      const stall = await stallingServer();
      const socket = subscriber.options!.socket as { port: number };
      const port = socket.port;
      socket.port = stall.port;
      let rotatedAt = 0;
      const off = source.onCredentials(() => void (rotatedAt ||= Date.now()));
      const readies: number[] = [];
      subscriber.on('ready', () => void readies.push(Date.now()));
      const before = env.emulator.stats().redis;

      const sentAt: number[] = [];
      let publishing = true;
      const publishing$ = (async () => {
        for (let n = 0; publishing; n++) {
          sentAt[n] = Date.now();
          await Promise.all([
            publisher.publish(`${tag}:c`, String(n)),
            publisher.publish(`${tag}:p:x`, String(n)),
          ]);
          await sleep(10);
        }
      })();
      try {
        // A token is replaced within its lifetime.
        await waitFor(() => stall.accepted() > 0, LIFETIME_SEC * 1_000, 'the handoff starting');
        socket.port = port; // later duplicates connect as before
        // The fallback starts one step timeout after the stalled step began; it must be done
        // before the subscriber's token expires, or the front end evicts it.
        await waitFor(
          () => readies.length > 0,
          Math.max(0, firstToken.expiresAtMs - Date.now()),
          'the fallback reconnect, before the first token expires',
        );
        expect(readies[0]! - rotatedAt).toBeGreaterThanOrEqual(HANDOFF_STEP_TIMEOUT_MS - 100);
        // Every listener as the application left it: the same functions, nothing added.
        const channels = subscriber.getPubSubListeners('CHANNELS' as never) as Map<
          string,
          { strings: Set<unknown>; buffers: Set<unknown> }
        >;
        const patterns = subscriber.getPubSubListeners('PATTERNS' as never) as typeof channels;
        expect([...channels.keys()]).toEqual([`${tag}:c`]);
        expect([...channels.get(`${tag}:c`)!.strings]).toEqual([onChannel]);
        expect([...channels.get(`${tag}:c`)!.buffers]).toEqual([onBuffer]);
        expect([...patterns.keys()]).toEqual([`${tag}:p:*`]);
        expect([...patterns.get(`${tag}:p:*`)!.strings]).toEqual([onPattern]);

        // Past the first token's expiry: the reconnected subscriber is not evicted.
        await sleep(Math.max(0, firstToken.expiresAtMs + EVICTION_MARGIN_MS - Date.now()));
        const after = env.emulator.stats().redis;
        expect(after.evictions - before.evictions, 'evictions').toBe(0);
        expect(readies.length, 'reconnects of the subscriber').toBe(1);
      } finally {
        off();
        socket.port = port;
        stall.close();
        publishing = false;
        await publishing$;
      }
      const sent = sentAt.length;
      await waitFor(
        () => Object.values(got).every((list) => list.length >= sent),
        5_000,
        'the last messages',
      ).catch(() => undefined); // the assertions show what is missing
      await sleep(100); // a duplicate would have arrived by now
      for (const [kind, list] of Object.entries(got)) {
        const seen = new Set(list);
        expect(list.length - seen.size, `${kind}: delivered twice`).toBe(0);
        // Lost only while reconnecting: sent after the rotation and before the subscriber was
        // ready again (node-redis resubscribes before 'ready').
        const lost = sentAt.map((at, n) => [n, at] as const).filter(([n]) => !seen.has(n));
        const outside = lost.filter(([, at]) => at < rotatedAt || at > readies[0]!);
        expect(outside, `${kind}: lost outside the reconnect`).toEqual([]);
      }
      expect(sent).toBeGreaterThan(500);
      subscriber.destroy();
      publisher.destroy();
      await source.close();
      if (errors.length > 0) console.log(`[${variant.name}] reported: ${errors.join(' | ')}`);
    },
  );
});

describe('node-redis RESP2 handoff: the subscriber closed meanwhile', () => {
  it.for(RESP2)(
    '$name: destroy() during a handoff ends it at once: its temporary connections close then',
    async (variant, { expect }) => {
      const source = env.tokenSource({ refreshRatio: 0.1 }); // a rotation in about 2 s
      let firstRefreshAtMs = 0;
      source.once('refreshed', (e) => void (firstRefreshAtMs = e.nextRefreshAtMs));
      const subscriber = nodeRedisClient(env, source, variant);
      const admin = nodeRedisClient(env, source);
      await Promise.all([subscriber.connect(), admin.connect()]);
      await subscriber.subscribe('fb:destroyed', () => undefined);
      // Write commands, PUBLISH included, wait from now until past the rotation: the handoff
      // stops at marker #1, its temporary connections open, until the pause ends.
      const pauseEndsAt = firstRefreshAtMs + 3_000;
      await admin.sendCommand(['CLIENT', 'PAUSE', String(pauseEndsAt - Date.now()), 'WRITE']);
      const opened = new Set<number>();
      const closed = new Set<number>();
      const front = env.emulator.front.events;
      const onOpen = (e: { id: number }) => void opened.add(e.id);
      const onClose = (e: { id: number }) => void closed.add(e.id);
      front.on('connection', onOpen);
      front.on('close', onClose);
      const listening = () =>
        [...subscriber.getPubSubListeners('CHANNELS' as never).keys()].map(String);
      try {
        await waitFor(
          () => listening().some((c) => c.startsWith('__entra-redis:')),
          Math.max(0, pauseEndsAt - Date.now()),
          'the handoff at its marker',
        );
        expect(opened.size).toBe(2); // the temporary subscriber and publisher
        subscriber.destroy();
        // Without the client's end ending the handoff, they would stay until the pause ends
        // and a step times out.
        await waitFor(
          () => [...opened].every((id) => closed.has(id)),
          Math.max(0, pauseEndsAt - 500 - Date.now()),
          'the temporary connections closed',
        );
      } finally {
        front.off('connection', onOpen);
        front.off('close', onClose);
        await admin.sendCommand(['CLIENT', 'UNPAUSE']);
        admin.destroy();
        if (subscriber.isOpen) subscriber.destroy();
        await source.close();
      }
    },
  );
});

describe("node-redis RESP2 handoff: the subscriber's connection lost meanwhile", () => {
  it.for(RESP2)(
    '$name: the handoff ends at once; after the reconnect every message comes once',
    async (variant, { expect }) => {
      const source = env.tokenSource({ refreshRatio: 0.1 }); // a rotation in about 2 s
      let firstRefreshAtMs = 0;
      source.once('refreshed', (e) => void (firstRefreshAtMs = e.nextRefreshAtMs));
      // The subscriber (and so the handoff's temporary connections, its duplicates) goes
      // through a proxy that can cut its own connection alone.
      const proxy = await tcpProxy(env.emulator.redis.port);
      const reconnectHeldMs = 300;
      const subscriber = nodeRedisClient(env, source, variant, {
        socket: {
          ...emulatorClientOptions(env, source, variant).socket,
          host: '127.0.0.1',
          port: proxy.port,
        },
      });
      const publisher = nodeRedisClient(env, source);
      const admin = nodeRedisClient(env, source);
      await Promise.all([subscriber.connect(), publisher.connect(), admin.connect()]);
      const got: number[] = [];
      const onMessage = (m: string) => void got.push(Number(m));
      await subscriber.subscribe('lost:c', onMessage);
      // PUBLISH waits from now until past the rotation: the handoff stops at marker #1, its
      // temporary connections subscribed, until the pause ends.
      const pauseEndsAt = firstRefreshAtMs + 5_000;
      await admin.sendCommand(['CLIENT', 'PAUSE', String(pauseEndsAt - Date.now()), 'WRITE']);
      const sentAt: number[] = [];
      let publishing = true;
      const publishing$ = (async () => {
        for (let n = 0; publishing; n++) {
          sentAt[n] = Date.now();
          await publisher.publish('lost:c', String(n));
          await sleep(10);
        }
      })();
      const readies: number[] = [];
      subscriber.on('ready', () => void readies.push(Date.now()));
      const listening = () =>
        [...subscriber.getPubSubListeners('CHANNELS' as never).keys()].map(String);
      try {
        await waitFor(
          () => listening().some((c) => c.startsWith('__entra-redis:')) && proxy.accepted() >= 3,
          Math.max(0, pauseEndsAt - Date.now()),
          'the handoff at its marker, its two temporary connections open',
        );
        // The subscriber's connection goes, and its reconnect waits until marker #1 has
        // reached the temporary connection only.
        const release = proxy.hold();
        proxy.cutOne(0);
        await waitFor(() => !subscriber.isReady, 2_000, 'the subscriber disconnected');
        await admin.sendCommand(['CLIENT', 'UNPAUSE']);
        await sleep(reconnectHeldMs);
        release();
        await waitFor(() => readies.length > 0, 10_000, 'the subscriber reconnected');
        // Longer than a step timeout: a handoff still running would deliver twice meanwhile.
        await sleep(HANDOFF_STEP_TIMEOUT_MS + 1_000);
      } finally {
        await admin.sendCommand(['CLIENT', 'UNPAUSE']);
        publishing = false;
        await publishing$;
      }
      await waitFor(() => got.includes(sentAt.length - 1), 5_000, 'the last message');
      await sleep(100); // a duplicate would have arrived by now
      expect(got.length - new Set(got).size, 'delivered twice').toBe(0);
      // Lost only while the subscriber reconnected: sent before it was ready again.
      const seen = new Set(got);
      const lostAfter = sentAt.filter((at, n) => !seen.has(n) && at > readies[0]!);
      expect(lostAfter, 'lost after the reconnect').toEqual([]);
      // The listeners as the application left them, the marker channel gone.
      const channels = subscriber.getPubSubListeners('CHANNELS' as never) as Map<
        string,
        { strings: Set<unknown> }
      >;
      await waitFor(() => channels.size === 1, 2_000, 'the marker channel left');
      expect([...channels.get('lost:c')!.strings]).toEqual([onMessage]);
      expect(readies.length, 'reconnects of the subscriber').toBe(1);
      subscriber.destroy();
      publisher.destroy();
      admin.destroy();
      proxy.cut();
      await source.close();
    },
  );
});
