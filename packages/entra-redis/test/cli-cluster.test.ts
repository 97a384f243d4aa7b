// `entra-redis check` against the emulator's Redis Cluster (3 shards, a replica each, 8-second
// tokens): the cluster is detected from CLUSTER SLOTS, AUTH and PING run on every primary and
// replica with the cache's host name as TLS server name, and --watch keeps and re-authenticates
// one connection per node. Build first: `npm run build`.
import {
  startEmulator,
  type Emulator,
  type RedisFrontConnectionEvent,
} from '@entra-redis/emulator';
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli, type WatchJson } from './cli-helpers.js';

const CLI = fileURLToPath(new URL('../../../node_modules/.bin/entra-redis', import.meta.url));
const LIFETIME_SEC = 8;
const WATCH_SEC = 30;
/** As in cli-watch.test.ts: refreshes at 3/4 of a token's life, a second of slack each. */
const MIN_REFRESHES = Math.floor(WATCH_SEC / (LIFETIME_SEC * 0.75 + 1));
const RUN_SLACK_MS = 30_000;

interface Stage {
  name: string;
  ok: boolean;
  endpoint?: string;
  role?: string;
  detail?: string;
}
interface Report {
  ok: boolean;
  stages: Stage[];
  watch?: WatchJson;
}

let emulator: Emulator;
let stateDir: string;
/** TLS server names sent to each node's front end, by node index. */
const serverNames: (string | undefined)[][] = [];

const endpoints = () => emulator.cluster!.nodes().map((n) => `${n.host}:${n.port}`);

function check(args: string[], timeoutMs = 30_000) {
  return runCli(CLI, ['check', '--host', 'localhost', ...args], emulator.env(), timeoutMs);
}

beforeAll(async () => {
  if (!existsSync(CLI)) throw new Error(`${CLI} is missing: install the workspace first (npm ci)`);
  stateDir = await mkdtemp(join(tmpdir(), 'entra-redis-cli-cluster-'));
  emulator = await startEmulator({
    stateDir,
    tokenLifetimeSec: LIFETIME_SEC,
    cluster: { shards: 3, replicasPerShard: 1 },
  });
  emulator.cluster!.fronts.forEach((front, i) => {
    serverNames[i] = [];
    front.events.on('connection', (e: RedisFrontConnectionEvent) =>
      serverNames[i]!.push(e.servername),
    );
  });
}, 120_000);

afterAll(async () => {
  await emulator?.close();
  if (stateDir) await rm(stateDir, { recursive: true, force: true });
});

describe('entra-redis check on a cluster', () => {
  it('detects the cluster and checks AUTH and PING on every primary and replica, one line each', async () => {
    const seen = serverNames.map((names) => names.length);
    const result = await check(['--port', String(emulator.redis.port)]);
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    const out = result.stdout;
    expect(out).toMatch(
      /PASS {2}Topology +\d+ ms {2}OSS cluster: 3 primaries, 3 replicas \(from CLUSTER SLOTS\)/,
    );
    const nodes = emulator.cluster!.nodes();
    for (const [i, n] of nodes.entries()) {
      const role =
        n.role === 'master' ? 'primary, slots \\d+-\\d+' : 'replica of 127\\.0\\.0\\.1:\\d+';
      const how =
        n.port === emulator.redis.port
          ? 'the connection above \\(AUTH passed\\), PING \\d+ ms'
          : 'TLS \\(server name localhost\\), AUTH \\d+ ms, PING \\d+ ms';
      expect(out).toMatch(
        new RegExp(`PASS {2}Node \\d/6 +\\d+ ms {2}${n.host}:${n.port} ${role}: ${how}`),
      );
      // The node's own connection carried the cache's host name, not the node's address.
      expect(serverNames[i]!.slice(seen[i])).toEqual(['localhost']);
    }
    expect(out.match(/^ {2}PASS {2}Node \d\/6 /gm)).toHaveLength(6);
    expect(out).toContain('All checks passed.');
  });

  it('--json: a node stage per node with its endpoint and role; SET follows MOVED from a replica', async () => {
    const replica = emulator.cluster!.nodes().find((n) => n.role === 'replica')!;
    const result = await check(['--port', String(replica.port), '--json']);
    expect(result.code).toBe(0);
    const report = JSON.parse(result.stdout) as Report;
    const nodeStages = report.stages.filter((s) => s.name === 'node');
    expect(nodeStages.map((s) => s.endpoint).sort()).toEqual(endpoints().sort());
    expect(nodeStages.every((s) => s.ok)).toBe(true);
    expect(nodeStages.filter((s) => s.role === 'primary')).toHaveLength(3);
    // A replica redirects every write to the primary that serves the key's slot.
    const roundtrip = report.stages.find((s) => s.name === 'roundtrip')!;
    expect(roundtrip.detail).toMatch(/ on 127\.0\.0\.1:\d+ \(the node serving its slot\)$/);
  });

  it(
    `--watch ${WATCH_SEC}s keeps one connection per node and re-AUTHs each on every new token`,
    async () => {
      const before = emulator.cluster!.stats().perNode;
      const seen = serverNames.map((names) => names.length);
      const result = await check(
        ['--port', String(emulator.redis.port), '--json', '--watch', `${WATCH_SEC}s`],
        WATCH_SEC * 1000 + RUN_SLACK_MS,
      );
      const after = emulator.cluster!.stats().perNode;
      expect(result.stderr).toBe('');
      expect(result.code).toBe(0);
      const w = (JSON.parse(result.stdout) as Report).watch!;
      expect(w).toMatchObject({ endedBy: 'duration', failures: 0 });
      expect(w.refreshes).toBeGreaterThanOrEqual(MIN_REFRESHES);
      expect(w.reauths).toBe(6 * w.refreshes);
      // Each new token is followed by the re-AUTH (and a PING) of every node's connection.
      const all = endpoints().sort();
      expect(w.events).toHaveLength(7 * w.refreshes);
      for (let i = 0; i < w.events.length; i += 7) {
        expect(w.events[i]!.kind).toBe('refresh');
        const reauths = w.events.slice(i + 1, i + 7);
        expect(reauths.every((e) => e.kind === 'reauth' && e.pingMs! >= 0)).toBe(true);
        expect(reauths.map((e) => e.endpoint).sort()).toEqual(all);
      }
      // Every node's front end: one connection for the whole run, re-authenticated in place on
      // each new token, never evicted; each carried the cache's host name as server name.
      for (const [i, stats] of after.entries()) {
        const was = before[i]!;
        expect(stats.connectionsTotal - was.connectionsTotal, `node ${i}`).toBe(1);
        expect(stats.evictions - was.evictions, `node ${i}`).toBe(0);
        expect(stats.reauthOk - was.reauthOk, `node ${i}`).toBe(w.refreshes);
        expect(serverNames[i]!.slice(seen[i])).toEqual(['localhost']);
      }
    },
    WATCH_SEC * 1000 + 2 * RUN_SLACK_MS,
  );
});
