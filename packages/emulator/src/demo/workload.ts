import type { DemoClient } from './types.js';

/** Counters of one client's workload. */
export interface WorkloadCounters {
  opsOk: number;
  opsFailed: number;
  published: number;
  received: number;
  duplicates: number;
  queued: number;
  consumed: number;
  /** The most recent failure, for the live view (never contains a token). */
  lastError?: string;
}

/** Pace of each loop, in milliseconds. */
const CACHE_EVERY_MS = 20;
const TRANSACTION_EVERY_MS = 100;
const PUBLISH_EVERY_MS = 20;
const PUSH_EVERY_MS = 50;

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/**
 * A realistic workload on one client: cache writes and reads (each read checked), MULTI/EXEC
 * transactions (results checked), a pub/sub feed (every message accounted for) and a queue
 * drained by a consumer blocked in `BRPOP key 0`.
 */
export class Workload {
  readonly counters: WorkloadCounters = {
    opsOk: 0,
    opsFailed: 0,
    published: 0,
    received: 0,
    duplicates: 0,
    queued: 0,
    consumed: 0,
  };
  #producing = true;
  #consuming = true;
  readonly #seen = new Set<number>();
  readonly #consumed = new Set<string>();
  readonly #loops: Promise<void>[] = [];
  readonly #prefix: string;

  constructor(readonly client: DemoClient) {
    this.#prefix = `demo:${client.label.replace(/\W+/g, '-').toLowerCase()}:${process.pid}`;
  }

  async start(): Promise<void> {
    await this.client.subscribe(`${this.#prefix}:feed`, (message) => {
      const seq = Number(message);
      if (this.#seen.has(seq)) this.counters.duplicates += 1;
      else this.#seen.add(seq);
      this.counters.received = this.#seen.size;
    });
    this.#loops.push(this.#cache(), this.#transactions(), this.#publish(), this.#produce());
    this.#loops.push(this.#consume());
  }

  /** Stops the producers, waits up to `drainMs` for the feed and the queue to drain, then closes. */
  async stop(drainMs: number): Promise<void> {
    this.#producing = false;
    const deadline = Date.now() + drainMs;
    const c = this.counters;
    while (Date.now() < deadline && (c.received < c.published || c.consumed < c.queued)) {
      await sleep(50);
    }
    this.#consuming = false;
    await this.client.close().catch(() => undefined);
    await Promise.allSettled(this.#loops);
  }

  async #op(run: () => Promise<void>): Promise<void> {
    try {
      await run();
      this.counters.opsOk += 1;
    } catch (error) {
      if (!this.#producing) return; // shutting down
      this.counters.opsFailed += 1;
      this.counters.lastError = error instanceof Error ? error.message : String(error);
    }
  }

  async #cache(): Promise<void> {
    const { main } = this.client;
    for (let i = 0; this.#producing; i += 1) {
      const key = `${this.#prefix}:cache:${i % 100}`;
      await this.#op(async () => {
        await main.set(key, String(i));
        const value = await main.get(key);
        if (value !== String(i)) throw new Error(`read ${String(value)} after writing ${i}`);
      });
      await sleep(CACHE_EVERY_MS);
    }
  }

  async #transactions(): Promise<void> {
    const key = `${this.#prefix}:counter`;
    while (this.#producing) {
      await this.#op(async () => {
        const [a, b] = await this.client.main.incrTwiceInTransaction(key);
        if (b !== a + 1) throw new Error(`transaction results ${a}, ${b} are not consecutive`);
      });
      await sleep(TRANSACTION_EVERY_MS);
    }
  }

  async #publish(): Promise<void> {
    const channel = `${this.#prefix}:feed`;
    for (let seq = 0; this.#producing; seq += 1) {
      await this.#op(async () => {
        await this.client.main.publish(channel, String(seq));
        this.counters.published += 1;
      });
      await sleep(PUBLISH_EVERY_MS);
    }
  }

  async #produce(): Promise<void> {
    const queue = `${this.#prefix}:queue`;
    for (let n = 0; this.#producing; n += 1) {
      await this.#op(async () => {
        await this.client.main.lpush(queue, `item-${n}`);
        this.counters.queued += 1;
      });
      await sleep(PUSH_EVERY_MS);
    }
  }

  async #consume(): Promise<void> {
    const queue = `${this.#prefix}:queue`;
    while (this.#consuming) {
      try {
        const item = await this.client.consumer.brpopForever(queue);
        if (item !== null && !this.#consumed.has(item)) this.#consumed.add(item);
        this.counters.consumed = this.#consumed.size;
        this.counters.opsOk += 1;
      } catch (error) {
        if (!this.#consuming) return;
        this.counters.opsFailed += 1;
        this.counters.lastError = error instanceof Error ? error.message : String(error);
        await sleep(100);
      }
    }
  }
}
