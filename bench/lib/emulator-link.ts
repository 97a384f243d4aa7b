// Parent side of the emulator child process (emulator-host.ts): start, requests over IPC, and
// a clock offset so that the child's event timestamps can be compared with this process's.
import { fork, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { RedisFrontStats } from '@entra-redis/emulator';
import { nowMs } from './timing.js';

/** Options of the emulator child. */
export interface HostStartOptions {
  /** Initial access token lifetime, seconds. */
  tokenLifetimeSec: number;
  /** Extra redis-server arguments (e.g. `--maxclients 20000`). */
  extraArgs: string[];
  /** Names of the service principals to add (one per benchmark arm; all Data Owner). */
  principals: string[];
}

/** A benchmark principal as a client needs it. */
export interface HostPrincipal {
  oid: string;
  clientId: string;
  clientSecret: string;
}

/** What a client needs to reach the emulator. */
export interface HostInfo {
  host: string;
  port: number;
  caCertPem: string;
  tenantId: string;
  authorityHost: string;
  principals: Record<string, HostPrincipal>;
  redisVersion: string;
}

/** Front-end counters of one principal (oid). */
export interface OidCounters {
  authOk: number;
  reauthOk: number;
  authFailed: number;
  reauthFailed: number;
  evictions: number;
}

/** Counters of the emulator child. */
export interface HostCounters {
  front: RedisFrontStats;
  byOid: Record<string, OidCounters>;
  /** CPU time used by the emulator process so far (user + system), ms. */
  cpuMs: number;
  /** Open file descriptors of the emulator process (-1 if unknown). */
  openFds: number;
}

interface Reply {
  id: number;
  ok: boolean;
  result?: unknown;
  error?: string;
}

const HOST_PATH = fileURLToPath(new URL('./emulator-host.ts', import.meta.url));
const REPO_ROOT = fileURLToPath(new URL('../..', import.meta.url));

/** The emulator running in a child process. */
export class EmulatorLink {
  readonly #child: ChildProcess;
  readonly #pending = new Map<number, { resolve(v: unknown): void; reject(e: Error): void }>();
  #nextId = 1;
  #offsetMs = 0;
  #info: HostInfo | undefined;

  private constructor(child: ChildProcess) {
    this.#child = child;
    child.on('message', (reply: Reply) => {
      const waiter = this.#pending.get(reply.id);
      if (!waiter) return;
      this.#pending.delete(reply.id);
      if (reply.ok) waiter.resolve(reply.result);
      else waiter.reject(new Error(`emulator host: ${reply.error}`));
    });
    child.on('exit', (code) => {
      for (const waiter of this.#pending.values()) {
        waiter.reject(new Error(`emulator host exited (code ${code})`));
      }
      this.#pending.clear();
    });
  }

  /**
   * Forks the emulator host, starts the emulator and measures the clock offset.
   *
   * @example
   * ```ts
   * const link = await EmulatorLink.start({ tokenLifetimeSec: 3600, extraArgs: [], principals: ['a'] });
   * ```
   */
  static async start(options: HostStartOptions): Promise<EmulatorLink> {
    const child = fork(HOST_PATH, [], {
      cwd: REPO_ROOT,
      execArgv: ['--import', 'tsx', '--max-old-space-size=8192'],
      serialization: 'advanced',
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    });
    const link = new EmulatorLink(child);
    try {
      link.#info = (await link.request('start', options)) as HostInfo;
      await link.#syncClock();
    } catch (error) {
      child.kill();
      throw error;
    }
    return link;
  }

  /** Connection settings and principals. */
  get info(): HostInfo {
    if (!this.#info) throw new Error('emulator not started');
    return this.#info;
  }

  /** Sends one request to the host. */
  request(op: string, args?: unknown): Promise<unknown> {
    const id = this.#nextId++;
    return new Promise((resolve, reject) => {
      this.#pending.set(id, { resolve, reject });
      this.#child.send({ id, op, args }, (error) => {
        if (!error) return;
        this.#pending.delete(id);
        reject(error);
      });
    });
  }

  async #syncClock(): Promise<void> {
    let best = Number.POSITIVE_INFINITY;
    for (let i = 0; i < 7; i++) {
      const t1 = nowMs();
      const remote = (await this.request('clock')) as number;
      const t2 = nowMs();
      if (t2 - t1 < best) {
        best = t2 - t1;
        this.#offsetMs = remote - (t1 + t2) / 2;
      }
    }
  }

  /** Sets the lifetime of tokens issued from now on, seconds. */
  async setTokenLifetime(sec: number): Promise<void> {
    await this.request('setTokenLifetime', sec);
  }

  /** Mints an access token for a principal (the static-password arms use one). */
  async mint(oid: string, lifetimeSec: number): Promise<string> {
    return (await this.request('mint', { oid, lifetimeSec })) as string;
  }

  /** Milliseconds the emulator spends checking one AUTH token, `count` checks in parallel. */
  async verifyCostMs(oid: string, count: number): Promise<number> {
    return (await this.request('verifyCost', { oid, count })) as number;
  }

  /** Front-end counters, per oid, and the emulator's CPU time. */
  async counters(): Promise<HostCounters> {
    return (await this.request('counters')) as HostCounters;
  }

  /** Times (this process's clock) of successful re-AUTHs of `oid` since `sinceMs`. */
  async reauthTimes(oid: string, sinceMs: number): Promise<number[]> {
    const remote = (await this.request('reauthTimes', {
      oid,
      sinceMs: sinceMs + this.#offsetMs - 5,
    })) as number[];
    return remote.map((t) => t - this.#offsetMs).sort((a, b) => a - b);
  }

  /** Forgets the recorded re-AUTH times. */
  async clearAuthLog(): Promise<void> {
    await this.request('clearAuthLog');
  }

  /** Measured offset of the child's clock against ours, ms. */
  get clockOffsetMs(): number {
    return this.#offsetMs;
  }

  /** Stops the emulator and the child process. Idempotent. */
  async close(): Promise<void> {
    if (!this.#child.connected) return;
    await this.request('close').catch(() => undefined);
    const exited = new Promise((resolve) => this.#child.once('exit', resolve));
    this.#child.disconnect();
    await Promise.race([exited, new Promise((r) => setTimeout(r, 5_000).unref())]);
    if (this.#child.exitCode === null) this.#child.kill('SIGKILL');
  }
}
