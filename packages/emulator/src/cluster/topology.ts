// Reading `CLUSTER NODES` and deciding whether every node agrees on one healthy slot map.

/** One line of `CLUSTER NODES`. */
export interface NodeView {
  id: string;
  port: number;
  flags: string[];
  role: 'master' | 'replica';
  /** The master's id, for a replica. */
  masterId: string | undefined;
  /** Slot ranges, inclusive. */
  slots: [number, number][];
  /** True when the line carries `[slot->-id]` or `[slot-<-id]` (a migration is open). */
  openSlots: boolean;
}

const BAD_FLAGS = new Set(['handshake', 'fail', 'fail?', 'noaddr']);

/**
 * Parses `CLUSTER NODES` output.
 *
 * @example
 * ```ts
 * parseClusterNodes('abc… 127.0.0.1:7000@17000 myself,master - 0 0 1 connected 0-5460\n');
 * ```
 */
export function parseClusterNodes(text: string): NodeView[] {
  const views: NodeView[] = [];
  for (const line of text.split('\n')) {
    const fields = line.trim().split(' ');
    if (fields.length < 8) continue;
    const [id, address, flagText, master] = fields as [string, string, string, string];
    const hostPort = address.split(',')[0]!.split('@')[0]!;
    const port = Number(hostPort.slice(hostPort.lastIndexOf(':') + 1));
    const flags = flagText.split(',').filter((f) => f !== 'myself');
    const slots: [number, number][] = [];
    let openSlots = false;
    for (const spec of fields.slice(8)) {
      if (spec.startsWith('[')) {
        openSlots = true;
        continue;
      }
      const [from, to] = spec.split('-');
      slots.push([Number(from), Number(to ?? from)]);
    }
    views.push({
      id,
      port,
      flags,
      role: flags.includes('slave') ? 'replica' : 'master',
      masterId: master === '-' ? undefined : master,
      slots,
      openSlots,
    });
  }
  return views.sort((a, b) => a.id.localeCompare(b.id));
}

/** A canonical text of the parts every node must agree on: ids, ports, roles and slots. */
export function fingerprint(views: NodeView[]): string {
  return views
    .map((v) => `${v.id} ${v.port} ${v.role} ${v.masterId ?? '-'} ${JSON.stringify(v.slots)}`)
    .join('\n');
}

/**
 * What is wrong with one node's view, or undefined when it is healthy: every expected node known
 * at its announced port, no failure or handshake flag, no migration open, every slot served.
 */
export function viewProblem(
  views: NodeView[],
  expectedPorts: Map<string, number>,
): string | undefined {
  if (views.length !== expectedPorts.size) {
    return `knows ${views.length} of ${expectedPorts.size} nodes`;
  }
  let served = 0;
  for (const v of views) {
    const port = expectedPorts.get(v.id);
    if (port === undefined) return `knows an unexpected node ${v.id}`;
    if (v.port !== port) return `sees node ${v.id} at port ${v.port}, not ${port}`;
    const bad = v.flags.find((f) => BAD_FLAGS.has(f));
    if (bad) return `flags node ${v.id} as ${bad}`;
    if (v.openSlots) return `has a slot migration open on node ${v.id}`;
    for (const [from, to] of v.slots) served += to - from + 1;
  }
  if (served !== 16384) return `serves ${served} of 16384 slots`;
  return undefined;
}

/** The master serving `slot` in `views`, if any. */
export function slotOwner(views: NodeView[], slot: number): NodeView | undefined {
  return views.find((v) => v.role === 'master' && v.slots.some(([a, b]) => slot >= a && slot <= b));
}

/**
 * The even split of the 16384 slots over `shards` masters, as `redis-cli --cluster create` does.
 *
 * @example
 * ```ts
 * slotRanges(3); // [[0, 5460], [5461, 10921], [10922, 16383]]
 * ```
 */
export function slotRanges(shards: number): [number, number][] {
  const ranges: [number, number][] = [];
  for (let i = 0; i < shards; i++) {
    ranges.push([Math.floor((i * 16384) / shards), Math.floor(((i + 1) * 16384) / shards) - 1]);
  }
  return ranges;
}
