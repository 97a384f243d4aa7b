// Small helpers of the RESP2 subscriber handoff (rotation.ts).
import type { IORedisLike } from './types.js';

/** Channel of a message event's arguments (pmessage: the second one). */
export function channelOf(event: string, args: unknown[]): string {
  return String(event.startsWith('pmessage') ? args[1] : args[0]);
}

/** True while `client` is ready and not closing (no `quit()`/`disconnect()` under way). */
export function isOpen(client: IORedisLike): boolean {
  return client.status === 'ready' && !client.manuallyClosing;
}

/** Resolves at the next `event` of `redis`. */
export function once(redis: IORedisLike, event: string): Promise<void> {
  return new Promise((resolve) => redis.once(event, () => resolve()));
}

/**
 * Resolves once `client` is ready. Commands must wait for it: ioredis writes SUBSCRIBE (a
 * "loading" command) before its ready check, whose INFO Redis then refuses in subscriber mode,
 * and the connection is dropped.
 */
export function ready(client: IORedisLike): Promise<void> {
  return client.status === 'ready' ? Promise.resolve() : once(client, 'ready');
}
