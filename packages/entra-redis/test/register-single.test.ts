// Issue 19: `node --import|--require entra-redis/register` protects the Redis clients of
// unmodified applications. Each application below is an ordinary program with no Entra ID code,
// run in a child process against the emulator with 4-second tokens for six token lifetimes.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestEmulator, type TestEmulator } from './helpers/emulator.js';
import { appDir, JWT, runApp, type AppDir, type AppRun } from './helpers/preload.js';

const LIFETIME_SEC = 4;
/** Six lifetimes: refreshes come at 0.75 of the life or earlier, so at least six new tokens. */
const DURATION_MS = 6 * LIFETIME_SEC * 1_000;
/** Startup, the drain of the last messages and jobs, and shutdown, on a loaded machine. */
const RUN_TIMEOUT_MS = DURATION_MS + 45_000;
const IMPORT = ['--import', 'entra-redis/register'];
const REQUIRE = ['--require', 'entra-redis/register'];

let env: TestEmulator;
let dir: AppDir;
beforeAll(async () => {
  env = await startTestEmulator({ tokenLifetimeSec: LIFETIME_SEC, redis: { plainPort: 0 } });
  dir = await appDir({ nestedIORedis: true });
});
afterAll(async () => {
  await dir?.close();
  await env?.close();
});

function appEnv(extra: Record<string, string> = {}): Record<string, string> {
  return {
    ...env.emulator.env(),
    ENTRA_REDIS_LOG: 'debug',
    APP_DURATION_MS: String(DURATION_MS),
    ...extra,
  };
}

/** Token refreshes the preload logged (debug) in one run: each is a new token of that process. */
const refreshes = (run: AppRun): number =>
  run.stderr.split('\n').filter((line) => line.includes('token source: access token refreshed'))
    .length;

/** Nothing printed holds a token or the client secret. */
function expectNoSecret(run: AppRun): void {
  const text = `${run.stdout}\n${run.stderr}`;
  expect(text.match(JWT)?.[0].slice(0, 12), 'a JWT in the output').toBeUndefined();
  expect(text.includes(env.emulator.servicePrincipal.clientSecret), 'the client secret').toBe(
    false,
  );
}

describe('the zero-code preload, single node', () => {
  it(
    'ioredis + BullMQ on its own ioredis copy + a RESP2 subscriber, socket.io with the redis ' +
      'adapter, and OpenTelemetry-traced clients in either load order: nothing fails or is lost ' +
      'across >= 5 rotations, zero evictions',
    async () => {
      const before = env.emulator.stats().redis;
      const [bullmq, socketio, otelFirst, otelLast] = await Promise.all([
        runApp(dir, 'ioredis-bullmq.mjs', appEnv(), IMPORT, RUN_TIMEOUT_MS),
        runApp(dir, 'socketio.mjs', appEnv(), IMPORT, RUN_TIMEOUT_MS),
        runApp(
          dir,
          'otel-app.cjs',
          appEnv(),
          ['--require', './otel.cjs', ...REQUIRE],
          RUN_TIMEOUT_MS,
        ),
        runApp(
          dir,
          'otel-app.cjs',
          appEnv(),
          [...REQUIRE, '--require', './otel.cjs'],
          RUN_TIMEOUT_MS,
        ),
      ]);
      const after = env.emulator.stats().redis;
      const runs = { bullmq, socketio, otelFirst, otelLast };
      for (const [name, run] of Object.entries(runs)) {
        expect(run.code, `${name} exit code; stderr:\n${run.stderr.slice(-2_000)}`).toBe(0);
        expect(refreshes(run), `${name}: new tokens`).toBeGreaterThanOrEqual(6);
        expectNoSecret(run);
      }

      const app = bullmq.result as {
        commands: { ok: number; failed: number; errors: string[] };
        jobs: { added: number; processed: number; failed: number };
        messages: { published: number; lost: number; duplicates: number };
        ioredis: { app: string; bullmq: string };
      };
      // Two copies of ioredis: the application's own (nested) and the one BullMQ loads.
      expect(app.ioredis.app).toMatch(/^5\./);
      expect(app.ioredis.bullmq).toMatch(/^6\./);
      expect(app.commands.failed, app.commands.errors.join('\n')).toBe(0);
      expect(app.commands.ok).toBeGreaterThan(100);
      expect(app.jobs.failed).toBe(0);
      expect(app.jobs.processed).toBe(app.jobs.added);
      expect(app.jobs.added).toBeGreaterThan(50);
      expect(app.messages.lost).toBe(0);
      expect(app.messages.published).toBeGreaterThan(100);

      const io = socketio.result as {
        sent: number;
        failures: { failed: number };
        clients: { lost: number }[];
      };
      expect(io.failures.failed).toBe(0);
      expect(io.sent).toBeGreaterThan(100);
      expect(io.clients.map((c) => c.lost)).toEqual([0, 0]);

      for (const [name, run] of Object.entries({ otelFirst, otelLast })) {
        const traced = run.result as {
          commands: { ok: number; failed: number; errors: string[] };
          spans: Record<string, number>;
          jwtInSpans: boolean;
        };
        expect(traced.commands.failed, `${name}: ${traced.commands.errors.join('\n')}`).toBe(0);
        // Spans of both instrumentations (ioredis names them 'set', node-redis 'redis-SET'),
        // the re-AUTHs among them, none holding a token.
        expect(traced.spans.set ?? 0, `${name} ioredis spans`).toBeGreaterThanOrEqual(
          traced.commands.ok,
        );
        expect(traced.spans['redis-SET'] ?? 0, `${name} node-redis spans`).toBeGreaterThanOrEqual(
          traced.commands.ok,
        );
        expect(traced.jwtInSpans, `${name}: a token in a span`).toBe(false);
      }
      expect(after.evictions - before.evictions).toBe(0);
      expect(after.authFailed - before.authFailed).toBe(0);
      expect(after.unauthenticatedCommands - before.unauthenticatedCommands).toBe(0);
    },
    RUN_TIMEOUT_MS + 15_000,
  );

  it('leaves alone a client with a password of its own and a client of another host', async () => {
    const seen: Array<{ oid: string; ok: boolean }> = [];
    const onAuth = (event: { oid: string; ok: boolean }) => seen.push(event);
    env.emulator.front.events.on('auth', onAuth);
    const before = env.emulator.stats().redis;
    const run = await runApp(
      dir,
      'leave-alone.cjs',
      appEnv({
        // The plaintext port is another host:port: ENTRA_REDIS_HOSTS names the TLS one only.
        ENTRA_REDIS_HOSTS: `${env.emulator.redis.host}:${env.emulator.redis.port}`,
        APP_OTHER_PORT: String(env.emulator.redis.plainPort),
      }),
      REQUIRE,
      30_000,
    );
    env.emulator.front.events.off('auth', onAuth);
    const after = env.emulator.stats().redis;
    expect(run.code, run.stderr).toBe(0);
    // The front end saw exactly what the application sent: its own usernames and key (refused,
    // as Azure refuses an access key on an Entra-only cache), a PING without AUTH on the other
    // port, and no token at all.
    expect(run.result).toEqual({
      ioredisWithKey: 'error WRONGPASS',
      nodeRedisWithKey: 'error WRONGPASS',
      otherHost: 'error NOAUTH',
    });
    expect(seen.map((e) => e.oid).sort()).toEqual(['app-user', 'node-app-user']);
    expect(seen.every((e) => !e.ok)).toBe(true);
    expect(after.unauthenticatedCommands - before.unauthenticatedCommands).toBeGreaterThanOrEqual(
      1,
    );
    expect(refreshes(run)).toBe(0); // no protected client, so no token was even requested
    expectNoSecret(run);
  });
});
