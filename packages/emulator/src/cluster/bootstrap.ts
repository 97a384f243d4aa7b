// Forms the cluster from fresh nodes, as `redis-cli --cluster create` does: distinct config
// epochs, an even slot split over the masters, MEET, then replicas attached to their masters.

import { EmulatorError } from '../errors.js';
import type { ClusterNode } from './node.js';
import { waitStable } from './stability.js';
import { slotRanges, type NodeView } from './topology.js';

const RETRY_INTERVAL_MS = 50;

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** Runs `CLUSTER REPLICATE` until the replica knows its master (gossip may still be on its way). */
async function replicate(
  replica: ClusterNode,
  master: ClusterNode,
  deadline: number,
): Promise<void> {
  for (;;) {
    const reply = await replica.admin.run(['CLUSTER', 'REPLICATE', master.id]);
    if (!(reply instanceof Error)) return;
    if (Date.now() > deadline) {
      throw new EmulatorError(
        'REDIS_ADMIN_FAILED',
        `node ${replica.index} could not become a replica of node ${master.index}: ${reply.message}`,
      );
    }
    await sleep(RETRY_INTERVAL_MS);
  }
}

/** A problem with the agreed map against the intended layout, or undefined. */
function layoutProblem(
  views: NodeView[],
  nodes: readonly ClusterNode[],
  shards: number,
): string | undefined {
  const ranges = slotRanges(shards);
  for (const node of nodes) {
    const view = views.find((v) => v.id === node.id);
    if (!view) return `node ${node.index} is missing`;
    if (node.index < shards) {
      const [from, to] = ranges[node.index]!;
      const slots = view.slots;
      if (
        view.role !== 'master' ||
        slots.length !== 1 ||
        slots[0]![0] !== from ||
        slots[0]![1] !== to
      )
        return `node ${node.index} does not serve slots ${from}-${to} yet`;
    } else if (view.masterId !== nodes[node.shard]!.id) {
      return `node ${node.index} is not a replica of node ${node.shard} yet`;
    }
  }
  return undefined;
}

/**
 * Turns started nodes into one cluster: node `i < shards` is the master of shard `i`, the others
 * replicas of the master of their shard. Resolves with the agreed map once stable.
 *
 * @example
 * ```ts
 * const views = await formCluster(nodes, 3, 60_000);
 * ```
 */
export async function formCluster(
  nodes: readonly ClusterNode[],
  shards: number,
  timeoutMs: number,
): Promise<NodeView[]> {
  const deadline = Date.now() + timeoutMs;
  const ranges = slotRanges(shards);
  await Promise.all(
    nodes.slice(0, shards).map(async (master, i) => {
      const [from, to] = ranges[i]!;
      await master.admin.ok(['CLUSTER', 'SET-CONFIG-EPOCH', String(i + 1)]);
      await master.admin.ok(['CLUSTER', 'ADDSLOTSRANGE', String(from), String(to)]);
    }),
  );
  const [first, ...others] = nodes;
  for (const node of others) {
    await first!.admin.ok([
      'CLUSTER',
      'MEET',
      '127.0.0.1',
      String(node.announcedPort),
      String(node.busPort),
    ]);
  }
  await Promise.all(
    nodes.slice(shards).map((replica) => replicate(replica, nodes[replica.shard]!, deadline)),
  );
  return waitStable(nodes, {
    timeoutMs: Math.max(deadline - Date.now(), 1),
    what: 'start-up',
    expect: (views) => layoutProblem(views, nodes, shards),
  });
}
