// Live timers of this process by the code that created them. The library's timers are
// unref'ed (process.getActiveResourcesInfo() does not list them) and taken when it loaded (a spy
// on setTimeout would miss them): an async hook sees every Timeout, and its creation stack says
// whose it is. The site is the first frame outside Node.js, this file, the library's clock
// wrapper (src/lib/clock.ts) and frames without a file (`new Promise`), i.e. the code that asked
// for the timer.
import { createHook } from 'node:async_hooks';
import { fileURLToPath } from 'node:url';

const HERE = fileURLToPath(import.meta.url);

/** The frame that asked for a timer, from a creation stack. */
function siteOf(stack: string): string | undefined {
  for (const line of stack.split('\n').slice(1)) {
    const frame = line.trim();
    const skip = ['node:', '<anonymous>', HERE, '/src/lib/clock.ts'];
    if (skip.some((s) => frame.includes(s))) continue;
    return frame.replace(/^at /, '');
  }
  return undefined;
}

/** Tracks the `Timeout`s created from a site `owned` accepts, until `stop()`. */
export function trackTimersOf(owned: (site: string) => boolean): {
  /** The creation sites of those still live (neither run to completion nor cleared). */
  live(): string[];
  stop(): void;
} {
  const live = new Map<number, string>();
  const hook = createHook({
    init(asyncId, type) {
      if (type !== 'Timeout') return;
      const limit = Error.stackTraceLimit;
      Error.stackTraceLimit = 40;
      const site = siteOf(new Error().stack ?? '');
      Error.stackTraceLimit = limit;
      if (site && owned(site)) live.set(asyncId, site);
    },
    destroy(asyncId) {
      live.delete(asyncId);
    },
  }).enable();
  return { live: () => [...live.values()], stop: () => hook.disable() };
}
