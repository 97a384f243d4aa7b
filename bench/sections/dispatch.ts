// Section 6: the adapters' own cost per command, measured precisely. Each arm sends the same
// commands to a minimal RESP responder in this process (see lib/responder.ts: no TLS, no
// emulator, no second process whose timing would change how replies batch): a client with a
// static username/password, and the same client protected by entra-redis (a token source
// serving one long-lived token, so no rotation happens). The measure is this process's CPU
// time per command over many commands; in every round the arms alternate in short chunks
// (order rotated), and the result is the median of the per-round differences and ratios.
import { Redis } from 'ioredis';
import { createClient } from 'redis';
import { TokenSource } from 'entra-redis';
import { attachEntraAuth as attachIORedis } from 'entra-redis/ioredis';
import {
  attachEntraAuth as attachNodeRedis,
  entraCredentialsProvider,
} from 'entra-redis/node-redis';
import type { Settings } from '../lib/settings.js';
import { pairedRatios, summarize, type Summary } from '../lib/stats.js';
import { startResponder } from '../lib/responder.js';

type Client = 'node-redis' | 'ioredis';

/** One client's measure: plain and protected, and the adapter's share. */
export interface DispatchCell {
  client: Client;
  /** CPU per command, µs, each round (plain, then protected). */
  plainUs: number[];
  protectedUs: number[];
  plain: Summary;
  protected: Summary;
  /** Per-round protected / plain. */
  ratio: Summary;
  /** Per-round protected − plain, ns per command: the adapter's own cost. */
  adapterNs: Summary;
}

/** Result of the dispatch section. */
export interface DispatchResult {
  settings: Settings['dispatch'];
  cells: DispatchCell[];
}

/** One arm's client, as the measure drives it. */
export interface Sender {
  get(key: string): Promise<unknown>;
  close(): Promise<unknown>;
}

/** The static-password arms' username (the token's `oid`). */
export const OID = '6a1c2b3d-0000-4000-8000-00000000a0b1';

function b64(value: unknown): string {
  return Buffer.from(JSON.stringify(value)).toString('base64url');
}

/** A JWT-shaped token (the library decodes it; redis-server only compares it). */
export function longLivedToken(): string {
  const now = Math.floor(Date.now() / 1000);
  const claims = {
    oid: OID,
    iat: now,
    nbf: now,
    exp: now + 86_400,
    aud: 'https://redis.azure.com',
  };
  return `${b64({ alg: 'RS256', typ: 'JWT' })}.${b64(claims)}.bench`;
}

/**
 * How an arm's client authenticates: a static username/password, a token source through the
 * API, or nothing of its own (the zero-code preload protects it, section 7).
 */
export type ArmAuth = { token: string } | { source: TokenSource } | 'preload';

/** An ioredis client on the responder at `port`, connected. */
export async function ioredisSender(port: number, auth: ArmAuth): Promise<Sender> {
  const redis = new Redis({
    host: '127.0.0.1',
    port,
    ...(typeof auth === 'object' && 'token' in auth ? { username: OID, password: auth.token } : {}),
    protocol: 2,
    lazyConnect: true,
    enableReadyCheck: false,
  });
  if (typeof auth === 'object' && 'source' in auth) attachIORedis(redis, auth.source);
  await redis.connect();
  return { get: (key) => redis.get(key), close: () => redis.quit() };
}

/** A node-redis client on the responder at `port`, connected. */
export async function nodeRedisSender(port: number, auth: ArmAuth): Promise<Sender> {
  const socket = { host: '127.0.0.1', port };
  // No per-command timeout: node-redis 6 arms one (5 s) for each command, whose timer fires 5 s
  // later, in whichever round runs then; that CPU would land on the wrong arm. Every arm alike.
  const options = { socket, RESP: 2 as const, commandOptions: { timeout: 0 } };
  const client =
    typeof auth === 'object' && 'source' in auth
      ? createClient({ ...options, credentialsProvider: entraCredentialsProvider(auth.source) })
      : typeof auth === 'object'
        ? createClient({ ...options, username: OID, password: auth.token })
        : createClient(options);
  if (typeof auth === 'object' && 'source' in auth) attachNodeRedis(client, auth.source);
  await client.connect();
  return { get: (key) => client.get(key), close: () => client.quit() };
}

/** `count` GETs with `inFlight` outstanding; returns this process's CPU µs per command. */
export async function measure(sender: Sender, count: number, inFlight: number): Promise<number> {
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < count) {
      next++;
      await sender.get('bench:key');
    }
  };
  const before = process.cpuUsage();
  await Promise.all(Array.from({ length: inFlight }, worker));
  const used = process.cpuUsage(before);
  return (used.user + used.system) / count;
}

/**
 * Measures `senders` (the arms) in `s.rounds` rounds after a warm-up; each round alternates
 * short chunks of every arm (order rotated), so that what moves the machine's speed within a
 * round (other processes, CPU frequency, how replies batch) touches every arm alike. Returns
 * each arm's CPU µs per command, one figure per round.
 */
export async function interleavedRounds(
  senders: readonly Sender[],
  s: Settings['dispatch'],
): Promise<number[][]> {
  for (const sender of senders) await measure(sender, s.commandsPerRound, s.inFlight); // JIT
  const perRound: number[][] = senders.map(() => []);
  const chunk = Math.max(1, Math.round(s.commandsPerRound / s.chunksPerRound));
  for (let round = 0; round < s.rounds; round++) {
    const cpu = senders.map(() => 0);
    for (let k = 0; k < s.chunksPerRound; k++) {
      for (let j = 0; j < senders.length; j++) {
        const arm = (j + k + round) % senders.length;
        cpu[arm]! += await measure(senders[arm]!, chunk, s.inFlight);
      }
    }
    cpu.forEach((total, arm) => perRound[arm]!.push(total / s.chunksPerRound));
  }
  return perRound;
}

/**
 * Runs the section.
 *
 * @example
 * ```ts
 * results.dispatch = await runDispatch(settings, log);
 * ```
 */
export async function runDispatch(
  settings: Settings,
  log: (line: string) => void,
): Promise<DispatchResult> {
  const s = settings.dispatch;
  const token = longLivedToken();
  const server = await startResponder();
  const source = new TokenSource({
    credential: { getToken: async () => ({ token, expiresOnTimestamp: Date.now() + 86_400_000 }) },
    metrics: false,
  });
  const cells: DispatchCell[] = [];
  try {
    await source.getCredentials();
    for (const client of ['ioredis', 'node-redis'] as const) {
      const open = client === 'ioredis' ? ioredisSender : nodeRedisSender;
      const plain = await open(server.port, { token });
      const guarded = await open(server.port, { source });
      const [plainUs, protectedUs] = (await interleavedRounds([plain, guarded], s)) as [
        number[],
        number[],
      ];
      await Promise.all([plain.close(), guarded.close()]);
      const cell: DispatchCell = {
        client,
        plainUs,
        protectedUs,
        plain: summarize(plainUs),
        protected: summarize(protectedUs),
        ratio: summarize(pairedRatios(protectedUs, plainUs)),
        adapterNs: summarize(protectedUs.map((p, i) => (p - plainUs[i]!) * 1_000)),
      };
      cells.push(cell);
      log(
        `dispatch ${client}: ${cell.plain.median.toFixed(3)} -> ${cell.protected.median.toFixed(3)} µs/command ` +
          `(ratio ${cell.ratio.median.toFixed(4)}, adapter ${cell.adapterNs.median.toFixed(0)} ns)`,
      );
    }
  } finally {
    await source.close();
    await server.stop();
  }
  return { settings: s, cells };
}
