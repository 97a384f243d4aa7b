// The machine, the versions and the git commit a run used, for the results header.
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { cpus, release, totalmem, type as osType } from 'node:os';
import { fileURLToPath } from 'node:url';

/** Where a run happened. */
export interface MachineInfo {
  cpuModel: string;
  cores: number;
  memoryGiB: number;
  os: string;
  node: string;
  loadAverage: number[];
}

const ROOT = fileURLToPath(new URL('../..', import.meta.url));

/**
 * The machine the benchmark runs on.
 *
 * @example
 * ```ts
 * const machine = machineInfo();
 * ```
 */
export function machineInfo(): MachineInfo {
  const list = cpus();
  let load: number[] = [];
  try {
    load = readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).map(Number);
  } catch {
    // not Linux
  }
  return {
    cpuModel: list[0]?.model.trim() ?? 'unknown',
    cores: list.length,
    memoryGiB: Math.round((totalmem() / 2 ** 30) * 10) / 10,
    os: `${osType()} ${release()}`,
    node: process.version,
    loadAverage: load,
  };
}

/**
 * Installed versions of the packages compared (read from node_modules).
 *
 * @example
 * ```ts
 * packageVersions(); // { redis: '6.3.1', ... }
 * ```
 */
export function packageVersions(): Record<string, string> {
  const names = [
    'redis',
    '@redis/client',
    'ioredis',
    '@redis/entraid',
    '@azure/identity',
    '@azure/msal-node',
  ];
  const out: Record<string, string> = {};
  for (const name of names) out[name] = versionAt(`node_modules/${name}/package.json`);
  // The msal-node that @azure/identity loads: its own copy when the root one is another major
  // (@azure/identity 4.13 with msal-node 5 next to the root's msal-node 7).
  const nested = versionAt(
    'node_modules/@azure/identity/node_modules/@azure/msal-node/package.json',
  );
  if (nested !== 'not installed') out['@azure/msal-node'] = nested;
  out['entra-redis'] = versionAt('packages/entra-redis/package.json');
  out['@entra-redis/emulator'] = versionAt('packages/emulator/package.json');
  return out;
}

function versionAt(path: string): string {
  try {
    return (JSON.parse(readFileSync(`${ROOT}/${path}`, 'utf8')) as { version: string }).version;
  } catch {
    return 'not installed';
  }
}

/**
 * The short commit hash, with `+changes` when the working tree differs from it.
 *
 * @example
 * ```ts
 * gitRevision(); // 'fcc2c34+changes'
 * ```
 */
export function gitRevision(): string {
  try {
    const run = (args: string[]): string =>
      execFileSync('git', args, {
        cwd: ROOT,
        encoding: 'utf8',
        stdio: ['ignore', 'pipe', 'ignore'],
      });
    const hash = run(['rev-parse', '--short', 'HEAD']).trim();
    const dirty = run(['status', '--porcelain', '--untracked-files=no']).trim() !== '';
    return dirty ? `${hash}+changes` : hash;
  } catch {
    return 'nogit';
  }
}

/**
 * The soft limit on open files (`ulimit -n`), or undefined if it cannot be read.
 *
 * @example
 * ```ts
 * fdLimit(); // 65536
 * ```
 */
export function fdLimit(): number | undefined {
  try {
    const out = execFileSync('sh', ['-c', 'ulimit -n'], { encoding: 'utf8' }).trim();
    return out === 'unlimited' ? Number.POSITIVE_INFINITY : Number(out);
  } catch {
    return undefined;
  }
}
