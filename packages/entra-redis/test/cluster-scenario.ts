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
// and the workload must be succeeding again after each window.
import type { TokenSource } from 'entra-redis';
import { expect } from 'vitest';
import {
  keySlot,
  keysOnEveryShard,
  shardOf,
  startClusterWorkload,
  type ClusterUnderTest,
} from './cluster-fixture.js';
import { sleep, waitFor, type TestEmulator } from './helpers/emulator.js';

/** How long after a topology fault clients may still act on the old map. */
const SETTLE_MS = 3_000;

/** Errors a command may get while the topology changes under it. */
const TOPOLOGY_ERROR =
  /Disconnects client|Connection is closed|Socket closed|closed unexpectedly|MOVED|ASK|CLUSTERDOWN|TRYAGAIN|Failed to refresh slots cache|All nodes failed/i;

/** A test emulator started in cluster mode. */
export type ClusterEnv = TestEmulator;

/** Slot ranges of each shard's master, by shard index. */
function shardSlots(env: ClusterEnv): [number, number][][] {
  const masters = env.emulator.cluster!.nodes().filter((n) => n.role === 'master');
  return masters.sort((a, b) => a.shard - b.shard).map((m) => m.slots);
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
  const rotationsBefore = rotations;

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
  await waitFor(() => rotations >= rotationsBefore + 2, 20_000, 'two rotations');
  await fault(() => cluster.faults.migrateSlot(movedSlot, 0));
  await waitFor(() => rotations >= rotationsBefore + 3, 20_000, 'a third rotation');
  const before = cluster.stats();
  await fault(() => cluster.faults.failover(1));
  await waitFor(() => rotations >= rotationsBefore + 6, 30_000, 'six rotations');
  const results = await Promise.all(workloads.map((w) => w.stop()));
  const outside = (at: number): boolean => !windows.some(([a, b]) => at >= a && at <= b);

  const after = cluster.stats();
  const { perNode: _perNode, ...totals } = after;
  for (const result of results) {
    console.log(
      `[${result.label}] rotations=${rotations - rotationsBefore}`,
      JSON.stringify(result, (k, v: unknown) =>
        k === 'failures' || k === 'lostAt' ? undefined : v,
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
  const issued = (env.emulator.stats().identity.tokensIssued[oid] ?? 0) - issuedBefore;
  expect(issued).toBeLessThanOrEqual(rotations - rotationsBefore + 1);
}
