// How the preload sees each copy of ioredis and @redis/client as it loads: require-in-the-middle
// for require(), import-in-the-middle (an ESM loader limited to these packages) for import, the
// hook libraries OpenTelemetry's instrumentations use. Node 20 has no synchronous module hook
// of its own (module.registerHooks() came in 22.15), and its module.register() is the
// off-thread loader that import-in-the-middle already drives.
import { register } from 'node:module';
import { Hook as ImportHook } from 'import-in-the-middle';
import { Hook as RequireHook } from 'require-in-the-middle';

/** The packages whose copies are patched: ioredis, and node-redis's client. */
export const HOOKED_PACKAGES = ['ioredis', '@redis/client'] as const;

/** One of {@link HOOKED_PACKAGES}. */
export type HookedPackage = (typeof HOOKED_PACKAGES)[number];

/** Called with each copy of a hooked package, once per way it was loaded. */
export type OnLoad = (name: HookedPackage, exported: unknown, baseDir: string | undefined) => void;

/**
 * Installs both hooks. `parentUrl` is this file's URL, from which import-in-the-middle's loader
 * is resolved and registered; without it (a worker thread) only the hooks are installed, for
 * the loader the main thread registered. `onLoad` must not throw.
 *
 * @example
 * ```ts
 * installHooks(import.meta.url, (name, exported) => patch(name, exported));
 * ```
 */
export function installHooks(parentUrl: string | undefined, onLoad: OnLoad): void {
  new RequireHook([...HOOKED_PACKAGES], (exported, name, baseDir) => {
    onLoad(name as HookedPackage, exported, baseDir);
    return exported;
  });
  if (parentUrl !== undefined) {
    register('import-in-the-middle/hook.mjs', parentUrl, {
      data: { include: [...HOOKED_PACKAGES] },
    });
  }
  new ImportHook([...HOOKED_PACKAGES], (exported, name, baseDir) => {
    onLoad(name as HookedPackage, exported, baseDir || undefined);
  });
}
