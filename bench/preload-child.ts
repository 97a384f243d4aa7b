// Child process of bench section 7, run under `node --import entra-redis/register`: the same
// client three ways against the in-process responder, interleaved as in section 6: a static
// username/password, protected through the API (attachEntraAuth and its own token source),
// and built with no credentials at all, on the address ENTRA_REDIS_HOSTS names, so that the
// preload protects it. Prints one JSON line: each client's CPU µs per command per round.
import { TokenSource } from 'entra-redis';
import { startResponder } from './lib/responder.js';
import type { Settings } from './lib/settings.js';
import {
  interleavedRounds,
  ioredisSender,
  longLivedToken,
  nodeRedisSender,
} from './sections/dispatch.js';

/** What this child prints: per client, per arm, CPU µs per command for each round. */
export interface PreloadChildResult {
  cells: Array<{
    client: 'ioredis' | 'node-redis';
    plain: number[];
    api: number[];
    preload: number[];
  }>;
}

async function main(): Promise<void> {
  const settings = JSON.parse(process.env.ENTRA_REDIS_BENCH_DISPATCH ?? '') as Settings['dispatch'];
  const preloadPort = Number(process.env.ENTRA_REDIS_BENCH_PRELOAD_PORT);
  const token = longLivedToken();
  const other = await startResponder(); // not in ENTRA_REDIS_HOSTS: the preload leaves it alone
  const matched = await startResponder(preloadPort);
  const source = new TokenSource({
    credential: { getToken: async () => ({ token, expiresOnTimestamp: Date.now() + 86_400_000 }) },
    metrics: false,
  });
  const result: PreloadChildResult = { cells: [] };
  try {
    for (const client of ['ioredis', 'node-redis'] as const) {
      const open = client === 'ioredis' ? ioredisSender : nodeRedisSender;
      const arms = [
        await open(other.port, { token }),
        await open(other.port, { source }),
        await open(matched.port, 'preload'),
      ];
      if (matched.auths() === 0) {
        throw new Error(`the preload did not protect the ${client} client (no AUTH was sent)`);
      }
      const [plain, api, preload] = (await interleavedRounds(arms, settings)) as [
        number[],
        number[],
        number[],
      ];
      result.cells.push({ client, plain, api, preload });
      await Promise.all(arms.map((arm) => arm.close()));
      matched.resetAuths();
    }
  } finally {
    await source.close();
    await Promise.all([other.stop(), matched.stop()]);
  }
  process.stdout.write(`${JSON.stringify(result)}\n`);
}

await main();
