// Section 5 (and part of 4): footprint. For each arm, interleaved over rounds: JS heap and
// resident memory (RSS: noisy, includes TLS buffers) per connection, after a forced full GC,
// for the first K connections and for K more opened after them (the marginal cost: without
// what the first connections pay once, such as the code the JIT compiles for them);
// timers added by the token source and by the connections (every live timer via async_hooks,
// and those that keep the process alive); timers left after close; and this process's CPU
// while K connections sit idle (the emulator runs in another process).
import { createHook } from 'node:async_hooks';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { ARM_IDS, ARM_LABELS, createArm, type Arm, type ArmId } from '../lib/arms.js';
import type { BenchClient } from '../lib/clients.js';
import type { EmulatorLink } from '../lib/emulator-link.js';
import type { Settings } from '../lib/settings.js';
import { summarize, type Summary } from '../lib/stats.js';
import { inBatches, nowMs, sleep } from '../lib/timing.js';

/** Timer counts (all = including unref'ed ones; ref = those keeping the process alive). */
export interface TimerCounts {
  all: number;
  ref: number;
}

/** One arm's footprint. */
export interface FootprintArmResult {
  arm: ArmId;
  label: string;
  connections: number;
  /** The first K connections' heap, per connection (includes one-off costs). */
  heapPerConnectionBytes: Summary;
  /** K more connections' heap, opened after the first K, per connection: the marginal cost. */
  heapPerAddedConnectionBytes: Summary;
  rssPerConnectionBytes: Summary;
  /** Timers added by the token source / provider alone (before any connection). */
  timersPerSource: TimerCounts;
  /** Timers added by the K connections on top. */
  timersWithConnections: TimerCounts;
  /** Timers still there after every client and the source were closed. */
  timersAfterClose: TimerCounts;
  /** CPU of this process while the K connections are idle, % of one core. */
  idleCpuPct: Summary;
  /** CPU of the emulator process in the same windows, % of one core (for context). */
  emulatorIdleCpuPct: Summary;
}

/** Result of the footprint section. */
export interface FootprintResult {
  settings: Settings['footprint'];
  arms: FootprintArmResult[];
}

interface Sample {
  heap: number;
  addedHeap: number;
  rss: number;
  cpuPct: number;
  emulatorCpuPct: number;
  timersPerSource: TimerCounts;
  timersWithConnections: TimerCounts;
  timersAfterClose: TimerCounts;
}

function fullGc(): () => void {
  const existing = (globalThis as { gc?: () => void }).gc;
  if (existing) return existing;
  setFlagsFromString('--expose_gc');
  return runInNewContext('gc') as () => void;
}

/** Counts live timers created while enabled (and those of them that are ref'ed). */
function timerTracker(): { count(): TimerCounts; disable(): void } {
  // Destroy hooks run in batches, later: a timer that already fired or was cleared is
  // recognised by its `_destroyed` flag.
  const live = new Map<number, { hasRef?(): boolean; _destroyed?: boolean }>();
  const hook = createHook({
    init(id, type, _trigger, resource) {
      if (type === 'Timeout') live.set(id, resource as { hasRef?(): boolean });
    },
    destroy(id) {
      live.delete(id);
    },
  }).enable();
  return {
    count: () => {
      const active = [...live.values()].filter((t) => t._destroyed !== true);
      return { all: active.length, ref: active.filter((t) => t.hasRef?.() !== false).length };
    },
    disable: () => void hook.disable(),
  };
}

const minus = (a: TimerCounts, b: TimerCounts): TimerCounts => ({
  all: a.all - b.all,
  ref: a.ref - b.ref,
});

/**
 * Runs the footprint section.
 *
 * @example
 * ```ts
 * const result = await runFootprint(link, settings, console.error);
 * ```
 */
export async function runFootprint(
  link: EmulatorLink,
  settings: Settings,
  log: (line: string) => void,
): Promise<FootprintResult> {
  const s = settings.footprint;
  await link.setTokenLifetime(3600);
  const gc = fullGc();
  // Warm-up: load and compile every client path once, so the first arm does not pay for it.
  if (!settings.smoke) {
    for (const id of ARM_IDS) await measureArm(link, id, { ...s, connections: 2, idleMs: 0 }, gc);
  }
  const samples = new Map<ArmId, Sample[]>();
  for (let round = 0; round < s.rounds; round++) {
    for (let i = 0; i < ARM_IDS.length; i++) {
      const id = ARM_IDS[(i + round) % ARM_IDS.length]!;
      const sample = await measureArm(link, id, s, gc);
      samples.set(id, [...(samples.get(id) ?? []), sample]);
      log(
        `footprint: ${ARM_LABELS[id]}: ${Math.round(sample.heap)} B heap/connection ` +
          `(${Math.round(sample.addedHeap)} B for ${s.connections} more), ` +
          `idle CPU ${sample.cpuPct.toFixed(2)} %`,
      );
    }
  }
  return {
    settings: s,
    arms: ARM_IDS.map((id) => {
      const list = samples.get(id) ?? [];
      const last = list[list.length - 1]!;
      return {
        arm: id,
        label: ARM_LABELS[id],
        connections: s.connections,
        heapPerConnectionBytes: summarize(list.map((x) => x.heap)),
        heapPerAddedConnectionBytes: summarize(list.map((x) => x.addedHeap)),
        rssPerConnectionBytes: summarize(list.map((x) => x.rss)),
        timersPerSource: last.timersPerSource,
        timersWithConnections: last.timersWithConnections,
        timersAfterClose: last.timersAfterClose,
        idleCpuPct: summarize(list.map((x) => x.cpuPct)),
        emulatorIdleCpuPct: summarize(list.map((x) => x.emulatorCpuPct)),
      };
    }),
  };
}

function openConnections(arm: Arm, count: number): Promise<BenchClient[]> {
  return inBatches(
    Array.from({ length: count }, (_, i) => i),
    20,
    () => arm.connect(),
  );
}

async function measureArm(
  link: EmulatorLink,
  id: ArmId,
  s: Settings['footprint'],
  gc: () => void,
): Promise<Sample> {
  const settle = async (): Promise<NodeJS.MemoryUsage> => {
    await sleep(100);
    gc();
    gc();
    return process.memoryUsage();
  };
  await settle();
  const timers = timerTracker();
  const base = timers.count();
  const arm = createArm(id, link);
  const clients: BenchClient[] = [];
  try {
    await arm.ready();
    const m0 = await settle();
    const timersPerSource = minus(timers.count(), base);
    clients.push(...(await openConnections(arm, s.connections)));
    const m1 = await settle();
    const timersWithConnections = minus(minus(timers.count(), base), timersPerSource);
    const emu0 = (await link.counters()).cpuMs;
    const cpu0 = process.cpuUsage();
    const t0 = nowMs();
    await sleep(s.idleMs);
    const cpu = process.cpuUsage(cpu0);
    const elapsedMs = nowMs() - t0;
    const emuMs = (await link.counters()).cpuMs - emu0;
    clients.push(...(await openConnections(arm, s.connections)));
    const m2 = await settle();
    for (const c of clients.splice(0)) await c.close();
    await arm.close();
    await settle();
    return {
      heap: (m1.heapUsed - m0.heapUsed) / s.connections,
      addedHeap: (m2.heapUsed - m1.heapUsed) / s.connections,
      rss: (m1.rss - m0.rss) / s.connections,
      cpuPct: ((cpu.user + cpu.system) / 1000 / elapsedMs) * 100,
      emulatorCpuPct: (emuMs / elapsedMs) * 100,
      timersPerSource,
      timersWithConnections,
      timersAfterClose: minus(timers.count(), base),
    };
  } finally {
    for (const c of clients) await c.close();
    await arm.close();
    timers.disable();
  }
}
