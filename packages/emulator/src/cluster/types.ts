// Public types of the emulator's Redis Cluster mode.

import type { RedisFront, RedisFrontStats } from '../redis-front/types.js';

/** Options of the cluster mode (`startEmulator({ cluster: … })`). */
export interface ClusterOptions {
  /** Number of masters; the 16384 slots are split evenly over them (1 to 16). */
  shards: number;
  /** Replicas of each master (0 to 4). {@link ClusterFaults.failover} needs at least 1. @default 0 */
  replicasPerShard?: number;
  /**
   * Which front-end port the nodes announce in `CLUSTER SLOTS`, `CLUSTER SHARDS`,
   * `CLUSTER NODES`, `MOVED` and `ASK`: `'tls'` (as on Azure, where Entra auth is TLS only) or
   * `'plain'` (each front end gets a plaintext port; no replicas in this mode).
   * @default 'tls'
   */
  announce?: 'tls' | 'plain';
  /** `cluster-node-timeout` of every node, in milliseconds. @default 2000 */
  nodeTimeoutMs?: number;
  /** How long start-up and each fault may take to reach a stable slot map, in milliseconds. @default 60000 */
  stableTimeoutMs?: number;
}

/** A client endpoint of the cluster: always a front end, never a raw redis-server. */
export interface ClusterEndpoint {
  host: string;
  port: number;
}

/** One node as the cluster sees it now (after the last start-up or fault). */
export interface ClusterNodeInfo extends ClusterEndpoint {
  /** Redis Cluster node id (40 hex characters). */
  id: string;
  role: 'master' | 'replica';
  /** The shard (replication group) the node belongs to; it keeps it across failovers. */
  shard: number;
  /** Slot ranges served, inclusive (empty for replicas). */
  slots: [number, number][];
  /** Process id of the node's redis-server child. */
  pid: number;
}

/** Front-end counters summed over every node, plus each node's own (by node index). */
export type ClusterStats = RedisFrontStats & { perNode: RedisFrontStats[] };

/** Fault injection on the cluster; topology changes resolve once every node agrees again. */
export interface ClusterFaults {
  /**
   * Promotes a replica of `shard` with `CLUSTER FAILOVER` (no data loss); the old master becomes
   * its replica. Needs `replicasPerShard >= 1`.
   */
  failover(shard: number): Promise<void>;
  /**
   * Moves one slot and its keys to the master of `toShard`: `SETSLOT IMPORTING/MIGRATING`,
   * `MIGRATE` in batches, then `SETSLOT NODE` on every master. Clients get `ASK` while it runs and
   * `MOVED` after.
   */
  migrateSlot(slot: number, toShard: number): Promise<void>;
  /** Destroys every client connection of one node's front end (index into `nodes()`). */
  dropConnections(nodeIndex: number): void;
}

/**
 * The emulated cluster: each node is a real redis-server (`cluster-enabled yes`) behind its own
 * validating front end, and announces the front end's port.
 *
 * @example
 * ```ts
 * const emulator = await startEmulator({ cluster: { shards: 3, replicasPerShard: 1 } });
 * const { rootNodes, faults } = emulator.cluster!;
 * await faults.migrateSlot(0, 2);
 * ```
 */
export interface EmulatorCluster {
  /** One endpoint per initial master (the announced front-end ports), for cluster clients. */
  readonly rootNodes: ClusterEndpoint[];
  /** Every node in a fixed order (the initial masters, then the replicas); roles and slots are current. */
  nodes(): ClusterNodeInfo[];
  /** Each node's front end (events, stats), by node index. */
  readonly fronts: readonly RedisFront[];
  /** Fault injection. */
  readonly faults: ClusterFaults;
  /** Front-end counters summed over the nodes, plus `perNode`. */
  stats(): ClusterStats;
}
