// `npm run bench`: the benchmark suite. Starts the emulator in a child process, runs the
// sections (hot path, fan-out, soak, @redis/entraid side by side, footprint) and writes
// `<ISO date>-<commit>.md/.json` and `latest.md/.json` into bench/results (or --out).
// Flags: --smoke (seconds-long, tiny counts), --only <section>[,<section>], --out <dir>.
// See bench/README.md.
import { spawnSync } from 'node:child_process';
import { reexecWithBuiltPackages } from '../scripts/built-packages.js';
import { ARM_IDS } from './lib/arms.js';
import { EmulatorLink } from './lib/emulator-link.js';
import { fdLimit, gitRevision, machineInfo, packageVersions } from './lib/machine.js';
import { writeResults, type BenchResults } from './lib/report.js';
import { parseSettings, type Settings } from './lib/settings.js';
import { runDispatch } from './sections/dispatch.js';
import { compareEntraid } from './sections/entraid.js';
import { runFanout } from './sections/fanout.js';
import { runFootprint } from './sections/footprint.js';
import { runHotPath } from './sections/hot-path.js';
import { runPreload } from './sections/preload.js';
import { runSoak } from './sections/soak.js';

const WANTED_FDS = 65_536;
/** Descriptors the emulator process needs besides two per connection (measured + margin). */
const FD_MARGIN = 64;
const log = (line: string): void => void process.stderr.write(`[bench] ${line}\n`);

function shLimit(args: string): number | undefined {
  const probe = spawnSync('sh', ['-c', `${args} 2>/dev/null && ulimit -n`], { encoding: 'utf8' });
  const value = Number(probe.stdout.trim());
  return probe.status === 0 && Number.isFinite(value) ? value : undefined;
}

/**
 * Re-runs this script with a higher open files limit when the fan-out needs more descriptors
 * than the soft limit allows: `ulimit -n 65536` if the hard limit (or CAP_SYS_RESOURCE) allows
 * it, else the soft limit raised to the hard limit. What still does not fit is capped (see
 * `maxConnections`) and said so in the results.
 */
function reexecWithMoreFiles(settings: Settings): void {
  if (process.env.ENTRA_REDIS_BENCH_REEXEC || !settings.sections.includes('fanout')) return;
  const biggest = Math.max(...settings.fanout.sizes.map((s) => s.connections));
  const limit = fdLimit();
  if (limit === undefined || limit >= biggest * 2 + 400) return;
  let raise = `ulimit -n ${WANTED_FDS}`;
  let raised = shLimit(raise);
  if (raised === undefined) {
    raise = 'ulimit -Sn "$(ulimit -Hn)"';
    raised = shLimit(raise);
  }
  if (raised === undefined || raised <= limit) {
    log(`open files limit ${limit} cannot be raised here (hard limit); the fan-out is capped`);
    return;
  }
  log(`open files limit ${limit} is too low for ${biggest} connections; re-running under ${raise}`);
  const result = spawnSync(
    'sh',
    [
      '-c',
      `${raise} && exec "$0" "$@"`,
      process.execPath,
      ...process.execArgv,
      '--max-old-space-size=8192',
      ...process.argv.slice(1),
    ],
    { stdio: 'inherit', env: { ...process.env, ENTRA_REDIS_BENCH_REEXEC: '1' } },
  );
  process.exit(result.status ?? 1);
}

/**
 * Largest fan-out that fits: the emulator process holds two descriptors per client connection
 * (client side and upstream to redis-server) on top of those it already has open; redis-server
 * must accept them too.
 */
function maxConnections(
  limit: number | undefined,
  maxClients: number,
  emulatorFds: number,
): number {
  const byFiles =
    limit === undefined || emulatorFds < 0
      ? 1_000
      : Math.floor((limit - emulatorFds - FD_MARGIN) / 2);
  return Math.min(byFiles, maxClients - 100);
}

function commandLine(): string {
  const args = process.argv.slice(2).join(' ');
  if (process.env.npm_lifecycle_event === 'bench')
    return `npm run bench${args ? ` -- ${args}` : ''}`;
  return `node --import tsx bench/run.ts${args ? ` ${args}` : ''}`;
}

function notes(settings: Settings): string[] {
  return [
    'Every compared arm ran in this one run, interleaved (hot path, fan-out and footprint: ' +
      'arm order rotated each round; soak: all arms at the same time).',
    'The machine is shared: other processes (other builds and test runs) used the same cores ' +
      'during the run. Absolute figures move with that load; the interleaved ratios much less.',
    'Every arm goes through the emulator front end (a Node.js TLS proxy that verifies each ' +
      'AUTH token, RS256) in front of a local redis-server; the emulator runs in a child ' +
      'process, on the same cores as the clients and redis-server. Absolute throughput is ' +
      'bounded by that proxy, not by the client libraries.',
    'Static-password arms use a long-lived token minted once, passed as plain ' +
      'username/password: the same front end, the same TLS, no token machinery.',
    ...(settings.smoke ? ['Smoke run: tiny counts and durations; the figures mean nothing.'] : []),
  ];
}

async function main(): Promise<void> {
  reexecWithBuiltPackages();
  let settings: Settings;
  try {
    settings = parseSettings(process.argv.slice(2));
  } catch (error) {
    log((error as Error).message);
    process.exit(2);
  }
  reexecWithMoreFiles(settings);
  const limit = fdLimit();
  // redis-server needs maxclients + 32 descriptors of its own (its own process, same limit).
  const maxClients =
    limit === undefined ? 10_000 : Math.max(1_000, Math.min(20_000, Math.floor(limit) - 200));
  const started = new Date();
  const t0 = performance.now();
  log(`starting the emulator (redis-server --maxclients ${maxClients})`);
  const link = await EmulatorLink.start({
    tokenLifetimeSec: 3600,
    extraArgs: ['--maxclients', String(maxClients)],
    principals: [...ARM_IDS],
  });
  const results: BenchResults = {
    meta: {
      startedAt: started.toISOString(),
      durationSec: 0,
      command: commandLine(),
      revision: gitRevision(),
      machine: machineInfo(),
      versions: packageVersions(),
      redisServer: link.info.redisVersion,
      fdLimit: limit === undefined || !Number.isFinite(limit) ? null : limit,
      settings,
      notes: notes(settings),
    },
  };
  try {
    const has = (s: Settings['sections'][number]): boolean => settings.sections.includes(s);
    if (has('hot-path')) results.hotPath = await runHotPath(link, settings, log);
    if (has('fanout'))
      results.fanout = await runFanout(
        link,
        settings,
        maxConnections(limit, maxClients, (await link.counters()).openFds),
        log,
      );
    if (has('soak')) results.soak = await runSoak(link, settings, log);
    if (has('footprint')) results.footprint = await runFootprint(link, settings, log);
    if (has('dispatch')) results.dispatch = await runDispatch(settings, log);
    if (has('preload')) results.preload = await runPreload(link, settings, log);
    results.entraid = compareEntraid(results);
  } finally {
    await link.close();
  }
  results.meta.durationSec = (performance.now() - t0) / 1000;
  const files = await writeResults(settings.outDir, results);
  log(`done in ${Math.round(results.meta.durationSec)} s`);
  for (const file of files) process.stdout.write(`${file}\n`);
}

// Exit explicitly: a token provider whose clients leaked listeners keeps a ref'ed refresh timer
// (reported in the soak table as "token listeners left after close").
main().then(
  () => process.exit(0),
  (error: unknown) => {
    log(`failed: ${String((error as Error)?.stack ?? error)}`);
    process.exit(1);
  },
);
