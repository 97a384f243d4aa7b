// The results files: `<ISO date>-<commit>.md` / `.json` and `latest.md` / `latest.json`.
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { DispatchResult } from '../sections/dispatch.js';
import type { PreloadResult } from '../sections/preload.js';
import type { EntraidResult } from '../sections/entraid.js';
import type { FanoutResult } from '../sections/fanout.js';
import type { FootprintResult } from '../sections/footprint.js';
import type { HotPathResult } from '../sections/hot-path.js';
import type { SoakResult } from '../sections/soak.js';
import type { MachineInfo } from './machine.js';
import type { Settings } from './settings.js';
import {
  dispatchTable,
  preloadTable,
  entraidTable,
  fanoutTable,
  footprintTable,
  hotPathTable,
  soakTable,
  table,
} from './tables.js';

/** Everything a run produced. */
export interface BenchResults {
  meta: {
    startedAt: string;
    durationSec: number;
    command: string;
    revision: string;
    machine: MachineInfo;
    versions: Record<string, string>;
    redisServer: string;
    fdLimit: number | null;
    settings: Settings;
    notes: string[];
  };
  hotPath?: HotPathResult;
  fanout?: FanoutResult;
  soak?: SoakResult;
  entraid?: EntraidResult;
  footprint?: FootprintResult;
  dispatch?: DispatchResult;
  preload?: PreloadResult;
}

const SECTIONS: ReadonlyArray<{
  key: 'hotPath' | 'fanout' | 'soak' | 'entraid' | 'footprint' | 'dispatch' | 'preload';
  title: string;
  about: string;
  render(r: never): string;
}> = [
  {
    key: 'hotPath',
    title: '1. Hot path: GET/SET throughput',
    about:
      'Each arm has one connection through the emulator front end (TLS). Arms are interleaved ' +
      'in every round (order rotated); ops/s are medians over rounds, ratios are medians of ' +
      'the per-round ratios to the static-password arm of the same client.',
    render: hotPathTable as (r: never) => string,
  },
  {
    key: 'fanout',
    title: '2. Re-authentication fan-out',
    about:
      'N connections on one token source; from the new token arriving from @azure/identity to ' +
      'the front end accepting the N-th re-AUTH (redis-server ran it). "All AUTHs dispatched": ' +
      'until a token listener registered after every client ran. GET latency is probed ' +
      'sequentially on a few of the N connections; "during" samples overlap a fan-out window. ' +
      '"Emulator floor": the time the emulator alone needs for the token checks of N AUTHs ' +
      'carrying the same new token, N at once (one RS256 verification shared by all, then the ' +
      "claims of each; measured before the arms ran). The rest of the emulator's share (TLS, " +
      "forwarding, redis-server's AUTH) is not in it. The library's own share is the dispatch " +
      'column.',
    render: fanoutTable as (r: never) => string,
  },
  {
    key: 'soak',
    title: '3. Rotation soak',
    about:
      'All arms at once, each with its own principal: two SET/GET loops, a publisher with a ' +
      'RESP3 and a RESP2 subscriber, and a producer with a consumer in `BLPOP key 0`. Failed ' +
      'commands include publishes, pushes, pops and failed connects. Evictions are counted by the front end per ' +
      'principal while the load ran; (teardown) counts those after the clients were closed.',
    render: soakTable as (r: never) => string,
  },
  {
    key: 'entraid',
    title: '4. entra-redis and @redis/entraid side by side (node-redis)',
    about: 'The same arms as above, from the same run.',
    render: entraidTable as (r: never) => string,
  },
  {
    key: 'footprint',
    title: '5. Footprint',
    about:
      'JS heap and resident memory (RSS: native TLS buffers too; noisy) per connection after a forced full GC (the token source or ' +
      'provider is created first and not counted). Timers: all = every live timer incl. ' +
      "unref'ed ones (async_hooks), ref = those that keep the process alive. CPU is this " +
      'process only (the emulator runs in its own process; its CPU is shown for context).',
    render: footprintTable as (r: never) => string,
  },
  {
    key: 'dispatch',
    title: "6. The adapters' own cost per command",
    about:
      'The same client with a static username/password and protected by entra-redis (one ' +
      'long-lived token: no rotation), both against a minimal RESP responder in this process ' +
      '(plain TCP on loopback; no TLS, no emulator, no second process to change how replies ' +
      'batch): the CPU time of this process per GET, 32 in flight, the two arms alternating in ' +
      'short chunks within every round; ratio and adapter cost are medians of the per-round ' +
      'paired values. node-redis runs without its per-command timeout (`commandOptions.timeout: ' +
      '0`, both arms): node-redis 6 arms a 5-second timer for every command by default, about ' +
      '13 µs of CPU per command that fires 5 s later, in whichever round runs then. The hot ' +
      'path (section 1) measures the default clients through TLS and the emulator.',
    render: dispatchTable as (r: never) => string,
  },
  {
    key: 'preload',
    title: '7. The zero-code preload',
    about:
      'Startup: wall time of `node [--import|--require entra-redis/register] -e` loading ioredis ' +
      'and redis and exiting (the preload configured for a service principal of the emulator; ' +
      'no client built, so no token requested), the three arms alternated. Per command: one ' +
      'child process under the preload measures, as section 6 does, the same client with a ' +
      'static password, protected through the API (`attachEntraAuth`, its own token source), ' +
      'and built with no credentials on the address `ENTRA_REDIS_HOSTS` names (the preload ' +
      'protects it); ratio and difference are medians of the per-round paired values, preload ' +
      'against API.',
    render: preloadTable as (r: never) => string,
  },
];

/**
 * Renders the results as markdown.
 *
 * @example
 * ```ts
 * const md = renderMarkdown(results);
 * ```
 */
export function renderMarkdown(r: BenchResults): string {
  const m = r.meta;
  const versions = Object.entries(m.versions).map(([k, v]) => `${k} ${v}`);
  const head = table(
    ['', ''],
    [
      ['date', m.startedAt],
      ['commit', m.revision],
      ['command', `\`${m.command}\``],
      ['duration', `${Math.round(m.durationSec)} s`],
      ['machine', `${m.machine.cpuModel}, ${m.machine.cores} cores, ${m.machine.memoryGiB} GiB`],
      ['OS', m.machine.os],
      ['load average at start', m.machine.loadAverage.join(', ')],
      ['Node.js', m.machine.node],
      ['packages', versions.join(', ')],
      ['redis-server', m.redisServer],
      ['open files limit', String(m.fdLimit ?? 'unknown')],
      ['mode', m.settings.smoke ? 'smoke (tiny counts; figures meaningless)' : 'full'],
    ],
  );
  const parts = [
    `# entra-redis benchmarks (${m.startedAt.slice(0, 10)})`,
    head,
    '## Notes',
    m.notes.map((n) => `- ${n}`).join('\n'),
  ];
  for (const s of SECTIONS) {
    const data = r[s.key];
    if (!data) continue;
    parts.push(`## ${s.title}`, s.about, s.render(data as never));
  }
  parts.push(
    '## Settings',
    '```json\n' + JSON.stringify(settingsOnly(m.settings), null, 2) + '\n```',
  );
  return parts.join('\n\n') + '\n';
}

function settingsOnly(s: Settings): object {
  const { hotPath, fanout, soak, footprint, dispatch, preload, sections, smoke } = s;
  return { smoke, sections, hotPath, fanout, soak, footprint, dispatch, preload };
}

/**
 * Writes `<date>-<commit>.md/.json` and `latest.md/.json` into `outDir`; returns the paths.
 *
 * @example
 * ```ts
 * const files = await writeResults('bench/results', results);
 * ```
 */
export async function writeResults(outDir: string, r: BenchResults): Promise<string[]> {
  await mkdir(outDir, { recursive: true });
  const stamp = r.meta.startedAt.replace(/:/g, '-').replace(/\.\d+Z$/, 'Z');
  const base = `${stamp}-${r.meta.revision.replace(/\W.*$/, '')}`;
  const md = renderMarkdown(r);
  const json = JSON.stringify(r, null, 2) + '\n';
  const files: Array<[string, string]> = [
    [`${base}.md`, md],
    [`${base}.json`, json],
    ['latest.md', md],
    ['latest.json', json],
  ];
  for (const [name, text] of files) await writeFile(join(outDir, name), text);
  return files.map(([name]) => join(outDir, name));
}
