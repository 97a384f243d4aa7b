// Section 2 (and part of 4): re-authentication fan-out. N connections share one token source
// (entra-redis with ioredis and node-redis; @redis/entraid's provider with node-redis). For each
// rotation: the time from the new token's arrival from the identity layer to the front end
// accepting the N-th re-AUTH (redis-server ran it; the reply is on its way), the time until the
// library had dispatched every AUTH, and GET latency on a few of the N connections during the
// fan-out against steady state. Arms are interleaved round by round.
import { ARM_LABELS, createArm, type ArmId } from '../lib/arms.js';
import type { BenchClient } from '../lib/clients.js';
import type { EmulatorLink, OidCounters } from '../lib/emulator-link.js';
import { latencyStats, startProbe, type LatencyStats } from '../lib/probe.js';
import type { FanoutSize, Settings } from '../lib/settings.js';
import { summarize, type Summary } from '../lib/stats.js';
import { inBatches, nowMs, redactTokens, sleep, waitUntil } from '../lib/timing.js';

const ARMS: readonly ArmId[] = ['io-entra', 'node-entra', 'node-entraid'];

/** One observed rotation. */
export interface FanoutRotation {
  /** New token → N-th re-AUTH accepted, ms (to the last one seen if fewer than N). */
  fanoutMs: number;
  /** New token → every client's re-auth dispatched (our listener, registered last, ran), ms. */
  dispatchMs: number;
  /** Connections re-authenticated in this rotation. */
  reauthed: number;
}

/** One arm at one size, over all its rounds. */
export interface FanoutArmResult {
  arm: ArmId;
  label: string;
  connections: number;
  connectMs: Summary;
  rotations: FanoutRotation[];
  fanoutMs: Summary;
  dispatchMs: Summary;
  /** Fewest connections re-authenticated in any rotation. */
  minReauthed: number;
  latency: { steady: LatencyStats; during: LatencyStats; p99Ratio: number };
  evictions: number;
  reauthFailed: number;
  probeFailures: number;
  clientErrors: number;
  /** Rounds that did not complete, with the reason (the figures above exclude them). */
  failures: string[];
}

/** Result of the fan-out section. */
export interface FanoutResult {
  sizes: Array<{
    size: FanoutSize;
    /**
     * Time the emulator needs just for the token checks of N AUTHs carrying one new token, N at
     * once (one shared RS256 verification, then N claim checks), measured at the start: a floor
     * under every arm's fan-out time that no client can beat.
     */
    emulatorVerifyFloorMs: number;
    arms: FanoutArmResult[];
  }>;
  notes: string[];
}

interface Round {
  connectMs: number;
  rotations: FanoutRotation[];
  windows: Array<[number, number]>;
  latency: { steady: number[]; during: number[] };
  evictions: number;
  reauthFailed: number;
  probeFailures: number;
  clientErrors: number;
  failure?: string;
}

/**
 * Runs the fan-out section. `maxConnections` caps N (file-descriptor limit).
 *
 * @example
 * ```ts
 * const result = await runFanout(link, settings, 60_000, console.error);
 * ```
 */
export async function runFanout(
  link: EmulatorLink,
  settings: Settings,
  maxConnections: number,
  log: (line: string) => void,
): Promise<FanoutResult> {
  const notes: string[] = [];
  const sizes: FanoutResult['sizes'] = [];
  for (const wanted of settings.fanout.sizes) {
    const size = { ...wanted, connections: Math.min(wanted.connections, maxConnections) };
    if (size.connections < wanted.connections) {
      notes.push(
        `N=${wanted.connections.toLocaleString('en-US')} was capped to ` +
          `${size.connections.toLocaleString('en-US')}: the open files limit (ulimit -n) could ` +
          'not be raised past the hard limit here, and the emulator front end process holds ' +
          'two descriptors per connection (client side and upstream to redis-server).',
      );
    }
    await link.setTokenLifetime(size.tokenLifetimeSec);
    const oid = link.info.principals[ARMS[0]!]!.oid;
    const emulatorVerifyFloorMs =
      (await link.verifyCostMs(oid, size.connections)) * size.connections;
    const rounds = new Map<ArmId, Round[]>();
    for (let r = 0; r < size.rounds; r++) {
      for (let i = 0; i < ARMS.length; i++) {
        const id = ARMS[(i + r) % ARMS.length]!;
        const round = await runRound(link, id, size, settings, log);
        rounds.set(id, [...(rounds.get(id) ?? []), round]);
      }
    }
    const arms = ARMS.map((id) => summarizeArm(id, size, rounds.get(id) ?? []));
    sizes.push({ size, emulatorVerifyFloorMs, arms });
  }
  return { sizes, notes };
}

async function runRound(
  link: EmulatorLink,
  id: ArmId,
  size: FanoutSize,
  settings: Settings,
  log: (line: string) => void,
): Promise<Round> {
  const n = size.connections;
  const periodMs = size.tokenLifetimeSec * 500; // refreshRatio 0.5
  const arm = createArm(id, link, { refreshRatio: 0.5, jitterRatio: 0 });
  const clients: BenchClient[] = [];
  let before: OidCounters | undefined;
  try {
    await arm.ready();
    before = (await link.counters()).byOid[arm.oid];
    const t = nowMs();
    // Pushed one by one, so that a failed connect still closes those already open.
    await inBatches(
      Array.from({ length: n }, (_, i) => i),
      settings.fanout.connectConcurrency,
      async () => void clients.push(await arm.connect()),
    );
    const connectMs = nowMs() - t;
    const dispatched: number[] = [];
    arm.onDispatched(() => dispatched.push(nowMs()));
    await clients[0]!.set('bench:probe', 'x');
    const probe = startProbe(clients.slice(0, settings.fanout.probes), 'bench:probe');
    const readyAt = nowMs();
    const rotations: FanoutRotation[] = [];
    const windows: Array<[number, number]> = [];
    for (let k = 0; k < size.rotations; k++) {
      const arrived = await waitUntil(
        () => arm.tokenTimes.filter((x) => x > readyAt).length > k,
        periodMs * 2 + 5_000,
      );
      if (!arrived) throw new Error(`fan-out ${id}: no token rotation within ${periodMs * 2} ms`);
      const t0 = arm.tokenTimes.filter((x) => x > readyAt)[k]!;
      const rotation = await observe(link, arm.oid, n, t0, periodMs, dispatched);
      rotations.push(rotation);
      windows.push([t0, t0 + rotation.fanoutMs]);
    }
    await sleep(200);
    await probe.stop();
    const after = (await link.counters()).byOid[arm.oid];
    log(
      `fan-out: ${ARM_LABELS[id]} N=${n}: ` +
        rotations.map((x) => `${x.fanoutMs.toFixed(1)} ms (${x.reauthed})`).join(', '),
    );
    return {
      connectMs,
      rotations,
      windows,
      latency: probe.classify(windows, readyAt, 50),
      evictions: (after?.evictions ?? 0) - (before?.evictions ?? 0),
      reauthFailed: (after?.reauthFailed ?? 0) - (before?.reauthFailed ?? 0),
      probeFailures: probe.failures,
      clientErrors: arm.errors.count,
    };
  } catch (error) {
    // One arm failing (e.g. connections dropped under the load) is a result, not a crash.
    const failure = redactTokens(String((error as Error)?.message ?? error)).slice(0, 200);
    log(`fan-out: ${ARM_LABELS[id]} N=${n}: failed: ${failure}`);
    const after = (await link.counters()).byOid[arm.oid];
    return {
      connectMs: Number.NaN,
      rotations: [],
      windows: [],
      latency: { steady: [], during: [] },
      evictions: (after?.evictions ?? 0) - (before?.evictions ?? 0),
      reauthFailed: (after?.reauthFailed ?? 0) - (before?.reauthFailed ?? 0),
      probeFailures: 0,
      clientErrors: arm.errors.count,
      failure: `${failure} (${clients.length.toLocaleString('en-US')} connected)`,
    };
  } finally {
    await Promise.all(clients.map((c) => c.close()));
    await arm.close();
    await link.clearAuthLog();
    await waitForClosed(link);
  }
}

/** Waits for the N-th re-AUTH after `t0` (or until half a period passed) and measures. */
async function observe(
  link: EmulatorLink,
  oid: string,
  n: number,
  t0: number,
  periodMs: number,
  dispatched: readonly number[],
): Promise<FanoutRotation> {
  const deadline = t0 + Math.min(periodMs * 0.8, 20_000);
  let times: number[] = [];
  while (nowMs() < deadline) {
    await sleep(n > 2_000 ? 100 : 25);
    times = (await link.reauthTimes(oid, t0)).filter((x) => x < t0 + periodMs * 0.9);
    if (times.length >= n) break;
  }
  const last = times.length ? times[Math.min(n, times.length) - 1]! : Number.NaN;
  const dispatch = dispatched.find((x) => x >= t0);
  return {
    fanoutMs: last - t0,
    dispatchMs: dispatch === undefined ? Number.NaN : dispatch - t0,
    reauthed: times.length,
  };
}

async function waitForClosed(link: EmulatorLink): Promise<void> {
  for (let i = 0; i < 100; i++) {
    if ((await link.counters()).front.connectionsOpen === 0) return;
    await sleep(100);
  }
}

function summarizeArm(id: ArmId, size: FanoutSize, rounds: Round[]): FanoutArmResult {
  const rotations = rounds.flatMap((r) => r.rotations);
  const steady = latencyStats(rounds.flatMap((r) => r.latency.steady));
  const during = latencyStats(rounds.flatMap((r) => r.latency.during));
  const sum = (pick: (r: Round) => number): number => rounds.reduce((s, r) => s + pick(r), 0);
  return {
    arm: id,
    label: ARM_LABELS[id],
    connections: size.connections,
    connectMs: summarize(rounds.map((r) => r.connectMs).filter(Number.isFinite)),
    rotations,
    fanoutMs: summarize(rotations.map((r) => r.fanoutMs)),
    dispatchMs: summarize(rotations.map((r) => r.dispatchMs).filter(Number.isFinite)),
    minReauthed: rotations.length ? Math.min(...rotations.map((r) => r.reauthed)) : 0,
    latency: { steady, during, p99Ratio: during.p99 / steady.p99 },
    evictions: sum((r) => r.evictions),
    reauthFailed: sum((r) => r.reauthFailed),
    probeFailures: sum((r) => r.probeFailures),
    clientErrors: sum((r) => r.clientErrors),
    failures: rounds.flatMap((r) => (r.failure ? [r.failure] : [])),
  };
}
