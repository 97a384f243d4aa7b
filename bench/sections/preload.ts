// Section 7: the zero-code preload (`node --import entra-redis/register`). Its startup cost:
// a process that loads ioredis and redis and exits, without the preload, with --import and
// with --require, runs alternated. Its per-command cost: a child process under the preload
// measures the same client with a static password, protected through the API, and protected
// by the preload (bench/preload-child.ts), interleaved as in section 6.
import { spawn, spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { EmulatorLink } from '../lib/emulator-link.js';
import type { Settings } from '../lib/settings.js';
import { pairedRatios, summarize, type Summary } from '../lib/stats.js';
import type { PreloadChildResult } from '../preload-child.js';

/** Startup of one way of loading the preload. */
export interface PreloadStartup {
  arm: 'none' | '--import' | '--require';
  /** Wall time of each run, ms. */
  ms: number[];
  summary: Summary;
}

/** One client's per-command figures under the preload. */
export interface PreloadCell {
  client: 'ioredis' | 'node-redis';
  plain: Summary;
  api: Summary;
  preload: Summary;
  /** Per-round preload / API. */
  ratioToApi: Summary;
  /** Per-round preload − API, ns per command. */
  differenceNs: Summary;
}

/** Result of the preload section. */
export interface PreloadResult {
  settings: Settings['preload'];
  startup: PreloadStartup[];
  cells: PreloadCell[];
}

const APP = "await import('ioredis'); await import('redis');";

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

/** The preload's settings for a service principal of the emulator (no secret is logged). */
function preloadEnv(link: EmulatorLink, hosts: string): NodeJS.ProcessEnv {
  const principal = Object.values(link.info.principals)[0]!;
  const ca = join(tmpdir(), `entra-redis-bench-ca-${process.pid}.pem`);
  writeFileSync(ca, link.info.caCertPem);
  return {
    ...process.env,
    ENTRA_REDIS_CREDENTIAL: 'service-principal',
    AZURE_TENANT_ID: link.info.tenantId,
    AZURE_CLIENT_ID: principal.clientId,
    AZURE_CLIENT_SECRET: principal.clientSecret,
    AZURE_AUTHORITY_HOST: link.info.authorityHost,
    NODE_EXTRA_CA_CERTS: ca,
    ENTRA_REDIS_HOSTS: hosts,
    ENTRA_REDIS_LOG: 'silent',
  };
}

function startupRun(arm: PreloadStartup['arm'], env: NodeJS.ProcessEnv): number {
  const flags = arm === 'none' ? [] : [arm, 'entra-redis/register'];
  const t0 = performance.now();
  const run = spawnSync(process.execPath, [...flags, '--input-type=module', '-e', APP], {
    env,
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  const ms = performance.now() - t0;
  if (run.status !== 0) {
    throw new Error(`preload startup (${arm}) exited ${run.status}: ${String(run.stderr).trim()}`);
  }
  return ms;
}

function runChild(env: NodeJS.ProcessEnv): Promise<PreloadChildResult> {
  const child = spawn(
    process.execPath,
    [...process.execArgv, '--import', 'entra-redis/register', 'bench/preload-child.ts'],
    { env, stdio: ['ignore', 'pipe', 'inherit'] },
  );
  let out = '';
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => (out += chunk));
  return new Promise((resolve, reject) => {
    child.once('error', reject);
    child.once('exit', (code) => {
      if (code === 0) resolve(JSON.parse(out.trim().split('\n').at(-1)!) as PreloadChildResult);
      else reject(new Error(`bench/preload-child.ts exited ${code}`));
    });
  });
}

/**
 * Runs the section.
 *
 * @example
 * ```ts
 * results.preload = await runPreload(link, settings, log);
 * ```
 */
export async function runPreload(
  link: EmulatorLink,
  settings: Settings,
  log: (line: string) => void,
): Promise<PreloadResult> {
  const s = settings.preload;
  const port = await freePort();
  const env = preloadEnv(link, `127.0.0.1:${port}`);
  const arms: PreloadStartup['arm'][] = ['none', '--import', '--require'];
  const runs = new Map(arms.map((arm) => [arm, [] as number[]]));
  for (const arm of arms) startupRun(arm, env); // warm the file cache
  for (let i = 0; i < s.startupRuns; i++) {
    for (let j = 0; j < arms.length; j++) {
      const arm = arms[(i + j) % arms.length]!;
      runs.get(arm)!.push(startupRun(arm, env));
    }
  }
  const startup = arms.map((arm) => ({
    arm,
    ms: runs.get(arm)!,
    summary: summarize(runs.get(arm)!),
  }));
  log(
    `preload startup: ${startup.map((a) => `${a.arm} ${a.summary.median.toFixed(0)} ms`).join(', ')}`,
  );
  const child = await runChild({
    ...env,
    ENTRA_REDIS_BENCH_DISPATCH: JSON.stringify(s.commands),
    ENTRA_REDIS_BENCH_PRELOAD_PORT: String(port),
  });
  const cells = child.cells.map((c) => ({
    client: c.client,
    plain: summarize(c.plain),
    api: summarize(c.api),
    preload: summarize(c.preload),
    ratioToApi: summarize(pairedRatios(c.preload, c.api)),
    differenceNs: summarize(c.preload.map((p, i) => (p - c.api[i]!) * 1_000)),
  }));
  for (const c of cells) {
    log(
      `preload ${c.client}: API ${c.api.median.toFixed(3)}, preload ${c.preload.median.toFixed(3)} µs/command ` +
        `(ratio ${c.ratioToApi.median.toFixed(4)})`,
    );
  }
  return { settings: s, startup, cells };
}
