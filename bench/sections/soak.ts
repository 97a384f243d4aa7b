// Section 3 (and part of 4): rotation soak. Short-lived tokens, the same steady load on three
// arms at the same time (entra-redis with node-redis and with ioredis, @redis/entraid with
// node-redis), each with its own principal, until every arm saw the target number of token
// rotations. Failed commands, evictions (per principal, from the front end), lost and
// duplicate messages, lost items — all should be zero.
import { ARM_LABELS, createArm, type Arm, type ArmId } from '../lib/arms.js';
import type { EmulatorLink, OidCounters } from '../lib/emulator-link.js';
import type { Settings } from '../lib/settings.js';
import { nowMs, sleep } from '../lib/timing.js';
import { startWorkload, type Workload, type WorkloadCounts } from './soak-workload.js';

const ARMS: readonly ArmId[] = ['node-entra', 'io-entra', 'node-entraid'];

/** One arm's soak outcome. */
export interface SoakArmResult {
  arm: ArmId;
  label: string;
  rotations: number;
  counts: WorkloadCounts;
  evictions: number;
  /** Evictions in the token lifetime after the clients were closed (teardown). */
  teardownEvictions: number;
  reauthOk: number;
  reauthFailed: number;
  /** Token listeners the closed clients left on the token source / provider (leaks). */
  listenersLeft: number;
  /** Client `'error'` events and library re-auth error callbacks. */
  clientErrors: number;
  errorSamples: string[];
}

/** Result of the soak section. */
export interface SoakResult {
  settings: Settings['soak'];
  durationMs: number;
  arms: SoakArmResult[];
}

/**
 * Runs the rotation soak.
 *
 * @example
 * ```ts
 * const result = await runSoak(link, settings, console.error);
 * ```
 */
export async function runSoak(
  link: EmulatorLink,
  settings: Settings,
  log: (line: string) => void,
): Promise<SoakResult> {
  const s = settings.soak;
  await link.setTokenLifetime(s.tokenLifetimeSec);
  const arms: Arm[] = ARMS.map((id) =>
    createArm(id, link, {
      refreshRatio: s.refreshRatio,
      // The 1 s default floor between requests would land the refresh of a token with ~1 s left
      // (whole-second exp) at its expiry; @redis/entraid has no such floor.
      minRefreshIntervalMs: (s.tokenLifetimeSec * 1000) / 8,
    }),
  );
  const workloads: Workload[] = [];
  try {
    for (const arm of arms) await arm.ready();
    const before = (await link.counters()).byOid;
    for (const arm of arms) workloads.push(await startWorkload(arm, s));
    const start = nowMs();
    const initial = arms.map((a) => a.tokenTimes.length);
    const rotations = (): number[] => arms.map((a, i) => a.tokenTimes.length - initial[i]!);
    let lastLog = start;
    while (nowMs() - start < s.maxDurationMs && Math.min(...rotations()) < s.rotations) {
      await sleep(250);
      if (nowMs() - lastLog >= 15_000) {
        lastLog = nowMs();
        log(`soak: ${Math.round((lastLog - start) / 1000)} s, rotations ${rotations().join('/')}`);
      }
    }
    const durationMs = nowMs() - start;
    const done = rotations();
    const counts: WorkloadCounts[] = [];
    for (const w of workloads) counts.push(await w.drain());
    const after = (await link.counters()).byOid;
    for (const w of workloads.splice(0)) await w.close();
    const listenersLeft = arms.map((arm) => arm.clientListeners() ?? 0);
    await sleep(s.tokenLifetimeSec * 1000 + 1000);
    const closed = (await link.counters()).byOid;
    const delta = (arm: Arm, key: keyof OidCounters, from = before, to = after): number =>
      (to[arm.oid]?.[key] ?? 0) - (from[arm.oid]?.[key] ?? 0);
    const result = arms.map((arm, i): SoakArmResult => ({
      arm: arm.id,
      label: ARM_LABELS[arm.id],
      rotations: done[i]!,
      counts: counts[i]!,
      evictions: delta(arm, 'evictions'),
      teardownEvictions: delta(arm, 'evictions', after, closed),
      reauthOk: delta(arm, 'reauthOk'),
      reauthFailed: delta(arm, 'reauthFailed'),
      listenersLeft: listenersLeft[i]!,
      clientErrors: arm.errors.count,
      errorSamples: [...arm.errors.samples],
    }));
    for (const r of result) {
      log(
        `soak: ${r.label}: ${r.rotations} rotations, ${r.counts.commandsFailed} failed commands, ` +
          `${r.evictions} evictions, lost messages ${r.counts.subscribers.resp3.lost}/` +
          `${r.counts.subscribers.resp2.lost} (RESP3/RESP2), lost items ${r.counts.lostItems}`,
      );
    }
    return { settings: s, durationMs, arms: result };
  } finally {
    for (const w of workloads) await w.close().catch(() => undefined);
    for (const arm of arms) await arm.close();
  }
}
