// Durations on the command line (`--watch 90m`, `--refresh-every 30s`) and in output.

import { usageError } from './auth-options.js';

const UNIT_MS: Record<string, number> = { ms: 1, s: 1_000, m: 60_000, h: 3_600_000 };
const PART = /(\d+(?:\.\d+)?)(ms|s|m|h)/gy;

/**
 * Parses `30s`, `90m`, `1h30m` (or `1h 30m`), `500ms`, or a bare number of seconds, into ms. Throws
 * `INVALID_OPTION` (exit 2) naming `flag` when the text is not a duration or falls outside
 * `[minMs, maxMs]`.
 *
 * @example
 * ```ts
 * parseDuration('--watch', '1h30m', { minMs: 1_000, maxMs: 86_400_000 }); // 5_400_000
 * ```
 */
export function parseDuration(
  flag: string,
  raw: string,
  bounds: { minMs: number; maxMs: number },
): number {
  const text = raw.replace(/\s+/g, '').toLowerCase();
  let ms: number | undefined;
  if (/^\d+(\.\d+)?$/.test(text)) {
    ms = Number(text) * 1_000;
  } else if (text !== '') {
    PART.lastIndex = 0;
    let total = 0;
    let end = 0;
    for (let m = PART.exec(text); m !== null; m = PART.exec(text)) {
      total += Number(m[1]) * (UNIT_MS[m[2]!] ?? 0);
      end = PART.lastIndex;
    }
    if (end === text.length && end > 0) ms = total;
  }
  const range = `between ${describeMs(bounds.minMs)} and ${describeMs(bounds.maxMs)}`;
  if (ms === undefined) {
    throw usageError(
      `${flag} must be a duration such as 30s, 90m or 1h30m (got "${raw}"); a bare number counts seconds`,
    );
  }
  if (ms < bounds.minMs || ms > bounds.maxMs) {
    throw usageError(`${flag} must be ${range} (got "${raw}")`);
  }
  return Math.round(ms);
}

/**
 * A duration in ms as the CLI prints it: `750ms`, `45s`, `5m`, `1h 30m`, `1h 02m 03s`.
 *
 * @example
 * ```ts
 * describeMs(90_000); // '1m 30s'
 * ```
 */
export function describeMs(ms: number): string {
  if (ms < 1_000) return `${Math.round(ms)}ms`;
  let s = Math.round(ms / 1_000);
  const h = Math.floor(s / 3_600);
  s -= h * 3_600;
  const m = Math.floor(s / 60);
  s -= m * 60;
  const parts = [h > 0 ? `${h}h` : '', m > 0 ? `${m}m` : '', s > 0 ? `${s}s` : ''];
  return parts.filter(Boolean).join(' ') || '0s';
}
