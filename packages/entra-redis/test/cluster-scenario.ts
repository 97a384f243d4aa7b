// The cluster scenario both adapters are held to: clients of one token source run the cluster
// workload across at least five rotations while a slot moves to another shard and a shard fails
// over to its replica; then nothing may have failed, been lost or been evicted, and the whole
// cluster asked for one token per rotation.
//
// Rotations get no allowance at all. The two topology faults do get one, as on Azure: while a
// slot moves or a shard fails over (and for a few seconds after, until every client has seen the
// new map), an in-flight command may fail with a topology error (the client drops its connection
// to a demoted node, a MOVED/ASK/CLUSTERDOWN) and a pub/sub message may miss a subscriber that is
// being moved — Redis pub/sub is at most once. Outside those windows: zero failures, zero losses;
// and the workload must be succeeding again after each window. No message is delivered twice
// outside those windows, by any client; inside one at most what was published within
// BRIDGE_AFTER_END_MS (the longest the ioredis RESP2 handoff bridges a subscriber the cluster
// replaced). A client that moves its subscriber off a node a failover demoted can get a message
// twice whatever the authentication: a PUBLISH held by the failover's write pause reaches the old
// subscription at once and the promoted node later, through the cluster bus (docs/cluster.md,
// "Topology changes").
import type { TokenSource } from 'entra-redis';
import { expect } from 'vitest';
import { BRIDGE_AFTER_END_MS } from '../src/ioredis/rotation.js';
import {
  keySlot,
  keysOnEveryShard,
  shardOf,
  startClusterWorkload,
  type ClusterUnderTest,
} from './cluster-fixture.js';
import { sleep, suiteEmulator, waitFor, type TestEmulator } from './helpers/emulator.js';

/** How long after a topology fault clients may still act on the old map. */
const SETTLE_MS = 3_000;

/** Errors a command may get while the topology changes under it. */
const TOPOLOGY_ERROR =
  /Disconnects client|Connection is closed|Socket closed|closed unexpectedly|MOVED|ASK|CLUSTERDOWN|TRYAGAIN|Failed to refresh slots cache|All nodes failed/i;

/** A test emulator started in cluster mode. */
export type ClusterEnv = TestEmulator;

/** The cluster the scenario runs on (3 shards with a replica each, 3-second tokens), per suite. */
export function clusterSuiteEmulator(): ClusterEnv {
  return suiteEmulator({ tokenLifetimeSec: 3, cluster: { shards: 3, replicasPerShard: 1 } });
}

/** Slot ranges of each shard's master, by shard index. */
export function shardSlots(env: ClusterEnv): [number, number][][] {
  const masters = env.emulator.cluster!.nodes().filter((n) => n.role === 'master');
  return masters.sort((a, b) => a.shard - b.shard).map((m) => m.slots);
}

/** The most of `times` (ascending) that fall within one span of `spanMs`. */
function mostWithin(times: number[], spanMs: number): number {
  let most = 0;
  for (let first = 0, last = 0; last < times.length; last++) {
    while (times[last]! - times[first]! > spanMs) first++;
    most = Math.max(most, last - first + 1);
  }
  return most;
}

/** The first `<prefix>:<n>` whose slot is on `shard`. */
function nameOnShard(prefix: string, shard: number, shards: [number, number][][]): string {
  for (let n = 0; ; n++) {
    if (shardOf(keySlot(`${prefix}:${n}`), shards) === shard) return `${prefix}:${n}`;
  }
}

/**
 * Runs the scenario with the clients `make` builds on a fresh token source and asserts its
 * outcome (see the file comment).
 */
export async function clusterScenario(
  env: ClusterEnv,
  prefix: string,
  make: (source: TokenSource) => Promise<ClusterUnderTest>[],
): Promise<void> {
  const cluster = env.emulator.cluster!;
  const lifetimeMs = env.emulator.tenant.tokenLifetimeSec * 1_000;
  const source = env.tokenSource();
  let rotations = 0;
  const rotatedAt: number[] = [];
  source.on('refreshed', () => {
    rotations += 1;
    rotatedAt.push(Date.now());
  });
  await source.getCredentials();
  const oid = env.emulator.servicePrincipal.oid;
  const issuedBefore = env.emulator.stats().identity.tokensIssued[oid] ?? 0;
  const rotationsBeforeClients = rotations;

  const shards = shardSlots(env);
  // A hash tag on shard 2: one key of each client lives in the slot that will move.
  const movedTag = nameOnShard(`${prefix}:moved`, 2, shards);
  const movedSlot = keySlot(movedTag);
  const clients = await Promise.all(make(source));
  const workloads = await Promise.all(
    clients.map((c, i) => {
      // Each client writes its own keys, so that every GET must return its own last SET.
      const keys = [...keysOnEveryShard(`${prefix}:${i}`, shards, 6), `${i}:{${movedTag}}`];
      // Own channels too: a subscriber must receive exactly what its own publisher sent.
      const shardChannel = nameOnShard(`${prefix}:${i}:orders`, 0, shards);
      return startClusterWorkload(c, keys, `${prefix}:${i}:news`, shardChannel);
    }),
  );

  // Rotations count from here: every client connected and subscribed.
  const connectedAt = Date.now();
  const rotationsBefore = rotations;
  /**
   * Waits for `n` rotations after connect. A token is replaced before it expires (or the
   * connections using it are evicted), so `n` rotations come within `n` token lifetimes; one
   * more lifetime of slack.
   */
  const rotated = (n: number, what: string): Promise<void> =>
    waitFor(
      () => rotations >= rotationsBefore + n,
      Math.max(0, connectedAt + (n + 1) * lifetimeMs - Date.now()),
      `${what} after connect`,
    );
  const windows: Array<[number, number]> = [];
  const fault = async (run: () => Promise<void>): Promise<void> => {
    const start = Date.now();
    await run();
    const end = Date.now() + SETTLE_MS;
    windows.push([start, end]);
    await sleep(SETTLE_MS);
    const progress = workloads.map((w) => w.progress());
    await waitFor(
      () => workloads.every((w, i) => w.progress() > progress[i]! + 20),
      10_000,
      'every client succeeding again after the fault',
    );
  };
  await rotated(2, 'two rotations');
  await fault(() => cluster.faults.migrateSlot(movedSlot, 0));
  await rotated(3, 'a third rotation');
  const before = cluster.stats();
  await fault(() => cluster.faults.failover(1));
  await rotated(6, 'six rotations');
  const results = await Promise.all(workloads.map((w) => w.stop()));
  // Stop refreshing: the emulator counts token requests per oid, and a later scenario of the
  // same file counts its own.
  await source.close();
  const outside = (at: number): boolean => !windows.some(([a, b]) => at >= a && at <= b);

  const after = cluster.stats();
  const { perNode: _perNode, ...totals } = after;
  for (const result of results) {
    console.log(
      `[${result.label}] rotations=${rotations - rotationsBefore}`,
      JSON.stringify(result, (k, v: unknown) =>
        ['failures', 'lostAt', 'duplicatesAt', 'sentAt'].includes(k) ? undefined : v,
      ),
    );
  }
  console.log(`[${prefix} cluster] ${JSON.stringify(totals)}`);
  // Where losses fell, relative to the nearest rotation and to the fault windows (diagnostics).
  const near = (at: number): string => {
    const r = rotatedAt.reduce((best, t) => (Math.abs(t - at) < Math.abs(best - at) ? t : best), 0);
    const w = windows.findIndex(([a, b]) => at >= a && at <= b);
    return `${at - r}ms from a rotation${w >= 0 ? `, in fault window ${w}` : ''}`;
  };
  for (const result of results) {
    for (const [kind, d] of [
      ['message', result.messages],
      ['smessage', result.sharded],
    ] as const) {
      if (d.lost > 0)
        console.log(`[${result.label}] ${kind} lost: ${d.lostAt.map(near).join('; ')}`);
      if (d.duplicates > 0)
        console.log(`[${result.label}] ${kind} twice: ${d.duplicatesAt.map(near).join('; ')}`);
    }
  }
  for (const result of results) {
    const failures = result.failures.filter((f) => outside(f.at)).map((f) => f.message);
    expect(failures, `${result.label}: failures outside the fault windows`).toEqual([]);
    for (const f of result.failures) {
      expect(f.message, `${result.label}: failure during a fault`).toMatch(TOPOLOGY_ERROR);
    }
    expect(result.mismatches, `${result.label}: data lost`).toBe(0);
    expect(result.messages.lostAt.filter(outside), `${result.label}: messages lost`).toEqual([]);
    expect(result.sharded.lostAt.filter(outside), `${result.label}: shard messages lost`).toEqual(
      [],
    );
    for (const [kind, d] of [
      ['messages', result.messages],
      ['shard messages', result.sharded],
    ] as const) {
      const what = `${result.label}: ${kind} delivered twice`;
      expect(d.duplicatesAt.filter(outside), `${what} outside the fault windows`).toEqual([]);
      // At most what was published while one bridge lasted, per fault window.
      const bound = mostWithin(d.sentAt, BRIDGE_AFTER_END_MS);
      for (const [a, b] of windows) {
        const inWindow = d.duplicatesAt.filter((at) => at >= a && at <= b);
        expect(inWindow.length, `${what} in a fault window`).toBeLessThanOrEqual(bound);
      }
    }
    expect(result.ok, result.label).toBeGreaterThan(500);
    expect(result.messages.published, result.label).toBeGreaterThan(100);
    expect(result.sharded.published, result.label).toBeGreaterThan(100);
  }
  expect(after.evictions).toBe(0);
  expect(after.authFailed + after.reauthFailed).toBe(0);
  // Connections opened after the failover (to the promoted replica) authenticated with tokens.
  expect(after.authOk).toBeGreaterThan(before.authOk);
  expect(after.reauthOk).toBeGreaterThan(before.reauthOk);
  // The new slot owner serves the moved key.
  expect(shardOf(movedSlot, shardSlots(env))).toBe(0);
  expect(rotations - rotationsBefore, 'rotations after connect').toBeGreaterThanOrEqual(6);
  const issued = (env.emulator.stats().identity.tokensIssued[oid] ?? 0) - issuedBefore;
  expect(issued).toBeLessThanOrEqual(rotations - rotationsBeforeClients + 1);
}
