// Finds and runs a real redis-server child on a free loopback port, with no persistence and a
// random password on its `default` user, so nothing reaches it without the front end.

import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import {
  accessSync,
  constants,
  mkdtempSync,
  openSync,
  closeSync,
  fstatSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { AdminClient } from './redis-front/admin-client.js';
import { EmulatorError } from './errors.js';

const READY_TIMEOUT_MS = 10_000;
const STOP_TIMEOUT_MS = 5_000;
const PORT_ATTEMPTS = 5;
const LOG_TAIL_BYTES = 2_000;

/** Options of {@link startRedisServer}. */
export interface RedisServerOptions {
  /** Path of the redis-server binary. @default env REDIS_SERVER_BIN, then PATH */
  binary?: string;
  /** Port to listen on. @default a free port */
  port?: number;
  /** Address to bind. @default '127.0.0.1' */
  host?: '127.0.0.1';
  /** More redis-server arguments, e.g. `['--maxmemory', '64mb']`. */
  extraArgs?: string[];
  /** Password of the `default` user. @default random */
  adminPassword?: string;
}

/** A running redis-server child. */
export interface RedisServer {
  readonly host: '127.0.0.1';
  readonly port: number;
  /** Unix socket redis-server also listens on (mode 0700, in its temp dir): the fast path for the front end. */
  readonly socketPath: string;
  /** Password of the `default` user (admin); keep it out of logs. */
  readonly adminPassword: string;
  /** Process id of the current child (changes on restart). */
  readonly pid: number;
  /** Path of the child's log file (stdout and stderr). */
  readonly logPath: string;
  /** Stops and starts redis-server again on the same port (all data and connections are lost). */
  restart(): Promise<void>;
  /** Kills the child, waits for it to exit and removes its temp dir. Idempotent. */
  stop(): Promise<void>;
}

function isExecutable(path: string): boolean {
  try {
    accessSync(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/** Finds redis-server: the option, then REDIS_SERVER_BIN, then PATH. */
export function findRedisServer(binary?: string): string {
  const explicit = binary ?? process.env.REDIS_SERVER_BIN;
  if (explicit) {
    if (isExecutable(explicit)) return explicit;
    throw new EmulatorError(
      'REDIS_SERVER_NOT_FOUND',
      `redis-server at "${explicit}" is not an executable file; fix the path (option "binary" or REDIS_SERVER_BIN)`,
    );
  }
  for (const dir of (process.env.PATH ?? '').split(delimiter)) {
    if (dir && isExecutable(join(dir, 'redis-server'))) return join(dir, 'redis-server');
  }
  throw new EmulatorError(
    'REDIS_SERVER_NOT_FOUND',
    'redis-server was not found on PATH. Install it (Debian/Ubuntu: `sudo apt-get install redis-server`; macOS: `brew install redis`) or set REDIS_SERVER_BIN to its path.',
  );
}

async function freePort(host: string): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, host, () => resolve());
  });
  const { port } = server.address() as net.AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

function logTail(logPath: string, fromByte = 0): string {
  try {
    const text = readFileSync(logPath).subarray(fromByte).toString('utf8');
    return text.slice(-LOG_TAIL_BYTES).trim();
  } catch {
    return '(no log)';
  }
}

function waitExit(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => child.once('exit', () => resolve()));
}

let deathSignalWrapper: string[] | undefined;

/**
 * The command prefix that makes a child die with this process, however it ends (SIGKILL
 * included, where `process.on('exit')` never runs): util-linux's `setpriv --pdeathsig KILL`,
 * which sets the kernel's parent-death signal and then execs the command (same pid). Linux
 * only; elsewhere, or without `setpriv`, an empty prefix: the child is killed at exit only.
 */
function dieWithParent(): string[] {
  if (deathSignalWrapper) return deathSignalWrapper;
  const args = ['--pdeathsig', 'KILL', '--'];
  const works =
    process.platform === 'linux' &&
    spawnSync('setpriv', [...args, 'true'], { stdio: 'ignore', timeout: 5_000 }).status === 0;
  deathSignalWrapper = works ? ['setpriv', ...args] : [];
  return deathSignalWrapper;
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Starts a real redis-server child on a free loopback port (no persistence, its own temp dir,
 * a random password on the `default` user) and resolves once it answers PING. On Linux the child
 * dies with this process even when this process is killed (`setpriv --pdeathsig`): a crashed or
 * killed test run leaves no redis-server behind.
 *
 * @example
 * ```ts
 * const redis = await startRedisServer();
 * console.log(redis.port);
 * await redis.stop();
 * ```
 */
export async function startRedisServer(options: RedisServerOptions = {}): Promise<RedisServer> {
  const binary = findRedisServer(options.binary);
  const host = '127.0.0.1' as const;
  if (options.host !== undefined && options.host !== host) {
    throw new EmulatorError(
      'INVALID_OPTION',
      '"host" must be 127.0.0.1: redis-server is never exposed',
    );
  }
  const adminPassword = options.adminPassword ?? randomBytes(24).toString('hex');
  const dir = mkdtempSync(join(tmpdir(), 'entra-redis-server-'));
  const logPath = join(dir, 'redis.log');
  const confPath = join(dir, 'redis.conf');
  const socketPath = join(dir, 'redis.sock');
  let child: ChildProcess | undefined;
  let port = options.port ?? 0;
  let stopped = false;
  let logStart = 0;

  const killOnExit = (): void => {
    child?.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  };
  process.once('exit', killOnExit);

  const launch = async (): Promise<void> => {
    writeFileSync(
      confPath,
      [
        `port ${port}`,
        `bind ${host}`,
        `unixsocket "${socketPath}"`,
        'unixsocketperm 700',
        'save ""',
        'appendonly no',
        `dir "${dir}"`,
        'daemonize no',
        'logfile ""',
        `requirepass "${adminPassword}"`,
        '',
      ].join('\n'),
      { mode: 0o600 },
    );
    const logFd = openSync(logPath, 'a');
    logStart = fstatSync(logFd).size;
    try {
      const [command, ...prefix] = [...dieWithParent(), binary];
      child = spawn(command!, [...prefix, confPath, ...(options.extraArgs ?? [])], {
        stdio: ['ignore', logFd, logFd],
        cwd: dir,
      });
    } finally {
      closeSync(logFd);
    }
    const proc = child;
    let spawnError: Error | undefined;
    proc.on('error', (e) => (spawnError = e));
    const deadline = Date.now() + READY_TIMEOUT_MS;
    for (;;) {
      if (spawnError || proc.exitCode !== null || proc.signalCode !== null) {
        throw new EmulatorError(
          'REDIS_SERVER_START_FAILED',
          `redis-server exited during startup${spawnError ? ` (${spawnError.message})` : ''}. Log tail:\n${logTail(logPath, logStart)}`,
        );
      }
      try {
        const admin = await AdminClient.connect({
          host,
          port,
          password: adminPassword,
          timeoutMs: 500,
        });
        const reply = await admin.command(['PING']);
        admin.close();
        if (reply === 'PONG') return;
      } catch {
        // not ready yet
      }
      if (Date.now() > deadline) {
        proc.kill('SIGKILL');
        await waitExit(proc);
        throw new EmulatorError(
          'REDIS_SERVER_START_FAILED',
          `redis-server did not answer PING within ${READY_TIMEOUT_MS} ms. Log tail:\n${logTail(logPath, logStart)}`,
        );
      }
      await sleep(25);
    }
  };

  const stopChild = async (): Promise<void> => {
    const proc = child;
    if (!proc) return;
    proc.kill('SIGTERM');
    const timer = setTimeout(() => proc.kill('SIGKILL'), STOP_TIMEOUT_MS);
    await waitExit(proc);
    clearTimeout(timer);
  };

  const startWithRetries = async (fixedPort: boolean): Promise<void> => {
    for (let attempt = 1; ; attempt++) {
      if (!fixedPort) port = await freePort(host);
      try {
        await launch();
        return;
      } catch (e) {
        const inUse = /address already in use/i.test(logTail(logPath, logStart));
        if (!inUse || attempt >= PORT_ATTEMPTS) throw e;
        if (fixedPort) await sleep(100);
      }
    }
  };

  try {
    await startWithRetries(options.port !== undefined);
  } catch (e) {
    process.removeListener('exit', killOnExit);
    rmSync(dir, { recursive: true, force: true });
    throw e;
  }

  return {
    host,
    get port() {
      return port;
    },
    socketPath,
    adminPassword,
    get pid() {
      return child?.pid ?? -1;
    },
    logPath,
    restart: async () => {
      if (stopped)
        throw new EmulatorError(
          'REDIS_SERVER_STOPPED',
          'redis-server was stopped; start a new one instead of restarting it',
        );
      await stopChild();
      await startWithRetries(true);
    },
    stop: async () => {
      if (stopped) return;
      stopped = true;
      await stopChild();
      process.removeListener('exit', killOnExit);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
