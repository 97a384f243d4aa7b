import { Queue, Worker, type Job } from 'bullmq';
import { createRedis } from 'entra-redis/ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sleep, startTestEmulator, waitFor, type TestEmulator } from './helpers/emulator.js';
import { rotationsAfterConnectWithinMs } from './helpers/bounds.js';

// Rule 9 of the ioredis adapter: a real BullMQ queue and worker process jobs continuously
// across eight token rotations (as docs/ioredis.md says), counted after the client connected,
// with zero failed or stuck jobs. BullMQ opens its blocking connection with duplicate() and
// blocks in BZPOPMIN, so this also exercises the duplicate() protection and the blocking-command
// cut under a real consumer.
const LIFETIME_SEC = 3;
const ROTATIONS = 8;
/** Deadline for the rotations after connect(): one token lifetime each, and one of slack. */
const ROTATIONS_WITHIN_MS = rotationsAfterConnectWithinMs(ROTATIONS, LIFETIME_SEC);

describe('BullMQ over entra-redis/ioredis across token rotations', () => {
  let env: TestEmulator;

  beforeAll(async () => {
    env = await startTestEmulator({ tokenLifetimeSec: LIFETIME_SEC });
  });
  afterAll(() => env?.close());

  it(
    'processes every job across eight rotations with none failed or stuck',
    async () => {
      const { emulator } = env;
      const source = env.tokenSource();
      const connection = await createRedis({
        host: emulator.redis.host,
        port: emulator.redis.port,
        tls: { ca: emulator.caCertPem },
        tokenSource: source,
        maxRetriesPerRequest: null, // BullMQ workers require it
      });
      // Rotations after connect (createRedis resolves connected).
      const connectedAt = Date.now();
      let rotations = 0;
      source.on('refreshed', () => (rotations += 1));

      const name = `jobs-${Date.now()}`;
      const queue = new Queue(name, { connection });
      const processed = new Set<number>();
      const failed: string[] = [];
      const worker = new Worker(
        name,
        async (job: Job<{ n: number }>) => {
          processed.add(job.data.n);
          return job.data.n * 2;
        },
        { connection, concurrency: 4 },
      );
      worker.on('failed', (job, error) => failed.push(`${job?.id}: ${error.message}`));
      worker.on('error', (error) => failed.push(`worker error: ${error.message}`));

      const evictionsBefore = emulator.stats().redis.evictions;
      let added = 0;
      const deadline = connectedAt + ROTATIONS_WITHIN_MS;
      while (rotations < ROTATIONS && Date.now() < deadline) {
        await queue.add('work', { n: added });
        added += 1;
        // Bursts and pauses, so the worker also sits blocked in BZPOPMIN across rotations.
        await sleep(added % 20 === 0 ? 1_500 : 25);
      }
      await waitFor(() => processed.size === added, 15_000, `${added} jobs processed`);

      expect(failed).toEqual([]);
      expect(rotations, 'rotations after connect').toBeGreaterThanOrEqual(ROTATIONS);
      expect(emulator.stats().redis.evictions - evictionsBefore).toBe(0);
      const counts = await queue.getJobCounts(
        'waiting',
        'active',
        'delayed',
        'failed',
        'completed',
      );
      expect(counts).toMatchObject({
        waiting: 0,
        active: 0,
        delayed: 0,
        failed: 0,
        completed: added,
      });

      await worker.close();
      await queue.close();
      await connection.quit();
      // 'end' (which drops each connection's subscription) follows quit() by a tick or two.
      await waitFor(() => source.listenerCount('credentials') === 0, 3_000, 'no subscription left');
    },
    ROTATIONS_WITHIN_MS + 40_000,
  );
});
