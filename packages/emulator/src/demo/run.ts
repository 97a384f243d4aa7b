import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startEmulator } from '../emulator.js';
import { DEMO_CLIENTS } from './clients.js';
import type { DemoTarget } from './types.js';
import { Workload, type WorkloadCounters } from './workload.js';

/** Options of {@link runDemo}. */
export interface DemoOptions {
  /** How long the workload runs, in seconds. @default 60 */
  durationSec: number;
  /** Lifetime of the emulator's access tokens, in seconds. @default 10 */
  tokenLifetimeSec: number;
  /** Called about four times a second with the live figures (for the terminal view). */
  onProgress?: (snapshot: DemoSnapshot) => void;
  /** Aborts the run early (Ctrl-C); the summary still reports what happened. */
  signal?: AbortSignal;
}

/** The demo's figures at one moment; the final one is the summary. */
export interface DemoSnapshot {
  elapsedSec: number;
  durationSec: number;
  tokenLifetimeSec: number;
  clients: string[];
  rotations: number;
  reauths: number;
  operations: { ok: number; failed: number };
  messages: { published: number; received: number; lost: number; duplicates: number };
  items: { queued: number; consumed: number; lost: number };
  evictions: number;
  authFailures: number;
  lastError?: string;
  /** Set on the final summary: nothing failed, nothing was lost, nothing was evicted. */
  ok?: boolean;
}

/** How long the feeds and queues may take to drain after the producers stop. */
const DRAIN_MS = 5_000;

function sum(workloads: Workload[], key: keyof Omit<WorkloadCounters, 'lastError'>): number {
  return workloads.reduce((total, w) => total + w.counters[key], 0);
}

/**
 * Runs the demo: starts the emulator with short-lived tokens and a realistic workload with
 * node-redis and ioredis over RESP2 and RESP3, all sharing one token source; returns the
 * summary. Everything it starts is stopped before it returns.
 *
 * @example
 * ```ts
 * const summary = await runDemo({ durationSec: 20, tokenLifetimeSec: 3 });
 * process.exitCode = summary.ok ? 0 : 1;
 * ```
 */
export async function runDemo(options: DemoOptions): Promise<DemoSnapshot> {
  const { servicePrincipalSecret, TokenSource } = await import('entra-redis');
  const stateDir = await mkdtemp(join(tmpdir(), 'entra-redis-demo-'));
  const emulator = await startEmulator({ stateDir, tokenLifetimeSec: options.tokenLifetimeSec });
  const tokenSource = new TokenSource({
    credential: servicePrincipalSecret({
      tenantId: emulator.tenantId,
      clientId: emulator.servicePrincipal.clientId,
      clientSecret: emulator.servicePrincipal.clientSecret,
      ...emulator.credentialOptions(),
    }),
    name: 'demo',
    // Demo tokens may live a few seconds: keep the floor between requests well below that.
    minRefreshIntervalMs: Math.min(1_000, (options.tokenLifetimeSec * 1000) / 8),
  });
  let rotations = 0;
  tokenSource.on('refreshed', () => (rotations += 1));
  const workloads: Workload[] = [];
  const startedAt = Date.now();
  let timer: NodeJS.Timeout | undefined;

  const snapshot = (): DemoSnapshot => {
    const redis = emulator.stats().redis;
    const published = sum(workloads, 'published');
    const received = sum(workloads, 'received');
    const queued = sum(workloads, 'queued');
    const consumed = sum(workloads, 'consumed');
    const lastError = workloads.map((w) => w.counters.lastError).find(Boolean);
    return {
      elapsedSec: Math.round((Date.now() - startedAt) / 100) / 10,
      durationSec: options.durationSec,
      tokenLifetimeSec: options.tokenLifetimeSec,
      clients: workloads.map((w) => w.client.label),
      rotations: Math.max(0, rotations - 1), // the first token is not a rotation
      reauths: redis.reauthOk,
      operations: { ok: sum(workloads, 'opsOk'), failed: sum(workloads, 'opsFailed') },
      messages: {
        published,
        received,
        lost: published - received,
        duplicates: sum(workloads, 'duplicates'),
      },
      items: { queued, consumed, lost: queued - consumed },
      evictions: redis.evictions,
      authFailures: redis.authFailed + redis.reauthFailed,
      ...(lastError ? { lastError } : {}),
    };
  };

  try {
    const target: DemoTarget = {
      host: emulator.redis.host,
      port: emulator.redis.port,
      ca: emulator.caCertPem,
      tokenSource,
    };
    for (const factory of DEMO_CLIENTS) workloads.push(new Workload(await factory(target)));
    await Promise.all(workloads.map((w) => w.start()));
    if (options.onProgress) {
      const report = options.onProgress;
      timer = setInterval(() => report(snapshot()), 250);
    }
    await new Promise<void>((resolve) => {
      const done = setTimeout(resolve, options.durationSec * 1000);
      options.signal?.addEventListener('abort', () => {
        clearTimeout(done);
        resolve();
      });
    });
    await Promise.all(workloads.map((w) => w.stop(DRAIN_MS)));
    const summary = snapshot();
    summary.ok =
      summary.operations.failed === 0 &&
      summary.messages.lost === 0 &&
      summary.items.lost === 0 &&
      summary.evictions === 0 &&
      summary.authFailures === 0;
    return summary;
  } finally {
    if (timer) clearInterval(timer);
    await Promise.allSettled(workloads.map((w) => w.client.close()));
    await tokenSource.close();
    await emulator.close();
    await rm(stateDir, { recursive: true, force: true });
  }
}
