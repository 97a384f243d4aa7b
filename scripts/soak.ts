// Soak test: the emulator with 2-second tokens and, for node-redis and ioredis over RESP2 and
// RESP3, a steady workload (checked reads, transactions), a pub/sub feed and a queue drained by a
// consumer blocked in BRPOP 0, all on one token source, for `--minutes` (30); CI runs one minute
// (`npm run soak:smoke`). Prints a JSON summary on stdout (progress on stderr); exits 1 if anything
// failed, was lost or duplicated, a connection was evicted, or nothing was exercised (no rotation,
// or a client that received no message or item). Options and checks: docs/soak.md.
// Run: npx tsx scripts/soak.ts [--minutes 30] [--token-lifetime 2] [--refresh-ratio 0.5] [--heap-snapshots DIR]

import { startEmulator } from '@entra-redis/emulator';
import { servicePrincipalSecret, TokenSource } from 'entra-redis';
import { createRedis } from 'entra-redis/ioredis';
import { createClient } from 'entra-redis/node-redis';
import type { Redis as IORedis } from 'ioredis';
import { mkdtemp, rm } from 'node:fs/promises';
import { cpus, loadavg, tmpdir, totalmem } from 'node:os';
import { join } from 'node:path';
import { setFlagsFromString, writeHeapSnapshot } from 'node:v8';
import { runInNewContext } from 'node:vm';
import type { createClient as createNodeRedis } from 'redis';
import { spawnSync } from 'node:child_process';
import { reexecWithBuiltPackages } from './built-packages.js';
import {
  eventLoopStalls,
  figures,
  newCounters,
  resources,
  round,
  type Counters,
} from './soak-counters.js';

type NodeRedis = ReturnType<typeof createNodeRedis>;

const arg = (name: string, fallback: number): number => {
  const i = process.argv.indexOf(`--${name}`);
  const value = i > 0 ? Number(process.argv[i + 1]) : fallback;
  if (!(value > 0)) throw new Error(`--${name} must be a positive number`);
  return value;
};
const MINUTES = arg('minutes', 30);
const TOKEN_LIFETIME_SEC = arg('token-lifetime', 2);
/**
 * Refresh point as a ratio of the token life. The library's 0.75 leaves 0.25–0.5 s of a 2 s
 * token (whose `exp` is whole seconds) for the re-AUTH: less than the event-loop stalls of a
 * busy 2-core machine running the emulator in the same process. 0.5 keeps the soak about
 * endurance (over 3000 rotations in 30 min); pass 0.75 to probe the margin itself.
 */
const REFRESH_RATIO = arg('refresh-ratio', 0.5);
if (REFRESH_RATIO >= 1) throw new Error('--refresh-ratio must be below 1');
/** Where to write heap snapshots after the warm-up and at the end (compare: heap-diff.ts). */
const SNAPSHOT_DIR = (() => {
  const i = process.argv.indexOf('--heap-snapshots');
  if (i < 0) return undefined;
  const dir = process.argv[i + 1];
  if (!dir || dir.startsWith('--')) throw new Error('--heap-snapshots needs a directory');
  return dir;
})();
const WARMUP_MS = Math.min(60_000, (MINUTES * 60_000) / 10);
/** Above the number of iterations of the fastest loop (one per 20 ms). */
const MAX_SEQ = Math.ceil((MINUTES * 60_000) / 20 / 8) * 8 + 8;

setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;
const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** The few operations the workload needs, whichever client library is underneath. */
interface Ops {
  set(key: string, value: string): Promise<unknown>;
  get(key: string): Promise<string | null>;
  incrTwice(key: string): Promise<number[]>;
  publish(channel: string, message: string): Promise<unknown>;
  push(key: string, value: string): Promise<unknown>;
  /** BRPOP key 0 on the consumer connection. */
  pop(key: string): Promise<string | null>;
  subscribe(channel: string, onMessage: (message: string) => void): Promise<void>;
  close(): Promise<void>;
}

async function nodeRedisOps(base: Target, RESP: 2 | 3): Promise<Ops> {
  const { host, port, ca, source: tokenSource } = base;
  const main = createClient<NodeRedis>({
    socket: { host, port, tls: true, ca },
    tokenSource,
    RESP,
  });
  const consumer = main.duplicate();
  const subscriber = main.duplicate();
  for (const c of [main, consumer, subscriber]) c.on('error', () => undefined);
  await Promise.all([main.connect(), consumer.connect(), subscriber.connect()]);
  return {
    set: (k, v) => main.set(k, v),
    get: async (k) => (await main.get(k)) as string | null,
    incrTwice: async (k) =>
      ((await main.multi().incr(k).incr(k).exec()) as unknown as number[]).map(Number),
    publish: (ch, m) => main.publish(ch, m),
    push: (k, v) => main.lPush(k, v),
    pop: async (k) => (await consumer.brPop(k, 0))?.element ?? null,
    subscribe: async (ch, on) => void (await subscriber.subscribe(ch, on)),
    close: async () => {
      for (const c of [subscriber, consumer, main]) c.destroy();
    },
  };
}

async function ioredisOps(base: Target, protocol: 2 | 3): Promise<Ops> {
  const { host, port, ca, source: tokenSource } = base;
  const main = (await createRedis({ host, port, tls: { ca }, tokenSource, protocol })) as IORedis;
  const consumer = main.duplicate();
  const subscriber = main.duplicate();
  for (const c of [main, consumer, subscriber]) c.on('error', () => undefined);
  return {
    set: (k, v) => main.set(k, v),
    get: (k) => main.get(k),
    incrTwice: async (k) => {
      const replies = (await main.multi().incr(k).incr(k).exec()) ?? [];
      const error = replies.find(([e]) => e)?.[0];
      if (error) throw error;
      return replies.map(([, value]) => Number(value));
    },
    publish: (ch, m) => main.publish(ch, m),
    push: (k, v) => main.lpush(k, v),
    pop: async (k) => (await consumer.brpop(k, 0))?.[1] ?? null,
    subscribe: async (ch, on) => {
      subscriber.on('message', (c: string, m: string) => c === ch && on(m));
      await subscriber.subscribe(ch);
    },
    close: async () => {
      for (const c of [subscriber, consumer, main]) c.disconnect();
    },
  };
}

type Phase = 'run' | 'drain' | 'closing';
type Target = { host: string; port: number; ca: string; source: TokenSource };

let failuresLogged = 0;

/** Runs the workload on one client while `phase()` is 'run'; returns its loops. */
function runWorkload(label: string, ops: Ops, c: Counters, phase: () => Phase) {
  const prefix = `soak:${label.replace(/\W+/g, '-')}`;
  const op = async (fn: () => Promise<void>): Promise<void> => {
    try {
      await fn();
      c.ok += 1;
    } catch (error) {
      if (phase() === 'closing') return; // the clients are being closed under it
      c.failed += 1;
      const key = `${(error as { code?: string }).code ?? 'no code'}: ${String((error as Error).message).slice(0, 120)}`;
      c.errors[key] = (c.errors[key] ?? 0) + 1;
      if (++failuresLogged <= 30)
        console.error(`[soak] ${new Date().toISOString()} ${label}: ${key}`);
    }
  };
  const every = async (ms: number, fn: (i: number) => Promise<void>): Promise<void> => {
    for (let i = 0; phase() === 'run'; i += 1) {
      await op(() => fn(i));
      await sleep(ms);
    }
  };
  const consume = async (): Promise<void> => {
    while (phase() !== 'closing') {
      const failedBefore = c.failed;
      await op(async () => {
        const item = await ops.pop(`${prefix}:queue`);
        if (item === null) return;
        const n = Number(item.slice('item-'.length));
        if (c.popped.has(n)) c.duplicateItems += 1;
        c.popped.add(n);
      });
      // Like any consumer: back off after a failure (a failed pop can reject at once, and a
      // loop of immediate rejections would starve the event loop).
      if (c.failed > failedBefore) await sleep(100);
    }
  };
  return [
    every(20, async (i) => {
      await ops.set(`${prefix}:k:${i % 100}`, String(i));
      const value = await ops.get(`${prefix}:k:${i % 100}`);
      if (value !== String(i)) throw new Error(`read ${value} after writing ${i}`);
    }),
    every(100, async () => {
      const [a, b] = await ops.incrTwice(`${prefix}:n`);
      if (b !== (a ?? NaN) + 1) throw new Error(`transaction results ${a}, ${b}`);
    }),
    every(20, async (i) => {
      await ops.publish(`${prefix}:feed`, String(i));
      c.published.add(i);
    }),
    every(50, async (i) => {
      await ops.push(`${prefix}:queue`, `item-${i}`);
      c.pushed.add(i);
    }),
    consume(),
  ];
}

const mb = (bytes: number): number => round(bytes / 1048576);
/**
 * Writes a heap snapshot when `--heap-snapshots` was given (V8 collects all garbage first; stalls
 * for seconds).
 */
function snapshot(name: string, rotations: number): void {
  if (!SNAPSHOT_DIR) return;
  const file = writeHeapSnapshot(join(SNAPSHOT_DIR, `soak-${name}.heapsnapshot`));
  console.error(`[soak] heap snapshot after ${rotations} rotations: ${file}`);
}

function memory(): { rssMb: number; heapUsedMb: number } {
  gc();
  const m = process.memoryUsage();
  return { rssMb: mb(m.rss), heapUsedMb: mb(m.heapUsed) };
}

async function main(): Promise<void> {
  reexecWithBuiltPackages();
  // What runs: the commit when it starts ("-dirty": with uncommitted changes).
  const describe = spawnSync('git', ['describe', '--always', '--dirty', '--abbrev=7']);
  const commit = describe.stdout?.toString().trim() || 'unknown';
  const stateDir = await mkdtemp(join(tmpdir(), 'entra-redis-soak-'));
  const emulator = await startEmulator({ tokenLifetimeSec: TOKEN_LIFETIME_SEC, stateDir });
  const source = new TokenSource({
    credential: servicePrincipalSecret({
      tenantId: emulator.tenantId,
      clientId: emulator.servicePrincipal.clientId,
      clientSecret: emulator.servicePrincipal.clientSecret,
      ...emulator.credentialOptions(),
    }),
    refreshRatio: REFRESH_RATIO,
    // The default 1 s floor between requests would land the refresh of a token whose
    // whole-second exp leaves it ~1 s of life right at its expiry.
    minRefreshIntervalMs: Math.min(1_000, (TOKEN_LIFETIME_SEC * 1000) / 8),
  });
  let rotations = 0;
  let lastRefresh = { atMs: 0, expiresAtMs: 0 };
  source.on('refreshed', (e) => {
    rotations += 1;
    lastRefresh = { atMs: Date.now(), expiresAtMs: e.expiresAtMs };
  });
  let evictionsLogged = 0;
  emulator.front.events.on('eviction', () => {
    if (++evictionsLogged > 30) return;
    const now = Date.now();
    console.error(
      `[soak] ${new Date(now).toISOString()} eviction: last refresh ${now - lastRefresh.atMs} ms ago, its token expires in ${lastRefresh.expiresAtMs - now} ms`,
    );
  });
  const target = { ...emulator.redis, ca: emulator.caCertPem, source };
  const stalls = eventLoopStalls();
  const memStart = memory();
  const variants: Array<[string, () => Promise<Ops>]> = [
    ['node-redis RESP3', () => nodeRedisOps(target, 3)],
    ['node-redis RESP2', () => nodeRedisOps(target, 2)],
    ['ioredis RESP3', () => ioredisOps(target, 3)],
    ['ioredis RESP2', () => ioredisOps(target, 2)],
  ];
  let phase: Phase = 'run';
  const runs = await Promise.all(
    variants.map(async ([label, make]) => {
      const ops = await make();
      const c = newCounters(MAX_SEQ);
      await ops.subscribe(`soak:${label.replace(/\W+/g, '-')}:feed`, (m) => {
        if (c.received.has(Number(m))) c.duplicateMessages += 1;
        c.received.add(Number(m));
      });
      return { label, ops, c, loops: runWorkload(label, ops, c, () => phase) };
    }),
  );
  const startedAt = Date.now();
  const endAt = startedAt + MINUTES * 60_000;
  let memWarm = memStart;
  let warmed = false;
  while (Date.now() < endAt) {
    await sleep(Math.min(60_000, Math.max(0, endAt - Date.now())));
    if (!warmed && Date.now() - startedAt >= WARMUP_MS) {
      [memWarm, warmed] = [memory(), true];
      snapshot('after-warmup', rotations);
    }
    const s = emulator.stats().redis;
    const ok = runs.reduce((n, r) => n + r.c.ok, 0);
    const failed = runs.reduce((n, r) => n + r.c.failed, 0);
    const min = ((Date.now() - startedAt) / 60_000).toFixed(1);
    console.error(
      `[soak] ${min} min rotations=${rotations} ok=${ok} failed=${failed} evictions=${s.evictions} stalls=${JSON.stringify(stalls.minute())} ${JSON.stringify(memory())} ${JSON.stringify(resources())}`,
    );
  }
  snapshot('end', rotations);
  phase = 'drain';
  console.error('[soak] draining');
  // Draining and closing are bounded; if a step hangs, say which and exit 3.
  let step = 'draining';
  setTimeout(() => {
    console.error(`[soak] stuck while ${step} for 60 s`);
    process.exit(3);
  }, 60_000).unref();
  // Let the consumers drain the queues and the feeds arrive (bounded).
  const drainUntil = Date.now() + 15_000;
  while (Date.now() < drainUntil && runs.some((r) => r.c.popped.size < r.c.pushed.size)) {
    await sleep(100);
  }
  await sleep(1_000);
  phase = 'closing';
  step = 'closing the clients';
  console.error('[soak] closing');
  const memEnd = memory();
  const stats = emulator.stats();
  const perClient = runs.map(({ label, c }) => figures(label, c));
  await Promise.all(runs.map((r) => r.ops.close()));
  await Promise.race([Promise.allSettled(runs.flatMap((r) => r.loops)), sleep(5_000)]);
  console.error('[soak] clients closed');
  step = 'closing the token source and the emulator';
  await source.close();
  await emulator.close();
  console.error('[soak] emulator closed');
  await rm(stateDir, { recursive: true, force: true });
  const sum = (key: keyof (typeof perClient)[number]) =>
    perClient.reduce((n, p) => n + (p[key] as number), 0);
  const summary = {
    date: new Date(startedAt).toISOString(),
    minutes: MINUTES,
    tokenLifetimeSec: TOKEN_LIFETIME_SEC,
    refreshRatio: REFRESH_RATIO,
    node: process.version,
    commit,
    machine: `${cpus().length} × ${cpus()[0]?.model}, ${Math.round(totalmem() / 2 ** 30)} GB`,
    loadAverageAtEnd: loadavg().map(round),
    eventLoopStalls: stalls.run(),
    rotations,
    tokenRequests: stats.identity.tokensIssued[emulator.servicePrincipal.oid] ?? 0,
    redis: stats.redis,
    commandsOk: sum('commandsOk'),
    commandsFailed: sum('commandsFailed'),
    evictions: stats.redis.evictions,
    messagesLost: sum('messagesLost'),
    messagesDuplicated: sum('messagesDuplicated'),
    itemsLost: sum('itemsLost'),
    itemsDuplicated: sum('itemsDuplicated'),
    memory: {
      start: memStart,
      afterWarmup: memWarm,
      end: memEnd,
      growthAfterWarmupMb: {
        rss: round(memEnd.rssMb - memWarm.rssMb),
        heapUsed: round(memEnd.heapUsedMb - memWarm.heapUsedMb),
      },
    },
    perClient,
  };
  console.log(JSON.stringify(summary, null, 2));
  const idle = rotations === 0 || perClient.some((p) => !p.messagesReceived || !p.itemsPopped);
  const bad =
    idle ||
    summary.commandsFailed +
      summary.evictions +
      summary.messagesLost +
      summary.messagesDuplicated +
      summary.itemsLost +
      summary.itemsDuplicated >
      0;
  process.exit(bad ? 1 : 0);
}

main().catch((error: unknown) => {
  console.error('[soak] failed:', (error as Error)?.message ?? error);
  process.exit(2);
});
