// The BullMQ example against the emulator with 3-second tokens: a producer adds jobs while a
// worker processes them across token rotations; every job completes once, none fails or sticks.
import type { Job, Queue, Worker } from 'bullmq';
import type { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startExampleEmulator, waitFor, type ExampleEmulator } from '../test-emulator.js';
import { connectRedis } from './redis.js';
import { createQueue, createWorker, produceJobs, sendEmail, type EmailJob } from './worker.js';

describe('BullMQ producer and worker (ioredis, Entra ID)', () => {
  let env: ExampleEmulator;
  let connection: Redis | undefined;
  let queue: Queue<EmailJob> | undefined;
  let worker: Worker<EmailJob, string> | undefined;

  beforeAll(async () => {
    env = await startExampleEmulator(3);
  });

  afterAll(async () => {
    await worker?.close();
    await queue?.close();
    await connection?.quit();
    await env?.close();
  });

  it('completes every job exactly once across token rotations', async () => {
    connection = await connectRedis(env.settings, { maxRetriesPerRequest: null });
    queue = createQueue(connection, 'emails-test');
    const handled = new Map<string, number>();
    const completed = new Set<string>();
    const failures: string[] = [];
    const handler = (job: Job<EmailJob>): Promise<string> => {
      handled.set(job.id!, (handled.get(job.id!) ?? 0) + 1);
      return sendEmail(job);
    };
    worker = createWorker(connection, handler, 'emails-test');
    worker.on('completed', (job) => completed.add(job.id!));
    worker.on('failed', (job, error) => failures.push(`job ${job?.id}: ${error.message}`));
    worker.on('error', (error) => failures.push(`worker: ${error.message}`));
    const start = env.rotations();
    const rotated = (n: number) => () => env.rotations() - start >= n;

    // A burst, a quiet spell (the worker then waits blocked, on the connection BullMQ opened with
    // duplicate(), across a rotation), and another burst: at least 4 rotations in all.
    const burst = async (untilRotations: number): Promise<number> => {
      const stop = new AbortController();
      const producing = produceJobs(queue!, { intervalMs: 20, signal: stop.signal });
      await waitFor(rotated(untilRotations), 20_000, `${untilRotations} rotations`);
      stop.abort();
      return producing;
    };
    let added = await burst(2);
    await waitFor(rotated(3), 20_000, '3 rotations');
    added += await burst(4);
    await waitFor(() => completed.size >= added, 20_000, `${added} jobs completed`);

    expect(failures).toEqual([]);
    expect(added).toBeGreaterThan(10);
    expect(completed.size).toBe(added);
    expect([...handled.values()].every((n) => n === 1)).toBe(true);
    const counts = await queue.getJobCounts('waiting', 'active', 'delayed', 'failed', 'completed');
    expect(counts).toEqual({ waiting: 0, active: 0, delayed: 0, failed: 0, completed: added });
    expect(env.rotations() - start).toBeGreaterThanOrEqual(4);
    const { redis } = env.emulator.stats();
    expect(redis.reauthOk).toBeGreaterThanOrEqual(4);
    expect(redis.evictions).toBe(0);
  }, 60_000);
});
