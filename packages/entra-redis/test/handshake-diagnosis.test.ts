// Issue 24.4: a handshake that cannot succeed (a certificate the client does not trust, TLS to
// a plaintext port, plaintext to a TLS port) ends connect() with a diagnosis instead of silent
// retries for ever; and a node-redis cluster given TLS on its root nodes only uses it for the
// nodes it discovers.
import { isEntraRedisError } from 'entra-redis';
import { createRedis } from 'entra-redis/ioredis';
import { createClient, createCluster } from 'entra-redis/node-redis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { keysOnEveryShard } from './cluster-fixture.js';
import { shardSlots } from './cluster-scenario.js';
import { startTestEmulator, type TestEmulator } from './helpers/emulator.js';

const HANDSHAKE_FAILED = (pattern: RegExp) => ({
  code: 'HANDSHAKE_FAILED',
  message: expect.stringMatching(pattern),
});

describe('a handshake that cannot succeed', () => {
  let env: TestEmulator;
  beforeAll(async () => {
    env = await startTestEmulator({ tokenLifetimeSec: 60, redis: { plainPort: 0 } });
  });
  afterAll(() => env?.close());

  const cases = () => {
    const { host, port, plainPort } = env.emulator.redis;
    const ca = env.emulator.caCertPem;
    return [
      { name: 'a certificate not trusted', port, tls: true, ca: undefined, expect: /not accepted/ },
      // The server may close before the client reads its plaintext reply: either diagnosis.
      {
        name: 'TLS to a plaintext port',
        port: plainPort!,
        tls: true,
        ca,
        expect: /speak TLS|TLS settings match/,
      },
      { name: 'plaintext to a TLS port', port, tls: false, ca: undefined, expect: /TLS expected/ },
    ].map((c) => ({ ...c, host }));
  };

  it('node-redis createClient: connect() rejects with HANDSHAKE_FAILED, and the client stops', async () => {
    for (const c of cases()) {
      const source = env.tokenSource();
      const client = createClient({
        socket: { host: c.host, port: c.port, tls: c.tls, ...(c.ca ? { ca: c.ca } : {}) } as never,
        tokenSource: source,
      });
      const errors: unknown[] = [];
      client.on('error', (e: unknown) => errors.push(e));
      await expect(client.connect(), c.name).rejects.toMatchObject(HANDSHAKE_FAILED(c.expect));
      expect(client.isOpen, c.name).toBe(false);
      await source.close();
    }
  });

  it('ioredis createRedis: rejects with HANDSHAKE_FAILED', async () => {
    for (const c of cases()) {
      const source = env.tokenSource();
      const error = await createRedis({
        host: c.host,
        port: c.port,
        ...(c.tls ? { tls: c.ca ? { ca: c.ca } : {} } : {}),
        tokenSource: source,
      }).then(
        (redis) => (redis.disconnect(), undefined),
        (e: unknown) => e,
      );
      expect(isEntraRedisError(error) && error.code, c.name).toBe('HANDSHAKE_FAILED');
      expect((error as Error).message, c.name).toMatch(c.expect);
      await source.close();
    }
  });
});

describe('node-redis createCluster with TLS on the root nodes only', () => {
  let env: TestEmulator;
  beforeAll(async () => {
    env = await startTestEmulator({
      tokenLifetimeSec: 60,
      cluster: { shards: 2, replicasPerShard: 0 },
    });
  });
  afterAll(() => env?.close());

  const roots = (socket: Record<string, unknown>) =>
    env.emulator.cluster!.rootNodes.map(({ host, port }) => ({
      socket: { host, port, ...socket },
    }));

  it('the discovered nodes connect with the root nodes TLS settings: every shard answers', async () => {
    const source = env.tokenSource();
    const cluster = createCluster({
      rootNodes: roots({ tls: true, ca: env.emulator.caCertPem }),
      tokenSource: source,
    });
    cluster.on('error', () => undefined);
    await cluster.connect();
    for (const key of keysOnEveryShard('roots-tls', shardSlots(env), 2)) {
      await cluster.set(key, 'v');
      expect(await cluster.get(key)).toBe('v');
    }
    cluster.destroy();
    await source.close();
  });

  it('without the CA anywhere, connect() rejects with HANDSHAKE_FAILED instead of hanging', async () => {
    const source = env.tokenSource();
    const cluster = createCluster({ rootNodes: roots({ tls: true }), tokenSource: source });
    cluster.on('error', () => undefined);
    await expect(cluster.connect()).rejects.toMatchObject(HANDSHAKE_FAILED(/not accepted/));
    await source.close();
  });
});
