// Malformed tokens (issue #9): a credential returning something that is not a usable Redis
// access token fails with a clear EntraRedisError, on both clients, before any AUTH reaches the
// Redis front end and without echoing the token. Decoder details: errors-jwt.test.ts.
import { TokenSource, isEntraRedisError } from 'entra-redis';
import { createRedis } from 'entra-redis/ioredis';
import { createClient } from 'entra-redis/node-redis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ScriptedCredential, makeJwt } from './fakes.js';
import { startTestEmulator, type TestEmulator } from './helpers/emulator.js';

async function thrown(run: () => unknown): Promise<unknown> {
  try {
    await run();
  } catch (error) {
    return error;
  }
  return undefined;
}

describe('malformed tokens fail with a clear error before anything is sent to Redis', () => {
  let env: TestEmulator;
  beforeAll(async () => {
    env = await startTestEmulator({ tokenLifetimeSec: 60 });
  });
  afterAll(() => env?.close());

  const future = () => Math.floor(Date.now() / 1000) + 600;
  const aud = 'https://redis.azure.com';
  const b64 = (v: unknown) => Buffer.from(JSON.stringify(v)).toString('base64url');
  const tokens: Array<[string, (oid: string) => string, string, RegExp]> = [
    ['not a JWT', () => 'not-a-jwt', 'TOKEN_MALFORMED', /has 1 segment\(s\)/],
    [
      'bad base64',
      () => `${b64({ alg: 'RS256' })}.pay+load.sig`,
      'TOKEN_MALFORMED',
      /not base64url/,
    ],
    [
      'no oid',
      () => makeJwt({ aud, exp: future() }),
      'TOKEN_MALFORMED',
      /"oid" claim \(the Redis username\) is missing/,
    ],
    [
      'already expired',
      (oid) => makeJwt({ oid, aud, exp: future() - 1200 }),
      'TOKEN_EXPIRED',
      /already expired.*check the clock/,
    ],
    [
      'wrong audience',
      (oid) => makeJwt({ oid, aud: 'https://storage.azure.com', exp: future() }),
      'TOKEN_MALFORMED',
      /audience \("https:\/\/storage\.azure\.com"\) is not Redis; request the scope https:\/\/redis\.azure\.com\/\.default/,
    ],
  ];

  it.each(tokens)(
    '%s: both clients reject, the front end sees no AUTH',
    async (_l, make, code, fragment) => {
      const token = make(env.emulator.servicePrincipal.oid);
      const bad = new ScriptedCredential(() => ({ token, expiresOnTimestamp: future() * 1000 }));
      const badSource = new TokenSource({ credential: bad, metrics: false });
      const before = env.emulator.stats().redis;
      const { host, port } = env.emulator.redis;
      const ca = env.emulator.caCertPem;
      const nodeClient = createClient({
        socket: { host, port, tls: true, ca, reconnectStrategy: false },
        tokenSource: badSource,
      });
      nodeClient.on('error', () => undefined);
      try {
        const errors = [
          await thrown(() => nodeClient.connect()),
          await thrown(() => createRedis({ host, port, tls: { ca }, tokenSource: badSource })),
          await thrown(() => badSource.getCredentials()),
        ];
        for (const error of errors) {
          expect(isEntraRedisError(error), String(error)).toBe(true);
          expect(error).toMatchObject({ code });
          expect((error as Error).message).toMatch(fragment);
          expect((error as Error).message).not.toContain(token);
        }
        const after = env.emulator.stats().redis;
        expect(after.authOk + after.authFailed).toBe(before.authOk + before.authFailed);
        expect(after.protocolErrors).toBe(before.protocolErrors);
        // node-redis opens its socket before the handshake asks for credentials; nothing is
        // written on it. ioredis asks first and opens none.
        expect(after.connectionsTotal - before.connectionsTotal).toBeLessThanOrEqual(1);
      } finally {
        await nodeClient.destroy();
        await badSource.close();
      }
    },
  );
});
