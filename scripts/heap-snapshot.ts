// Reading V8 heap snapshots (`v8.writeHeapSnapshot()`, `--heap-snapshots` of scripts/soak.ts,
// Chrome DevTools): node counts and self sizes by type and name, and what holds the nodes of one
// such group. Used by scripts/heap-diff.ts and bench/heap-per-connection.ts.
import { readFileSync } from 'node:fs';

interface HeapSnapshotFile {
  snapshot: {
    meta: {
      node_fields: string[];
      node_types: [string[], ...unknown[]];
      edge_fields: string[];
      edge_types: [string[], ...unknown[]];
    };
  };
  nodes: number[];
  edges: number[];
  strings: string[];
}

/** Count and total self size of the nodes of one group. */
export type Tally = { count: number; bytes: number };

const STRING_TYPES = new Set(['string', 'concatenated string', 'sliced string']);

/**
 * The nodes of a snapshot grouped as `type: name` (constructor name for objects, function name
 * for closures and code; strings by type only, their content never printed). With
 * `retainersOf` (such a key), only the nodes of that group, grouped instead by what holds them:
 * `holder's key .edge` (the property name, or `[element]` / `[hidden]`).
 *
 * @example
 * ```ts
 * tallies('after.heapsnapshot').get('object: Socket'); // { count: 1000, bytes: 448000 }
 * tallies('after.heapsnapshot', 'number: heap number'); // what holds the heap numbers
 * ```
 */
export function tallies(path: string, retainersOf?: string): Map<string, Tally> {
  const file = JSON.parse(readFileSync(path, 'utf8')) as HeapSnapshotFile;
  const { node_fields, node_types, edge_fields, edge_types } = file.snapshot.meta;
  const width = node_fields.length;
  const [typeAt, nameAt, sizeAt, countAt] = ['type', 'name', 'self_size', 'edge_count'].map((f) =>
    node_fields.indexOf(f),
  ) as [number, number, number, number];
  const { nodes, edges, strings } = file;
  const keyOf = (i: number): string => {
    const type = node_types[0][nodes[i + typeAt]!]!;
    const name = STRING_TYPES.has(type) ? '' : strings[nodes[i + nameAt]!]!.slice(0, 80);
    return `${type}: ${name}`;
  };
  const out = new Map<string, Tally>();
  const add = (key: string, bytes: number): void => {
    const tally = out.get(key) ?? { count: 0, bytes: 0 };
    tally.count += 1;
    tally.bytes += bytes;
    out.set(key, tally);
  };
  if (retainersOf === undefined) {
    for (let i = 0; i < nodes.length; i += width) add(keyOf(i), nodes[i + sizeAt]!);
    return out;
  }
  const [edgeTypeAt, edgeNameAt, toAt] = ['type', 'name_or_index', 'to_node'].map((f) =>
    edge_fields.indexOf(f),
  ) as [number, number, number];
  let edge = 0;
  for (let i = 0; i < nodes.length; i += width) {
    const holder = keyOf(i);
    for (let n = nodes[i + countAt]!; n > 0; n--, edge += edge_fields.length) {
      const to = edges[edge + toAt]!;
      if (keyOf(to) !== retainersOf) continue;
      const type = edge_types[0][edges[edge + edgeTypeAt]!]!;
      const label =
        type === 'element' || type === 'hidden' ? `[${type}]` : strings[edges[edge + edgeNameAt]!];
      add(`${holder} .${label}`, nodes[to + sizeAt]!);
    }
  }
  return out;
}
