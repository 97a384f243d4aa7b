// The soak's bookkeeping (scripts/soak.ts): sequence-number sets, per-client counters and
// figures, the process's live handles, and how long its event loop stalled.
import { monitorEventLoopDelay } from 'node:perf_hooks';

/** A set of sequence numbers below `maxSeq` (the loops never go past it), one bit each. */
export class Bits {
  readonly #bytes: Uint8Array;
  readonly #maxSeq: number;
  size = 0;
  constructor(maxSeq: number) {
    this.#maxSeq = maxSeq;
    this.#bytes = new Uint8Array(Math.ceil(maxSeq / 8) + 1);
  }
  has = (n: number): boolean => ((this.#bytes[n >> 3] ?? 0) & (1 << (n & 7))) !== 0;
  add(n: number): void {
    if (this.has(n) || n >= this.#maxSeq) return;
    this.#bytes[n >> 3]! |= 1 << (n & 7);
    this.size += 1;
  }
  /** How many members of this set `other` lacks. */
  missingFrom(other: Bits): number {
    let missing = 0;
    for (let i = 0; i < this.#maxSeq; i += 1) if (this.has(i) && !other.has(i)) missing += 1;
    return missing;
  }
}

/** One client's counters; the sets hold sequence numbers (published = PUBLISH succeeded). */
export const newCounters = (maxSeq: number) => ({
  ...{ ok: 0, failed: 0, errors: {} as Record<string, number> },
  ...{ published: new Bits(maxSeq), received: new Bits(maxSeq), duplicateMessages: 0 },
  ...{ pushed: new Bits(maxSeq), popped: new Bits(maxSeq), duplicateItems: 0 },
});
export type Counters = ReturnType<typeof newCounters>;

/** The figures of one client. */
export function figures(client: string, c: Counters) {
  return {
    ...{ client, commandsOk: c.ok, commandsFailed: c.failed, errors: c.errors },
    messagesPublished: c.published.size,
    messagesReceived: c.received.size,
    messagesLost: c.published.missingFrom(c.received),
    messagesDuplicated: c.duplicateMessages,
    ...{ itemsPushed: c.pushed.size, itemsPopped: c.popped.size },
    itemsLost: c.pushed.missingFrom(c.popped),
    itemsDuplicated: c.duplicateItems,
  };
}

/** Live handles and requests of this process by type (timers, sockets, …): leaks show here. */
export function resources(): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const type of process.getActiveResourcesInfo()) counts[type] = (counts[type] ?? 0) + 1;
  return counts;
}

export const round = (x: number): number => Math.round(x * 10) / 10;

/**
 * How long the event loop stalled (in ms): the emulator, its front end and every client share
 * this process, so a stall longer than the refresh margin delays the refresh and its re-AUTHs
 * past expiry, whatever the library does. `minute()` covers the time since its last call,
 * `run()` the whole run.
 */
export function eventLoopStalls() {
  const minute = monitorEventLoopDelay({ resolution: 10 });
  const run = monitorEventLoopDelay({ resolution: 10 });
  minute.enable();
  run.enable();
  const ms = (h: typeof run) => ({
    maxMs: round(h.max / 1e6),
    p99Ms: round(h.percentile(99) / 1e6),
  });
  return {
    minute() {
      const figures = ms(minute);
      minute.reset();
      return figures;
    },
    run: () => ms(run),
  };
}
