// A Redis lock with fencing tokens: SET key token NX PX to take it, INCR for a fencing token,
// and Lua scripts that release or extend it only while the caller still holds it.
import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Redis } from 'ioredis';

/** A held lock. Pass `fence` to the protected resource with every write. */
export interface Lock {
  readonly name: string;
  /** Random value identifying this holder; only it can release or extend the lock. */
  readonly token: string;
  /** Fencing token: greater than that of every earlier holder of this lock. */
  readonly fence: number;
  readonly ttlMs: number;
}

/** Options of {@link acquireLock}. */
export interface LockOptions {
  /** The lock expires after this long unless extended, in ms. @default 10000 */
  readonly ttlMs?: number;
  /** Give up after waiting this long for the lock, in ms. @default 10000 */
  readonly waitMs?: number;
  /** Pause between attempts (with random jitter up to the same again), in ms. @default 10 */
  readonly retryDelayMs?: number;
}

// Both keys share a hash tag, so the scripts also work on a clustered cache.
const lockKey = (name: string): string => `lock:{${name}}`;
const fenceKey = (name: string): string => `lock:{${name}}:fence`;

// Take the lock and, only if that succeeded, draw the next fencing token: one atomic step.
const ACQUIRE = `
if redis.call('SET', KEYS[1], ARGV[1], 'NX', 'PX', ARGV[2]) then
  return redis.call('INCR', KEYS[2])
end
return false`;

const RELEASE = `
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0`;

const EXTEND = `
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('PEXPIRE', KEYS[1], ARGV[2]) end
return 0`;

/**
 * Takes the lock `name`, retrying until `waitMs` has passed (then throws).
 *
 * @example
 * ```ts
 * const lock = await acquireLock(redis, 'invoice:42', { ttlMs: 5_000 });
 * try { await saveInvoice(data, lock.fence); } finally { await releaseLock(redis, lock); }
 * ```
 */
export async function acquireLock(
  redis: Redis,
  name: string,
  { ttlMs = 10_000, waitMs = 10_000, retryDelayMs = 10 }: LockOptions = {},
): Promise<Lock> {
  const token = randomUUID();
  const deadline = Date.now() + waitMs;
  for (;;) {
    const fence = await redis.eval(ACQUIRE, 2, lockKey(name), fenceKey(name), token, ttlMs);
    if (typeof fence === 'number') return { name, token, fence, ttlMs };
    if (Date.now() >= deadline) throw new Error(`lock "${name}" not acquired within ${waitMs} ms`);
    await sleep(retryDelayMs + Math.random() * retryDelayMs);
  }
}

/**
 * Releases the lock if `lock` still holds it; false when it had expired (and maybe been taken).
 *
 * @example
 * ```ts
 * if (!(await releaseLock(redis, lock))) console.warn('the lock expired before release');
 * ```
 */
export async function releaseLock(redis: Redis, lock: Lock): Promise<boolean> {
  return (await redis.eval(RELEASE, 1, lockKey(lock.name), lock.token)) === 1;
}

/**
 * Resets the lock's expiry to `ttlMs` from now if `lock` still holds it; false otherwise.
 *
 * @example
 * ```ts
 * if (!(await extendLock(redis, lock))) throw new Error('lost the lock');
 * ```
 */
export async function extendLock(redis: Redis, lock: Lock, ttlMs = lock.ttlMs): Promise<boolean> {
  return (await redis.eval(EXTEND, 1, lockKey(lock.name), lock.token, ttlMs)) === 1;
}

/**
 * Runs `work` while holding the lock `name`, and releases it afterwards, even if `work` throws.
 *
 * @example
 * ```ts
 * await withLock(redis, 'report', async (lock) => writeReport(lock.fence));
 * ```
 */
export async function withLock<T>(
  redis: Redis,
  name: string,
  work: (lock: Lock) => Promise<T>,
  options: LockOptions = {},
): Promise<T> {
  const lock = await acquireLock(redis, name, options);
  try {
    return await work(lock);
  } finally {
    await releaseLock(redis, lock);
  }
}
