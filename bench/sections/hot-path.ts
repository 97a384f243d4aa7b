// Section 1 (and part of 4): hot-path throughput. GET and SET, one/16/64 commands in flight
// and pipelines, for node-redis and ioredis with entra-redis, with a static password through the
// same front end (the baseline), and node-redis with @redis/entraid. Arms are interleaved within
// every round (the order rotates each round); each figure is the median over the rounds, and
// each ratio the median of the per-round ratios to the baseline arm of the same round.
import { ARM_LABELS, createArm, type Arm, type ArmId } from '../lib/arms.js';
import type { BenchClient } from '../lib/clients.js';
import type { EmulatorLink } from '../lib/emulator-link.js';
import type { HotMode, Settings } from '../lib/settings.js';
import { geomean, pairedRatios, summarize, type Summary } from '../lib/stats.js';

type Client = 'node-redis' | 'ioredis';
type Op = 'GET' | 'SET';

/** One arm's samples in one cell. */
export interface HotArmResult {
  arm: ArmId;
  label: string;
  opsPerSec: number[];
  summary: Summary;
  /** Per-round ratio to the static-password arm (absent for the baseline itself). */
  ratio?: { perRound: number[]; summary: Summary };
  /**
   * CPU time of this process (the clients; the emulator runs in a child) per operation, µs.
   * Throughput is bounded by the emulator on shared cores; this is the clients' own cost.
   */
  cpuUsPerOp: number[];
  cpuSummary: Summary;
  /** Per-round ratio of `cpuUsPerOp` to the static-password arm's (absent for the baseline). */
  cpuRatio?: { perRound: number[]; summary: Summary };
}

/** One cell of the hot-path table. */
export interface HotCell {
  client: Client;
  op: Op;
  mode: HotMode;
  arms: HotArmResult[];
}

/** Result of the hot-path section. */
export interface HotPathResult {
  settings: Settings['hotPath'];
  cells: HotCell[];
  /** Geometric means over all cells of the median ratios (throughput, client CPU), per arm. */
  headline: Array<{
    arm: ArmId;
    label: string;
    geomeanRatio: number;
    worstCellRatio: number;
    geomeanCpuRatio: number;
  }>;
}

const ARMS_BY_CLIENT: Record<Client, readonly ArmId[]> = {
  'node-redis': ['node-password', 'node-entra', 'node-entraid'],
  ioredis: ['io-password', 'io-entra'],
};

const IN_FLIGHT: Record<HotMode, number> = { c1: 1, c16: 16, c64: 64, pipeline: 1 };

/**
 * Runs the hot-path section; `log` receives progress lines.
 *
 * @example
 * ```ts
 * const result = await runHotPath(link, settings, console.error);
 * ```
 */
export async function runHotPath(
  link: EmulatorLink,
  settings: Settings,
  log: (line: string) => void,
): Promise<HotPathResult> {
  const s = settings.hotPath;
  await link.setTokenLifetime(3600);
  const value = 'x'.repeat(s.valueBytes);
  const keys = Array.from({ length: s.keys }, (_, i) => `bench:hot:${i}`);
  const arms: Arm[] = [];
  const clients = new Map<ArmId, BenchClient>();
  try {
    for (const id of [...ARMS_BY_CLIENT['node-redis'], ...ARMS_BY_CLIENT.ioredis]) {
      const arm = createArm(id, link);
      arms.push(arm);
      await arm.ready();
      clients.set(id, await arm.connect());
    }
    await clients.get('node-password')!.pipeline('SET', keys, value);
    const cells = cellList(s.modes);
    const samples = new Map<string, Measured[]>();
    // Warm-up (JIT, TLS buffers): every arm once, not recorded.
    for (const [, client] of clients) await measure(client, 'GET', 'c16', s, keys, value, 0.5);
    for (let round = 0; round < s.rounds; round++) {
      for (const cell of cells) {
        const order = rotate(ARMS_BY_CLIENT[cell.client], round);
        for (const id of order) {
          const measured = await measure(clients.get(id)!, cell.op, cell.mode, s, keys, value);
          const key = `${cell.client}/${cell.op}/${cell.mode}/${id}`;
          samples.set(key, [...(samples.get(key) ?? []), measured]);
        }
      }
      log(`hot path: round ${round + 1}/${s.rounds} done`);
    }
    return assemble(s, cells, samples);
  } finally {
    for (const client of clients.values()) await client.close();
    for (const arm of arms) await arm.close();
  }
}

function cellList(modes: readonly HotMode[]): Array<{ client: Client; op: Op; mode: HotMode }> {
  const out: Array<{ client: Client; op: Op; mode: HotMode }> = [];
  for (const client of ['node-redis', 'ioredis'] as const) {
    for (const op of ['GET', 'SET'] as const) {
      for (const mode of modes) out.push({ client, op, mode });
    }
  }
  return out;
}

function rotate<T>(items: readonly T[], by: number): T[] {
  return items.map((_, i) => items[(i + by) % items.length]!);
}

/** One window of one arm: throughput and this process's CPU time per operation. */
interface Measured {
  opsPerSec: number;
  cpuUsPerOp: number;
}

/** Operations per second and CPU µs per operation of one arm in one cell, over `durationMs × scale`. */
async function measure(
  client: BenchClient,
  op: Op,
  mode: HotMode,
  s: Settings['hotPath'],
  keys: readonly string[],
  value: string,
  scale = 1,
): Promise<Measured> {
  const depth = s.pipelineDepth;
  const slices = Array.from({ length: Math.max(1, Math.floor(keys.length / depth)) }, (_, i) =>
    Array.from({ length: depth }, (_, j) => keys[(i * depth + j) % keys.length]!),
  );
  let ops = 0;
  let next = 0;
  const cpuBefore = process.cpuUsage();
  const start = performance.now();
  const deadline = start + s.durationMs * scale;
  const worker = async (): Promise<void> => {
    while (performance.now() < deadline) {
      const i = next++;
      if (mode === 'pipeline') {
        await client.pipeline(op, slices[i % slices.length]!, value);
        ops += depth;
      } else {
        const key = keys[i % keys.length]!;
        await (op === 'GET' ? client.get(key) : client.set(key, value));
        ops++;
      }
    }
  };
  await Promise.all(Array.from({ length: IN_FLIGHT[mode] }, worker));
  const seconds = (performance.now() - start) / 1000;
  const cpu = process.cpuUsage(cpuBefore);
  return { opsPerSec: ops / seconds, cpuUsPerOp: (cpu.user + cpu.system) / Math.max(1, ops) };
}

/** Per-round ratios of `values` to `baseline` (same rounds), with their summary. */
function versus(values: number[], baseline: number[]): { perRound: number[]; summary: Summary } {
  const perRound = pairedRatios(values, baseline);
  return { perRound, summary: summarize(perRound) };
}

function assemble(
  s: Settings['hotPath'],
  cells: Array<{ client: Client; op: Op; mode: HotMode }>,
  samples: Map<string, Measured[]>,
): HotPathResult {
  /** Per compared arm: the median ratio of each cell, throughput and client CPU. */
  const medians = new Map<ArmId, { ops: number[]; cpu: number[] }>();
  const out: HotCell[] = cells.map((cell) => {
    const ids = ARMS_BY_CLIENT[cell.client];
    const series = (id: ArmId): { ops: number[]; cpu: number[] } => {
      const measured = samples.get(`${cell.client}/${cell.op}/${cell.mode}/${id}`) ?? [];
      return { ops: measured.map((m) => m.opsPerSec), cpu: measured.map((m) => m.cpuUsPerOp) };
    };
    const baseline = series(ids[0]!);
    const arms = ids.map((id, i): HotArmResult => {
      const { ops, cpu } = series(id);
      const result: HotArmResult = {
        arm: id,
        label: ARM_LABELS[id],
        opsPerSec: ops,
        summary: summarize(ops),
        cpuUsPerOp: cpu,
        cpuSummary: summarize(cpu),
      };
      if (i > 0) {
        result.ratio = versus(ops, baseline.ops);
        result.cpuRatio = versus(cpu, baseline.cpu);
        const m = medians.get(id) ?? { ops: [], cpu: [] };
        m.ops.push(result.ratio.summary.median);
        m.cpu.push(result.cpuRatio.summary.median);
        medians.set(id, m);
      }
      return result;
    });
    return { ...cell, arms };
  });
  const headline = [...medians].map(([arm, m]) => ({
    arm,
    label: ARM_LABELS[arm],
    geomeanRatio: geomean(m.ops),
    worstCellRatio: Math.min(...m.ops),
    geomeanCpuRatio: geomean(m.cpu),
  }));
  return { settings: s, cells: out, headline };
}
