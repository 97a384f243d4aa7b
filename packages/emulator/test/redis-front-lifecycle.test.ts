import { Redis as IORedis } from 'ioredis';
import { createClient } from 'redis';
import { describe, expect, it } from 'vitest';
import { OWNER, sleep, startStack } from './redis-front-helpers.js';

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
      host: socket.host,
      port: socket.port,
      tls: { ca: stack.tls.ca, servername: 'localhost' },
      username: OWNER,
      password: token,
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
