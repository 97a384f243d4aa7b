// `entra-redis/register`: the zero-code preload.
//
//   node --import entra-redis/register app.js      (or --require, or through NODE_OPTIONS)
//
// Protects every ioredis and node-redis client the process makes for an Azure Redis host (or
// one of ENTRA_REDIS_HOSTS) that has no credentials of its own, with one token source for the
// process, configured from the environment only. The thinnest layer of the library: it finds
// clients and hands them to the adapters; no connection rule lives here.
import { createRequire } from 'node:module';
import { isMainThread, threadId } from 'node:worker_threads';
import { isEntraRedisError } from '../errors.js';
import { describeIdentity, readConfig } from './config.js';
import { installHooks, type HookedPackage } from './hooks.js';
import { patchIORedis } from './ioredis.js';
import { patchNodeRedis } from './node-redis.js';
import { RegisterRuntime } from './runtime.js';

/** Set on globalThis by the first copy of the preload: a second one (--import and --require, or
 * two versions) does nothing. */
const LOADED = Symbol.for('entra-redis.register');

function start(): void {
  const global = globalThis as { [LOADED]?: true };
  if (global[LOADED]) return;
  global[LOADED] = true;
  let runtime: RegisterRuntime;
  try {
    runtime = new RegisterRuntime(readConfig(process.env));
    checkInstalled('@azure/identity');
  } catch (error) {
    const message = isEntraRedisError(error) ? error.message : String(error);
    process.stderr.write(`${message}\n`);
    process.exit(78); // EX_CONFIG: nothing else runs with a configuration that cannot work
  }
  const { config, log } = runtime;
  const patterns = config.hosts.map((p) => p.text).join(', ');
  const line = `protecting Redis clients of ${patterns} with ${describeIdentity(config.identity)}`;
  // Preloads also run in worker threads, Node's own module-loader thread included: the
  // startup line and the ESM loader belong to the main thread.
  if (isMainThread) log.info(line);
  else log.debug(`${line} (worker thread ${threadId})`);
  installHooks(
    isMainThread ? import.meta.url : undefined,
    (name: HookedPackage, exported, baseDir) => {
      log.debug(`patching ${name} at ${baseDir ?? '(unknown)'}`);
      if (name === 'ioredis') patchIORedis(exported, runtime);
      else patchNodeRedis(exported, runtime);
    },
  );
}

/** Fails at startup, not at the first token request, when a peer dependency is missing. */
function checkInstalled(name: string): void {
  try {
    createRequire(import.meta.url).resolve(name);
  } catch {
    throw new Error(
      `entra-redis/register: ${name} is not installed next to entra-redis; install it ` +
        `(npm install ${name}): the preload builds its credentials with it`,
    );
  }
}

start();
