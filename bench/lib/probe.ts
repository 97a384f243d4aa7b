// A latency probe: sequential GETs on a few connections, each sample timestamped, so that
// latency during a re-authentication fan-out can be compared with steady state.
import type { BenchClient } from './clients.js';
import { quantile, Samples } from './stats.js';
import { nowMs } from './timing.js';

/** Latency percentiles of a set of probe samples, ms. */
export interface LatencyStats {
  n: number;
  p50: number;
  p99: number;
  max: number;
}

/** A running probe; `stop()` ends it and resolves once every loop returned. */
export interface Probe {
  stop(): Promise<void>;
  /** Splits the samples into those overlapping one of `windows` and the rest (steady). */
  classify(
    windows: ReadonlyArray<readonly [number, number]>,
    steadyFromMs: number,
    marginMs: number,
  ): { steady: number[]; during: number[] };
  /** Commands that failed while probing. */
  readonly failures: number;
}

/**
 * Starts one sequential GET loop per client.
 *
 * @example
 * ```ts
 * const probe = startProbe(clients.slice(0, 4), 'bench:probe');
 * await probe.stop();
 * ```
 */
export function startProbe(clients: readonly BenchClient[], key: string): Probe {
  const starts = new Samples();
  const latencies = new Samples();
  let running = true;
  let failures = 0;
  const loop = async (client: BenchClient): Promise<void> => {
    while (running) {
      const t = nowMs();
      try {
        await client.get(key);
        starts.push(t);
        latencies.push(nowMs() - t);
      } catch {
        failures++;
        await new Promise((r) => setTimeout(r, 10));
      }
    }
  };
  const loops = clients.map(loop);
  return {
    async stop() {
      running = false;
      await Promise.all(loops);
    },
    get failures() {
      return failures;
    },
    classify(windows, steadyFromMs, marginMs) {
      const s = starts.view();
      const l = latencies.view();
      const during: number[] = [];
      const steady: number[] = [];
      for (let i = 0; i < s.length; i++) {
        const from = s[i]!;
        const to = from + l[i]!;
        if (from < steadyFromMs) continue;
        if (windows.some(([a, b]) => from <= b && to >= a)) during.push(l[i]!);
        else if (!windows.some(([a, b]) => from <= b + marginMs && to >= a - marginMs)) {
          steady.push(l[i]!);
        }
      }
      return { steady, during };
    },
  };
}

/**
 * p50, p99 and max of latency samples (ms).
 *
 * @example
 * ```ts
 * latencyStats([0.2, 0.3, 5]).p50; // 0.3
 * ```
 */
export function latencyStats(values: readonly number[]): LatencyStats {
  return {
    n: values.length,
    p50: quantile(values, 0.5),
    p99: quantile(values, 0.99),
    max: values.length ? values.reduce((m, v) => (v > m ? v : m), 0) : Number.NaN,
  };
}
