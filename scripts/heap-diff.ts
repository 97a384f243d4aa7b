// What grew between two V8 heap snapshots (from `--heap-snapshots` of scripts/soak.ts, or
// `v8.writeHeapSnapshot()`, or Chrome DevTools): node counts and self sizes by type and name
// (constructor name for objects, function name for closures and code), largest growth first.
// Compiled code ("code" rows) grows while the JIT warms up; a leak shows as an object type whose
// count grows with the work done (e.g. one more per token rotation).
// Run: npx tsx scripts/heap-diff.ts BEFORE.heapsnapshot AFTER.heapsnapshot [--top 30]
// (large snapshots: NODE_OPTIONS=--max-old-space-size=8192)

import { tallies } from './heap-snapshot.js';

const [beforePath, afterPath] = process.argv.slice(2).filter((a) => !a.startsWith('--'));
const topIndex = process.argv.indexOf('--top');
const top = topIndex > 0 ? Number(process.argv[topIndex + 1]) : 30;
if (!beforePath || !afterPath || !(top > 0)) {
  console.error(
    'usage: npx tsx scripts/heap-diff.ts BEFORE.heapsnapshot AFTER.heapsnapshot [--top N]',
  );
  process.exit(2);
}
const before = tallies(beforePath);
const after = tallies(afterPath);
const rows = [...new Set([...before.keys(), ...after.keys()])].map((key) => {
  const a = before.get(key) ?? { count: 0, bytes: 0 };
  const b = after.get(key) ?? { count: 0, bytes: 0 };
  return { key, count: b.count - a.count, bytes: b.bytes - a.bytes, now: b.count };
});
const isCode = (key: string): boolean => key.startsWith('code:') || key.startsWith('hidden:');
const bytesWhere = (keep: (key: string) => boolean): number =>
  rows.filter((r) => keep(r.key)).reduce((n, r) => n + r.bytes, 0);
console.log(
  `self size: ${bytesWhere(() => true)} bytes more (compiled code and V8 internals: ` +
    `${bytesWhere(isCode)}; everything else: ${bytesWhere((k) => !isCode(k))})`,
);
const print = (title: string, sorted: typeof rows): void => {
  console.log(
    `\n${title}\n${'bytes'.padStart(10)} ${'count'.padStart(8)} ${'now'.padStart(8)}  type: name`,
  );
  for (const r of sorted.slice(0, top)) {
    console.log(
      `${String(r.bytes).padStart(10)} ${String(r.count).padStart(8)} ${String(r.now).padStart(8)}  ${r.key}`,
    );
  }
};
print(
  'largest growth in bytes',
  [...rows].sort((x, y) => y.bytes - x.bytes),
);
print(
  'largest growth in count, other than code and V8 internals',
  rows.filter((r) => !isCode(r.key)).sort((x, y) => y.count - x.count),
);
