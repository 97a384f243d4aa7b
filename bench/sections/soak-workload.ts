// The steady load of the rotation soak, for one arm: a command loop (SET/GET), a publisher with
// a RESP3 and a RESP2 subscriber, and a producer with a consumer blocked in `BLPOP key 0`.
// Every message and item carries a sequence number, so losses and duplicates are counted.
import type { Arm } from '../lib/arms.js';
import type { BenchClient } from '../lib/clients.js';
import type { Settings } from '../lib/settings.js';
import { sleep, waitUntil } from '../lib/timing.js';

/** Counts of one subscriber. */
export interface SubscriberCounts {
  received: number;
  lost: number;
  duplicates: number;
}

/** What happened to one arm's load during the soak. */
export interface WorkloadCounts {
  commandsOk: number;
  commandsFailed: number;
  published: number;
  publishFailed: number;
  subscribers: { resp3: SubscriberCounts; resp2: SubscriberCounts };
  itemsPushed: number;
  pushFailed: number;
  itemsConsumed: number;
  consumeFailed: number;
  lostItems: number;
  duplicateItems: number;
  leftInQueue: number;
  reconnects: number;
  /** Reconnects per connection role (main, consumer, resp3/resp2 subscriber). */
  reconnectsByRole: Record<string, number>;
  /** `connect()` calls that failed (retried up to 5 times). */
  connectFailed: number;
}

/** A running workload: `drain()` stops the load and counts; `close()` closes its clients. */
export interface Workload {
  drain(): Promise<WorkloadCounts>;
  close(): Promise<void>;
}

const STOP = 'stop';

/**
 * Opens the arm's five connections and starts the load.
 *
 * @example
 * ```ts
 * const load = await startWorkload(arm, settings.soak);
 * const counts = await load.drain();
 * await load.close();
 * ```
 */
export async function startWorkload(arm: Arm, s: Settings['soak']): Promise<Workload> {
  const prefix = `bench:soak:${arm.id}`;
  const channel = `${prefix}:ch`;
  const queue = `${prefix}:q`;
  const clients: BenchClient[] = [];
  const open = async (role: string, resp?: 2 | 3): Promise<BenchClient> => {
    let client: BenchClient | undefined;
    for (let attempt = 1; !client; attempt++) {
      try {
        client = await arm.connect(resp ? { resp } : {});
      } catch (error) {
        c.connectFailed++; // e.g. a token that expired before the handshake
        if (attempt >= 5) throw error;
        await sleep(200);
      }
    }
    clients.push(client);
    c.reconnectsByRole[role] = 0;
    client.onReconnect(() => {
      c.reconnects++;
      c.reconnectsByRole[role]!++;
    });
    return client;
  };
  const c: WorkloadCounts = {
    commandsOk: 0,
    commandsFailed: 0,
    published: 0,
    publishFailed: 0,
    subscribers: { resp3: sub(), resp2: sub() },
    itemsPushed: 0,
    pushFailed: 0,
    itemsConsumed: 0,
    consumeFailed: 0,
    lostItems: 0,
    duplicateItems: 0,
    leftInQueue: 0,
    reconnects: 0,
    reconnectsByRole: {},
    connectFailed: 0,
  };
  const main = await open('main');
  const consumer = await open('consumer');
  const seen = { resp3: new Set<number>(), resp2: new Set<number>() };
  for (const resp of [3, 2] as const) {
    const key = resp === 3 ? 'resp3' : 'resp2';
    const subscriber = await open(`${key} subscriber`, resp);
    await subscriber.subscribe(channel, (message) => {
      const seq = Number(message);
      if (seen[key].has(seq)) c.subscribers[key].duplicates++;
      else seen[key].add(seq);
    });
  }
  let running = true;
  const published: number[] = [];
  const pushed = new Set<number>();
  const consumed = new Set<number>();

  const commandLoop = async (worker: number): Promise<void> => {
    for (let i = 0; running; i++) {
      try {
        await main.set(`${prefix}:k${worker}`, String(i));
        await main.get(`${prefix}:k${worker}`);
        c.commandsOk += 2;
      } catch {
        c.commandsFailed++;
      }
      await sleep(s.commandIntervalMs);
    }
  };
  const publishLoop = async (): Promise<void> => {
    for (let seq = 0; running; seq++) {
      try {
        await main.publish(channel, String(seq));
        published.push(seq);
      } catch {
        c.publishFailed++;
      }
      await sleep(s.publishIntervalMs);
    }
  };
  const produceLoop = async (): Promise<void> => {
    for (let seq = 0; running;) {
      for (let i = 0; i < s.burstSize; i++, seq++) {
        try {
          await main.lpush(queue, String(seq));
          pushed.add(seq);
        } catch {
          c.pushFailed++;
        }
      }
      await sleep(s.burstIntervalMs);
    }
  };
  let consuming = true;
  const consumeLoop = async (): Promise<void> => {
    while (consuming) {
      let item: string | null;
      try {
        item = await consumer.blpop(queue);
      } catch {
        c.consumeFailed++;
        await sleep(50);
        continue;
      }
      if (item === STOP) return;
      if (item === null) continue;
      const seq = Number(item);
      if (consumed.has(seq)) c.duplicateItems++;
      consumed.add(seq);
    }
  };
  const loops = [commandLoop(0), commandLoop(1), publishLoop(), produceLoop()];
  const consumer$ = consumeLoop();

  return {
    async drain() {
      running = false;
      await Promise.all(loops);
      await waitUntil(() => consumed.size >= pushed.size, 5_000);
      await sleep(500); // last messages in flight
      await main.lpush(queue, STOP);
      await Promise.race([consumer$, unrefSleep(10_000)]);
      consuming = false;
      c.leftInQueue = await main.llen(queue);
      c.published = published.length;
      c.itemsPushed = pushed.size;
      c.itemsConsumed = consumed.size;
      c.lostItems = [...pushed].filter((x) => !consumed.has(x)).length - c.leftInQueue;
      for (const key of ['resp3', 'resp2'] as const) {
        c.subscribers[key].received = seen[key].size;
        c.subscribers[key].lost = published.filter((x) => !seen[key].has(x)).length;
      }
      return c;
    },
    async close() {
      running = false;
      consuming = false;
      await Promise.all(clients.splice(0).map((x) => x.close()));
    },
  };
}

function unrefSleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms).unref());
}

function sub(): SubscriberCounts {
  return { received: 0, lost: 0, duplicates: 0 };
}
