// Unit test of how a front-end connection reuses the buffer redis-server's replies are read
// into. The client side is a fake socket whose writes never finish (it keeps a reference to
// each buffer it was given, as a backed-up socket or a TLS write does); redis-server is a fake
// on loopback that sends each reply in its own write, so every reply is its own read. Whatever
// the client was given must still hold the reply it was given when the test looks at it, after
// later reads.
import { EventEmitter } from 'node:events';
import net from 'node:net';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { FrontConnection, type ConnectionContext } from '../src/redis-front/connection.js';
import type { RedisFrontEventMap, RedisFrontStats } from '../src/redis-front/types.js';
import { cmd } from './redis-front-helpers.js';

const OID = '00000000-0000-0000-0000-0000000000aa';

/** A client socket whose writes stay pending: it holds every buffer it is given. */
class PendingWritesSocket extends EventEmitter {
  readonly given: Buffer[] = [];
  get writableLength(): number {
    return this.given.reduce((n, b) => n + b.length, 0);
  }
  write(bytes: Buffer): boolean {
    this.given.push(bytes);
    return true; // below the high-water mark: the front keeps reading redis-server
  }
  received(): string {
    return Buffer.concat(this.given).toString('latin1');
  }
  setNoDelay(): this {
    return this;
  }
  pause(): this {
    return this;
  }
  resume(): this {
    return this;
  }
  end(): this {
    return this;
  }
  destroy(): this {
    return this;
  }
}

interface Harness {
  client: PendingWritesSocket;
  connection: FrontConnection;
  /** Waits for the next request bytes redis-server (the fake) receives. */
  request(): Promise<string>;
  /** Sends reply bytes from redis-server (the fake) in one write. */
  reply(bytes: string): void;
}

const cleanups: Array<() => void> = [];
afterEach(() => {
  for (const cleanup of cleanups.splice(0)) cleanup();
});

async function authenticatedConnection(): Promise<Harness> {
  const upstreamSockets: net.Socket[] = [];
  const requests: string[] = [];
  const server = net.createServer((socket) => {
    upstreamSockets.push(socket);
    socket.on('data', (d) => requests.push(d.toString('latin1')));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as net.AddressInfo;
  const client = new PendingWritesSocket();
  const stats = {} as RedisFrontStats;
  const ctx: ConnectionContext = {
    upstream: { host: '127.0.0.1', port },
    authenticate: async (username) => ({
      ok: true,
      oid: username,
      expiresAtMs: Date.now() + 60_000,
      policy: 'Data Owner',
    }),
    policyUser: (policy) => ({ policy, user: 'owner', password: 'acl-password', rules: [] }),
    aclReady: async () => {},
    rejectHelloAuth: false,
    now: () => Date.now(),
    stats,
    events: new EventEmitter<RedisFrontEventMap>(),
    closed: () => {},
  };
  const connection = new FrontConnection(ctx, 1, client as unknown as net.Socket, false);
  cleanups.push(() => {
    connection.destroy();
    for (const s of upstreamSockets) s.destroy();
    server.close();
  });
  const request = async (): Promise<string> => {
    await vi.waitFor(() => expect(requests.length).toBeGreaterThan(0));
    return requests.shift()!;
  };
  const reply = (bytes: string): void => void upstreamSockets[0]!.write(bytes, 'latin1');
  client.emit('data', cmd('AUTH', OID, 'token'));
  expect(await request()).toContain('acl-password');
  reply('+OK\r\n');
  await vi.waitFor(() => expect(connection.authenticated).toBe(true));
  return { client, connection, request, reply };
}

describe('redis front: the read buffer under pending client writes', () => {
  it('small replies are copied out, so later reads into the same buffer do not change them', async () => {
    const { client, request, reply } = await authenticatedConnection();
    let expected = '+OK\r\n';
    for (let i = 0; i < 20; i++) {
      client.emit('data', cmd('GET', `k${i}`));
      await request();
      const bytes = `$8\r\nvalue-${String(i).padStart(2, '0')}\r\n`;
      reply(bytes);
      expected += bytes;
      await vi.waitFor(() => expect(client.received().length).toBe(expected.length));
    }
    expect(client.received()).toBe(expected);
  });

  it('a large reply is left in its buffer and the next read gets a new one', async () => {
    const { client, request, reply } = await authenticatedConnection();
    const large = `$${20_000}\r\n${'L'.repeat(20_000)}\r\n`;
    const small = '$5\r\nsmall\r\n';
    let expected = '+OK\r\n';
    for (const bytes of [large, small, large, small]) {
      client.emit('data', cmd('GET', 'k'));
      await request();
      reply(bytes);
      expected += bytes;
      await vi.waitFor(() => expect(client.received().length).toBe(expected.length));
    }
    expect(client.received()).toBe(expected);
  });
});
