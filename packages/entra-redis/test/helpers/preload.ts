// Runs the preload test applications (test/fixtures/preload) as child processes under
// `node --import|--require entra-redis/register`, each in a directory of its own inside the
// workspace (so that `entra-redis`, BullMQ and the clients resolve from the root node_modules,
// and a copy of a client placed in the directory's own node_modules is a genuinely separate,
// nested copy).
import { spawn } from 'node:child_process';
import { cp, mkdir, mkdtemp, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('../../../../', import.meta.url));
const FIXTURES = fileURLToPath(new URL('../fixtures/preload/', import.meta.url));
const SCRATCH = join(ROOT, 'node_modules', '.cache', 'entra-redis-preload-tests');

/** A directory holding the fixture applications; `close()` removes it. */
export interface AppDir {
  readonly path: string;
  close(): Promise<void>;
}

/**
 * Copies the fixture applications into a new directory. With `nestedIORedis`, the directory
 * gets its own `node_modules/ioredis`: a copy of ioredis 5, which its applications load while
 * BullMQ (at the root) loads ioredis 6.
 */
export async function appDir(options: { nestedIORedis?: boolean } = {}): Promise<AppDir> {
  await mkdir(SCRATCH, { recursive: true });
  const path = await mkdtemp(join(SCRATCH, 'app-'));
  await cp(FIXTURES, path, { recursive: true });
  if (options.nestedIORedis) {
    await cp(join(ROOT, 'node_modules', 'ioredis5'), join(path, 'node_modules', 'ioredis'), {
      recursive: true,
      dereference: true,
    });
  }
  return { path, close: () => rm(path, { recursive: true, force: true }) };
}

/** What an application printed and how it ended. */
export interface AppRun {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
  /** The last line of stdout, parsed (the application's counters). */
  readonly result: Record<string, unknown> | undefined;
}

/**
 * Runs `script` of `dir` with `node <preload...> script` and exactly `env` (plus PATH), and
 * resolves once it exits. `preload` is the node arguments before the script, e.g.
 * `['--import', 'entra-redis/register']`. Killed after `timeoutMs`.
 */
export function runApp(
  dir: AppDir,
  script: string,
  env: Record<string, string>,
  preload: string[],
  timeoutMs: number,
): Promise<AppRun> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [...preload, script], {
      cwd: dir.path,
      env: { PATH: process.env.PATH ?? '', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('error', (error) => {
      clearTimeout(timer);
      reject(error);
    });
    child.on('close', (code) => {
      clearTimeout(timer);
      const last = stdout.trim().split('\n').pop() ?? '';
      let result: Record<string, unknown> | undefined;
      try {
        result = JSON.parse(last) as Record<string, unknown>;
      } catch {
        result = undefined;
      }
      resolve({ code, stdout, stderr, result });
    });
  });
}

/** A JWT, as it would appear if a token were printed. */
export const JWT = /eyJ[\w-]{4,}\.eyJ[\w-]{4,}\.[\w-]+/;
