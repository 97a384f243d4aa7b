// The express-session example against the emulator with 3-second tokens: a browser-like client
// (it keeps the session cookie) keeps its session while tokens rotate, whether it is busy or idle.
import { once } from 'node:events';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import {
  enginesNote,
  startExampleEmulator,
  waitFor,
  type ExampleEmulator,
} from '../test-emulator.js';
import { connectRedis, type RedisClient } from './redis.js';
import { createApp } from './server.js';

/** The session id in a `connect.sid=s:<id>.<signature>` cookie. */
const sessionId = (cookie: string): string =>
  decodeURIComponent(cookie.slice(cookie.indexOf('=') + 1))
    .replace(/^s:/, '')
    .split('.')[0]!;

/** A minimal browser: sends back the cookie it was given. */
class Browser {
  cookie: string | undefined;
  readonly cookiesReceived: string[] = [];
  constructor(private readonly base: string) {}

  async request(path: string, method = 'GET'): Promise<Response> {
    const response = await fetch(this.base + path, {
      method,
      headers: this.cookie ? { cookie: this.cookie } : {},
    });
    const set = response.headers.get('set-cookie');
    if (set) {
      this.cookie = set.split(';')[0];
      this.cookiesReceived.push(this.cookie!);
    }
    return response;
  }

  async visit(): Promise<number> {
    const response = await this.request('/visit');
    expect(response.status).toBe(200);
    return ((await response.json()) as { visits: number }).visits;
  }
}

// connect-redis 10 declares Node >= 22, and so does this example. It works on Node 20 today, and
// the Node 20 suite runs it there too, saying so in the test's name (see the README).
const { engines } = JSON.parse(
  readFileSync(new URL('./package.json', import.meta.url), 'utf8'),
) as {
  engines: { node: string };
};

describe(`express-session + connect-redis (node-redis, Entra ID)${enginesNote(engines.node)}`, () => {
  let env: ExampleEmulator;
  let client: RedisClient;
  let server: Server;
  let browser: Browser;
  const redisErrors: string[] = [];

  beforeAll(async () => {
    env = await startExampleEmulator(3);
    client = await connectRedis(env.settings, (error) => redisErrors.push(error.message));
    server = createApp(client, { secret: 'test-secret' }).listen(0, '127.0.0.1');
    await once(server, 'listening');
    browser = new Browser(`http://127.0.0.1:${(server.address() as AddressInfo).port}`);
  });

  afterAll(async () => {
    server?.closeAllConnections();
    server?.close();
    await client?.close();
    await env?.close();
  });

  it('keeps the session across token rotations, busy and idle', async () => {
    const start = env.rotations();
    let visits = 0;
    // Busy: a request every 50 ms through two rotations.
    while (env.rotations() - start < 2) {
      visits += 1;
      expect(await browser.visit()).toBe(visits);
      await sleep(50);
    }
    // Idle: no request (the Redis connection sits unused) through two more rotations.
    await waitFor(() => env.rotations() - start >= 4, 30_000, '4 token rotations');
    visits += 1;
    expect(await browser.visit()).toBe(visits);

    expect(visits).toBeGreaterThan(5);
    // One session from the first request on (its cookie is re-sent as its expiry moves on).
    const sid = sessionId(browser.cookie!);
    expect(new Set(browser.cookiesReceived.map(sessionId))).toEqual(new Set([sid]));
    const stored = JSON.parse((await client.get(`sess:${sid}`)) ?? '{}') as { visits?: number };
    expect(stored.visits).toBe(visits);
    expect(await client.ttl(`sess:${sid}`)).toBeGreaterThan(86_000);

    expect(redisErrors).toEqual([]);
    const stats = env.emulator.stats().redis;
    expect(stats.reauthOk).toBeGreaterThanOrEqual(4);
    expect(stats.evictions).toBe(0);
  }, 60_000);

  it('ends the session on logout: the Redis key goes, the next visit starts a new one', async () => {
    const sid = sessionId(browser.cookie!);
    expect(await client.exists(`sess:${sid}`)).toBe(1);
    expect((await browser.request('/logout', 'POST')).status).toBe(204);
    expect(await client.exists(`sess:${sid}`)).toBe(0);
    expect(await browser.visit()).toBe(1);
    expect(sessionId(browser.cookie!)).not.toBe(sid);
  });
});
