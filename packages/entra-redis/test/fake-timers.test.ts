// Issue 24.3: test suites install fake timers (sinon, Jest, vi.useFakeTimers) after loading
// their dependencies, while the cache's clock runs on. The library keeps real time: its
// refreshes, retries and deadlines use the timers and clock taken when it loaded.
import { TokenSource } from 'entra-redis';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { FakeClock, ScriptedCredential, issueToken } from './fakes.js';
import { startTestEmulator, type TestEmulator } from './helpers/emulator.js';
import { connect, VARIANTS, type AnyRedis } from './ioredis-fixture.js';
import { nodeRedisClient, NODE_REDIS_VARIANTS } from './node-redis-fixture.js';
import { SOURCE_OPTIONS } from './reliability-fixture.js';

// This file's own waits, taken before any timer is faked.
const realNow = Date.now;
const realSetTimeout = globalThis.setTimeout;
const wait = (ms: number): Promise<void> => new Promise((resolve) => realSetTimeout(resolve, ms));

afterEach(() => {
  vi.useRealTimers();
});

describe('the token source under fake timers', () => {
  it('refreshes in real time while Date and every timer are faked', async () => {
    const lifetimeMs = 1_200;
    const credential = new ScriptedCredential(() => issueToken(realNow(), lifetimeMs));
    const source = new TokenSource({ credential, metrics: false, minRefreshIntervalMs: 100 });
    try {
      await source.getCredentials();
      vi.useFakeTimers(); // Date frozen; setTimeout, setInterval, ... run only when advanced
      const frozen = Date.now();
      await wait(3 * lifetimeMs);
      expect(Date.now()).toBe(frozen);
      expect(credential.calls).toBeGreaterThanOrEqual(3);
      expect(source.current()).toBeDefined();
    } finally {
      vi.useRealTimers();
      await source.close();
    }
  });

  it('a token whose expiresOnTimestamp was computed on a frozen Date is placed in real time', async () => {
    vi.useFakeTimers({ now: realNow() - 3_600_000 }); // the process's Date an hour behind
    // As MSAL does: expiresOnTimestamp = Date.now() + expires_in; the JWT's exp is real.
    const credential = new ScriptedCredential(() => {
      const real = issueToken(realNow(), 60_000);
      return { ...real, expiresOnTimestamp: Date.now() + 60_000 };
    });
    const source = new TokenSource({ credential, metrics: false });
    try {
      const credentials = await source.getCredentials();
      expect(Math.abs(credentials.expiresAtMs - (realNow() + 60_000))).toBeLessThan(2_000);
    } finally {
      await source.close();
    }
  });

  it('a clock passed as an option still drives it (fake time on purpose)', async () => {
    const clock = new FakeClock();
    const credential = new ScriptedCredential(() => issueToken(clock.now(), 60_000));
    const source = new TokenSource({ credential, clock, metrics: false, random: () => 0 });
    try {
      await source.getCredentials();
      expect(credential.calls).toBe(1);
      await clock.advance(60_000);
      expect(credential.calls).toBeGreaterThanOrEqual(2);
    } finally {
      await source.close();
    }
  });
});

describe('both adapters against the emulator under fake timers', () => {
  const LIFETIME_SEC = 4;
  let env: TestEmulator;
  beforeAll(async () => {
    env = await startTestEmulator({ tokenLifetimeSec: LIFETIME_SEC });
  });
  afterAll(() => env?.close());

  it('keep every connection authenticated across rotations: no failed command, no eviction', async () => {
    const source = env.tokenSource(SOURCE_OPTIONS);
    const node = nodeRedisClient(env, source, NODE_REDIS_VARIANTS[0]);
    await node.connect();
    const io = await connect(env, VARIANTS[0]!, source);
    // RESP2 subscribers (rotated through a handoff with the adapter's own step timers).
    const subscriber = await connect(env, VARIANTS[1]!, source);
    const received: string[] = [];
    subscriber.on('message', (_channel: string, message: string) => received.push(message));
    await subscriber.subscribe('fake-timers');
    const nodeSubscriber = nodeRedisClient(env, source, NODE_REDIS_VARIANTS[1]);
    await nodeSubscriber.connect();
    const nodeReceived: string[] = [];
    await nodeSubscriber.subscribe('fake-timers', (message) => nodeReceived.push(message));
    const before = env.emulator.stats().redis;
    let rotations = 0;
    source.onCredentials(() => rotations++);
    const failures: string[] = [];
    let published = 0;
    // Not setImmediate: node-redis itself schedules every write with it, so it cannot run
    // under fake timers that fake it (Jest's and vitest's defaults do).
    vi.useFakeTimers({
      toFake: ['setTimeout', 'clearTimeout', 'setInterval', 'clearInterval', 'Date'],
    });
    try {
      const end = realNow() + 3.5 * LIFETIME_SEC * 1_000;
      for (let i = 0; realNow() < end; i++) {
        try {
          await node.set('fake-timers:node', String(i));
          await (io as AnyRedis).set('fake-timers:io', String(i));
          await io.publish('fake-timers', String(i));
          published++;
        } catch (error) {
          failures.push(String((error as Error)?.message ?? error));
        }
        await wait(50);
      }
    } finally {
      vi.useRealTimers();
    }
    await wait(300);
    const after = env.emulator.stats().redis;
    await Promise.all([node.quit(), io.quit(), subscriber.quit(), nodeSubscriber.quit()]);
    expect(failures).toEqual([]);
    expect(rotations).toBeGreaterThanOrEqual(3);
    expect(after.evictions - before.evictions).toBe(0);
    expect(after.authFailed - before.authFailed).toBe(0);
    expect(received.length).toBe(published);
    expect(nodeReceived.length).toBe(published);
  }, 60_000);
});
