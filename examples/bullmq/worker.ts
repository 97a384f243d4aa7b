// A BullMQ queue, a producer and a worker on Azure Redis with Entra ID auth (ioredis).
// Run: npx tsx examples/bullmq/worker.ts (emulator), or set REDIS_HOST (Azure). Here producer and
// worker share one process; in production they usually run apart, each with the same setup.
import { Queue, Worker, type Job } from 'bullmq';
import type { Redis } from 'ioredis';
import { setTimeout as sleep } from 'node:timers/promises';
import { pathToFileURL } from 'node:url';
import { cacheSettingsFromEnv, connectRedis } from './redis.js';

/** Name of the example's queue. */
export const QUEUE_NAME = 'emails';

/** The data of one job. */
export interface EmailJob {
  readonly to: string;
  readonly subject: string;
}

/**
 * The queue jobs are added to.
 *
 * @example
 * ```ts
 * await createQueue(connection).add('welcome', { to: 'ada@example.com', subject: 'Hi' });
 * ```
 */
export function createQueue(connection: Redis, name = QUEUE_NAME): Queue<EmailJob> {
  return new Queue<EmailJob>(name, { connection });
}

/**
 * Handles one job: stands for sending an email.
 *
 * @example
 * ```ts
 * const worker = createWorker(connection, sendEmail);
 * ```
 */
export async function sendEmail(job: Job<EmailJob>): Promise<string> {
  await sleep(10);
  return `sent "${job.data.subject}" to ${job.data.to}`;
}

/**
 * A worker that runs `handler` for every job of the queue, five at a time. BullMQ opens its
 * blocking connection with `connection.duplicate()`, which entra-redis keeps authenticated too.
 *
 * @example
 * ```ts
 * const worker = createWorker(connection);
 * worker.on('failed', (job, error) => console.error(job?.id, error.message));
 * ```
 */
export function createWorker(
  connection: Redis,
  handler: (job: Job<EmailJob>) => Promise<string> = sendEmail,
  name = QUEUE_NAME,
): Worker<EmailJob, string> {
  return new Worker<EmailJob, string>(name, handler, { connection, concurrency: 5 });
}

/**
 * Adds a job every `intervalMs` until `signal` aborts; resolves with the number added.
 *
 * @example
 * ```ts
 * const added = await produceJobs(queue, { intervalMs: 500, signal: AbortSignal.timeout(10_000) });
 * ```
 */
export async function produceJobs(
  queue: Queue<EmailJob>,
  options: { intervalMs: number; signal: AbortSignal },
): Promise<number> {
  let added = 0;
  while (!options.signal.aborted) {
    added += 1;
    await queue.add('welcome', { to: `user${added}@example.com`, subject: `Welcome #${added}` });
    await sleep(options.intervalMs);
  }
  return added;
}

async function main(): Promise<void> {
  const settings = await cacheSettingsFromEnv();
  // BullMQ workers need maxRetriesPerRequest: null (their blocking calls must not time out).
  const connection = await connectRedis(settings, { maxRetriesPerRequest: null });
  const queue = createQueue(connection);
  const worker = createWorker(connection);
  worker.on('completed', (job, result) => console.log(`job ${job.id}: ${result}`));
  worker.on('failed', (job, error) => console.error(`job ${job?.id} failed: ${error.message}`));
  const stop = new AbortController();
  const producing = produceJobs(queue, { intervalMs: 500, signal: stop.signal });

  const shutdown = async (): Promise<void> => {
    stop.abort();
    console.log(`added ${await producing} jobs`);
    await worker.close(); // waits for the jobs in progress
    await queue.close();
    await connection.quit();
    await settings.close();
  };
  process.once('SIGINT', shutdown);
  process.once('SIGTERM', shutdown);
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) await main();
