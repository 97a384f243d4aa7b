import type { AccessToken } from '@azure/identity';
import { TokenSource } from 'entra-redis';
import {
  attachEntraAuth,
  createClient,
  createClientPool,
  entraCredentialsProvider,
} from 'entra-redis/node-redis';
import type { createClientPool as createRedisPool } from 'redis';
import * as redis6 from 'redis';
import * as redis5 from 'redis5';
import { ownerOf, respOf } from '../src/node-redis/internals.js';
import type { RedisModuleLike } from 'entra-redis/node-redis';
import { inspect } from 'node:util';
import { describe, expect, it, onTestFinished, vi } from 'vitest';
import {
  NODE_REDIS_VARIANTS,
  emulatorClientOptions,
  nodeRedisClient,
  nodeRedisClients,
  type Client,
} from './node-redis-fixture.js';
import { issueToken } from './fakes.js';
import { rotationsWithinMs, type TokenSchedule } from './helpers/bounds.js';
import { sleep, startTestEmulator, suiteEmulator, waitFor } from './helpers/emulator.js';

// node-redis against the emulator with 3-second tokens: one token request per rotation,
// reconnects, identity outage, refused tokens, transactions across a rotation. redis 6 (RESP3
// default, and RESP2) and redis 5. Five rotations under load: node-redis-rotation.test.ts.
type Pool = ReturnType<typeof createRedisPool>;

const VARIANTS = NODE_REDIS_VARIANTS;
const SCHEDULE: TokenSchedule = { tokenLifetimeMs: 3_000 };
const FIFTY_CLIENTS: TokenSchedule = { tokenLifetimeMs: 8_000, refreshRatio: 0.5 };

describe('entra-redis/node-redis against the emulator', () => {
  const env = suiteEmulator({ tokenLifetimeSec: SCHEDULE.tokenLifetimeMs / 1000 });
  const client = nodeRedisClients(env);

  /** A custom TokenCredential minting tokens for another principal of the emulator's tenant. */
  function principalSource(oid: string): TokenSource {
    const principal = env.emulator.tenant.findByOid(oid)!;
    return new TokenSource({
      credential: {
        getToken: async (): Promise<AccessToken> => {
          const minted = await env.emulator.tenant.mintAccessToken(principal, {
            audience: 'https://redis.azure.com',
            lifetimeSec: 60,
          });
          return { token: minted.accessToken, expiresOnTimestamp: minted.expiresOnSec * 1000 };
        },
      },
    });
  }

  it('50 clients: one token request per rotation; after 20 reconnects one AUTH per connection per rotation; close()/destroy() leave no subscription and no timer', async () => {
    const timersBefore = timeouts();
    const authFailedBefore = env.emulator.stats().redis.authFailed;
    // Tokens of 8 s refreshed at half their life for this test: with the file's 3-second tokens
    // a rotation comes every 1-2 s, and on a loaded machine a rotation's 50 re-AUTHs ran past the
    // next one ([3, 50, 50] and [19, 50, 50] counted, no eviction): each rotation's re-AUTHs are
    // counted up to the next rotation, which must come well after them.
    const savedLifetimeSec = env.emulator.tenant.tokenLifetimeSec;
    env.emulator.tenant.tokenLifetimeSec = FIFTY_CLIENTS.tokenLifetimeMs / 1000;
    onTestFinished(() => {
      env.emulator.tenant.tokenLifetimeSec = savedLifetimeSec;
    });
    const source = env.tokenSource({ refreshRatio: FIFTY_CLIENTS.refreshRatio });
    const oid = env.emulator.servicePrincipal.oid;
    await source.getCredentials();
    const clients = Array.from({ length: 50 }, () => client(source));
    await Promise.all(clients.map((c) => c.connect()));
    for (let i = 0; i < 20; i += 1) {
      env.emulator.faults.dropRedisConnections();
      await waitFor(() => clients.every((c) => c.isReady), 10_000, 'clients reconnected');
    }
    expect(source.listenerCount('credentials')).toBe(50);
    const issuedBefore = env.emulator.stats().identity.tokensIssued[oid] ?? 0;
    let rotations = 0;
    // The re-AUTHs of each rotation, counted up to the next one (not a fixed 500 ms after it:
    // on a loaded machine 50 re-AUTHs took longer). They run before the previous token expires,
    // well before the next refresh; an evicted connection would reconnect and miss its re-AUTH.
    const reauths: number[] = [];
    let counted: number | undefined;
    source.on('refreshed', () => {
      rotations += 1;
      const { reauthOk } = env.emulator.stats().redis;
      if (counted !== undefined) reauths.push(reauthOk - counted);
      counted = reauthOk;
    });
    const evictionsBefore = env.emulator.stats().redis.evictions;
    await waitFor(() => reauths.length >= 3, rotationsWithinMs(4, FIFTY_CLIENTS), 'four rotations');
    const issued = (env.emulator.stats().identity.tokensIssued[oid] ?? 0) - issuedBefore;
    expect(issued).toBeLessThanOrEqual(rotations + 1);
    const evicted = env.emulator.stats().redis.evictions - evictionsBefore;
    expect(reauths.slice(0, 3), `${evicted} evicted`).toEqual([50, 50, 50]);
    // No reconnect sent a stale token.
    expect(env.emulator.stats().redis.authFailed - authFailedBefore).toBe(0);
    expect(await Promise.all(clients.map((c) => c.ping()))).toEqual(Array(50).fill('PONG'));
    // Half closed gracefully, half destroyed; one never connected holds no subscription.
    const idle = client(source);
    expect(source.listenerCount('credentials')).toBe(50);
    idle.destroy();
    await Promise.all(clients.slice(0, 25).map((c) => c.close()));
    for (const c of clients.slice(25)) c.destroy();
    expect(source.listenerCount('credentials')).toBe(0);
    await source.close();
    await waitFor(() => timeouts() <= timersBefore, 3_000, 'no timer left');
  }, 76_000); // testTimeoutMs(20 × SLACK_MS for 20 rounds of 50 reconnects, rotationsWithinMs(4))

  it('identity outage past expiry: BLPOP 0 fails with a retryable BLOCKING_COMMAND_INTERRUPTED, commands fail fast with TOKEN_EXPIRED naming the cause, then recovery without restart', async () => {
    const source = env.tokenSource();
    const c = client(source);
    await c.connect();
    const blocked = c.duplicate();
    blocked.on('error', () => undefined);
    await blocked.connect();
    const fault = env.emulator.identity.faults.inject({
      kind: 'status',
      status: 503,
      durationMs: 6_000,
    });
    const pop = blocked.blPop('nr:outage:queue', 0).then(
      (value) => ({ value }),
      (error: unknown) => ({ error }),
    );
    // The source's expiry alarm, not the clock: a command sent in the instant between the two
    // can still be in flight when the cache closes the connection (TOKEN_EXPIRED "in flight").
    await waitFor(() => source.expired, 6_000, 'token expiry');
    const started = Date.now();
    const failure = await c.get('nr:x').catch((error: unknown) => error);
    expect(Date.now() - started).toBeLessThan(1_000);
    expect(failure).toMatchObject({ code: 'TOKEN_EXPIRED', isRetryable: true });
    expect((failure as Error).message).toMatch(
      /expired at .* and (the last refresh failed|no fresh token has arrived yet)/,
    );
    expect(await pop).toMatchObject({
      error: { code: 'BLOCKING_COMMAND_INTERRUPTED', isRetryable: true },
    });
    expect(((await pop) as { error: Error }).error.message).toMatch(
      /BLPOP was interrupted[\s\S]*access token expire[\s\S]*retry/,
    );
    while (!fault.ended) await sleep(50);
    await waitFor(async () => (await c.ping().catch(() => '')) === 'PONG', 10_000, 'recovery');
    await waitFor(
      async () => (await blocked.ping().catch(() => '')) === 'PONG',
      10_000,
      'recovery',
    );
    await c.rPush('nr:outage:queue', 'after');
    expect(await blocked.blPop('nr:outage:queue', 0)).toEqual({
      key: 'nr:outage:queue',
      element: 'after',
    });
    blocked.destroy();
    c.destroy();
    await source.close();
  }, 30_000);

  it.each(VARIANTS)(
    '$name: a re-AUTH arms no per-command timer (node-redis 6 arms one per command by default)',
    async (variant) => {
      const source = env.tokenSource();
      const c = client(source, variant);
      await c.connect();
      const before = env.emulator.stats().redis;
      // Timers armed by node-redis's command queue (the identity layer may arm its own).
      let armed = 0;
      const timeout = AbortSignal.timeout.bind(AbortSignal);
      const timers = vi.spyOn(AbortSignal, 'timeout').mockImplementation((ms) => {
        if (/commands-queue/.test(new Error().stack ?? '')) armed += 1;
        return timeout(ms);
      });
      try {
        await waitFor(
          () => env.emulator.stats().redis.reauthOk > before.reauthOk,
          10_000,
          'a re-AUTH answered',
        );
        expect(armed).toBe(0);
        await c.get('reauth-timer:missing'); // the app's own commands keep theirs
        expect(armed).toBe(variant.module === redis5 ? 0 : 1); // redis 5: no default timeout
      } finally {
        timers.mockRestore();
      }
      expect(env.emulator.stats().redis.reauthFailed - before.reauthFailed).toBe(0);
      await c.close();
      await source.close();
    },
  );

  it.each(VARIANTS)(
    '$name: a client closed while its re-AUTH is on the way reports no re-authentication failure',
    async (variant) => {
      const source = env.tokenSource();
      const errors: unknown[] = [];
      const extra = { onError: (e: unknown) => errors.push(e) };
      const clients = [0, 1, 2].map(() => client(source, variant, extra));
      const [closing, destroyed, disconnected] = clients as [Client, Client, Client];
      await Promise.all(clients.map((c) => c.connect()));
      await Promise.all(clients.map((c) => c.ping()));
      await new Promise<void>((resolve) =>
        source.once('refreshed', () => {
          // 'refreshed' comes before the re-AUTHs are sent.
          const c = closing as unknown as { close?: () => Promise<void>; quit: () => unknown };
          void (c.close ? c.close() : c.quit());
          destroyed.destroy();
          void (disconnected as unknown as { disconnect: () => Promise<void> }).disconnect();
          resolve();
        }),
      );
      await waitFor(() => clients.every((c) => !c.isOpen), 5_000, 'every client closed');
      await sleep(200);
      expect(errors).toEqual([]);
      await source.close();
    },
  );

  it('disconnect() while a re-AUTH waits behind a blocking command reports no re-authentication failure', async () => {
    // Six-second tokens, so the re-AUTH of a rotation queues behind a BLPOP 0 slice.
    const own = await startTestEmulator({ tokenLifetimeSec: 6 });
    try {
      const source = own.tokenSource();
      const errors: unknown[] = [];
      const c = nodeRedisClient(own, source, VARIANTS[0], {
        onError: (e: unknown) => errors.push(e),
      });
      await c.connect();
      const popped = c.blPop('nothing-here', 0).then(
        () => 'popped',
        (e: Error) => e.message,
      );
      await new Promise((resolve) => source.once('refreshed', resolve));
      await sleep(100);
      await (c as unknown as { disconnect: () => Promise<void> }).disconnect();
      expect(await popped).toBe('Disconnects client');
      await sleep(200);
      expect(errors).toEqual([]);
      await source.close();
    } finally {
      await own.close();
    }
  }, 20_000);

  it('a principal without an access policy fails with AUTH_REFUSED naming its oid', async () => {
    const { emulator } = env;
    const unassigned = emulator.principals.unassigned!;
    const source = principalSource(unassigned.oid);
    const c = client(source, VARIANTS[0], {
      socket: {
        host: emulator.redis.host,
        port: emulator.redis.port,
        tls: true,
        ca: emulator.caCertPem,
        reconnectStrategy: false,
      },
    });
    const refused = await c.connect().catch((error: unknown) => error);
    expect(refused).toMatchObject({
      code: 'AUTH_REFUSED',
      message: expect.stringMatching(
        new RegExp(`${unassigned.oid}[\\s\\S]*assign a data access policy`),
      ),
    });
    const token = (await source.getCredentials()).password;
    expect(inspect(refused, { depth: 5 })).not.toContain(token);
    c.destroy();
    await source.close();
  });

  it.each(VARIANTS)(
    '$name: with the default reconnect strategy, connect() of a client, its duplicate and a pool rejects with AUTH_REFUSED at once',
    async (variant) => {
      const unassigned = env.emulator.principals.unassigned!;
      const source = principalSource(unassigned.oid);
      const c = client(source, variant);
      const copy = c.duplicate(); // made while c is open: detached with it otherwise
      copy.on('error', () => undefined);
      const started = Date.now();
      const refused = await c.connect().catch((error: unknown) => error);
      expect(refused).toMatchObject({ code: 'AUTH_REFUSED' });
      expect((refused as Error).message).toContain(unassigned.oid);
      expect(Date.now() - started).toBeLessThan(5_000); // not after some retries
      expect(c.isOpen).toBe(false);
      await expect(copy.connect()).rejects.toMatchObject({ code: 'AUTH_REFUSED' });
      expect(copy.isOpen).toBe(false);
      const pool = createClientPool(
        emulatorClientOptions(env, source, variant),
        {},
        variant.module as never,
      ) as unknown as { connect(): Promise<unknown>; on(e: string, f: () => void): void };
      pool.on('error', () => undefined);
      await expect(pool.connect()).rejects.toMatchObject({ code: 'AUTH_REFUSED' });
      await source.close();
    },
  );

  it('WATCH … MULTI/EXEC across a rotation commits or aborts exactly as without rotation', async () => {
    const source = env.tokenSource();
    const watcher = client(source);
    const other = client(source);
    await Promise.all([watcher.connect(), other.connect()]);
    const rotated = () =>
      new Promise<void>((resolve) => {
        const off = source.onCredentials(() => {
          off();
          setTimeout(resolve, 300); // let the re-AUTH run between WATCH and EXEC
        });
      });

    // Untouched key: the transaction commits although a re-AUTH ran between WATCH and EXEC.
    await watcher.set('nr:watched', '1');
    await watcher.watch('nr:watched');
    await rotated();
    expect(await watcher.multi().incr('nr:watched').exec()).toEqual([2]);

    // Key changed by another client: the transaction aborts, as it would without rotation.
    await watcher.watch('nr:watched');
    await rotated();
    await other.set('nr:watched', '10');
    await expect(watcher.multi().incr('nr:watched').exec()).rejects.toThrow(/watch/i);
    expect(await watcher.get('nr:watched')).toBe('10');
    watcher.destroy();
    other.destroy();
    await source.close();
  }, 20_000);

  it("a Data Reader's SET fails with PERMISSION_DENIED naming the fix; its GET works", async () => {
    const source = principalSource(env.emulator.principals.reader!.oid);
    const c = client(source);
    await c.connect();
    const denied = await c.set('nr:reader', 'x').catch((error: unknown) => error);
    expect(denied).toMatchObject({
      code: 'PERMISSION_DENIED',
      message: expect.stringMatching(/^NOPERM[\s\S]*command "SET"[\s\S]*Data Contributor/),
    });
    expect(inspect(denied, { depth: 5 })).not.toContain((await source.getCredentials()).password);
    expect(await c.get('nr:reader')).toBeNull();
    c.destroy();
    await source.close();
  });

  it('refuses a plaintext connection to an Azure host name unless allowed', () => {
    const source = env.tokenSource();
    expect(() =>
      createClient({
        socket: { host: 'contoso.redis.cache.windows.net', port: 6379, tls: false },
        tokenSource: source,
      }),
    ).toThrow(expect.objectContaining({ code: 'INSECURE_CONNECTION' }));
    expect(() =>
      createClient({
        socket: { host: 'localhost', port: 6379 },
        tokenSource: source,
        username: 'x',
      } as never),
    ).toThrow(expect.objectContaining({ code: 'INVALID_OPTION' }));
    expect(() =>
      createClient({ url: 'redis://contoso.redis.cache.windows.net:6379', tokenSource: source }),
    ).toThrow(expect.objectContaining({ code: 'INSECURE_CONNECTION' }));
    expect(() =>
      createClientPool({
        socket: { host: 'contoso.redis.azure.net', port: 10000, tls: false },
        tokenSource: source,
      }),
    ).toThrow(expect.objectContaining({ code: 'INSECURE_CONNECTION' }));
    expect(() =>
      createClient({ url: 'rediss://user:secret@localhost:6380', tokenSource: source }),
    ).toThrow(expect.objectContaining({ code: 'INVALID_OPTION' }));
    // Allowed explicitly (a local tunnel): no error, and nothing subscribed until used.
    const tunnel = createClient({
      socket: { host: 'contoso.redis.cache.windows.net', port: 6379, tls: false },
      tokenSource: source,
      allowInsecureConnection: true,
    });
    tunnel.destroy();
    expect(source.listenerCount('credentials')).toBe(0);
  });
});

describe('entra-redis/node-redis internals', () => {
  it('refuses options of the wrong type at once, with INVALID_OPTION naming them', () => {
    const source = new TokenSource({
      credential: { getToken: async () => ({ token: 'x', expiresOnTimestamp: Date.now() }) },
    });
    const socket = { host: 'localhost', port: 6380, tls: true as const };
    const invalid = (name: string) =>
      expect.objectContaining({ code: 'INVALID_OPTION', message: expect.stringContaining(name) });
    expect(() => createClient({ socket, tokenSource: source, onError: 'x' } as never)).toThrow(
      invalid('"onError"'),
    );
    expect(() =>
      createClient({ socket, tokenSource: source, allowInsecureConnection: 'yes' } as never),
    ).toThrow(invalid('"allowInsecureConnection"'));
    expect(() => attachEntraAuth(null as never, source)).toThrow(invalid('"client"'));
    const own = redis6.createClient({ socket });
    expect(() => attachEntraAuth(own, {} as never)).toThrow(invalid('"tokenSource"'));
    expect(() => attachEntraAuth(own, source, { onError: 1 as never })).toThrow(
      invalid('"onError"'),
    );
    expect(source.listenerCount('credentials')).toBe(0);
    void source.close();
  });

  it("the node-redis guide's calls compile as written (npm run typecheck) and work: attachEntraAuth on redis.createClient(), createClient with redis 5's createClient", () => {
    const source = new TokenSource({
      credential: { getToken: async () => ({ token: 'x', expiresOnTimestamp: Date.now() }) },
    });
    // No casts: strict TypeScript must accept both (TS2345 before).
    const own = redis6.createClient({
      socket: { host: 'localhost', port: 6380, tls: true },
      credentialsProvider: entraCredentialsProvider(source),
    });
    const plain = own.sendCommand;
    const detach = attachEntraAuth(own, source);
    expect(own.sendCommand).not.toBe(plain);
    attachEntraAuth(own, source)(); // attached once: the second call's detach() is the first's
    expect(own.sendCommand).toBe(plain);
    detach(); // idempotent
    expect(source.listenerCount('credentials')).toBe(0);
    const client5 = createClient(
      { socket: { host: 'localhost', port: 6380, tls: true }, tokenSource: source },
      redis5.createClient,
    );
    expect((client5 as { options?: { name?: string } }).options?.name).toBe('entra-redis');
    void source.close();
  });

  it('entraCredentialsProvider: one provider per token source, whatever the number of clients', async () => {
    const sourceOf = (oid: string) => {
      const token = issueToken(Date.now(), 3_600_000, oid);
      return {
        token: token.token,
        source: new TokenSource({ credential: { getToken: async () => token } }),
      };
    };
    const a = sourceOf('00000000-0000-4000-8000-00000000000a');
    const b = sourceOf('00000000-0000-4000-8000-00000000000b');
    const provider = entraCredentialsProvider(a.source);
    expect(entraCredentialsProvider(a.source)).toBe(provider);
    expect(entraCredentialsProvider(b.source)).not.toBe(provider);
    expect(await provider.credentials()).toEqual({
      username: '00000000-0000-4000-8000-00000000000a',
      password: a.token,
    });
    expect((await entraCredentialsProvider(b.source).credentials()).password).toBe(b.token);
    await Promise.all([a.source.close(), b.source.close()]);
  });

  it('createClientPool leaves RedisClient.factory as it was (redis 6 and 5), and tells the default protocol apart', async () => {
    const source = new TokenSource({
      credential: { getToken: async () => ({ token: 'x', expiresOnTimestamp: Date.now() }) },
    });
    for (const module of [redis6, redis5] as unknown as RedisModuleLike[]) {
      const RedisClient = Object.getPrototypeOf(
        Object.getPrototypeOf(Object.getPrototypeOf(module.createClient())),
      ).constructor as { factory: unknown };
      const before = RedisClient.factory;
      expect(typeof before).toBe('function');
      const pool = createClientPool<Pool>(
        { socket: { host: 'localhost', port: 1 }, tokenSource: source },
        {},
        module,
      );
      expect(RedisClient.factory).toBe(before);
      // connect() diagnoses a refused token (installed on the pool's instance, `_self`).
      expect(pool.connect).not.toBe(Object.getPrototypeOf(ownerOf(pool)).connect);
      pool.destroy();
    }
    expect(respOf(redis6.createClient())).toBe(3);
    expect(respOf(redis5.createClient())).toBe(2);
    expect(respOf(redis5.createClient({ RESP: 3 }))).toBe(3);
    expect(respOf(redis6.createClient({ RESP: 2 }))).toBe(2);
    await source.close();
  });
});

/** Live `setTimeout` timers of this process. */
function timeouts(): number {
  return process.getActiveResourcesInfo().filter((r) => r === 'Timeout').length;
}
