// Issue 19 against the emulated 3-shard cluster: an ESM node-redis application (client and pool
// from a rediss:// URL, createCluster) and a CommonJS ioredis application (Redis.Cluster, a
// plain client), unmodified, under the preload, across >= 5 rotations.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { keysOnEveryShard, keySlot, shardOf } from './cluster-fixture.js';
import { shardSlots } from './cluster-scenario.js';
import { startTestEmulator, type TestEmulator } from './helpers/emulator.js';
import { appDir, JWT, runApp, type AppDir, type AppRun } from './helpers/preload.js';

const LIFETIME_SEC = 4;
const DURATION_MS = 6 * LIFETIME_SEC * 1_000;
const RUN_TIMEOUT_MS = DURATION_MS + 45_000;

let env: TestEmulator;
let dir: AppDir;
beforeAll(async () => {
  env = await startTestEmulator({
    tokenLifetimeSec: LIFETIME_SEC,
    cluster: { shards: 3, replicasPerShard: 0 },
  });
  dir = await appDir();
});
afterAll(async () => {
  await dir?.close();
  await env?.close();
});

const refreshes = (run: AppRun): number =>
  run.stderr.split('\n').filter((line) => line.includes('token source: access token refreshed'))
    .length;

describe('the zero-code preload, cluster', () => {
  it(
    'node-redis createClient, createClientPool and createCluster (ESM), ioredis Redis.Cluster ' +
      '(CommonJS): no failed command, no message lost, zero evictions',
    async () => {
      const shards = shardSlots(env);
      // Each application its own keys: on every shard for the cluster clients, and on the
      // first master's shard (REDIS_PORT) for the plain clients.
      const appEnv = (app: string) => ({
        ...env.emulator.env(),
        ENTRA_REDIS_LOG: 'debug',
        APP_DURATION_MS: String(DURATION_MS),
        APP_LOCAL_KEY: Array.from({ length: 1_000 }, (_, n) => `${app}:local:${n}`).find(
          (key) => shardOf(keySlot(key), shards) === 0,
        )!,
        APP_CLUSTER_KEYS: keysOnEveryShard(app, shards, 3).join(','),
      });
      const before = env.emulator.stats().redis;
      const [nodeRedis, ioredis] = await Promise.all([
        runApp(
          dir,
          'node-redis.mjs',
          appEnv('node-redis'),
          ['--import', 'entra-redis/register'],
          RUN_TIMEOUT_MS,
        ),
        runApp(
          dir,
          'ioredis-cluster.cjs',
          appEnv('ioredis'),
          ['--require', 'entra-redis/register'],
          RUN_TIMEOUT_MS,
        ),
      ]);
      const after = env.emulator.stats().redis;
      for (const [name, run] of Object.entries({ nodeRedis, ioredis })) {
        expect(run.code, `${name} exit code; stderr:\n${run.stderr.slice(-2_000)}`).toBe(0);
        expect(refreshes(run), `${name}: new tokens`).toBeGreaterThanOrEqual(6);
        expect(`${run.stdout}${run.stderr}`.match(JWT)?.[0].slice(0, 12)).toBeUndefined();
        const result = run.result as { commands: { ok: number; failed: number; errors: string[] } };
        expect(result.commands.failed, `${name}: ${result.commands.errors.join('\n')}`).toBe(0);
        expect(result.commands.ok, name).toBeGreaterThan(100);
      }
      const messages = (nodeRedis.result as { messages: { published: number; lost: number } })
        .messages;
      expect(messages.lost).toBe(0);
      expect(messages.published).toBeGreaterThan(100);
      // The debug lines name what was protected: the cluster, and the plain client and pool.
      expect(nodeRedis.stderr).toMatch(/protecting node-redis cluster/);
      expect(nodeRedis.stderr).toMatch(/protecting node-redis pool/);
      expect(ioredis.stderr).toMatch(/protecting ioredis Cluster/);
      expect(after.evictions - before.evictions).toBe(0);
      expect(after.authFailed - before.authFailed).toBe(0);
      expect(after.unauthenticatedCommands - before.unauthenticatedCommands).toBe(0);
    },
    RUN_TIMEOUT_MS + 15_000,
  );
});
