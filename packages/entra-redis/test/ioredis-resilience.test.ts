import { TokenSource } from 'entra-redis';
import { attachEntraAuth, createRedis } from 'entra-redis/ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sleep, startTestEmulator, waitFor, type TestEmulator } from './helpers/emulator.js';
import { connect, VARIANTS, type AnyRedis } from './ioredis-fixture.js';

// Rules 1 (reconnects), 3, 7 and 8 of issue 5, for ioredis 6 (RESP3) and ioredis 5 (RESP2).
const LIFETIME_MS = 4_000;
describe.each([VARIANTS[0]!, VARIANTS[2]!])('ioredis resilience: $name', (variant) => {
  let env: TestEmulator;
  beforeAll(async () => {
    env = await startTestEmulator({ tokenLifetimeSec: LIFETIME_MS / 1000 });
  });
  afterAll(() => env?.close());

  it('50 connections: one token request per rotation, one AUTH per connection per rotation after 20 reconnects, nothing left after quit', async () => {
    const source = env.tokenSource();
    const oid = env.emulator.servicePrincipal.oid;
    const base = await connect(env, variant, source);
    const clients: AnyRedis[] = [base];
    for (let i = 0; i < 49; i++) {
      const d = base.duplicate() as AnyRedis;
      d.on('error', () => {});
      clients.push(d);
    }
    await Promise.all(clients.map((c) => c.ping()));
    // 20 reconnects of every connection, the current token each time.
    for (let i = 0; i < 20; i++) {
      env.emulator.faults.dropRedisConnections();
      await Promise.all(clients.map((c) => c.ping()));
    }
    const failedBefore = env.emulator.stats().redis.authFailed;
    expect(failedBefore).toBe(0);
    // Count the re-AUTHs that follow each rotation; no reconnects now.
    let rotations = 0;
    const perRotation: number[] = [];
    const onAuth = (e: { reauth: boolean; ok: boolean }) => {
      if (e.reauth && e.ok && perRotation.length > 0) perRotation[perRotation.length - 1]! += 1;
    };
    env.emulator.front.events.on('auth', onAuth);
    const requestsBefore = env.emulator.stats().identity.tokensIssued[oid] ?? 0;
    // 'refreshed' is emitted before the source re-authenticates any connection (it paces them,
    // 32 at a time), so every re-AUTH counted after it belongs to that rotation.
    const onRefreshed = () => {
      rotations++;
      perRotation.push(0);
    };
    source.on('refreshed', onRefreshed);
    const off = () => source.off('refreshed', onRefreshed);
    const startedAt = Date.now();
    const end = startedAt + 12_500;
    while (Date.now() < end) {
      await Promise.all(clients.map((c) => c.get('k')));
      await sleep(50);
    }
    off(); // no new rotation counted from here; the last one may have just begun
    const countedMs = Date.now() - startedAt;
    await waitFor(() => perRotation.every((n) => n >= 50), 3_000, 'the last re-AUTHs').catch(
      () => undefined, // the assertion below shows the counts
    );
    env.emulator.front.events.off('auth', onAuth);
    const requests = (env.emulator.stats().identity.tokensIssued[oid] ?? 0) - requestsBefore;
    console.log(
      `[${variant.name}] rotations=${rotations} tokenRequests=${requests} reauthsPerRotation=${perRotation.join(',')}`,
    );
    // A token is replaced within its life or its connections are evicted (asserted below): at
    // least one rotation per token lifetime of the run (usually more: 6 in a run under load).
    expect(rotations).toBeGreaterThanOrEqual(Math.floor(countedMs / LIFETIME_MS));
    expect(requests).toBeGreaterThanOrEqual(rotations);
    expect(requests).toBeLessThanOrEqual(rotations + 1);
    expect(perRotation).toEqual(perRotation.map(() => 50));
    expect(env.emulator.stats().redis.evictions).toBe(0);
    await Promise.all(clients.map((c) => c.quit()));
    await waitFor(() => source.listenerCount('credentials') === 0, 2_000, 'no listener left');
  }, 66_000); // testTimeoutMs(20 rounds of 50 reconnects at SLACK_MS each, 12.5 s of load, 3 s)

  it('detach() removes every listener and override from a client and its duplicates', async () => {
    const source = env.tokenSource();
    const c = await source.getCredentials();
    const Redis = variant.Redis as unknown as new (o: object) => AnyRedis;
    const redis = new Redis({
      host: env.emulator.redis.host,
      port: env.emulator.redis.port,
      tls: { ca: env.emulator.caCertPem },
      username: c.username,
      password: c.password,
      enableReadyCheck: false,
      lazyConnect: true,
    });
    const detach = attachEntraAuth(redis, source);
    const dup = redis.duplicate();
    await Promise.all([redis.ping(), dup.ping()]);
    expect(source.listenerCount('credentials')).toBe(2);
    detach();
    expect(source.listenerCount('credentials')).toBe(0);
    for (const client of [redis, dup]) {
      for (const name of ['sendCommand', 'duplicate', 'setStatus', 'handleReconnection']) {
        expect(Object.prototype.hasOwnProperty.call(client, name), name).toBe(false);
      }
    }
    await Promise.all([redis.quit(), dup.quit()]);
  });

  it('quit() while waiting to reconnect ends the client and releases the token source', async () => {
    const source = env.tokenSource();
    const redis = await connect(env, variant, source, { retryStrategy: () => 1_000 });
    await redis.ping();
    const subscribed = redis.duplicate() as AnyRedis;
    subscribed.on('error', () => {});
    await subscribed.subscribe('ch');
    for (const client of [redis, subscribed]) {
      client.disconnect(true);
      await waitFor(() => client.status === 'reconnecting', 2_000, 'reconnecting');
      const ended = new Promise<void>((resolve) => client.once('end', () => resolve()));
      await client.quit();
      await ended;
      expect(client.status).toBe('end');
    }
    expect(source.listenerCount('credentials')).toBe(0);
  });

  it('quit() of a subscriber at any point of a rotation resolves and ends the client', async () => {
    const source = env.tokenSource();
    await source.getCredentials();
    const base = await connect(env, variant, source);
    for (const delayMs of [0, 2, 10, 30, 80, 200]) {
      const sub = base.duplicate() as AnyRedis;
      sub.on('error', () => {});
      await sub.subscribe('news');
      await sub.ssubscribe('shard');
      await new Promise<void>((resolve) => {
        const off = source.onCredentials(() => {
          off();
          resolve();
        });
      });
      await sleep(delayMs);
      await expect(sub.quit(), `quit ${delayMs} ms after a rotation`).resolves.toBe('OK');
      await waitFor(() => sub.status === 'end', 5_000, `end after quit at +${delayMs} ms`);
    }
    await base.quit();
    await waitFor(() => source.listenerCount('credentials') === 0, 2_000, 'no listener left');
  }, 40_000);

  it('quit() during the handshake ends the client for good (ioredis 5 without ready check would go back to ready)', async () => {
    const source = env.tokenSource();
    const base = await connect(env, variant, source);
    for (let i = 0; i < 3; i++) {
      const client = base.duplicate({ lazyConnect: true }) as AnyRedis;
      client.on('error', () => {});
      const statuses: string[] = [];
      for (const event of ['connect', 'ready', 'close', 'end']) {
        client.on(event, () => statuses.push(event));
      }
      client.once('connect', () => void client.quit());
      await client.connect().catch(() => undefined);
      await waitFor(() => statuses.includes('end'), 5_000, 'end after quit() at connect');
      await sleep(100);
      expect(client.status, statuses.join(' > ')).toBe('end');
      expect(statuses).not.toContain('ready');
    }
    await base.quit();
  });

  it('quit() or disconnect() of a client that never connected ends it without opening a connection', async () => {
    const source = env.tokenSource();
    const base = await connect(env, variant, source);
    const before = env.emulator.stats().redis.connectionsTotal;
    const lazy = await connect(env, variant, source, { lazyConnect: true });
    const duplicate = base.duplicate({ lazyConnect: true }) as AnyRedis;
    duplicate.on('error', () => {});
    const connecting = await connect(env, variant, source, { lazyConnect: true });
    // quit() of a client in 'wait' starts a connect and disconnects at once (every ioredis
    // Cluster node is such a client until first used); so does connect() then disconnect().
    expect(await lazy.quit()).toBe('OK');
    expect(await duplicate.quit()).toBe('OK');
    const connected = connecting.connect().then(
      () => 'connected',
      (e: Error) => e.message,
    );
    connecting.disconnect();
    expect(await connected).toBe('Connection is closed.');
    await sleep(300); // a socket opened by mistake would have reached the front end by now
    expect([lazy.status, duplicate.status, connecting.status]).toEqual(['end', 'end', 'end']);
    expect(env.emulator.stats().redis.connectionsTotal).toBe(before);
    await base.quit();
    await waitFor(() => source.listenerCount('credentials') === 0, 2_000, 'no listener left');
  });

  it('a client closed while its re-AUTH is on the way reports no re-authentication failure', async () => {
    const source = env.tokenSource();
    const errors: unknown[] = [];
    const clients = [0, 1].map(() =>
      connect(env, variant, source, { onError: (e: unknown) => errors.push(e) }),
    );
    const [quitting, dropped] = await Promise.all(clients);
    await Promise.all([quitting!.ping(), dropped!.ping()]);
    // 'refreshed' comes before the re-AUTHs are sent: they are written behind the QUIT, or to
    // a connection that is going.
    const closing = new Promise<void>((resolve) =>
      source.once('refreshed', () => {
        void quitting!.quit();
        dropped!.disconnect();
        resolve();
      }),
    );
    await closing;
    await waitFor(
      () => quitting!.status === 'end' && dropped!.status === 'end',
      5_000,
      'both clients ended',
    );
    await sleep(200);
    expect(errors).toEqual([]);
  });

  it('quit() whose connection drops before the OK is read resolves (the client ended as asked)', async () => {
    const source = env.tokenSource();
    const base = await connect(env, variant, source);
    for (const subscriber of [false, true]) {
      const client = base.duplicate() as AnyRedis;
      client.on('error', () => {});
      if (subscriber) await client.subscribe('news');
      else await client.ping();
      const quit = client.quit();
      // The QUIT is written; the connection goes before its reply is read.
      (client as unknown as { stream: { destroy(): void } }).stream.destroy();
      await expect(quit, subscriber ? 'subscriber' : 'plain client').resolves.toBe('OK');
      expect(client.status).toBe('end');
      await expect(client.get('x')).rejects.toThrow('Connection is closed');
    }
    await base.quit();
  });

  it('identity outage past expiry: commands fail fast with TOKEN_EXPIRED naming the cause, then work again', async () => {
    const source = env.tokenSource();
    const redis = await connect(env, variant, source);
    await source.getCredentials();
    const fault = env.emulator.identity.faults.inject({
      kind: 'status',
      status: 503,
      durationMs: 7_000,
    });
    const slow: number[] = [];
    const codes = new Set<string>();
    let expiredMessage = '';
    while (!fault.ended) {
      const t0 = Date.now();
      try {
        await redis.set('outage', '1');
      } catch (e) {
        const err = e as { code?: string; message: string };
        codes.add(String(err.code));
        if (err.code === 'TOKEN_EXPIRED') expiredMessage = err.message;
        if (Date.now() - t0 >= 1_000) slow.push(Date.now() - t0);
      }
      await sleep(100);
    }
    const endedAt = Date.now();
    let recoveredAfterMs = -1;
    while (Date.now() - endedAt < 10_000) {
      try {
        expect(await redis.set('outage', '2')).toBe('OK');
        recoveredAfterMs = Date.now() - endedAt;
        break;
      } catch {
        await sleep(100);
      }
    }
    console.log(
      `[${variant.name}] outage codes=${[...codes].join(',')} recoveredAfterMs=${recoveredAfterMs}`,
    );
    expect([...codes]).toEqual(['TOKEN_EXPIRED']);
    // The cause: the last refresh error (the endpoint's 503 "temporarily_unavailable") once the
    // source saw one, or, while the Azure SDK still retries internally, that none arrived yet.
    expect(expiredMessage).toMatch(
      /access token expired at .*(last refresh failed: .*(503|temporarily_unavailable)|no fresh token has arrived)/,
    );
    expect(slow).toEqual([]);
    expect(recoveredAfterMs).toBeGreaterThanOrEqual(0);
    expect(await redis.get('outage')).toBe('2');
    await redis.quit();
  }, 30_000);

  it('reconnects after dropped connections use the current token', async () => {
    const source = env.tokenSource();
    const redis = await connect(env, variant, source);
    const failed = env.emulator.stats().redis.authFailed;
    const end = Date.now() + 7_000;
    let i = 0;
    while (Date.now() < end) {
      if (++i % 15 === 0) env.emulator.faults.dropRedisConnections();
      expect(await redis.incr('drops')).toBeGreaterThan(0);
      await sleep(30);
    }
    expect(env.emulator.stats().redis.authFailed - failed).toBe(0);
    await redis.quit();
  }, 20_000);

  it('a principal without an access policy fails with AUTH_REFUSED naming the oid and the fix', async () => {
    const { emulator } = env;
    const principal = emulator.tenant.findByOid(emulator.principals.unassigned!.oid)!;
    const source = new TokenSource({
      credential: {
        getToken: async () => {
          const { accessToken } = await emulator.tenant.mintAccessToken(principal, {
            audience: 'https://redis.azure.com',
            lifetimeSec: 60,
          });
          return { token: accessToken, expiresOnTimestamp: Date.now() + 60_000 };
        },
      },
    });
    const error = await connect(env, variant, source).catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 'AUTH_REFUSED' });
    const message = (error as Error).message;
    expect(message).toContain(principal.oid);
    expect(message).toMatch(/data access policy/);
    expect(message).toMatch(/https:\/\/redis\.azure\.com\/\.default/);
    expect(source.listenerCount('credentials')).toBe(0);
    await source.close();
  });

  it("a Data Reader's SET fails with PERMISSION_DENIED and guidance; reads work", async () => {
    const { emulator } = env;
    const principal = emulator.tenant.findByOid(emulator.principals.reader!.oid)!;
    const source = new TokenSource({
      credential: {
        getToken: async () => {
          const { accessToken } = await emulator.tenant.mintAccessToken(principal, {
            audience: 'https://redis.azure.com',
            lifetimeSec: 60,
          });
          return { token: accessToken, expiresOnTimestamp: Date.now() + 60_000 };
        },
      },
    });
    const redis = await connect(env, variant, source);
    const error = await redis.set('x', '1').catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 'PERMISSION_DENIED' });
    expect((error as Error).message).toMatch(/^NOPERM/);
    expect((error as Error).message).toMatch(/Data Contributor/);
    expect((error as Error).message).toContain(principal.oid);
    // In a pipeline too, and a transaction's refused command; the other replies are as is.
    const [[refused], [, value]] = (await redis.pipeline().set('x', '1').get('x').exec()) as [
      [Error],
      [null, unknown],
    ];
    expect(refused).toMatchObject({ code: 'PERMISSION_DENIED' });
    expect(refused.message).toMatch(/^NOPERM.*Data Contributor/s);
    expect(value).toBeNull();
    const transaction = (await redis
      .multi()
      .get('x')
      .set('x', '1')
      .exec()
      .catch((e: unknown) => e)) as Error & { previousErrors?: Error[] };
    expect(transaction.message).toMatch(/^EXECABORT/);
    expect(transaction.previousErrors?.length).toBeGreaterThan(0);
    for (const e of transaction.previousErrors!) expect(e.message).toMatch(/Data Contributor/);
    expect(await redis.get('x')).toBeNull();
    await redis.quit();
    await source.close();
  });
});

describe('createRedis options', () => {
  it('refuses a plaintext Azure host unless allowInsecureConnection, naming the option', async () => {
    const source = new TokenSource({ credential: { getToken: async () => null } });
    await expect(
      createRedis({ host: 'contoso.redis.cache.windows.net', port: 6379, tokenSource: source }),
    ).rejects.toMatchObject({
      code: 'INSECURE_CONNECTION',
      message: expect.stringMatching(/allowInsecureConnection/),
    });
    await expect(
      createRedis({
        host: 'contoso.redis.cache.windows.net',
        port: 6380,
        tls: null as never,
        tokenSource: source,
      }),
    ).rejects.toMatchObject({ code: 'INSECURE_CONNECTION' });
    await source.close();
  });
});
