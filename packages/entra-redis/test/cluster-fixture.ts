// Shared pieces of the cluster integration tests: a workload written once for any cluster
// client (keys on every shard, classic and sharded pub/sub), its accounting, and the key-slot
// function to place keys and channels on chosen shards.
import { sleep } from './helpers/emulator.js';

/** What the workload needs from a cluster client, whichever library it is. */
export interface ClusterUnderTest {
  readonly label: string;
  set(key: string, value: string): Promise<unknown>;
  get(key: string): Promise<string | null>;
  publish(channel: string, message: string): Promise<unknown>;
  spublish(channel: string, message: string): Promise<unknown>;
  /** Subscribes (on a connection the client manages) and resolves once subscribed. */
  subscribe(channel: string, onMessage: (message: string) => void): Promise<void>;
  ssubscribe(channel: string, onMessage: (message: string) => void): Promise<void>;
  close(): Promise<void>;
}

/** Counters of one workload run. */
export interface ClusterWorkloadResult {
  label: string;
  ok: number;
  failed: number;
  /** First few failure messages, for the assertion output. */
  errors: string[];
  /** Every failure, with when it happened (ms since the epoch). */
  failures: Array<{ at: number; message: string }>;
  /** GETs that did not return the value last written (lost or stale data). */
  mismatches: number;
  messages: Delivery;
  sharded: Delivery;
}

/**
 * Delivery of one channel: `lostAt` holds when each lost message was published,
 * `duplicatesAt` when each message delivered more than once was sent (once per extra copy),
 * `sentAt` when each message was sent (ms since the epoch, in order).
 */
export interface Delivery {
  published: number;
  lost: number;
  duplicates: number;
  lostAt: number[];
  duplicatesAt: number[];
  sentAt: number[];
}

/** CRC16/XMODEM, as Redis Cluster hashes keys (`CLUSTER KEYSLOT`), honouring `{hash tags}`. */
export function keySlot(key: string): number {
  const open = key.indexOf('{');
  if (open !== -1) {
    const close = key.indexOf('}', open + 1);
    if (close > open + 1) key = key.slice(open + 1, close);
  }
  let crc = 0;
  for (const byte of Buffer.from(key)) {
    crc ^= byte << 8;
    for (let i = 0; i < 8; i++) crc = crc & 0x8000 ? ((crc << 1) ^ 0x1021) & 0xffff : crc << 1;
  }
  return crc % 16384;
}

/** Index of the shard owning `slot`, given each shard's slot ranges. */
export function shardOf(slot: number, shards: [number, number][][]): number {
  return shards.findIndex((ranges) => ranges.some(([a, b]) => slot >= a && slot <= b));
}

/** Keys of the form `<prefix>:<n>` until every shard owns at least `perShard` of them. */
export function keysOnEveryShard(
  prefix: string,
  shards: [number, number][][],
  perShard: number,
): string[] {
  const counts = shards.map(() => 0);
  const keys: string[] = [];
  for (let n = 0; counts.some((c) => c < perShard); n++) {
    const key = `${prefix}:${n}`;
    const shard = shardOf(keySlot(key), shards);
    if (counts[shard]! < perShard) {
      counts[shard]! += 1;
      keys.push(key);
    }
  }
  return keys;
}

/**
 * `published`: message number -> when it was sent, for the sends that succeeded; `sent`: the
 * same for every send (a failed send may still have been delivered).
 */
function tally(
  published: Map<number, number>,
  sent: Map<number, number>,
  received: number[],
): Delivery {
  const seen = new Set<number>();
  const duplicatesAt: number[] = [];
  for (const n of received) {
    if (seen.has(n)) duplicatesAt.push(sent.get(n) ?? Number.NaN);
    else seen.add(n);
  }
  const lostAt = [...published].filter(([n]) => !seen.has(n)).map(([, at]) => at);
  return {
    published: published.size,
    lost: lostAt.length,
    duplicates: duplicatesAt.length,
    lostAt,
    duplicatesAt,
    sentAt: [...sent.values()],
  };
}

/**
 * Starts the workload on `client`: `writers` loops each owning a share of `keys` (SET a new
 * value, GET it back), a publisher sending a numbered message every 10 ms on `channel` and on
 * the shard channel `shardChannel`, both subscribed through the client. `stop()` ends it,
 * waits for messages in flight, closes the client and returns the counters; `progress()` is
 * the number of successful operations so far.
 */
export async function startClusterWorkload(
  client: ClusterUnderTest,
  keys: string[],
  channel: string,
  shardChannel: string,
  writers = 4,
): Promise<{ progress(): number; stop(): Promise<ClusterWorkloadResult> }> {
  const result: ClusterWorkloadResult = {
    label: client.label,
    ok: 0,
    failed: 0,
    errors: [],
    failures: [],
    mismatches: 0,
    messages: { published: 0, lost: 0, duplicates: 0, lostAt: [], duplicatesAt: [], sentAt: [] },
    sharded: { published: 0, lost: 0, duplicates: 0, lostAt: [], duplicatesAt: [], sentAt: [] },
  };
  const fail = (error: unknown): void => {
    const message = String((error as Error)?.message ?? error);
    result.failed += 1;
    result.failures.push({ at: Date.now(), message });
    if (result.errors.length < 5) result.errors.push(message);
  };
  const received = { classic: [] as number[], sharded: [] as number[] };
  // Message number -> when it was sent: every send, and those that succeeded.
  const sent = { classic: new Map<number, number>(), sharded: new Map<number, number>() };
  const published = { classic: new Map<number, number>(), sharded: new Map<number, number>() };
  await client.subscribe(channel, (m) => received.classic.push(Number(m)));
  await client.ssubscribe(shardChannel, (m) => received.sharded.push(Number(m)));

  let running = true;
  const writer = async (mine: string[]): Promise<void> => {
    for (let round = 0; running; round++) {
      for (const key of mine) {
        if (!running) return;
        const value = `${key}#${round}`;
        try {
          await client.set(key, value);
          const got = await client.get(key);
          if (got !== value) result.mismatches += 1;
          result.ok += 2;
        } catch (error) {
          fail(error);
        }
      }
      await sleep(5);
    }
  };
  const loops = Array.from({ length: writers }, (_, w) =>
    writer(keys.filter((_, i) => i % writers === w)),
  );
  const publisher = (async () => {
    for (let n = 0; running; n++) {
      const at = Date.now();
      sent.classic.set(n, at);
      sent.sharded.set(n, at);
      const sends: Array<[Map<number, number>, Promise<unknown>]> = [
        [published.classic, client.publish(channel, String(n))],
        [published.sharded, client.spublish(shardChannel, String(n))],
      ];
      for (const [list, send] of sends) {
        try {
          await send;
          list.set(n, at);
          result.ok += 1;
        } catch (error) {
          fail(error);
        }
      }
      await sleep(10);
    }
  })();
  return {
    progress: () => result.ok,
    async stop() {
      running = false;
      await Promise.all([...loops, publisher]);
      await sleep(500); // messages crossing the cluster bus
      result.messages = tally(published.classic, sent.classic, received.classic);
      result.sharded = tally(published.sharded, sent.sharded, received.sharded);
      await client.close();
      return result;
    },
  };
}
