import { randomBytes } from 'node:crypto';
import net from 'node:net';
import { createClient } from 'redis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  OWNER,
  RawClient,
  cmd,
  eventually,
  sleep,
  startStack,
  type Stack,
} from './redis-front-helpers.js';

/** Sends `payload` on a fresh connection and returns what came back before the close (or 300 ms). */
async function probe(port: number, payload: Buffer, prefix?: Buffer): Promise<string> {
  const socket = net.connect({ host: '127.0.0.1', port });
  socket.on('error', () => undefined);
  let out = '';
  socket.on('data', (d: Buffer) => (out += d.toString('latin1')));
  await new Promise<void>((resolve) => socket.once('connect', () => resolve()));
  if (prefix) socket.write(prefix);
  socket.write(payload);
  await new Promise<void>((resolve) => {
    const t = setTimeout(resolve, 300);
    socket.once('close', () => {
      clearTimeout(t);
      resolve();
    });
  });
  socket.destroy();
  return out;
}

const CRAFTED: [string, Buffer, RegExp][] = [
  [
    'bad array length',
    Buffer.from('*abc\r\n'),
    /^-ERR Protocol error: invalid multibulk length\r\n$/,
  ],
  [
    'no $ in array',
    Buffer.from('*1\r\n+foo\r\n'),
    /^-ERR Protocol error: expected '\$', got '\+'\r\n$/,
  ],
  ['negative bulk', Buffer.from('*1\r\n$-5\r\n'), /^-ERR Protocol error: invalid bulk length\r\n$/],
  [
    'unauthenticated array',
    Buffer.from('*11\r\n'),
    /^-ERR Protocol error: unauthenticated multibulk length\r\n$/,
  ],
  [
    'unauthenticated bulk',
    Buffer.from('*1\r\n$20000\r\n'),
    /^-ERR Protocol error: unauthenticated bulk length\r\n$/,
  ],
  [
    'unbalanced quotes',
    Buffer.from('SET "a b\r\n'),
    /^-ERR Protocol error: unbalanced quotes in request\r\n$/,
  ],
  [
    'huge inline',
    Buffer.alloc(70 * 1024, 'a'),
    /^-ERR Protocol error: too big inline request\r\n$/,
  ],
  [
    'huge count line',
    Buffer.from(`*1\r\n$${'1'.repeat(70 * 1024)}`),
    /^-ERR Protocol error: too big bulk count string\r\n$/,
  ],
];

describe('redis front: hostile input', () => {
  let stack: Stack;
  let token: string;
  beforeAll(async () => {
    stack = await startStack();
    token = await stack.tokens.sign({ oid: OWNER, lifetimeMs: 120_000 });
  });
  afterAll(async () => {
    await stack?.close();
  });

  it('answers malformed requests with the same Protocol error as redis-server, then closes', async () => {
    for (const [name, payload, expected] of CRAFTED) {
      const viaFront = await probe(stack.front.plainPort!, payload);
      const direct = await probe(stack.server.port, payload);
      expect(viaFront, name).toMatch(expected);
      expect(viaFront, name).toBe(direct);
    }
    const auth = cmd('AUTH', OWNER, token);
    const oversized = await probe(
      stack.front.plainPort!,
      Buffer.from('*2\r\n$3\r\nGET\r\n$600000000\r\n'),
      auth,
    );
    expect(oversized).toBe('+OK\r\n-ERR Protocol error: invalid bulk length\r\n');
    const huge = await probe(stack.front.plainPort!, Buffer.from('*99999999999\r\n'), auth);
    expect(huge).toBe('+OK\r\n-ERR Protocol error: invalid multibulk length\r\n');
  });

  it('survives a few hundred random and truncated payloads while a healthy client keeps working', async () => {
    const healthy = createClient({
      socket: {
        host: '127.0.0.1',
        port: stack.front.tlsPort!,
        tls: true,
        ca: stack.tls.ca,
        servername: 'localhost',
      },
      username: OWNER,
      password: token,
    });
    healthy.on('error', () => undefined);
    await healthy.connect();
    let stop = false;
    let healthyOps = 0;
    const loop = (async () => {
      while (!stop) {
        await healthy.set('healthy', String(healthyOps));
        expect(await healthy.get('healthy')).toBe(String(healthyOps));
        healthyOps++;
      }
    })();
    const before = stack.front.stats();
    const fragments = [
      '*',
      '$',
      '\r\n',
      '*2\r\n',
      '$3\r\nGET\r\n',
      '$-1\r\n',
      '*-1\r\n',
      ':1\r\n',
      '"',
      "'",
      '\\x',
      '\0',
      'AUTH',
      'HELLO 3 AUTH',
      '*3\r\n$4\r\nAUTH\r\n',
    ];
    const startedAt = Date.now();
    const payloads: { body: Buffer; authed: boolean }[] = [];
    for (let i = 0; i < 300; i++) {
      const kind = i % 3;
      const body =
        kind === 0
          ? randomBytes(1 + (i % 200))
          : Buffer.from(
              Array.from(
                { length: 1 + (i % 12) },
                (_, j) => fragments[(i * 7 + j * 3) % fragments.length],
              ).join(''),
            );
      payloads.push({ body, authed: i % 2 === 0 });
    }
    for (let i = 0; i < payloads.length; i += 20) {
      await Promise.all(
        payloads.slice(i, i + 20).map(({ body, authed }) => {
          const half = Math.floor(body.length / 2);
          return (async () => {
            const socket = net.connect({ host: '127.0.0.1', port: stack.front.plainPort! });
            socket.on('error', () => undefined);
            await new Promise<void>((r) => socket.once('connect', () => r()));
            if (authed) socket.write(cmd('AUTH', OWNER, token));
            socket.write(body.subarray(0, half));
            await sleep(1);
            socket.write(body.subarray(half));
            if (body.length % 2 === 0) socket.end(); // half-open: FIN after the junk
            await sleep(20);
            socket.destroy();
          })();
        }),
      );
    }
    // TLS port: junk instead of a handshake
    for (let i = 0; i < 20; i++) await probe(stack.front.tlsPort!, randomBytes(64));
    stop = true;
    await loop;
    expect(Date.now() - startedAt).toBeLessThan(10_000);
    expect(healthyOps).toBeGreaterThan(10);
    expect(stack.front.stats().protocolErrors).toBeGreaterThan(before.protocolErrors);
    // A connection whose protocol error waits behind upstream replies is closed at the latest
    // by the front end's 1 s flush timeout; on a loaded machine that is the bound to wait for.
    await eventually(() => stack.front.stats().connectionsOpen === 1, 3_000);
    expect(stack.front.stats().connectionsOpen).toBe(1); // only the healthy client
    const c = await RawClient.connect(stack.front.tlsPort!, stack.tls.ca);
    c.send(cmd('AUTH', OWNER, token), cmd('GET', 'healthy'));
    expect(await c.replies_(2)).toEqual(['OK', String(healthyOps - 1)]);
    c.close();
    healthy.destroy();
  });

  it('passes large values through and pipelines many commands in order', async () => {
    const c = await RawClient.connect(stack.front.plainPort!);
    const big = 'x'.repeat(5 * 1024 * 1024);
    const many = Array.from({ length: 5_000 }, (_, i) => cmd('ECHO', `m${i}`));
    c.send(
      cmd('AUTH', OWNER, token),
      cmd('SET', 'big', big),
      cmd('STRLEN', 'big'),
      Buffer.concat(many),
      'PING inline\r\n',
    );
    const replies = await c.replies_(5_004, 10_000);
    expect(replies.slice(0, 3)).toEqual(['OK', 'OK', big.length]);
    expect(replies[3 + 4_999]).toBe('m4999');
    expect(replies[5_003]).toBe('inline');
    c.close();
  });
});
