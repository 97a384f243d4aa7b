// Pipelined throughput of redis-server directly vs through the emulator's RESP front end
// (plaintext both, same client: redis-benchmark -P 16). Interleaved runs; median; ratio. The front
// runs in this process, so its CPU time per request is reported too (the figure to improve: on a
// 2-core machine the client, redis-server and the front compete for the same cores).
// A third arm is a bare Node.js proxy (`socket.pipe()` both ways to the same unix socket, no
// parsing, no AUTH handling): the least any proxy written in Node.js costs here, so the
// front-to-bare ratio is what the front end's own work costs on top.
// One warm-up round (the front's JIT, redis-server's allocator) is run first and not counted.
// Run: node --import tsx bench/emulator-throughput.ts [--rounds 7] [--requests 1000000]

import { execFile } from 'node:child_process';
import net from 'node:net';
import { promisify } from 'node:util';
import { startRedisFront, startRedisServer } from '@entra-redis/emulator';
import { reexecWithBuiltPackages } from '../scripts/built-packages.js';

reexecWithBuiltPackages(); // the front as built, not its sources as tsx transpiles them

const run = promisify(execFile);
const arg = (name: string, fallback: number): number => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? Number(process.argv[i + 1]) : fallback;
};
const ROUNDS = arg('rounds', 7);
const REQUESTS = arg('requests', 1_000_000);
const CLIENTS = arg('clients', 20);
const TARGET_RATIO = 0.5;

async function benchmark(
  port: number,
  user: string,
  pass: string,
): Promise<Record<string, number>> {
  const { stdout } = await run(
    'redis-benchmark',
    [
      '-h',
      '127.0.0.1',
      '-p',
      String(port),
      '--user',
      user,
      '-a',
      pass,
      '-P',
      '16',
      '-c',
      String(CLIENTS),
      '-n',
      String(REQUESTS),
      '-t',
      'set,get',
      '-q',
    ],
    { maxBuffer: 1 << 20 },
  );
  const out: Record<string, number> = {};
  for (const m of stdout.matchAll(/(\w+): ([\d.]+) requests per second/g))
    out[m[1]!] = Number(m[2]);
  if (!out.SET || !out.GET) throw new Error(`unexpected redis-benchmark output:\n${stdout}`);
  return out;
}

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
};

try {
  await run('redis-benchmark', ['--version']);
} catch {
  console.error(
    'redis-benchmark not found: install it with redis (Debian/Ubuntu: apt-get install redis-tools).',
  );
  process.exit(2);
}

const server = await startRedisServer();
const oid = '00000000-0000-0000-0000-00000000b0b0';
const front = await startRedisFront({
  upstream: server,
  plainPort: 0,
  authenticate: async (user, token) =>
    user === oid && token === 'bench-token'
      ? { ok: true, oid, expiresAtMs: Date.now() + 3_600_000, policy: 'Data Owner' }
      : { ok: false, reason: 'bad credentials' },
});
const bare = net.createServer((client) => {
  client.setNoDelay(true);
  const upstream = net.connect({ path: server.socketPath });
  client.pipe(upstream).pipe(client);
  client.on('error', () => upstream.destroy());
  upstream.on('error', () => client.destroy());
});
await new Promise<void>((resolve) => bare.listen(0, '127.0.0.1', resolve));
const barePort = (bare.address() as net.AddressInfo).port;
const results = {
  direct: { SET: [] as number[], GET: [] as number[] },
  front: { SET: [] as number[], GET: [] as number[] },
  bare: { SET: [] as number[], GET: [] as number[] },
  frontCpuNsPerRequest: [] as number[],
  bareCpuNsPerRequest: [] as number[],
};
const cpuNsPerRequest = (cpu: NodeJS.CpuUsage): number =>
  ((cpu.user + cpu.system) * 1000) / (2 * REQUESTS);
/** A run through a proxy in this process: requests/s per command, and this process's CPU. */
interface Proxied {
  rates: Record<string, number>;
  cpu: NodeJS.CpuUsage;
}
async function proxied(port: number, user: string, pass: string): Promise<Proxied> {
  const cpuBefore = process.cpuUsage();
  const rates = await benchmark(port, user, pass);
  return { rates, cpu: process.cpuUsage(cpuBefore) };
}
try {
  await benchmark(server.port, 'default', server.adminPassword); // warm-up, not counted
  await benchmark(front.plainPort!, oid, 'bench-token');
  await benchmark(barePort, 'default', server.adminPassword);
  for (let round = 1; round <= ROUNDS; round++) {
    // Alternate which goes first, so a drift in the machine's load does not favour one side.
    const direct = (): Promise<Record<string, number>> =>
      benchmark(server.port, 'default', server.adminPassword);
    const viaFront = (): Promise<Proxied> => proxied(front.plainPort!, oid, 'bench-token');
    const viaBare = (): Promise<Proxied> => proxied(barePort, 'default', server.adminPassword);
    let d: Record<string, number>;
    let measured: Proxied;
    let reference: Proxied;
    if (round % 2) {
      d = await direct();
      measured = await viaFront();
      reference = await viaBare();
    } else {
      reference = await viaBare();
      measured = await viaFront();
      d = await direct();
    }
    const { rates: f, cpu } = measured;
    const { rates: b } = reference;
    const frontCpuNs = cpuNsPerRequest(cpu);
    const bareCpuNs = cpuNsPerRequest(reference.cpu);
    results.frontCpuNsPerRequest.push(Math.round(frontCpuNs));
    results.bareCpuNsPerRequest.push(Math.round(bareCpuNs));
    for (const op of ['SET', 'GET'] as const) {
      results.direct[op].push(d[op]!);
      results.front[op].push(f[op]!);
      results.bare[op].push(b[op]!);
    }
    console.log(
      `round ${round}: direct SET ${d.SET} GET ${d.GET} | front SET ${f.SET} GET ${f.GET} | bare proxy SET ${b.SET} GET ${b.GET} (requests/s); CPU ns/request front ${frontCpuNs.toFixed(0)} (${Math.round((100 * cpu.system) / (cpu.user + cpu.system))}% in the kernel), bare proxy ${bareCpuNs.toFixed(0)}`,
    );
  }
  let ok = true;
  for (const op of ['SET', 'GET'] as const) {
    const direct = median(results.direct[op]);
    const viaFront = median(results.front[op]);
    // The median of the per-round ratios: each round's two runs were back to back.
    const perRound = results.front[op].map((f, i) => f / results.direct[op][i]!);
    const ratio = median(perRound);
    ok &&= ratio >= TARGET_RATIO;
    const bareRatio = median(results.bare[op].map((x, i) => x / results.direct[op][i]!));
    const frontToBare = median(results.front[op].map((f, i) => f / results.bare[op][i]!));
    console.log(
      `${op}: median direct ${direct.toFixed(0)}/s, via front ${viaFront.toFixed(0)}/s, ratio ${ratio.toFixed(2)} (median of rounds; ${Math.min(...perRound).toFixed(2)}–${Math.max(...perRound).toFixed(2)}; target >= ${TARGET_RATIO}); bare proxy ${bareRatio.toFixed(2)} of direct, front ${frontToBare.toFixed(2)} of bare proxy`,
    );
  }
  console.log(
    `CPU per request: front ${median(results.frontCpuNsPerRequest)} ns, bare proxy ${median(results.bareCpuNsPerRequest)} ns (medians)`,
  );
  console.log(
    JSON.stringify({ rounds: ROUNDS, requests: REQUESTS, pipeline: 16, clients: CLIENTS, results }),
  );
  process.exitCode = ok ? 0 : 1;
} finally {
  bare.close();
  await front.close();
  await server.stop();
}
