import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { OWNER, RawClient, cmd, sleep, startStack, type Stack } from './redis-front-helpers.js';

const LIFETIME_MS = 1_500;

describe('redis front: token expiry', () => {
  let stack: Stack;
  beforeAll(async () => {
    stack = await startStack();
  });
  afterAll(async () => {
    await stack?.close();
  });

  async function authed(
    resp3 = false,
    lifetimeMs = LIFETIME_MS,
  ): Promise<{ c: RawClient; expMs: number }> {
    const expMs = Math.ceil((Date.now() + lifetimeMs) / 1000) * 1000; // JWT exp is in whole seconds
    const token = await stack.tokens.sign({ oid: OWNER, expMs });
    const c = await RawClient.connect(stack.front.tlsPort!, stack.tls.ca);
    c.send(resp3 ? cmd('HELLO', '3', 'AUTH', OWNER, token) : cmd('AUTH', OWNER, token));
    const r = await c.next();
    expect(r instanceof Error).toBe(false);
    return { c, expMs };
  }

  it('closes a connection with no fresh AUTH within a second of expiry, and a re-AUTH keeps one open', async () => {
    const evictions: string[] = [];
    stack.front.events.on('eviction', (e) => evictions.push(e.oid));
    const before = stack.front.stats().evictions;
    const stale = await authed();
    const fresh = await authed();
    await sleep(500);
    fresh.c.send(cmd('AUTH', OWNER, await stack.tokens.sign({ oid: OWNER, lifetimeMs: 10_000 })));
    expect(await fresh.c.next()).toBe('OK');
    const closedAt = await stale.c.waitClosed(LIFETIME_MS + 2_000);
    expect(closedAt).toBeGreaterThanOrEqual(stale.expMs);
    expect(closedAt - stale.expMs).toBeLessThan(1_000);
    await sleep(Math.max(0, fresh.expMs + 500 - Date.now()));
    fresh.c.send(cmd('PING'));
    expect(await fresh.c.next()).toBe('PONG');
    expect(stack.front.stats().evictions - before).toBe(1);
    expect(evictions).toEqual([OWNER]);
    fresh.c.close();
  });

  it('a re-AUTH pipelined behind BLPOP 0 does not count until BLPOP returns: evicted while blocked', async () => {
    const { c, expMs } = await authed();
    c.send(
      cmd('BLPOP', 'queue:never', '0'),
      cmd('AUTH', OWNER, await stack.tokens.sign({ oid: OWNER, lifetimeMs: 10_000 })),
    );
    const closedAt = await c.waitClosed(LIFETIME_MS + 2_000);
    expect(closedAt - expMs).toBeLessThan(1_000);
    await expect(c.next(10)).rejects.toThrow(/closed/);
  });

  it('the same re-AUTH counts once BLPOP returns before expiry', async () => {
    const { c, expMs } = await authed();
    c.send(
      cmd('BLPOP', 'queue:soon', '0'),
      cmd('AUTH', OWNER, await stack.tokens.sign({ oid: OWNER, lifetimeMs: 10_000 })),
    );
    const pusher = await authed();
    await sleep(300);
    pusher.c.send(cmd('RPUSH', 'queue:soon', 'item'));
    expect(await pusher.c.next()).toBe(1);
    expect(await c.next()).toEqual(['queue:soon', 'item']);
    expect(await c.next()).toBe('OK');
    await sleep(Math.max(0, expMs + 500 - Date.now()));
    c.send(cmd('PING'));
    expect(await c.next()).toBe('PONG');
    c.close();
    pusher.c.close();
  });

  it('XREAD BLOCK 0 likewise delays the re-AUTH', async () => {
    const { c, expMs } = await authed();
    c.send(
      cmd('XREAD', 'BLOCK', '0', 'STREAMS', 'stream:never', '$'),
      cmd('AUTH', OWNER, await stack.tokens.sign({ oid: OWNER, lifetimeMs: 10_000 })),
    );
    const closedAt = await c.waitClosed(LIFETIME_MS + 2_000);
    expect(closedAt - expMs).toBeLessThan(1_000);
  });

  it('RESP2 subscriber: re-AUTH is refused by Redis and the connection is evicted', async () => {
    const { c, expMs } = await authed();
    const publisher = await authed();
    c.send(cmd('SUBSCRIBE', 'news', 'sport'));
    expect(await c.replies_(2)).toEqual([
      ['subscribe', 'news', 1],
      ['subscribe', 'sport', 2],
    ]);
    publisher.c.send(cmd('PUBLISH', 'news', 'hello'));
    c.send(
      cmd('AUTH', OWNER, await stack.tokens.sign({ oid: OWNER, lifetimeMs: 10_000 })),
      cmd('PING'),
    );
    const got = await c.replies_(3);
    expect(got).toContainEqual(['message', 'news', 'hello']);
    const errors = got.filter((r) => r instanceof Error) as Error[];
    expect(errors).toHaveLength(1);
    expect(errors[0]!.message).toMatch(/Can't execute 'auth'/);
    expect(got).toContainEqual(['pong', '']);
    const closedAt = await c.waitClosed(LIFETIME_MS + 2_000);
    expect(closedAt - expMs).toBeLessThan(1_000);
    publisher.c.close();
  });

  it('RESP3 subscriber: re-AUTH works in place and extends the connection', async () => {
    const { c, expMs } = await authed(true);
    const publisher = await authed(false, 10_000);
    c.send(cmd('SUBSCRIBE', 'news'), cmd('PSUBSCRIBE', 'n*'));
    expect(await c.replies_(2)).toEqual([
      { push: ['subscribe', 'news', 1] },
      { push: ['psubscribe', 'n*', 2] },
    ]);
    await sleep(300);
    c.send(cmd('AUTH', OWNER, await stack.tokens.sign({ oid: OWNER, lifetimeMs: 10_000 })));
    expect(await c.next()).toBe('OK');
    await sleep(Math.max(0, expMs + 500 - Date.now()));
    publisher.c.send(cmd('PUBLISH', 'news', 'still-here'));
    const got = await c.replies_(2);
    expect(got).toContainEqual({ push: ['message', 'news', 'still-here'] });
    c.send(cmd('UNSUBSCRIBE'), cmd('PUNSUBSCRIBE'), cmd('GET', 'nothing'));
    expect(await c.replies_(3)).toEqual([
      { push: ['unsubscribe', 'news', 1] },
      { push: ['punsubscribe', 'n*', 0] },
      null,
    ]);
    c.close();
    publisher.c.close();
  });
});
