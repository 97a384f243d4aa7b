// Small statistics helpers for the benchmark report: medians, spreads, percentiles, ratios.

/** Median, minimum, maximum and interquartile range of a set of samples. */
export interface Summary {
  readonly n: number;
  readonly median: number;
  readonly min: number;
  readonly max: number;
  readonly q1: number;
  readonly q3: number;
}

/**
 * The `p`-quantile (0–1) of `values`, linear interpolation between closest ranks; NaN if empty.
 *
 * @example
 * ```ts
 * quantile([1, 2, 3, 4], 0.5); // 2.5
 * ```
 */
export function quantile(values: ArrayLike<number>, p: number): number {
  if (values.length === 0) return Number.NaN;
  const sorted = Float64Array.from(values).sort();
  const rank = (sorted.length - 1) * p;
  const lo = Math.floor(rank);
  const hi = Math.ceil(rank);
  return sorted[lo]! + (sorted[hi]! - sorted[lo]!) * (rank - lo);
}

/**
 * Median with min–max and IQR.
 *
 * @example
 * ```ts
 * summarize([3, 1, 2]).median; // 2
 * ```
 */
export function summarize(values: ArrayLike<number>): Summary {
  const sorted = Float64Array.from(values).sort();
  return {
    n: sorted.length,
    median: quantile(sorted, 0.5),
    min: sorted.length ? sorted[0]! : Number.NaN,
    max: sorted.length ? sorted[sorted.length - 1]! : Number.NaN,
    q1: quantile(sorted, 0.25),
    q3: quantile(sorted, 0.75),
  };
}

/**
 * Per-round ratios `arm[i] / baseline[i]` of two paired sample lists (same rounds, same order).
 *
 * @example
 * ```ts
 * pairedRatios([99, 101], [100, 100]); // [0.99, 1.01]
 * ```
 */
export function pairedRatios(arm: readonly number[], baseline: readonly number[]): number[] {
  const out: number[] = [];
  for (let i = 0; i < Math.min(arm.length, baseline.length); i++) {
    if (baseline[i]! > 0) out.push(arm[i]! / baseline[i]!);
  }
  return out;
}

/**
 * Geometric mean (for averaging ratios); NaN if empty.
 *
 * @example
 * ```ts
 * geomean([0.5, 2]); // 1
 * ```
 */
export function geomean(values: readonly number[]): number {
  if (values.length === 0) return Number.NaN;
  return Math.exp(values.reduce((s, v) => s + Math.log(v), 0) / values.length);
}

/**
 * A number for a table: integers with thousands separators, small numbers with `digits`.
 *
 * @example
 * ```ts
 * fmt(12345.6); // '12,346'
 * fmt(0.98765, 3); // '0.988'
 * ```
 */
export function fmt(value: number, digits = 2): string {
  if (!Number.isFinite(value)) return 'n/a';
  if (Math.abs(value) >= 100) return Math.round(value).toLocaleString('en-US');
  return value.toFixed(digits);
}

/**
 * `median (min–max)` of a summary.
 *
 * @example
 * ```ts
 * fmtSpread(summarize([1, 2, 3])); // '2.00 (1.00–3.00)'
 * ```
 */
export function fmtSpread(s: Summary, digits = 2): string {
  if (s.n === 0) return 'n/a';
  return `${fmt(s.median, digits)} (${fmt(s.min, digits)}–${fmt(s.max, digits)})`;
}

/**
 * `median (q1–q3)` of a summary: the median and its interquartile range.
 *
 * @example
 * ```ts
 * fmtIqr(summarize([1, 2, 3, 4, 5]), 0); // '3 (2–4)'
 * ```
 */
export function fmtIqr(s: Summary, digits = 2): string {
  if (s.n === 0) return 'n/a';
  return `${fmt(s.median, digits)} (${fmt(s.q1, digits)}–${fmt(s.q3, digits)})`;
}

/** A growable list of float samples without boxing (latency probes record many). */
export class Samples {
  #data = new Float64Array(1024);
  #length = 0;

  /** Appends a value. */
  push(value: number): void {
    if (this.#length === this.#data.length) {
      const bigger = new Float64Array(this.#data.length * 2);
      bigger.set(this.#data);
      this.#data = bigger;
    }
    this.#data[this.#length++] = value;
  }

  /** Number of values. */
  get length(): number {
    return this.#length;
  }

  /** The values, as a view (do not keep it across pushes). */
  view(): Float64Array {
    return this.#data.subarray(0, this.#length);
  }
}
