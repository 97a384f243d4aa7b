// How `check --watch` shows what it sees: one line per event (and a status line on a TTY), then
// a summary. `--json` shows nothing until the final object.

import { describeMs } from './durations.js';
import type { WatchCounts, WatchEvent, WatchSummary, WatchView } from './watch.js';

/** A view that prints nothing (for `--json`). */
export const SILENT_WATCH_VIEW: WatchView = { event() {}, progress() {}, close() {} };

/** Width of the event name column (`FAIL connection`). */
const LABEL_WIDTH = 15;

/** `14:03:07`, local time. */
function clock(iso: string): string {
  return new Date(iso).toTimeString().slice(0, 8);
}

function countsText(c: WatchCounts): string {
  const n = (count: number, one: string, many = `${one}s`) =>
    `${count} ${count === 1 ? one : many}`;
  return [
    n(c.refreshes, 'new token'),
    n(c.reauths, 're-AUTH'),
    n(c.pings, 'PING'),
    n(c.failures, 'failure'),
  ].join(', ');
}

/** The lines of one event, without a trailing newline. */
export function formatWatchEvent(e: WatchEvent, paint = (_code: string, t: string) => t): string {
  const time = `  ${clock(e.at)}`;
  switch (e.kind) {
    case 'refresh':
      return `${time}  ${'new token'.padEnd(LABEL_WIDTH)} expires ${clock(e.expiresAt)} (lives ${describeMs(e.lifetimeSec * 1000)})`;
    case 'reauth':
      return `${time}  ${paint('32', 're-AUTH'.padEnd(LABEL_WIDTH))} ${e.endpoint}  AUTH ${e.authMs} ms, PING ${e.pingMs} ms (same connection)`;
    case 'failure': {
      const what = { token: 'token', reauth: 're-AUTH', ping: 'PING', connection: 'connection' }[
        e.what
      ];
      const lines = [
        `${time}  ${paint('31', `FAIL ${what}`.padEnd(LABEL_WIDTH))} ${e.endpoint ? `${e.endpoint}  ` : ''}${e.detail}`,
      ];
      if (e.diagnosis) lines.push(`        ${paint('1', 'diagnosis:')} ${e.diagnosis}`);
      if (e.fix) lines.push(`        ${paint('1', 'fix:')} ${e.fix}`);
      return lines.join('\n');
    }
  }
}

/** Prints events to `out`; on a TTY also a status line redrawn about once a second. */
export function createWatchView(out: NodeJS.WriteStream): WatchView {
  const tty = out.isTTY === true;
  const color = tty && !process.env.NO_COLOR;
  const paint = (code: string, text: string) => (color ? `\x1b[${code}m${text}\x1b[0m` : text);
  let status = false;
  const clear = () => {
    if (status) out.write('\r\x1b[2K');
    status = false;
  };
  return {
    event(e) {
      clear();
      out.write(`${formatWatchEvent(e, paint)}\n`);
    },
    progress(counts, leftMs) {
      if (!tty) return;
      clear();
      out.write(`  watching: ${describeMs(Math.max(0, leftMs))} left; ${countsText(counts)}`);
      status = true;
    },
    close: clear,
  };
}

/** The closing line(s) of a watch. */
export function watchSummaryText(
  w: WatchSummary,
  nodeCount: number,
  refreshEveryMs: number | undefined,
): string {
  const how = {
    duration: `Watch ended after ${describeMs(w.durationMs)}`,
    interrupted: `Watch interrupted (Ctrl-C) after ${describeMs(w.durationMs)}`,
    'connections-lost': `Watch stopped after ${describeMs(w.durationMs)}, every connection closed`,
  }[w.endedBy];
  const where = nodeCount === 1 ? '1 connection' : `${nodeCount} connections`;
  const lines = [`${how} (${where}): ${countsText(w)}.`];
  if (w.refreshes === 0 && w.failures === 0) {
    lines.push(
      'No new token arrived during the watch, so no re-AUTH was tested: watch longer than ' +
        "three quarters of a token's life, or ask for fresh tokens sooner with --refresh-every 1m.",
    );
  } else if (refreshEveryMs !== undefined && w.refreshes + 1 < w.durationMs / refreshEveryMs / 2) {
    lines.push(
      `Fewer new tokens than --refresh-every ${describeMs(refreshEveryMs)} asks: the identity ` +
        'probably handed back a token it had cached (managed identity endpoints and the Azure ' +
        'CLI keep a token until a few minutes before it expires).',
    );
  }
  lines.push(
    w.failures === 0
      ? 'No failures: every connection was re-authenticated in place.'
      : `${w.failures} failure(s) during the watch; see the diagnosis above.`,
  );
  if (w.refreshes === 0 && w.failures === 0) lines[lines.length - 1] = 'No failures.';
  return `${lines.join('\n')}\n`;
}
