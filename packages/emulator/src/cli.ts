// `entra-redis-emulator`: runs the emulator until Ctrl-C / SIGTERM and prints the settings a
// client process needs. stdout carries only `KEY=value` lines (machine-readable); the guide
// for humans goes to stderr.
import { Command, InvalidArgumentError } from 'commander';
import { rename, rm, writeFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { runDemo } from './demo/run.js';
import { liveView, renderSummary } from './demo/view.js';
import { startEmulator, DEFAULT_STATE_DIR, type Emulator } from './emulator.js';

interface CliOptions {
  tlsPort: number;
  plainPort?: number;
  tokenLifetime: number;
  envFile?: string;
  stateDir: string;
  rejectHelloAuth: boolean;
  cluster?: number;
  replicas: number;
}

function integer(name: string, min: number, max: number) {
  return (value: string): number => {
    const n = Number(value);
    if (!Number.isInteger(n) || n < min || n > max) {
      throw new InvalidArgumentError(`${name} must be an integer from ${min} to ${max}.`);
    }
    return n;
  };
}

/** `KEY=value` lines; values are single-line paths, URLs, ids and secrets, so no quoting. */
function envLines(env: Record<string, string>): string {
  return Object.entries(env)
    .map(([key, value]) => `${key}=${value}\n`)
    .join('');
}

async function writeEnvFile(path: string, content: string): Promise<void> {
  const temp = `${path}.${process.pid}.tmp`;
  await writeFile(temp, content, { mode: 0o600 });
  await rename(temp, path); // atomic: a reader never sees half a file
}

function guide(emulator: Emulator, options: CliOptions): string {
  const sp = emulator.servicePrincipal;
  return [
    '',
    'entra-redis emulator is running (loopback only). Ctrl-C stops it.',
    '',
    `  Entra ID authority  ${emulator.authorityHost}   (tenant ${emulator.tenantId})`,
    emulator.cluster
      ? `  Redis Cluster (TLS) ${emulator.cluster.rootNodes.map((n) => `${n.host}:${n.port}`).join(' ')}` +
        `   (${emulator.cluster.nodes().length} nodes; REDIS_CLUSTER_NODES)`
      : `  Redis (TLS)         ${emulator.redis.host}:${emulator.redis.port}` +
        (emulator.redis.plainPort ? `   plaintext :${emulator.redis.plainPort}` : ''),
    `  CA certificate      ${emulator.caCertPath}`,
    `  State directory     ${options.stateDir}`,
    `  Token lifetime      ${options.tokenLifetime} s`,
    `  Service principal   client id ${sp.clientId}, oid ${sp.oid} (Data Owner)`,
    '',
    'Settings for a client process are printed on stdout as KEY=value lines' +
      (options.envFile ? ` and written to ${options.envFile}.` : '.'),
    'Use them with @azure/identity: authorityHost = AZURE_AUTHORITY_HOST and',
    'disableInstanceDiscovery: true; trust the CA with NODE_EXTRA_CA_CERTS, e.g.',
    '',
    `  set -a; . ${options.envFile ?? './emulator.env'}; set +a; node app.js`,
    '',
  ].join('\n');
}

async function run(options: CliOptions): Promise<void> {
  // The env file exists while the emulator is ready: a stale one from an earlier run goes first,
  // and it is removed again on stop, so a script can wait for it to appear.
  if (options.envFile) await rm(options.envFile, { force: true });
  let emulator: Emulator | undefined = undefined; // set once started; read by the signal handler
  let stopping = false;
  const stop = (signal: string): void => {
    if (stopping) {
      if (!emulator) process.exit(130); // a second signal while starting: leave now
      return;
    }
    stopping = true;
    process.stderr.write(`\n${signal}: stopping the emulator…\n`);
    // Before it is ready: startEmulator() below sees `stopping` and closes what it started.
    if (emulator) void shutDown(emulator);
  };
  const shutDown = async (running: Emulator): Promise<void> => {
    try {
      await running.close();
      if (options.envFile) await rm(options.envFile, { force: true });
      process.exit(0);
    } catch (error) {
      process.stderr.write(`entra-redis-emulator: error while stopping: ${String(error)}\n`);
      process.exit(1);
    }
  };
  process.on('SIGINT', () => stop('SIGINT'));
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGHUP', () => stop('SIGHUP'));

  emulator = await startEmulator({
    stateDir: options.stateDir,
    tokenLifetimeSec: options.tokenLifetime,
    redis: {
      tlsPort: options.tlsPort,
      plainPort: options.plainPort ?? false,
      rejectHelloAuth: options.rejectHelloAuth,
    },
    ...(options.cluster
      ? { cluster: { shards: options.cluster, replicasPerShard: options.replicas } }
      : {}),
  });
  if (stopping) return shutDown(emulator);

  const lines = envLines(emulator.env());
  if (options.envFile) await writeEnvFile(options.envFile, lines);
  process.stderr.write(guide(emulator, options));
  process.stdout.write(lines);
}

interface DemoCliOptions {
  duration: number;
  tokenLifetime: number;
  json: boolean;
}

async function demo(options: DemoCliOptions): Promise<void> {
  const abort = new AbortController();
  const interrupt = (): void => {
    if (abort.signal.aborted) process.exit(130); // a second Ctrl-C: leave now
    process.stderr.write('\nstopping the demo…\n');
    abort.abort();
  };
  process.on('SIGINT', interrupt);
  process.on('SIGTERM', interrupt);
  // With --json, stdout carries only the summary object; the live view goes to stderr.
  const view = options.json ? process.stderr : process.stdout;
  const summary = await runDemo({
    durationSec: options.duration,
    tokenLifetimeSec: options.tokenLifetime,
    onProgress: liveView(view),
    signal: abort.signal,
  });
  if (options.json) process.stdout.write(`${JSON.stringify(summary, null, 2)}\n`);
  else process.stdout.write(`\n${renderSummary(summary)}`);
  process.exitCode = summary.ok ? 0 : 1;
}

const program = new Command('entra-redis-emulator')
  .description(
    'A local emulator of Microsoft Entra ID and of the Azure Redis front end, for trying and testing Entra ID authentication offline.',
  )
  .option(
    '--tls-port <port>',
    'TLS port of the Redis front end (0 = a free port)',
    integer('--tls-port', 0, 65535),
    0,
  )
  .option(
    '--plain-port <port>',
    'also listen without TLS on this port',
    integer('--plain-port', 0, 65535),
  )
  .option(
    '--token-lifetime <seconds>',
    'lifetime of issued access tokens',
    integer('--token-lifetime', 1, 86_400),
    3600,
  )
  .option(
    '--env-file <path>',
    'write the client settings (KEY=value lines, mode 0600) to this file once ready',
  )
  .option(
    '--state-dir <dir>',
    'where certificates are kept (reused across runs)',
    DEFAULT_STATE_DIR,
  )
  .option('--reject-hello-auth', 'refuse HELLO … AUTH, as older Azure service versions did', false)
  .option(
    '--cluster <shards>',
    'run a Redis Cluster of this many shards (each node behind its own front end)',
    integer('--cluster', 1, 16),
  )
  .option(
    '--replicas <n>',
    'replicas per shard with --cluster (needed for failover)',
    integer('--replicas', 0, 4),
    0,
  )
  .enablePositionalOptions()
  .action(async (raw: CliOptions) => {
    if (raw.replicas > 0 && !raw.cluster) {
      program.error('error: --replicas needs --cluster <shards>.');
    }
    const options: CliOptions = {
      ...raw,
      stateDir: resolve(raw.stateDir),
      ...(raw.envFile ? { envFile: resolve(raw.envFile) } : {}),
    };
    await run(options);
  });

program
  .command('demo')
  .description(
    'Run the emulator with short-lived tokens and a live workload (cache, pub/sub, transactions, a blocking queue consumer) with node-redis and ioredis over RESP2 and RESP3; exit 0 only if nothing failed and nothing was lost.',
  )
  .option(
    '--duration <seconds>',
    'how long the workload runs',
    integer('--duration', 1, 86_400),
    60,
  )
  .option(
    '--token-lifetime <seconds>',
    'lifetime of access tokens',
    integer('--token-lifetime', 2, 3600),
    10,
  )
  .option('--json', 'print a final machine-readable summary on stdout', false)
  .action(demo);

// On Node 20, `npx entra-redis-emulator --env-file <path>` is cut short by Node itself (npx's own
// node process reads `--env-file` and exits when the file does not exist yet). docs/emulator.md
// advises `npx entra-redis-emulator -- --env-file <path>`; npm passes that `--` through.
const args = process.argv.slice(2);
if (args[0] === '--') args.shift();

program.parseAsync(args, { from: 'user' }).catch((error: unknown) => {
  const message = error instanceof Error ? error.message : String(error);
  process.stderr.write(`entra-redis-emulator: ${message}\n`);
  process.exit(1);
});
