// Makes a script run against the packages' build (`dist`), which is what users install, rather
// than their sources. Under the root tsconfig.json, tsx maps `entra-redis` and the emulator to
// their sources through `paths` and transpiles them keeping function names: every closure
// created at run time then gets its own `name` property (about 3 KB more heap per node-redis
// connection, and some CPU per command), which would skew benchmarks and soaks.
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const BUILT_TSCONFIG = fileURLToPath(new URL('../tsconfig.built.json', import.meta.url));
const ENSURE_READY = fileURLToPath(new URL('./ensure-ready.mjs', import.meta.url));

/**
 * Unless this process already runs under `tsconfig.built.json`: rebuilds the packages if a
 * source is newer than their build, re-runs the current command with `TSX_TSCONFIG_PATH` set to
 * it, and exits with its exit code. Call it first thing, before any work.
 *
 * @example
 * ```ts
 * reexecWithBuiltPackages(); // in bench/run.ts, then the rest of main()
 * ```
 */
export function reexecWithBuiltPackages(): void {
  if (process.env.TSX_TSCONFIG_PATH === BUILT_TSCONFIG) return;
  const ready = spawnSync(process.execPath, [ENSURE_READY], { stdio: 'inherit' });
  if (ready.status !== 0) process.exit(ready.status ?? 1);
  const result = spawnSync(process.execPath, [...process.execArgv, ...process.argv.slice(1)], {
    stdio: 'inherit',
    env: { ...process.env, TSX_TSCONFIG_PATH: BUILT_TSCONFIG },
  });
  process.exit(result.status ?? 1);
}
