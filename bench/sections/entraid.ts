// Section 4: entra-redis and @redis/entraid side by side, both with node-redis 6 (RESP3 default),
// drawn from the arms that ran in sections 1, 2, 3 and 5 of the same run.
import type { FanoutResult } from './fanout.js';
import type { FootprintResult } from './footprint.js';
import type { HotPathResult } from './hot-path.js';
import type { SoakArmResult, SoakResult } from './soak.js';
import { fmt, fmtSpread } from '../lib/stats.js';

/** One comparison row. */
export interface EntraidRow {
  section: string;
  measure: string;
  entraRedis: string;
  entraid: string;
}

/** Result of section 4. */
export interface EntraidResult {
  rows: EntraidRow[];
}

/**
 * Builds the side-by-side rows from whichever sections ran.
 *
 * @example
 * ```ts
 * const table = compareEntraid({ hotPath, fanout, soak, footprint });
 * ```
 */
export function compareEntraid(r: {
  hotPath?: HotPathResult;
  fanout?: FanoutResult;
  soak?: SoakResult;
  footprint?: FootprintResult;
}): EntraidResult {
  const rows: EntraidRow[] = [];
  const add = (section: string, measure: string, entraRedis: string, entraid: string): void =>
    void rows.push({ section, measure, entraRedis, entraid });
  if (r.hotPath) {
    const h = (arm: string): string => {
      const x = r.hotPath!.headline.find((e) => e.arm === arm);
      return x ? `${fmt(x.geomeanRatio, 3)} (worst cell ${fmt(x.worstCellRatio, 3)})` : 'n/a';
    };
    add(
      '1 hot path',
      'ops/s ratio to static password, geomean of cells',
      h('node-entra'),
      h('node-entraid'),
    );
  }
  for (const { size, arms } of r.fanout?.sizes ?? []) {
    const a = arms.find((x) => x.arm === 'node-entra');
    const b = arms.find((x) => x.arm === 'node-entraid');
    if (!a || !b) continue;
    const n = size.connections.toLocaleString('en-US');
    add(
      '2 fan-out',
      `N=${n}: new token → last AUTH, ms`,
      fmtSpread(a.fanoutMs, 1),
      fmtSpread(b.fanoutMs, 1),
    );
    add(
      '2 fan-out',
      `N=${n}: p99 during / steady`,
      fmt(a.latency.p99Ratio),
      fmt(b.latency.p99Ratio),
    );
  }
  if (r.soak) {
    const a = r.soak.arms.find((x) => x.arm === 'node-entra');
    const b = r.soak.arms.find((x) => x.arm === 'node-entraid');
    if (a && b) {
      const row = (measure: string, pick: (x: SoakArmResult) => number): void =>
        add('3 soak', measure, String(pick(a)), String(pick(b)));
      row('token rotations', (x) => x.rotations);
      row('failed commands', failedCommands);
      row('evictions', (x) => x.evictions);
      row('lost messages, RESP3 subscriber', (x) => x.counts.subscribers.resp3.lost);
      row('lost messages, RESP2 subscriber', (x) => x.counts.subscribers.resp2.lost);
      row('lost items (BLPOP 0 consumer)', (x) => x.counts.lostItems);
      row('reconnects', (x) => x.counts.reconnects);
      row('token listeners left after every client closed', (x) => x.listenersLeft);
    }
  }
  if (r.footprint) {
    const f = (arm: string, added = false): string => {
      const x = r.footprint!.arms.find((e) => e.arm === arm);
      if (!x) return 'n/a';
      return fmt((added ? x.heapPerAddedConnectionBytes : x.heapPerConnectionBytes).median);
    };
    add('5 footprint', 'JS heap per connection, bytes', f('node-entra'), f('node-entraid'));
    add(
      '5 footprint',
      'JS heap per connection, bytes (marginal)',
      f('node-entra', true),
      f('node-entraid', true),
    );
  }
  return { rows };
}

/**
 * Every failed operation of a soak arm: commands, publishes, pushes, blocking pops and connects.
 *
 * @example
 * ```ts
 * failedCommands(arm); // 0
 * ```
 */
export function failedCommands(x: SoakArmResult): number {
  const c = x.counts;
  return c.commandsFailed + c.publishFailed + c.pushFailed + c.consumeFailed + c.connectFailed;
}
