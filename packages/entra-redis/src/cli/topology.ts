// Is the cache a cluster? Asked of the server (CLUSTER SLOTS), never guessed from its name:
// Azure Managed Redis with the OSS cluster policy and clustered Premium caches answer with
// their shards; a non-clustered cache (or the Enterprise policy's single endpoint) does not.

import { redact, type Finding } from './diagnose.js';
import type { RespConnection, RespReply } from './resp.js';

/** One node a cluster announces. */
export interface ClusterNode {
  /** The announced address (or the seed's, when the node announces none). */
  readonly host: string;
  readonly port: number;
  /** `host:port` (`[v6]:port` for IPv6). */
  readonly endpoint: string;
  readonly role: 'primary' | 'replica';
  /** Slot ranges a primary serves, inclusive. */
  readonly slots: readonly [number, number][];
  /** A replica's primary, as `host:port`. */
  readonly primary?: string;
}

/** What CLUSTER SLOTS said. */
export type Topology =
  | { readonly kind: 'single'; readonly detail: string }
  | { readonly kind: 'cluster'; readonly nodes: readonly ClusterNode[] }
  | { readonly kind: 'unknown'; readonly detail: string }
  | { readonly kind: 'failed'; readonly finding: Finding };

/** `host:port`, with brackets around an IPv6 address. */
export function endpointOf(host: string, port: number): string {
  return host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`;
}

function text(reply: RespReply | undefined): string | undefined {
  if (reply?.kind === 'bulk' || reply?.kind === 'simple') return reply.value ?? undefined;
  return undefined;
}

function num(reply: RespReply | undefined): number | undefined {
  return reply?.kind === 'integer' ? reply.value : undefined;
}

/**
 * The nodes of a `CLUSTER SLOTS` reply: primaries by first slot, then replicas. A node whose
 * address is empty, `?` or null (an unknown endpoint) is reached at `seedHost`. Throws when the
 * reply is not shaped like CLUSTER SLOTS.
 *
 * @example
 * ```ts
 * parseClusterSlots(reply, '10.0.0.4')[0]; // { endpoint: '10.0.0.4:8500', role: 'primary', … }
 * ```
 */
export function parseClusterSlots(reply: RespReply, seedHost: string): ClusterNode[] {
  if (reply.kind !== 'array' || reply.value === null) throw new Error('not an array');
  const primaries = new Map<string, { host: string; port: number; slots: [number, number][] }>();
  const replicas = new Map<string, { host: string; port: number; primary: string }>();
  for (const range of reply.value) {
    if (range.kind !== 'array' || range.value === null) throw new Error('a range is not an array');
    const [from, to, ...nodes] = range.value;
    const slots: [number, number] = [num(from) ?? NaN, num(to) ?? NaN];
    if (!Number.isInteger(slots[0]) || !Number.isInteger(slots[1]) || nodes.length === 0) {
      throw new Error('a range has no slots or no node');
    }
    const parsed = nodes.map((n) => {
      if (n.kind !== 'array' || n.value === null) throw new Error('a node is not an array');
      const announced = text(n.value[0]);
      const host = !announced || announced === '?' ? seedHost : announced;
      const port = num(n.value[1]);
      if (port === undefined || port < 1 || port > 65535) throw new Error('a node has no port');
      return { host, port, endpoint: endpointOf(host, port) };
    });
    const [primary, ...others] = parsed as [(typeof parsed)[0], ...typeof parsed];
    const entry = primaries.get(primary.endpoint) ?? { ...primary, slots: [] };
    entry.slots.push(slots);
    primaries.set(primary.endpoint, entry);
    for (const r of others) replicas.set(r.endpoint, { ...r, primary: primary.endpoint });
  }
  const ordered = [...primaries.entries()].sort(
    ([, a], [, b]) => (a.slots[0]?.[0] ?? 0) - (b.slots[0]?.[0] ?? 0),
  );
  const out: ClusterNode[] = [];
  for (const [endpoint, p] of ordered) {
    const slots = [...p.slots].sort((a, b) => a[0] - b[0]);
    out.push({ host: p.host, port: p.port, endpoint, role: 'primary', slots });
  }
  for (const [endpoint] of ordered) {
    for (const [key, r] of replicas) {
      if (r.primary !== endpoint || primaries.has(key)) continue;
      out.push({
        host: r.host,
        port: r.port,
        endpoint: key,
        role: 'replica',
        slots: [],
        primary: endpoint,
      });
    }
  }
  return out;
}

/** Asks the server whether it is a cluster. Errors are answers too (see {@link Topology}). */
export async function readTopology(
  c: RespConnection,
  seedHost: string,
  timeoutMs: number,
): Promise<Topology> {
  const reply = await c.send(['CLUSTER', 'SLOTS'], timeoutMs);
  if (reply.kind === 'error') {
    const detail = redact(reply.message);
    if (/cluster support disabled|cluster mode is not enabled/i.test(reply.message)) {
      return { kind: 'single', detail: 'a single node (cluster support disabled)' };
    }
    if (/^NOPERM/i.test(reply.message)) {
      return {
        kind: 'unknown',
        detail: `unknown: the access policy does not allow CLUSTER SLOTS (${detail}); only this endpoint was checked`,
      };
    }
    return {
      kind: 'unknown',
      detail: `unknown (CLUSTER SLOTS: ${detail}); only this endpoint was checked`,
    };
  }
  let nodes: ClusterNode[];
  try {
    nodes = parseClusterSlots(reply, seedHost);
  } catch (error) {
    return {
      kind: 'failed',
      finding: {
        detail: `unexpected CLUSTER SLOTS reply (${(error as Error).message})`,
        diagnosis: 'the server answered CLUSTER SLOTS with something this check cannot read',
      },
    };
  }
  if (nodes.length === 0) {
    return {
      kind: 'failed',
      finding: {
        detail: 'CLUSTER SLOTS lists no slot at all',
        diagnosis: 'the cluster serves no slots: it is not ready, or is being reconfigured',
        fix: 'wait for the cache to be ready (Azure portal: Overview > Status) and run the check again',
      },
    };
  }
  return { kind: 'cluster', nodes };
}

/** `3 primaries, 3 replicas`. */
export function describeCluster(nodes: readonly ClusterNode[]): string {
  const primaries = nodes.filter((n) => n.role === 'primary').length;
  const replicas = nodes.length - primaries;
  return `${primaries} ${primaries === 1 ? 'primary' : 'primaries'}, ${replicas} ${replicas === 1 ? 'replica' : 'replicas'}`;
}

/** `slots 0-5460` or `replica of 10.0.0.4:8500`. */
export function describeRole(n: ClusterNode): string {
  if (n.role === 'replica') return `replica of ${n.primary ?? '?'}`;
  const ranges = n.slots.map(([a, b]) => (a === b ? `${a}` : `${a}-${b}`));
  return `primary, slots ${ranges.join(',')}`;
}
