// Where a connection's heap goes: for each arm, opens N connections (not measured: what the
// first ones pay once), then takes a heap snapshot before and after opening N more, and prints
// what those added, per connection, grouped by the type and constructor (or closure) name of
// each object, largest difference to the static-password arm of the same client first. A tool for finding what to shrink (issue 23), not a benchmark: the
// figures of record come from `npm run bench` (section 5).
//
//   node --import tsx bench/heap-per-connection.ts [--connections 200] [--top 25]
//     [--arms node-password,node-entra] [--retainers 'object: Set'] (what holds that group)
//
// Runs against the packages' build, like the benchmarks (rebuilt first when a source is newer).
import { rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { setFlagsFromString, writeHeapSnapshot } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { reexecWithBuiltPackages } from '../scripts/built-packages.js';
import { tallies, type Tally } from '../scripts/heap-snapshot.js';
import { ARM_IDS, createArm, type ArmId } from './lib/arms.js';
import type { BenchClient } from './lib/clients.js';
import { EmulatorLink } from './lib/emulator-link.js';
import { inBatches, sleep } from './lib/timing.js';

/** Bytes and object count per group (see `tallies`). */
type Groups = Map<string, Tally>;

/** `heapUsed` after the full GC before each snapshot (what section 5 of the bench reads). */
const heapUsed: number[] = [];

function snapshotGroups(gc: () => void, retainersOf: string | undefined): Groups {
  gc();
  gc();
  heapUsed.push(process.memoryUsage().heapUsed);
  const file = writeHeapSnapshot(join(tmpdir(), `entra-redis-heap-${process.pid}.heapsnapshot`));
  try {
    return tallies(file, retainersOf);
  } finally {
    rmSync(file, { force: true });
  }
}

/** What `after` holds more than `before`, per connection. */
function perConnection(before: Groups, after: Groups, connections: number): Groups {
  const out: Groups = new Map();
  for (const [key, a] of after) {
    const b = before.get(key) ?? { bytes: 0, count: 0 };
    out.set(key, {
      bytes: (a.bytes - b.bytes) / connections,
      count: (a.count - b.count) / connections,
    });
  }
  return out;
}

async function measure(
  link: EmulatorLink,
  id: ArmId,
  connections: number,
  warm: boolean,
  retainersOf?: string,
): Promise<Groups> {
  const gc = fullGc();
  const arm = createArm(id, link);
  const clients: BenchClient[] = [];
  try {
    await arm.ready();
    const indexes = Array.from({ length: connections }, (_, i) => i);
    // A first batch, not measured: what the first connections cost once (code the JIT
    // compiles, hidden classes, shared structures) is not a cost per connection.
    if (warm) clients.push(...(await inBatches(indexes, 20, () => arm.connect())));
    await sleep(100);
    const before = snapshotGroups(gc, retainersOf);
    clients.push(...(await inBatches(indexes, 20, () => arm.connect())));
    await sleep(100);
    const after = snapshotGroups(gc, retainersOf);
    const used = (heapUsed.at(-1)! - heapUsed.at(-2)!) / connections;
    console.log(`${id}: heapUsed ${Math.round(used)} B per connection (as the bench reads it)`);
    return perConnection(before, after, connections);
  } finally {
    for (const c of clients) await c.close();
    await arm.close();
  }
}

function fullGc(): () => void {
  setFlagsFromString('--expose_gc');
  return runInNewContext('gc') as () => void;
}

function print(id: ArmId, groups: Groups, baseline: Groups | undefined, top: number): void {
  const total = [...groups.values()].reduce((sum, g) => sum + g.bytes, 0);
  const baseTotal = baseline && [...baseline.values()].reduce((sum, g) => sum + g.bytes, 0);
  const extra =
    baseTotal === undefined ? '' : ` (${Math.round(total - baseTotal)} B over baseline)`;
  console.log(`\n${id}: ${Math.round(total)} B per connection${extra}`);
  const rows = [...groups].map(([key, g]) => {
    const b = baseline?.get(key) ?? { bytes: 0, count: 0 };
    return {
      key,
      bytes: g.bytes,
      count: g.count,
      more: g.bytes - b.bytes,
      moreCount: g.count - b.count,
    };
  });
  rows.sort((x, y) => Math.abs(y.more) - Math.abs(x.more));
  console.log('  B/conn  objects/conn  vs baseline (B, objects)  group');
  for (const r of rows.slice(0, top)) {
    const cells = [r.bytes.toFixed(0).padStart(7), r.count.toFixed(2).padStart(12)];
    cells.push(`${r.more.toFixed(0).padStart(10)} ${r.moreCount.toFixed(2).padStart(8)}`);
    console.log(`  ${cells.join('  ')}           ${r.key}`);
  }
}

async function main(): Promise<void> {
  reexecWithBuiltPackages();
  const { values } = parseArgs({
    options: {
      connections: { type: 'string', default: '200' },
      arms: {
        type: 'string',
        default: 'node-password,node-entra,node-entraid,io-password,io-entra',
      },
      top: { type: 'string', default: '25' },
      retainers: { type: 'string' },
    },
  });
  const connections = Number(values.connections);
  const arms = values.arms.split(',') as ArmId[];
  for (const arm of arms) if (!ARM_IDS.includes(arm)) throw new Error(`unknown arm ${arm}`);
  const link = await EmulatorLink.start({
    tokenLifetimeSec: 3600,
    extraArgs: [],
    principals: [...ARM_IDS],
  });
  try {
    // Warm-up: load and compile every path once, so the first arm does not pay for it.
    for (const id of arms) await measure(link, id, 2, false);
    const results = new Map<ArmId, Groups>();
    for (const id of arms)
      results.set(id, await measure(link, id, connections, true, values.retainers));
    for (const id of arms) {
      const baseline = id.startsWith('node-') ? 'node-password' : 'io-password';
      print(
        id,
        results.get(id)!,
        id === baseline ? undefined : results.get(baseline),
        Number(values.top),
      );
    }
  } finally {
    await link.close();
  }
}

await main();
