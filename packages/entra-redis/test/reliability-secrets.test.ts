// Secret hygiene (issue #9): across a run of the fault matrix (identity outage past expiry, a
// refused re-AUTH, dropped connections, a signing-key rotation) everything the library can show
// a human — console output, logger lines, events, errors (message, stack, inspect, JSON) and
// util.inspect of the token source, the node-redis client, the ioredis client (and its options
// minus the password ioredis keeps), the options, the credential factory and the credentials — is collected, and no issued token (nor any JWT) and no client secret is in
// it. The unit-level version with a fake identity provider is redaction.test.ts.
import { connect as tcpConnect } from 'node:net';
import { networkInterfaces } from 'node:os';
import { inspect } from 'node:util';
import { TokenSource, isEntraRedisError, servicePrincipalSecret } from 'entra-redis';
import { createClient } from 'entra-redis/node-redis';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { sleep, startTestEmulator, waitFor, type TestEmulator } from './helpers/emulator.js';
import {
  SOURCE_OPTIONS,
  LIFETIME_SEC,
  nextRefresh,
  startPair,
  waitForRecovery,
} from './reliability-fixture.js';

const JWT = /eyJ[\w-]{4,}\.eyJ[\w-]{4,}\.[\w-]+/;
const show = (value: unknown): string[] => {
  const out = [inspect(value, { depth: 8, getters: true }), inspect(value, { showHidden: true })];
  try {
    out.push(JSON.stringify(value) ?? '');
  } catch {
    // circular: inspect covers it
  }
  if (value instanceof Error) out.push(String(value), value.message, value.stack ?? '');
  return out;
};

let env: TestEmulator;
beforeAll(async () => {
  env = await startTestEmulator({ tokenLifetimeSec: LIFETIME_SEC });
});
afterAll(() => env?.close());

describe('no token and no secret anywhere across the fault matrix', () => {
  it('logs, events, errors and util.inspect output hold none', async () => {
    const { emulator } = env;
    const secret = emulator.servicePrincipal.clientSecret;
    const out: string[] = [];
    const consoleSpies = (['log', 'info', 'warn', 'error', 'debug'] as const).map((level) =>
      vi.spyOn(console, level).mockImplementation((...args: unknown[]) => {
        out.push(...args.flatMap(show));
      }),
    );
    const log = (level: string) => (message: string, fields?: Record<string, unknown>) =>
      out.push(`${level} ${message}`, ...show(fields));
    const factory = servicePrincipalSecret({
      tenantId: emulator.tenantId,
      clientId: emulator.servicePrincipal.clientId,
      clientSecret: secret,
      ...emulator.credentialOptions(),
    });
    const sourceOptions = {
      ...SOURCE_OPTIONS,
      credential: factory,
      logger: { debug: log('debug'), info: log('info'), warn: log('warn'), error: log('error') },
    };
    const source = new TokenSource(sourceOptions);
    const tokens = new Set<string>();
    source.onCredentials((c) => tokens.add(c.password));
    for (const event of ['refreshed', 'refreshFailed', 'expired', 'recovered'] as const) {
      source.on(event, (payload: unknown) => out.push(event, ...show(payload)));
    }
    const errors: unknown[] = [];
    const first = await source.getCredentials();
    tokens.add(first.password);
    const pair = await startPair(env, source, 'secrets', errors);
    for (const client of [pair.node, pair.io] as const) {
      (client as { on(e: string, f: (e: unknown) => void): void }).on('error', (e) =>
        errors.push(e),
      );
    }
    const { tenant } = emulator;
    const verify = tenant.verifyRedisAuth.bind(tenant);
    try {
      // Identity outage past expiry, then recovery.
      const { expiresAtMs } = await source.getCredentials();
      const outage = emulator.identity.faults.inject({
        kind: 'status',
        status: 503,
        durationMs: expiresAtMs - Date.now() + 1_500,
      });
      await waitFor(() => outage.ended, 20_000, 'the outage to end');
      await waitForRecovery(pair.probes, Date.now(), 10_000);
      // One refused re-AUTH.
      let refuse = true;
      tenant.verifyRedisAuth = async (u, p) =>
        refuse ? ((refuse = false), { ok: false, reason: 'refused by the test' }) : verify(u, p);
      await nextRefresh(source);
      await waitFor(() => !refuse, 5_000, 'the refused AUTH');
      // Dropped connections and a signing-key rotation.
      emulator.faults.dropRedisConnections();
      emulator.faults.rotateSigningKey();
      await nextRefresh(source);
      await waitForRecovery(pair.probes, Date.now(), 10_000);
      await sleep(300);
      // An invalid configuration holding the secret.
      try {
        servicePrincipalSecret({ tenantId: 'bad tenant', clientId: 'x', clientSecret: secret });
      } catch (e) {
        errors.push(e);
      }
      tokens.add((await source.getCredentials()).password);
      const current = await source.getCredentials();
      out.push(...show(current), `${current}`, String(Object.keys(current)));
      // Not the ioredis client itself: ioredis keeps the password (the token) in its
      // `options.password` and `condition.auth` by design, as it does for any password. Nor
      // @azure/identity's ClientSecretCredential (`factory()`), which keeps its clientSecret.
      const ioOptions = { ...pair.io.options, password: undefined };
      for (const value of [source, sourceOptions, factory, pair.node, ioOptions]) {
        out.push(...show(value));
      }
      // The ioredis client itself: protected clients print a summary without the token ioredis
      // keeps in its options, connector and handshake state.
      out.push(inspect(pair.io, { depth: 8 }), inspect(pair.io, { showHidden: true }));
    } finally {
      tenant.verifyRedisAuth = verify;
      await pair.close();
      await source.close();
      for (const spy of consoleSpies) spy.mockRestore();
    }
    const failures = pair.probes.flatMap((p) => p.failures);
    out.push(...errors.flatMap(show), ...failures.flatMap((f) => [f.message, ...show(f.error)]));

    // The run really went through the faults.
    const text = out.join('\n');
    expect(failures.some((f) => f.code === 'TOKEN_EXPIRED')).toBe(true);
    expect(errors.length).toBeGreaterThanOrEqual(2);
    expect(text).toMatch(/refreshFailed/);
    expect(text).toMatch(/recovered/);
    expect(tokens.size).toBeGreaterThanOrEqual(3);
    // ... and printed none of them.
    for (const token of tokens) {
      expect(text.includes(token), 'an issued token').toBe(false);
      expect(text.includes(token.split('.')[1]!), 'a token payload').toBe(false);
      expect(text.includes(token.split('.')[2]!), 'a token signature').toBe(false);
    }
    expect(text.match(JWT)?.[0].slice(0, 12), 'a JWT').toBeUndefined();
    expect(text.includes(secret), 'the client secret').toBe(false);
  }, 90_000);
});

/** Whether a TCP connection to `host:port` is accepted. */
function accepts(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = tcpConnect({ host, port, timeout: 2_000 });
    const done = (ok: boolean) => {
      socket.destroy();
      resolve(ok);
    };
    socket.once('connect', () => done(true));
    socket.once('error', () => done(false));
    socket.once('timeout', () => done(false));
  });
}

describe('transport', () => {
  it('TLS with certificate verification is the default: an untrusted server certificate is refused', async () => {
    const source = env.tokenSource(SOURCE_OPTIONS);
    const { host, port } = env.emulator.redis;
    const client = createClient({
      socket: { host, port, tls: true, reconnectStrategy: false },
      tokenSource: source,
    });
    client.on('error', () => undefined);
    const before = env.emulator.stats().redis;
    await expect(client.connect()).rejects.toThrow(/self[- ]signed|unable to verify|certificate/i);
    expect(env.emulator.stats().redis.authOk).toBe(before.authOk); // no token was sent
    await client.destroy();
  });

  it('plaintext to an Azure host name is refused unless explicitly allowed', () => {
    const source = env.tokenSource(SOURCE_OPTIONS);
    const socket = { host: 'contoso.redis.cache.windows.net', port: 6380, tls: false as const };
    let error: unknown;
    try {
      createClient({ socket, tokenSource: source });
    } catch (e) {
      error = e;
    }
    expect(isEntraRedisError(error) && error.code).toBe('INSECURE_CONNECTION');
    expect(() =>
      createClient({ socket, tokenSource: source, allowInsecureConnection: true }),
    ).not.toThrow();
  });

  it('the emulator listens on loopback only', async () => {
    const { emulator } = env;
    const ports = [
      emulator.redis.port,
      Number(new URL(emulator.authorityHost).port),
      Number(new URL(emulator.identity.managedIdentityEndpoint).port),
    ];
    expect(emulator.redis.host).toBe('127.0.0.1');
    expect(new URL(emulator.authorityHost).hostname).toBe('127.0.0.1');
    const external = Object.values(networkInterfaces())
      .flat()
      .filter((a) => a && !a.internal && a.family === 'IPv4')
      .map((a) => a!.address);
    for (const port of ports) {
      expect(await accepts('127.0.0.1', port), `loopback :${port}`).toBe(true);
      for (const address of external) {
        expect(await accepts(address, port), `${address}:${port}`).toBe(false);
      }
    }
  });
});
