// Markdown tables of each section, from the section results.
import type { DispatchResult } from '../sections/dispatch.js';
import type { PreloadResult } from '../sections/preload.js';
import type { EntraidResult } from '../sections/entraid.js';
import { failedCommands } from '../sections/entraid.js';
import type { FanoutResult } from '../sections/fanout.js';
import type { FootprintResult } from '../sections/footprint.js';
import type { HotPathResult } from '../sections/hot-path.js';
import type { SoakResult } from '../sections/soak.js';
import { fmt, fmtIqr, fmtSpread } from './stats.js';

/**
 * A markdown table.
 *
 * @example
 * ```ts
 * table(['a', 'b'], [['1', '2']]);
 * ```
 */
export function table(head: readonly string[], rows: ReadonlyArray<readonly string[]>): string {
  const line = (cells: readonly string[]): string => `| ${cells.join(' | ')} |`;
  return [line(head), line(head.map(() => '---')), ...rows.map(line)].join('\n');
}

const MODE_LABEL: Record<string, string> = {
  c1: '1 in flight',
  c16: '16 in flight',
  c64: '64 in flight',
  pipeline: 'pipeline',
};

/**
 * Section 1 table.
 *
 * @example
 * ```ts
 * hotPathTable(result);
 * ```
 */
export function hotPathTable(r: HotPathResult): string {
  const rows: string[][] = [];
  for (const cell of r.cells) {
    const mode =
      cell.mode === 'pipeline'
        ? `pipelines of ${r.settings.pipelineDepth}`
        : MODE_LABEL[cell.mode]!;
    for (const arm of cell.arms) {
      rows.push([
        cell.client,
        cell.op,
        mode,
        arm.label,
        fmtSpread(arm.summary, 0),
        arm.ratio ? fmtSpread(arm.ratio.summary, 3) : 'baseline',
        fmt(arm.cpuSummary.median, 1),
        arm.cpuRatio ? fmtSpread(arm.cpuRatio.summary, 3) : 'baseline',
      ]);
    }
  }
  const head = [
    'client',
    'op',
    'mode',
    'arm',
    'ops/s median (min–max)',
    'ratio median (min–max)',
    'client CPU µs/op median',
    'CPU ratio median (min–max)',
  ];
  const headline = r.headline.map(
    (h) =>
      `- ${h.label}: ${fmt(h.geomeanRatio, 3)} of the static-password throughput ` +
      `(geometric mean of the cell medians; worst cell ${fmt(h.worstCellRatio, 3)}); ` +
      `client CPU per operation ${fmt(h.geomeanCpuRatio, 3)} × the static-password arm's`,
  );
  return `${headline.join('\n')}\n\n${table(head, rows)}`;
}

/**
 * Section 2 table.
 *
 * @example
 * ```ts
 * fanoutTable(result);
 * ```
 */
export function fanoutTable(r: FanoutResult): string {
  const rows: string[][] = [];
  for (const { size, arms, emulatorVerifyFloorMs } of r.sizes) {
    for (const a of arms) {
      const { steady, during } = a.latency;
      rows.push([
        size.connections.toLocaleString('en-US'),
        fmt(emulatorVerifyFloorMs, 0),
        a.label,
        String(a.rotations.length),
        `${a.minReauthed.toLocaleString('en-US')}`,
        fmtSpread(a.fanoutMs, 1),
        fmtSpread(a.dispatchMs, 1),
        `${fmt(steady.p50)} / ${fmt(steady.p99)}`,
        `${fmt(during.p50)} / ${fmt(during.p99)} (n=${during.n})`,
        fmt(a.latency.p99Ratio),
        String(a.evictions),
        fmt(a.connectMs.median / 1000, 1),
      ]);
    }
  }
  const head = [
    'N',
    'emulator floor, ms',
    'arm',
    'rotations',
    'fewest re-authed',
    'new token → N-th AUTH ok, ms',
    'all AUTHs dispatched, ms',
    'GET p50 / p99 steady, ms',
    'GET p50 / p99 during fan-out, ms',
    'p99 ratio',
    'evictions',
    'connect all, s',
  ];
  const failed = r.sizes.flatMap(({ size, arms }) =>
    arms.flatMap((a) =>
      a.failures.map((f) => `Failed round: ${a.label}, N=${size.connections}: ${f}`),
    ),
  );
  const notes = [...failed, ...r.notes].map((n) => `- ${n}`).join('\n');
  return table(head, rows) + (notes ? `\n\n${notes}` : '');
}

/**
 * Section 3 table.
 *
 * @example
 * ```ts
 * soakTable(result);
 * ```
 */
export function soakTable(r: SoakResult): string {
  const rows = r.arms.map((a) => {
    const c = a.counts;
    return [
      a.label,
      String(a.rotations),
      c.commandsOk.toLocaleString('en-US'),
      String(failedCommands(a)),
      `${a.evictions} (${a.teardownEvictions})`,
      reconnectCell(c.reconnects, c.reconnectsByRole),
      c.published.toLocaleString('en-US'),
      `${c.subscribers.resp3.lost} / ${c.subscribers.resp2.lost}`,
      `${c.subscribers.resp3.duplicates} / ${c.subscribers.resp2.duplicates}`,
      String(c.itemsPushed),
      `${c.lostItems} (${c.leftInQueue} left)`,
      String(a.clientErrors),
      String(a.listenersLeft),
    ];
  });
  const head = [
    'arm',
    'rotations',
    'commands ok',
    'failed commands',
    'evictions (teardown)',
    'reconnects',
    'messages published',
    'lost messages RESP3 / RESP2',
    'duplicates RESP3 / RESP2',
    'items pushed',
    'lost items',
    'client errors',
    'token listeners left after close',
  ];
  const samples = r.arms
    .filter((a) => a.errorSamples.length)
    .map((a) => `- ${a.label}: ${a.errorSamples.map((e) => `\`${e}\``).join('; ')}`);
  const extra = samples.length
    ? `\n\nError messages seen (first few):\n\n${samples.join('\n')}`
    : '';
  return (
    `${fmt(r.durationMs / 1000, 1)} s, tokens of ${r.settings.tokenLifetimeSec} s refreshed at ${r.settings.refreshRatio} of their life (both libraries).\n\n` +
    table(head, rows) +
    extra
  );
}

/** Total reconnects, and which connections reconnected (e.g. `5 (resp2 subscriber 5)`). */
function reconnectCell(total: number, byRole: Record<string, number>): string {
  const parts = Object.entries(byRole)
    .filter(([, n]) => n > 0)
    .map(([role, n]) => `${role} ${n}`);
  return parts.length ? `${total} (${parts.join(', ')})` : String(total);
}

/**
 * Section 4 table.
 *
 * @example
 * ```ts
 * entraidTable(result);
 * ```
 */
export function entraidTable(r: EntraidResult): string {
  return table(
    ['section', 'measure', 'node-redis + entra-redis', 'node-redis + @redis/entraid'],
    r.rows.map((x) => [x.section, x.measure, x.entraRedis, x.entraid]),
  );
}

/**
 * Section 5 table.
 *
 * @example
 * ```ts
 * footprintTable(result);
 * ```
 */
export function footprintTable(r: FootprintResult): string {
  const t = (x: { all: number; ref: number }): string => `${x.all} / ${x.ref}`;
  const overBaseline = (a: FootprintResult['arms'][number]): string => {
    const base = r.arms.find((x) => x.arm === `${a.arm.split('-')[0]}-password`);
    if (!base || base === a) return '';
    const more = a.heapPerAddedConnectionBytes.median - base.heapPerAddedConnectionBytes.median;
    return `${more >= 0 ? '+' : ''}${fmt(more)}`;
  };
  const rows = r.arms.map((a) => [
    a.label,
    fmtSpread(a.heapPerConnectionBytes, 0),
    fmtSpread(a.heapPerAddedConnectionBytes, 0),
    overBaseline(a),
    fmtSpread(a.rssPerConnectionBytes, 0),
    t(a.timersPerSource),
    t(a.timersWithConnections),
    t(a.timersAfterClose),
    fmtSpread(a.idleCpuPct, 2),
    fmt(a.emulatorIdleCpuPct.median, 2),
  ]);
  const k = r.settings.connections;
  const head = [
    'arm',
    `JS heap per connection, bytes (first ${k})`,
    `JS heap per connection, bytes (${k} more)`,
    `${k} more: over the static-password arm, bytes`,
    'RSS per connection, bytes (noisy)',
    'timers: token source (all / ref)',
    `timers: + ${k} connections`,
    'timers left after close',
    `idle CPU, % of a core (${k} connections, ${fmt(r.settings.idleMs / 1000, 0)} s)`,
    'emulator idle CPU, %',
  ];
  return table(head, rows);
}

/**
 * Section 6 table.
 *
 * @example
 * ```ts
 * dispatchTable(result);
 * ```
 */
export function dispatchTable(r: DispatchResult): string {
  return table(
    [
      'client',
      'static password, µs/command',
      'entra-redis, µs/command',
      'ratio (IQR)',
      'adapter, ns/command (IQR)',
      'rounds × commands',
    ],
    r.cells.map((c) => [
      c.client,
      fmt(c.plain.median, 3),
      fmt(c.protected.median, 3),
      fmtIqr(c.ratio, 4),
      fmtIqr(c.adapterNs, 0),
      `${r.settings.rounds} × ${r.settings.commandsPerRound.toLocaleString('en-US')}`,
    ]),
  );
}

/**
 * Section 7 tables: startup, then per command.
 *
 * @example
 * ```ts
 * preloadTable(result);
 * ```
 */
export function preloadTable(r: PreloadResult): string {
  const none = r.startup.find((a) => a.arm === 'none')!.summary.median;
  const startup = table(
    ['how the app starts', 'wall time, ms: median (min–max)', 'added, ms', 'runs'],
    r.startup.map((a) => [
      a.arm === 'none' ? 'no preload' : `${a.arm} entra-redis/register`,
      fmtSpread(a.summary, 0),
      a.arm === 'none' ? '' : fmt(a.summary.median - none, 0),
      String(a.ms.length),
    ]),
  );
  const commands = table(
    [
      'client',
      'static password, µs/command',
      'API, µs/command',
      'preload, µs/command',
      'preload / API (IQR)',
      'preload − API, ns/command (IQR)',
    ],
    r.cells.map((c) => [
      c.client,
      fmt(c.plain.median, 3),
      fmt(c.api.median, 3),
      fmt(c.preload.median, 3),
      fmtIqr(c.ratioToApi, 4),
      fmtIqr(c.differenceNs, 0),
    ]),
  );
  return `${startup}\n\n${commands}`;
}
