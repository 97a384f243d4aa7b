// Waiting until the cluster is stable: `cluster_state:ok` on every node, every node sees the
// same slot map with every node at its announced port, and every replica's link is up.

import { EmulatorError } from '../errors.js';
import { infoFields } from './admin.js';
import type { ClusterNode } from './node.js';
import { fingerprint, parseClusterNodes, viewProblem, type NodeView } from './topology.js';

const POLL_INTERVAL_MS = 50;

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** Options of {@link waitStable}. */
export interface StableOptions {
  timeoutMs: number;
  /** An extra condition on the agreed map: a problem, or undefined when it holds. */
  expect?: (views: NodeView[]) => string | undefined;
  /** What is being waited for, for the timeout message. */
  what: string;
}

/** One node's problem, or its view when it is healthy. */
async function inspect(
  node: ClusterNode,
  expectedPorts: Map<string, number>,
): Promise<{ problem: string } | { views: NodeView[] }> {
  const state = infoFields(await node.admin.text(['CLUSTER', 'INFO'])).get('cluster_state');
  if (state !== 'ok') return { problem: `cluster_state is ${state ?? 'missing'}` };
  const views = parseClusterNodes(await node.admin.text(['CLUSTER', 'NODES']));
  const problem = viewProblem(views, expectedPorts);
  if (problem) return { problem };
  if (views.find((v) => v.id === node.id)?.role === 'replica') {
    const link = infoFields(await node.admin.text(['INFO', 'replication'])).get(
      'master_link_status',
    );
    if (link !== 'up') return { problem: `its replication link is ${link ?? 'missing'}` };
  }
  const unlisted = await replicasMissingFromSlots(node, views);
  if (unlisted) return { problem: unlisted };
  return { views };
}

/**
 * Redis leaves a replica out of `CLUSTER SLOTS` until gossip tells it the replica has synced;
 * clients that read replicas (or pick a new master on failover) need it listed.
 */
async function replicasMissingFromSlots(
  node: ClusterNode,
  views: NodeView[],
): Promise<string | undefined> {
  const ranges = await node.admin.ok(['CLUSTER', 'SLOTS']);
  if (!Array.isArray(ranges)) return 'CLUSTER SLOTS gave an unexpected reply';
  for (const range of ranges) {
    if (!Array.isArray(range)) continue;
    const masterId = Array.isArray(range[2]) ? String(range[2][2]) : '';
    const replicas = views.filter((v) => v.masterId === masterId).length;
    const listed = range.length - 3;
    if (listed < replicas) {
      return `CLUSTER SLOTS lists ${listed} of the ${replicas} replicas of ${masterId.slice(0, 8)}`;
    }
  }
  return undefined;
}

/** The first reason the cluster is not stable yet, or the agreed views. */
async function check(
  nodes: readonly ClusterNode[],
  options: StableOptions,
): Promise<{ problem: string } | { views: NodeView[] }> {
  const expectedPorts = new Map(nodes.map((n) => [n.id, n.announcedPort]));
  const results = await Promise.all(
    nodes.map((n) =>
      inspect(n, expectedPorts).catch((e: unknown) => ({ problem: (e as Error).message })),
    ),
  );
  let agreed: NodeView[] | undefined;
  for (const [i, result] of results.entries()) {
    const node = nodes[i]!;
    if ('problem' in result) return { problem: `node ${node.index}: ${result.problem}` };
    if (agreed && fingerprint(agreed) !== fingerprint(result.views)) {
      return { problem: `node ${node.index} disagrees with node ${nodes[0]!.index} on the map` };
    }
    agreed ??= result.views;
  }
  const extra = agreed && options.expect?.(agreed);
  if (extra) return { problem: extra };
  return { views: agreed ?? [] };
}

/**
 * Polls every node until the cluster is stable (and `expect` holds), then returns the agreed
 * `CLUSTER NODES` views; throws an {@link EmulatorError} naming the last problem on timeout.
 *
 * @example
 * ```ts
 * const views = await waitStable(nodes, { timeoutMs: 30_000, what: 'start-up' });
 * ```
 */
export async function waitStable(
  nodes: readonly ClusterNode[],
  options: StableOptions,
): Promise<NodeView[]> {
  const deadline = Date.now() + options.timeoutMs;
  for (;;) {
    const result = await check(nodes, options);
    if ('views' in result) return result.views;
    if (Date.now() > deadline) {
      throw new EmulatorError(
        'REDIS_ADMIN_FAILED',
        `the emulated cluster did not become stable within ${options.timeoutMs} ms (${options.what}): ${result.problem}`,
      );
    }
    await sleep(POLL_INTERVAL_MS);
  }
}
