import { Redis as IORedis } from 'ioredis';
import { Redis as IORedis5 } from 'ioredis5';
import { createClient } from 'redis';
import { createClient as createClient5 } from 'redis5';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BUILTIN_ACCESS_POLICIES } from '../src/redis-front/index.js';
import {
  CONTRIBUTOR,
  OWNER,
  READER,
  STRANGER,
  RawClient,
  cmd,
  ioredisTlsOptions,
  startStack,
  type Stack,
} from './redis-front-helpers.js';

const WRONGPASS = 'WRONGPASS invalid username-password pair';

describe('redis front: authentication and access policies', () => {
  let stack: Stack;
  beforeAll(async () => {
    stack = await startStack({ accessPolicies: { 'Get Only': '+get +auth +hello allkeys' } });
    stack.tokens.policies.set(STRANGER.replace('4444', '5555'), 'Get Only');
  });
  afterAll(async () => {
    await stack?.close();
  });

  const tlsOpts = () => ({
    host: '127.0.0.1',
    port: stack.front.tlsPort!,
    tls: true as const,
    ca: stack.tls.ca,
    servername: 'localhost',
  });

  for (const RESP of [2, 3] as const) {
    it(`node-redis 6 and 5 authenticate over TLS with RESP${RESP}; a Data Reader's SET gets NOPERM`, async () => {
      for (const create of [createClient, createClient5 as unknown as typeof createClient]) {
        const owner = create({
          socket: { ...tlsOpts(), reconnectStrategy: false },
          username: OWNER,
          password: await stack.tokens.sign({ oid: OWNER }),
          RESP,
        });
        owner.on('error', () => undefined);
        await owner.connect();
        expect(await owner.set('k', 'v')).toBe('OK');
        expect(await owner.get('k')).toBe('v');
        const reader = create({
          socket: { ...tlsOpts(), reconnectStrategy: false },
          username: READER,
          password: await stack.tokens.sign({ oid: READER }),
          RESP,
        });
        reader.on('error', () => undefined);
        await reader.connect();
        expect(await reader.get('k')).toBe('v');
        await expect(reader.set('k', 'x')).rejects.toThrow(/^NOPERM/);
        owner.destroy();
        reader.destroy();
      }
    });
  }

  it('ioredis 6 (RESP2 and RESP3) and ioredis 5 authenticate over TLS', async () => {
    const token = await stack.tokens.sign({ oid: OWNER });
    const base = {
      ...ioredisTlsOptions(stack, OWNER, token),
      maxRetriesPerRequest: 0,
      retryStrategy: () => null,
    };
    const clients = [
      new IORedis({ ...base }),
      new IORedis({ ...base, protocol: 3 }),
      new IORedis5({ ...base }),
    ];
    try {
      for (const c of clients) {
        c.on('error', () => undefined);
        expect(await c.set('io', '1')).toBe('OK');
        expect(await c.get('io')).toBe('1');
      }
      const reader = new IORedis5({
        ...base,
        username: READER,
        password: await stack.tokens.sign({ oid: READER }),
      });
      reader.on('error', () => undefined);
      await expect(reader.set('io', '2')).rejects.toThrow(/NOPERM/);
      reader.disconnect();
    } finally {
      for (const c of clients) c.disconnect();
    }
  });

  it('refuses a wrong username, a tampered, expired or wrong-audience token and an unknown principal, in pipeline order', async () => {
    const { tokens } = stack;
    const good = await tokens.sign({ oid: OWNER });
    const [h, p, s] = good.split('.');
    const tampered = `${h}.${Buffer.from(JSON.stringify({ ...JSON.parse(Buffer.from(p!, 'base64url').toString()), oid: READER })).toString('base64url')}.${s}`;
    const expired = await tokens.sign({ oid: OWNER, expMs: Date.now() - 1_000 });
    const wrongAud = await tokens.sign({ oid: OWNER, aud: 'https://storage.azure.com' });
    const stranger = await tokens.sign({ oid: STRANGER });
    const events: unknown[] = [];
    const onAuth = (e: unknown): void => void events.push(e);
    stack.front.events.on('auth', onAuth);
    const before = stack.front.stats();
    const c = await RawClient.connect(stack.front.tlsPort!, stack.tls.ca);
    c.send(
      cmd('PING'),
      cmd('AUTH', READER, good), // wrong username
      cmd('AUTH', READER, tampered),
      cmd('AUTH', OWNER, expired),
      cmd('AUTH', OWNER, wrongAud),
      cmd('AUTH', STRANGER, stranger),
      cmd('AUTH', good), // password only
      cmd('GET', 'k'),
      cmd('AUTH', OWNER, good),
      cmd('ECHO', 'after'),
    );
    const replies = await c.replies_(10);
    expect((replies[0] as Error).message).toMatch(/^NOAUTH/);
    for (const r of replies.slice(1, 7)) expect((r as Error).message).toBe(WRONGPASS);
    expect((replies[7] as Error).message).toMatch(/^NOAUTH/);
    expect(replies.slice(8)).toEqual(['OK', 'after']);
    c.close();
    stack.front.events.off('auth', onAuth);
    const after = stack.front.stats();
    expect(after.authFailed - before.authFailed).toBe(6);
    expect(after.authOk - before.authOk).toBe(1);
    expect(JSON.stringify(events)).not.toContain(good.slice(-20));
  });

  it('HELLO 3 AUTH and HELLO 2 AUTH SETNAME succeed; a failed re-AUTH does not log the connection out', async () => {
    const token = await stack.tokens.sign({ oid: CONTRIBUTOR });
    const c = await RawClient.connect(stack.front.plainPort!);
    c.send(
      cmd('HELLO', '3', 'AUTH', CONTRIBUTOR, token),
      cmd('SET', 'h', '1'),
      cmd('FLUSHALL'),
      cmd('AUTH', CONTRIBUTOR, 'bad.token.x'),
      cmd('GET', 'h'),
    );
    const [hello, set, flush, bad, get] = await c.replies_(5);
    expect(hello).toBeInstanceOf(Map);
    expect((hello as Map<unknown, unknown>).get('proto')).toBe(3);
    expect(set).toBe('OK');
    expect((flush as Error).message).toMatch(/^NOPERM/); // Data Contributor: -@dangerous
    expect((bad as Error).message).toBe(WRONGPASS);
    expect(get).toBe('1');
    c.close();

    const d = await RawClient.connect(stack.front.plainPort!);
    d.send(
      cmd('HELLO', '2', 'AUTH', CONTRIBUTOR, token, 'SETNAME', 'worker-1'),
      cmd('CLIENT', 'GETNAME'),
    );
    const [hello2, name] = await d.replies_(2);
    expect(Array.isArray(hello2)).toBe(true);
    expect(name).toBe('worker-1');
    d.send(cmd('HELLO', '3', 'AUTH', OWNER, token), cmd('PING'));
    const [refused, pong] = await d.replies_(2);
    expect((refused as Error).message).toBe(WRONGPASS);
    expect(pong).toBe('PONG');
    d.close();
  });

  it('applies custom access policies and exports the Azure built-ins', async () => {
    expect(BUILTIN_ACCESS_POLICIES['Data Owner']).toBe('+@all allkeys');
    expect(BUILTIN_ACCESS_POLICIES['Data Reader']).toContain('+@read +@connection');
    const oid = STRANGER.replace('4444', '5555');
    const c = await RawClient.connect(stack.front.plainPort!);
    c.send(
      cmd('AUTH', oid, await stack.tokens.sign({ oid })),
      cmd('GET', 'k'),
      cmd('SET', 'k', '1'),
    );
    const [ok, get, set] = await c.replies_(3);
    expect(ok).toBe('OK');
    expect(get).toBe('v');
    expect((set as Error).message).toMatch(/^NOPERM/);
    c.close();
  });

  it("refuses the commands Azure blocks even to a Data Owner, and redis-server's own replies to the rest", async () => {
    const c = await RawClient.connect(stack.front.plainPort!);
    c.send(
      cmd('AUTH', OWNER, await stack.tokens.sign({ oid: OWNER })),
      cmd('CONFIG', 'GET', 'requirepass'),
      cmd('CONFIG', 'SET', 'maxmemory', '1mb'),
      cmd('ACL', 'SETUSER', 'someone', 'on', '+@all'),
      cmd('SAVE'),
      cmd('BGSAVE'),
      cmd('CLUSTER', 'MEET', '127.0.0.1', '1'),
      cmd('SHUTDOWN', 'NOSAVE'),
      cmd('SET', 'owned', '1'),
      cmd('FLUSHALL'),
      cmd('PING'),
    );
    const [ok, ...rest] = await c.replies_(11);
    expect(ok).toBe('OK');
    const blocked = rest.slice(0, 7);
    for (const reply of blocked) expect((reply as Error).message).toMatch(/^NOPERM/);
    expect(rest.slice(7)).toEqual(['OK', 'OK', 'PONG']); // and redis-server is still running
    c.close();
  });

  it('rejectHelloAuth refuses HELLO AUTH but accepts AUTH then HELLO', async () => {
    const strict = await startStack(
      { rejectHelloAuth: true },
      { tls: stack.tls, tokens: stack.tokens },
    );
    try {
      const token = await strict.tokens.sign({ oid: OWNER });
      const c = await RawClient.connect(strict.front.tlsPort!, strict.tls.ca);
      c.send(
        cmd('HELLO', '3', 'AUTH', OWNER, token),
        cmd('AUTH', OWNER, token),
        cmd('HELLO', '3'),
        cmd('PING'),
      );
      const [refused, ok, hello, pong] = await c.replies_(4);
      expect((refused as Error).message).toMatch(/^ERR Syntax error in HELLO option 'AUTH'/);
      expect(ok).toBe('OK');
      expect(hello).toBeInstanceOf(Map);
      expect(pong).toBe('PONG');
      c.close();
      const nr = createClient({
        socket: {
          host: '127.0.0.1',
          port: strict.front.tlsPort!,
          tls: true,
          ca: strict.tls.ca,
          servername: 'localhost',
          reconnectStrategy: false,
        },
        username: OWNER,
        password: token,
        RESP: 3,
      });
      nr.on('error', () => undefined);
      await expect(nr.connect()).rejects.toThrow(/HELLO/);
      nr.destroy();
    } finally {
      await strict.close();
    }
  });

  it('refuses non-loopback hosts', async () => {
    await expect(
      startStack({ host: '0.0.0.0' }, { tls: stack.tls, tokens: stack.tokens }),
    ).rejects.toMatchObject({ code: 'INVALID_OPTION' });
  });
});
