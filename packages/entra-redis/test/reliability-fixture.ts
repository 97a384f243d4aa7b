// Shared pieces of the reliability tests: a node-redis and an ioredis client on one token
// source, each driven by a probe that issues a command every few milliseconds and records
// every outcome, so a fault row can assert "zero failed commands" or "fast clear failures,
// then recovery" for both clients at once.
import type { TokenSource, TokenSourceOptions } from 'entra-redis';
import type { TestEmulator } from './helpers/emulator.js';
import { sleep } from './helpers/emulator.js';
import { connect, VARIANTS, type AnyRedis } from './ioredis-fixture.js';
import { nodeRedisClient, type Client } from './node-redis-fixture.js';

/** Token lifetime of the fault matrix, in seconds (`exp` is whole seconds: 7–8 s of life). */
export const LIFETIME_SEC = 8;

/**
 * Token source settings for the matrix: refresh at half the life (so a fault shorter than the
 * remaining life fits between refresh and expiry), short request timeout (a hanging endpoint
 * is cut quickly) and short retry delays (recovery is seen within a second of the endpoint's
 * return).
 */
export const SOURCE_OPTIONS: Partial<TokenSourceOptions> = {
  refreshRatio: 0.5,
  requestTimeoutMs: 1_000,
  retry: { initialDelayMs: 200, maxDelayMs: 500, maxRetryAfterMs: 1_000 },
  metrics: false,
};

/** One failed command: its code, message and how long it took to fail. */
export interface Failure {
  code: string | undefined;
  isRetryable: boolean | undefined;
  message: string;
  ms: number;
  atMs: number;
  /** The error itself (the secrets test prints it every way it can). */
  error: unknown;
}

/** Issues `command` every `intervalMs` until stopped, recording successes and failures. */
export class Probe {
  ok = 0;
  lastOkAtMs = 0;
  readonly failures: Failure[] = [];
  #running = true;
  readonly #loop: Promise<void>;

  constructor(
    readonly name: string,
    command: (i: number) => Promise<unknown>,
    intervalMs = 40,
  ) {
    this.#loop = (async () => {
      for (let i = 0; this.#running; i++) {
        const t0 = Date.now();
        try {
          await command(i);
          this.ok++;
          this.lastOkAtMs = Date.now();
        } catch (e) {
          const err = e as { code?: unknown; isRetryable?: boolean; message?: string };
          this.failures.push({
            code: typeof err.code === 'string' ? err.code : undefined,
            isRetryable: err.isRetryable,
            message: String(err.message),
            ms: Date.now() - t0,
            atMs: Date.now(),
            error: e,
          });
        }
        await sleep(intervalMs);
      }
    })();
  }

  /** Failures since `sinceMs` (epoch ms). */
  failuresSince(sinceMs: number): Failure[] {
    return this.failures.filter((f) => f.atMs >= sinceMs);
  }

  async stop(): Promise<void> {
    this.#running = false;
    await this.#loop;
  }
}

/** A node-redis client and an ioredis client on `source`, each with a probe (SET then GET). */
export interface Pair {
  node: Client;
  io: AnyRedis;
  probes: [Probe, Probe];
  /** Stops the probes and closes both clients. */
  close(): Promise<void>;
}

/** Connects both clients and starts their probes. */
export async function startPair(
  env: TestEmulator,
  source: TokenSource,
  tag: string,
  errors: unknown[] = [],
): Promise<Pair> {
  const node = nodeRedisClient(env, source, undefined, { onError: (e: unknown) => errors.push(e) });
  await node.connect();
  const io = await connect(env, VARIANTS[0]!, source, { onError: (e: unknown) => errors.push(e) });
  const roundTrip = async (set: () => Promise<unknown>, get: () => Promise<unknown>, i: number) => {
    await set();
    const value = await get();
    if (value !== String(i)) throw new Error(`read ${String(value)} after writing ${i}`);
  };
  const probes: [Probe, Probe] = [
    new Probe('node-redis', (i) =>
      roundTrip(
        () => node.set(`${tag}:n`, String(i)),
        () => node.get(`${tag}:n`),
        i,
      ),
    ),
    new Probe('ioredis', (i) =>
      roundTrip(
        () => io.set(`${tag}:i`, String(i)),
        () => io.get(`${tag}:i`),
        i,
      ),
    ),
  ];
  return {
    node,
    io,
    probes,
    async close() {
      await Promise.all(probes.map((p) => p.stop()));
      node.destroy();
      io.disconnect();
    },
  };
}

/** Waits until every probe has succeeded after `sinceMs`, or `timeoutMs` passes (then throws). */
export async function waitForRecovery(
  probes: readonly Probe[],
  sinceMs: number,
  timeoutMs: number,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (probes.some((p) => p.lastOkAtMs <= sinceMs)) {
    if (Date.now() > deadline) {
      const stuck = probes.filter((p) => p.lastOkAtMs <= sinceMs).map((p) => p.name);
      throw new Error(`no successful command within ${timeoutMs} ms on ${stuck.join(', ')}`);
    }
    await sleep(20);
  }
}

/** Resolves on the source's next `refreshed` event (a token has just been issued). */
export function nextRefresh(source: TokenSource): Promise<void> {
  return new Promise((resolve) => {
    const off = source.onCredentials(() => {
      off();
      resolve();
    });
  });
}
