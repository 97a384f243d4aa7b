// Topology faults: a manual failover of one shard, and the migration of one slot with its keys.
// Each starts from a stable map and resolves once every node agrees on the new one.

import { EmulatorError } from '../errors.js';
import type { ClusterNode } from './node.js';
import { waitStable } from './stability.js';
import { parseClusterNodes, slotOwner, type NodeView } from './topology.js';

const MIGRATE_BATCH = 100;
const MIGRATE_TIMEOUT_MS = 5_000;
/** A manual failover gives up after 5 s in redis-server; we ask again after this long. */
const PROMOTION_WAIT_MS = 8_000;
const FAILOVER_ATTEMPTS = 3;

/** What the faults need from the cluster. */
export interface FaultContext {
  readonly nodes: readonly ClusterNode[];
  readonly shards: number;
  readonly replicasPerShard: number;
  readonly adminPassword: string;
  readonly timeoutMs: number;
  /** Records the agreed map after a change. */
  setViews(views: NodeView[]): void;
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

function checkIndex(name: string, value: number, size: number): void {
  if (!Number.isInteger(value) || value < 0 || value >= size) {
    throw new EmulatorError(
      'INVALID_OPTION',
      `"${name}" must be an integer from 0 to ${size - 1}; got ${String(value)}`,
    );
  }
}

function roleOf(views: NodeView[], node: ClusterNode): NodeView | undefined {
  return views.find((v) => v.id === node.id);
}

function masterOf(ctx: FaultContext, views: NodeView[], shard: number): ClusterNode {
  const master = ctx.nodes.find((n) => n.shard === shard && roleOf(views, n)?.role === 'master');
  if (!master) throw new EmulatorError('REDIS_ADMIN_FAILED', `shard ${shard} has no master`);
  return master;
}

/** Waits until `node` sees itself as a master; false after `ms`. */
async function promoted(node: ClusterNode, ms: number): Promise<boolean> {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    const views = parseClusterNodes(await node.admin.text(['CLUSTER', 'NODES']));
    if (roleOf(views, node)?.role === 'master') return true;
    await sleep(50);
  }
  return false;
}

/**
 * Promotes a replica of `shard` with `CLUSTER FAILOVER` (it waits for the replica to catch up, so
 * no write is lost) and resolves once every node sees it as the master and the old master as its
 * replica.
 *
 * @example
 * ```ts
 * await failover(ctx, 1);
 * ```
 */
export async function failover(ctx: FaultContext, shard: number): Promise<void> {
  checkIndex('shard', shard, ctx.shards);
  if (ctx.replicasPerShard < 1) {
    throw new EmulatorError(
      'INVALID_OPTION',
      'faults.failover needs a replica: start the emulator with cluster.replicasPerShard >= 1 (CLI: --replicas 1)',
    );
  }
  const before = await waitStable(ctx.nodes, { timeoutMs: ctx.timeoutMs, what: 'before failover' });
  const master = masterOf(ctx, before, shard);
  const replica = ctx.nodes.find((n) => roleOf(before, n)?.masterId === master.id);
  if (!replica) throw new EmulatorError('REDIS_ADMIN_FAILED', `shard ${shard} has no replica`);
  for (let attempt = 1; ; attempt++) {
    await replica.admin.ok(['CLUSTER', 'FAILOVER']);
    if (await promoted(replica, PROMOTION_WAIT_MS)) break;
    if (attempt >= FAILOVER_ATTEMPTS) {
      throw new EmulatorError(
        'REDIS_ADMIN_FAILED',
        `the replica of shard ${shard} (node ${replica.index}) was not promoted after ${attempt} CLUSTER FAILOVER attempts`,
      );
    }
  }
  const views = await waitStable(ctx.nodes, {
    timeoutMs: ctx.timeoutMs,
    what: `failover of shard ${shard}`,
    expect: (v) =>
      roleOf(v, replica)?.role !== 'master'
        ? `node ${replica.index} is not a master everywhere yet`
        : roleOf(v, master)?.masterId !== replica.id
          ? `node ${master.index} is not a replica of node ${replica.index} yet`
          : undefined,
  });
  ctx.setViews(views);
}

/** Moves every key of `slot` from `source` to `target` in batches with MIGRATE. */
async function moveKeys(
  ctx: FaultContext,
  slot: number,
  source: ClusterNode,
  target: ClusterNode,
): Promise<void> {
  let previous = '';
  for (;;) {
    const keys = await source.admin.ok([
      'CLUSTER',
      'GETKEYSINSLOT',
      String(slot),
      String(MIGRATE_BATCH),
    ]);
    if (!Array.isArray(keys) || keys.length === 0) return;
    const batch = keys.map(String);
    const reply = await source.admin.ok([
      'MIGRATE',
      '127.0.0.1',
      String(target.server.port),
      '',
      '0',
      String(MIGRATE_TIMEOUT_MS),
      'AUTH2',
      'default',
      ctx.adminPassword,
      'KEYS',
      ...batch,
    ]);
    const signature = batch.join('\n');
    if (reply === 'NOKEY' && signature === previous) {
      throw new EmulatorError(
        'REDIS_ADMIN_FAILED',
        `slot ${slot} holds keys the emulator cannot name (not valid UTF-8); it cannot migrate them`,
      );
    }
    previous = signature;
  }
}

/**
 * Migrates `slot` and its keys to the master of `toShard`, as `redis-cli --cluster reshard` does,
 * and resolves once every node agrees on the new owner. A no-op when it already owns the slot.
 *
 * @example
 * ```ts
 * await migrateSlot(ctx, 42, 2);
 * ```
 */
export async function migrateSlot(ctx: FaultContext, slot: number, toShard: number): Promise<void> {
  checkIndex('slot', slot, 16384);
  checkIndex('toShard', toShard, ctx.shards);
  const before = await waitStable(ctx.nodes, {
    timeoutMs: ctx.timeoutMs,
    what: 'before migration',
  });
  const sourceId = slotOwner(before, slot)?.id;
  const source = ctx.nodes.find((n) => n.id === sourceId);
  const target = masterOf(ctx, before, toShard);
  if (!source) throw new EmulatorError('REDIS_ADMIN_FAILED', `slot ${slot} has no owner`);
  if (source === target) return;
  const setslot = (node: ClusterNode, ...args: string[]) =>
    node.admin.ok(['CLUSTER', 'SETSLOT', String(slot), ...args]);
  try {
    await setslot(target, 'IMPORTING', source.id);
    await setslot(source, 'MIGRATING', target.id);
    await moveKeys(ctx, slot, source, target);
    const others = ctx.nodes.filter(
      (n) => n !== source && n !== target && roleOf(before, n)?.role === 'master',
    );
    for (const node of [target, source, ...others]) await setslot(node, 'NODE', target.id);
  } catch (e) {
    await Promise.all([setslot(source, 'STABLE'), setslot(target, 'STABLE')]).catch(
      () => undefined,
    );
    throw e;
  }
  const views = await waitStable(ctx.nodes, {
    timeoutMs: ctx.timeoutMs,
    what: `migration of slot ${slot}`,
    expect: (v) =>
      slotOwner(v, slot)?.id === target.id
        ? undefined
        : `slot ${slot} has not moved everywhere yet`,
  });
  ctx.setViews(views);
}
