import { Redis as IORedis } from 'ioredis';
import net from 'node:net';
import tls from 'node:tls';
import { createClient } from 'redis';
import { describe, expect, it } from 'vitest';
import { OWNER, ioredisTlsOptions, sleep, startStack } from './redis-front-helpers.js';
import type { RedisFrontConnectionEvent } from '../src/index.js';

const NET_RESOURCES = new Set([
  'TCPSocketWrap',
  'TCPServerWrap',
  'TLSWrap',
  'PipeWrap',
  'ProcessWrap',
  'Timeout',
]);

function netResources(): number {
  return process.getActiveResourcesInfo().filter((r) => NET_RESOURCES.has(r)).length;
}

async function until(check: () => Promise<boolean> | boolean, timeoutMs = 5_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await sleep(25);
  }
}

describe('redis front: faults and lifecycle', () => {
  it('dropAllConnections and a redis-server restart make clients reconnect with a fresh AUTH; close() leaves nothing', async () => {
    const baseline = netResources();
    const stack = await startStack();
    const serverPid = stack.server.pid;
    const token = await stack.tokens.sign({ oid: OWNER, lifetimeMs: 120_000 });
    const socket = {
      host: '127.0.0.1',
      port: stack.front.tlsPort!,
      tls: true as const,
      ca: stack.tls.ca,
      servername: 'localhost',
    };
    const nodeRedis = createClient({
      socket: { ...socket, reconnectStrategy: () => 50 },
      username: OWNER,
      password: token,
    });
    nodeRedis.on('error', () => undefined);
    const ioredis = new IORedis({
      ...ioredisTlsOptions(stack, OWNER, token),
      retryStrategy: () => 50,
    });
    ioredis.on('error', () => undefined);
    try {
      await nodeRedis.connect();
      expect(await nodeRedis.set('a', '1')).toBe('OK');
      expect(await ioredis.get('a')).toBe('1');
      const auth0 = stack.front.stats().authOk;

      stack.front.dropAllConnections();
      await until(async () => {
        try {
          return (await nodeRedis.get('a')) === '1' && (await ioredis.get('a')) === '1';
        } catch {
          return false;
        }
      });
      expect(stack.front.stats().authOk).toBeGreaterThanOrEqual(auth0 + 2);

      const auth1 = stack.front.stats().authOk;
      await stack.server.restart();
      await until(async () => {
        try {
          return (await nodeRedis.set('b', '2')) === 'OK' && (await ioredis.get('b')) === '2';
        } catch {
          return false;
        }
      });
      expect(stack.front.stats().authOk).toBeGreaterThanOrEqual(auth1 + 2);
    } finally {
      nodeRedis.destroy();
      ioredis.disconnect();
      await stack.close();
      await stack.close();
      await stack.front.close();
    }
    expect(() => process.kill(serverPid, 0)).toThrow();
    expect(() => process.kill(stack.server.pid, 0)).toThrow();
    await until(() => netResources() <= baseline, 2_000);
    expect(netResources()).toBeLessThanOrEqual(baseline);
    expect(stack.front.stats().connectionsOpen).toBe(0);
  });
});

describe('redis front: connection events', () => {
  it('name the TLS server name a client sent (none for an IP address or plaintext)', async () => {
    const stack = await startStack();
    const seen: RedisFrontConnectionEvent[] = [];
    stack.front.events.on('connection', (e) => seen.push(e));
    const open = (socket: net.Socket, event: string) =>
      new Promise<net.Socket>((resolve, reject) => {
        socket.once(event, () => resolve(socket));
        socket.once('error', reject);
      });
    const port = stack.front.tlsPort!;
    const sockets: net.Socket[] = [];
    try {
      const ca = stack.tls.ca;
      sockets.push(
        await open(
          tls.connect({ host: '127.0.0.1', port, ca, servername: 'localhost' }),
          'secureConnect',
        ),
        await open(tls.connect({ host: '127.0.0.1', port, ca }), 'secureConnect'),
        await open(net.connect({ host: '127.0.0.1', port: stack.front.plainPort! }), 'connect'),
      );
      await until(() => seen.length === 3);
      // The TLS listener reports a connection once its handshake ends: order is not fixed.
      const described = seen.map((e) => `${e.tls ? 'tls' : 'plain'}:${e.servername ?? '-'}`);
      expect(described.sort()).toEqual(['plain:-', 'tls:-', 'tls:localhost']);
    } finally {
      for (const socket of sockets) socket.destroy();
      await stack.close();
    }
  });
});

describe('redis front: replies read into reused buffers', () => {
  // A client write that has not finished may hold what it was given (a TLS write reports itself
  // unfinished until later in the event loop): the front then leaves a large reply in its read
  // buffer and reads on into a new one, and copies a small reply out.
  // redis-front-read-buffer.test.ts checks each case on its own.
  it.each(['plaintext', 'TLS'] as const)(
    'large and small replies to a %s client that stops reading stay intact while other connections are served',
    async (transport) => {
      const stack = await startStack();
      const token = await stack.tokens.sign({ oid: OWNER, lifetimeMs: 120_000 });
      const options = { ...ioredisTlsOptions(stack, OWNER, token), lazyConnect: true };
      const slow = new IORedis(
        transport === 'TLS'
          ? options
          : { ...options, port: stack.front.plainPort!, tls: undefined },
      );
      const busy = new IORedis(options);
      try {
        await Promise.all([slow.connect(), busy.connect()]);
        // Distinct bytes at every position: a pending write whose bytes a later read overwrote
        // (a read buffer reused too early) cannot go unnoticed.
        const big = Buffer.alloc(4 * 1024 * 1024);
        for (let i = 0; i < big.length; i += 4) big.writeUInt32LE(i, i);
        await slow.set('big', big);
        const small = Array.from({ length: 500 }, (_, i) => `value-${i}-${'x'.repeat(i % 97)}`);
        await busy.mset(...small.flatMap((v, i) => [`k${i}`, v]));
        const stream = (slow as unknown as { stream: { pause(): void; resume(): void } }).stream;
        stream.pause(); // the front's writes of the big replies back up
        const bigReplies = [slow.getBuffer('big'), slow.getBuffer('big'), slow.getBuffer('big')];
        await sleep(100);
        // Small replies queued behind them, each its own read once the client drains.
        const slowSmall: Array<Promise<string | null>> = [];
        for (let i = 0; i < 60; i++) {
          slowSmall.push(slow.get(`k${i}`));
          await sleep(2);
        }
        const smallReplies: Array<Promise<string | null>> = [];
        for (let round = 0; round < 4; round++) {
          for (let i = 0; i < small.length; i++) smallReplies.push(busy.get(`k${i}`));
          await sleep(20);
        }
        expect(await Promise.all(smallReplies)).toEqual([...small, ...small, ...small, ...small]);
        stream.resume();
        for (const reply of await Promise.all(bigReplies)) expect(reply?.equals(big)).toBe(true);
        expect(await Promise.all(slowSmall)).toEqual(small.slice(0, 60));
      } finally {
        slow.disconnect();
        busy.disconnect();
        await stack.close();
      }
    },
  );
});
