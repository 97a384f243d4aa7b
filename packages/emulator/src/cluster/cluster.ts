// Starts the emulated Redis Cluster: the nodes, their front ends, the formed cluster, and the
// handle the emulator exposes as `emulator.cluster`.

import { randomBytes } from 'node:crypto';
import { EmulatorError } from '../errors.js';
import type { RedisFrontStats } from '../redis-front/types.js';
import { formCluster } from './bootstrap.js';
import { failover, migrateSlot, type FaultContext } from './faults.js';
import { startClusterNode, type ClusterNode, type ClusterNodeOptions } from './node.js';
import type { NodeView } from './topology.js';
import type { ClusterOptions, ClusterStats, EmulatorCluster } from './types.js';

const DEFAULT_NODE_TIMEOUT_MS = 2_000;
const DEFAULT_STABLE_TIMEOUT_MS = 60_000;

/** Options of {@link startCluster}: the cluster's own and what every node shares. */
export interface StartClusterOptions {
  cluster: ClusterOptions;
  front: ClusterNodeOptions['front'];
  /** First public TLS port; node `i` gets `tlsPort + i` (0 = free ports). */
  tlsPort: number;
  /** First front-end plaintext port; node `i` gets `plainPort + i` (0 = free ports; false = none). */
  plainPort: number | false;
  binary?: string;
  extraArgs?: string[];
}

/** A running cluster. */
export interface RunningCluster {
  readonly handle: EmulatorCluster;
  readonly nodes: readonly ClusterNode[];
  /** Stops every node. Idempotent. */
  stop(): Promise<void>;
}

function integerIn(name: string, value: unknown, min: number, max: number): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
    throw new EmulatorError(
      'INVALID_OPTION',
      `startEmulator: "cluster.${name}" must be an integer from ${min} to ${max}`,
    );
  }
  return value;
}

/** Validates and normalises the cluster options. */
function normalise(o: ClusterOptions): Required<ClusterOptions> {
  const announce = o.announce ?? 'tls';
  if (announce !== 'tls' && announce !== 'plain') {
    throw new EmulatorError(
      'INVALID_OPTION',
      `startEmulator: "cluster.announce" must be 'tls' or 'plain'`,
    );
  }
  const options = {
    shards: integerIn('shards', o.shards, 1, 16),
    replicasPerShard: integerIn('replicasPerShard', o.replicasPerShard ?? 0, 0, 4),
    announce,
    nodeTimeoutMs: integerIn(
      'nodeTimeoutMs',
      o.nodeTimeoutMs ?? DEFAULT_NODE_TIMEOUT_MS,
      100,
      60_000,
    ),
    stableTimeoutMs: integerIn(
      'stableTimeoutMs',
      o.stableTimeoutMs ?? DEFAULT_STABLE_TIMEOUT_MS,
      1,
      600_000,
    ),
  };
  if (announce === 'plain' && options.replicasPerShard > 0) {
    throw new EmulatorError(
      'INVALID_OPTION',
      `startEmulator: cluster.announce 'plain' cannot have replicas (a replica's link to its master would need the announced port to tell clients from replication); use announce 'tls' or replicasPerShard 0`,
    );
  }
  return options;
}

/** Sums front-end counters. */
function sum(all: RedisFrontStats[]): RedisFrontStats {
  const total = { ...all[0]! };
  for (const s of all.slice(1)) {
    for (const key of Object.keys(total) as (keyof RedisFrontStats)[]) total[key] += s[key];
  }
  return total;
}

/** Runs tasks one after another, whatever each one's outcome. */
function serialiser(): <T>(task: () => Promise<T>) => Promise<T> {
  let tail: Promise<unknown> = Promise.resolve();
  return (task) => {
    const run = tail.then(task, task);
    tail = run.catch(() => undefined);
    return run;
  };
}

async function startNodes(
  o: StartClusterOptions,
  c: Required<ClusterOptions>,
): Promise<ClusterNode[]> {
  const adminPassword = randomBytes(24).toString('hex');
  const total = c.shards * (1 + c.replicasPerShard);
  const port = (base: number, i: number): number => (base === 0 ? 0 : base + i);
  const started = await Promise.allSettled(
    Array.from({ length: total }, (_, index) =>
      startClusterNode({
        index,
        shard: index < c.shards ? index : Math.floor((index - c.shards) / c.replicasPerShard),
        adminPassword,
        nodeTimeoutMs: c.nodeTimeoutMs,
        ...(o.binary ? { binary: o.binary } : {}),
        ...(o.extraArgs ? { extraArgs: o.extraArgs } : {}),
        front: o.front,
        tlsPort: port(o.tlsPort, index),
        plainPort: o.plainPort === false ? false : port(o.plainPort, index),
        announce: c.announce,
        split: c.replicasPerShard > 0,
      }),
    ),
  );
  const nodes = started.flatMap((r) => (r.status === 'fulfilled' ? [r.value] : []));
  const failed = started.find((r) => r.status === 'rejected');
  if (failed) {
    await Promise.all(nodes.map((n) => n.stop()));
    throw failed.reason;
  }
  return nodes;
}

/**
 * Starts `shards × (1 + replicasPerShard)` nodes, forms the cluster and resolves once it is
 * stable. Node `i < shards` is the first master of shard `i`; replicas follow, shard by shard.
 *
 * @example
 * ```ts
 * const running = await startCluster({ cluster: { shards: 3 }, front, tlsPort: 0, plainPort: false });
 * console.log(running.handle.rootNodes);
 * await running.stop();
 * ```
 */
export async function startCluster(o: StartClusterOptions): Promise<RunningCluster> {
  const c = normalise(o.cluster);
  const nodes = await startNodes(o, c);
  let stopping: Promise<void> | undefined;
  const stop = (): Promise<void> =>
    (stopping ??= Promise.all(nodes.map((n) => n.stop())).then(() => undefined));
  let views: NodeView[];
  try {
    views = await formCluster(nodes, c.shards, c.stableTimeoutMs);
  } catch (e) {
    await stop();
    throw e;
  }
  const ctx: FaultContext = {
    nodes,
    shards: c.shards,
    replicasPerShard: c.replicasPerShard,
    adminPassword: nodes[0]!.server.adminPassword,
    timeoutMs: c.stableTimeoutMs,
    setViews: (v) => (views = v),
  };
  const serial = serialiser();
  const handle: EmulatorCluster = {
    rootNodes: nodes.slice(0, c.shards).map((n) => ({ host: '127.0.0.1', port: n.announcedPort })),
    fronts: nodes.map((n) => n.front),
    nodes: () =>
      nodes.map((n) => {
        const view = views.find((v) => v.id === n.id);
        return {
          id: n.id,
          host: '127.0.0.1',
          port: n.announcedPort,
          role: view?.role ?? 'master',
          shard: n.shard,
          slots: view?.slots.map(([a, b]) => [a, b] as [number, number]) ?? [],
          pid: n.server.pid,
        };
      }),
    faults: {
      failover: (shard) => serial(() => failover(ctx, shard)),
      migrateSlot: (slot, toShard) => serial(() => migrateSlot(ctx, slot, toShard)),
      dropConnections: (nodeIndex) => {
        const node = nodes[nodeIndex];
        if (!Number.isInteger(nodeIndex) || !node) {
          throw new EmulatorError(
            'INVALID_OPTION',
            `"nodeIndex" must be an integer from 0 to ${nodes.length - 1}`,
          );
        }
        node.dropConnections();
      },
    },
    stats: (): ClusterStats => {
      const perNode = nodes.map((n) => n.front.stats());
      return { ...sum(perNode), perNode };
    },
  };
  return { handle, nodes, stop };
}
