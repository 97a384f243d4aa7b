import type { DemoSnapshot } from './run.js';

const n = (value: number): string => value.toLocaleString('en-US');

/** The live view's lines for one snapshot. */
export function renderLines(s: DemoSnapshot): string[] {
  const bar = (done: number, total: number, width = 30): string => {
    const filled = Math.min(width, Math.round((done / Math.max(total, 1)) * width));
    return `[${'#'.repeat(filled)}${'.'.repeat(width - filled)}]`;
  };
  return [
    `entra-redis demo ${bar(s.elapsedSec, s.durationSec)} ${
      s.elapsedSec > s.durationSec && s.ok === undefined
        ? 'draining the feed and the queue…'
        : `${Math.min(s.elapsedSec, s.durationSec).toFixed(1)} / ${s.durationSec} s`
    }   tokens live ${s.tokenLifetimeSec} s`,
    `  clients          ${s.clients.join(', ')}`,
    `  token rotations  ${n(s.rotations)}        re-authentications  ${n(s.reauths)}`,
    `  operations       ${n(s.operations.ok)} ok   ${n(s.operations.failed)} failed`,
    `  pub/sub          ${n(s.messages.published)} published   ${n(s.messages.received)} received   ${n(s.messages.duplicates)} duplicates`,
    `  queue (BRPOP 0)  ${n(s.items.queued)} queued   ${n(s.items.consumed)} consumed`,
    `  evictions        ${n(s.evictions)}        refused AUTHs  ${n(s.authFailures)}`,
    ...(s.lastError ? [`  last error       ${s.lastError.slice(0, 100)}`] : []),
  ];
}

/** The closing lines of a run. */
export function renderSummary(s: DemoSnapshot): string {
  const verdict = s.ok
    ? `OK: ${n(s.rotations)} token rotations, zero failures, zero lost messages, zero lost items, zero evictions.`
    : `FAILED: ${n(s.operations.failed)} failed operations, ${n(s.messages.lost)} lost messages, ${n(s.items.lost)} lost items, ${n(s.evictions)} evictions, ${n(s.authFailures)} refused AUTHs.`;
  return `${renderLines(s).join('\n')}\n\n${verdict}\n`;
}

/**
 * A live view: on a TTY it redraws in place; otherwise it prints one plain line every five
 * seconds.
 */
export function liveView(out: NodeJS.WriteStream): (s: DemoSnapshot) => void {
  let drawn = 0;
  let lastPlainAt = 0;
  return (s) => {
    if (out.isTTY) {
      const lines = renderLines(s);
      const up = drawn > 0 ? `\x1b[${drawn}A` : '';
      out.write(`${up}${lines.map((l) => `\x1b[2K${l}`).join('\n')}\n`);
      drawn = lines.length;
    } else if (s.elapsedSec - lastPlainAt >= 5) {
      lastPlainAt = s.elapsedSec;
      out.write(
        `[${s.elapsedSec.toFixed(0)} s] rotations ${s.rotations}, re-auths ${s.reauths}, ops ${s.operations.ok} ok / ${s.operations.failed} failed, ` +
          `messages ${s.messages.received}/${s.messages.published}, items ${s.items.consumed}/${s.items.queued}, evictions ${s.evictions}\n`,
      );
    }
  };
}
