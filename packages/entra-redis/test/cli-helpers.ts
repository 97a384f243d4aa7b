// Helpers of the CLI tests: run the built CLI as a child process (to the end, or watching its
// output as it comes); find a closed port; an environment without the settings that pick an
// identity flow.
import { spawn, type ChildProcess } from 'node:child_process';
import net from 'node:net';

/** Settings by which the CLI (as the Azure SDK) picks a credential of its own. */
const IDENTITY_KEYS = [
  'AZURE_CLIENT_ID',
  'AZURE_CLIENT_SECRET',
  'AZURE_CLIENT_CERTIFICATE_PATH',
  'AZURE_FEDERATED_TOKEN_FILE',
];

/** `env` without the settings that would pick an identity flow, nor `also`. */
export function withoutIdentity(
  env: Record<string, string>,
  also: readonly string[] = [],
): Record<string, string> {
  const rest = { ...env };
  for (const key of [...IDENTITY_KEYS, ...also]) delete rest[key];
  return rest;
}

/** What a CLI run produced. */
export interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
  ms: number;
}

/**
 * Runs `node -- <cli> ...args` with ONLY `PATH` and `env` in its environment (undefined values
 * are left out), killing it after `timeoutMs`.
 */
export function runCli(
  cli: string,
  args: readonly string[],
  env: Record<string, string | undefined>,
  timeoutMs = 20_000,
): Promise<CliResult> {
  const childEnv: Record<string, string> = { PATH: process.env.PATH ?? '/usr/bin:/bin' };
  for (const [key, value] of Object.entries(env)) if (value !== undefined) childEnv[key] = value;
  const started = Date.now();
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--', cli, ...args], {
      env: childEnv,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('error', (error) => {
      clearTimeout(timer);
      reject(error);
    });
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr, ms: Date.now() - started });
    });
  });
}

/** The `watch` object of `check --json`. */
export interface WatchJson {
  refreshes: number;
  reauths: number;
  pings: number;
  failures: number;
  endedBy: string;
  durationMs: number;
  events: {
    kind: 'refresh' | 'reauth' | 'failure';
    at: string;
    endpoint?: string;
    authMs?: number;
    pingMs?: number;
    lifetimeSec?: number;
    expiresAt?: string;
    what?: string;
    detail?: string;
    diagnosis?: string;
  }[];
}
/** A CLI run in progress: its output so far, a way to wait for a line, and its end. */
export interface RunningCli {
  readonly child: ChildProcess;
  /** stdout so far. */
  stdout(): string;
  /** Resolves once stdout matches `pattern`; rejects after `timeoutMs` or if the run ends first. */
  waitFor(pattern: RegExp, timeoutMs: number): Promise<void>;
  /** Resolves when the process has exited. */
  readonly done: Promise<CliResult>;
}

/** Starts `node -- <cli> ...args` like {@link runCli}, without waiting for it to end. */
export function startCli(
  cli: string,
  args: readonly string[],
  env: Record<string, string | undefined>,
  timeoutMs = 120_000,
): RunningCli {
  const childEnv: Record<string, string> = { PATH: process.env.PATH ?? '/usr/bin:/bin' };
  for (const [key, value] of Object.entries(env)) if (value !== undefined) childEnv[key] = value;
  const started = Date.now();
  const child = spawn(process.execPath, ['--', cli, ...args], {
    env: childEnv,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  let exited = false;
  child.stdout!.setEncoding('utf8').on('data', (d: string) => (stdout += d));
  child.stderr!.setEncoding('utf8').on('data', (d: string) => (stderr += d));
  const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
  const done = new Promise<CliResult>((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code) => {
      exited = true;
      clearTimeout(timer);
      resolve({ code, stdout, stderr, ms: Date.now() - started });
    });
  });
  return {
    child,
    stdout: () => stdout,
    done,
    async waitFor(pattern, waitMs) {
      const deadline = Date.now() + waitMs;
      while (!pattern.test(stdout)) {
        if (exited)
          throw new Error(`the CLI ended before printing ${pattern}:\n${stdout}${stderr}`);
        if (Date.now() > deadline) {
          throw new Error(`no ${pattern} within ${waitMs} ms:\n${stdout}${stderr}`);
        }
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
    },
  };
}

/** A loopback port that nothing listens on (bound, then released). */
export async function freePort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as net.AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}
