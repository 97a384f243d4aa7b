// `entra-redis check`: DNS, TCP, TLS, token, AUTH, PING, the topology (and AUTH and PING on
// every node of a cluster) and a SET/GET/DEL round trip, each timed and, when it fails,
// explained. With `keepOpen` (for --watch) the token source and connections outlive the stages.

import type { TokenSource } from '../index.js';
import { currentToken, explainTokenFailure, openTokenSource, type Acquired } from './acquire.js';
import type { ResolvedAuth } from './auth-options.js';
import { describeSummary, formatDuration } from './claims.js';
import { checkNode, checkSeedNode, type LiveNode } from './cluster-nodes.js';
import type { Target } from './diagnose.js';
import { connectStages, type Connected } from './network-stages.js';
import { authenticate, ping, roundTrip } from './redis-stages.js';
import type { Reporter, StageResult } from './report.js';
import { RespConnection } from './resp.js';
import { fail, pass, Stages } from './stages.js';
import { describeCluster, endpointOf, readTopology, type Topology } from './topology.js';

/** Everything `check` needs, validated. */
export interface CheckSettings {
  readonly target: Target;
  readonly auth: ResolvedAuth;
  readonly ca: string[] | undefined;
  readonly readOnly: boolean;
  readonly username?: string;
  /** Keep the token source and every connection open when all stages pass (for --watch). */
  readonly keepOpen?: boolean;
  /** Refresh tokens at the latest this long after issue, in ms (--refresh-every). */
  readonly maxTokenAgeMs?: number;
}

/** The result `--json` prints (`watch` is added by --watch). */
export interface CheckReport {
  readonly host: string;
  readonly port: number;
  readonly ok: boolean;
  readonly stages: StageResult[];
}

/** What --watch continues with: the open token source and one connection per node. */
export interface CheckSession {
  readonly source: TokenSource;
  readonly nodes: LiveNode[];
  /** Closes the token source and every connection. Idempotent. */
  close(): Promise<void>;
}

/** A token whose nbf/iat lie more than this ahead of the local clock gets a warning. */
const SKEW_WARNING_SEC = 5;

/** Runs every stage (stopping the Redis side at the first failure) and reports each. */
export async function runCheck(
  s: CheckSettings,
  reporter: Reporter,
): Promise<{ report: CheckReport; session?: CheckSession }> {
  const stages = new Stages(reporter, s.auth.secrets);
  const t = s.target;
  const timeoutMs = s.auth.timeoutMs;
  const source = openTokenSource(s.auth, { username: s.username, maxTokenAgeMs: s.maxTokenAgeMs });
  const nodes: LiveNode[] = [];
  let seed: RespConnection | undefined;
  let connected: Connected = { address: t.host };
  const closeAll = async () => {
    await source.close();
    for (const n of nodes) n.conn.close();
    seed?.close();
    connected.socket?.destroy();
    connected.tcp?.destroy();
  };
  let keep = false;
  try {
    connected = await connectStages(stages, t, s.ca, timeoutMs);
    let acquired: Acquired | undefined;
    const tokenOk = await stages.run('token', async () => {
      try {
        acquired = await currentToken(source);
      } catch (error) {
        return fail(await explainTokenFailure(error, s.auth));
      }
      const sm = acquired.summary;
      const ahead = Math.max(sm.nbf ?? 0, sm.iat ?? 0) - Date.now() / 1000;
      const skew =
        ahead > SKEW_WARNING_SEC
          ? `; WARNING: nbf/iat ${formatDuration(ahead)} ahead of the local clock`
          : '';
      return pass(`${describeSummary(sm)}${skew}`);
    });
    const socket = connected.socket;
    if (!socket || !tokenOk || !acquired) {
      const why = !socket ? 'no TLS connection' : 'no token';
      for (const name of ['auth', 'ping', 'topology', 'roundtrip']) {
        stages.skip(name, `not run: ${why}`);
      }
    } else {
      const c = (seed = new RespConnection(socket));
      const a = acquired;
      const authOk = await stages.run('auth', () => authenticate(c, a, t, timeoutMs));
      const pingOk = authOk && (await stages.run('ping', () => ping(c, timeoutMs, a.summary.oid)));
      if (!authOk) stages.skip('ping', 'not run: AUTH failed');
      if (!pingOk) {
        const why = `not run: ${authOk ? 'PING' : 'AUTH'} failed`;
        stages.skip('topology', why);
        stages.skip('roundtrip', why);
      } else {
        const seedEndpoint = endpointOf(t.host, t.port);
        const seedNode = { endpoint: seedEndpoint, conn: c, tokenExpiresAtMs: expiryMs(a) };
        const clusterOk = await checkCluster(stages, s, c, connected.address, a, seedNode, nodes);
        const connectionTo = (endpoint: string) => nodes.find((n) => n.endpoint === endpoint)?.conn;
        if (!clusterOk) stages.skip('roundtrip', 'not run: a cluster node failed');
        else if (s.readOnly) stages.skip('roundtrip', 'skipped: --read-only', true);
        else {
          await stages.run('roundtrip', () => roundTrip(c, timeoutMs, a.summary.oid, connectionTo));
        }
      }
    }
    keep = s.keepOpen === true && stages.ok;
  } finally {
    reporter.close();
    if (!keep) await closeAll();
  }
  const report = { host: t.host, port: t.port, ok: stages.ok, stages: stages.results };
  return keep ? { report, session: { source, nodes, close: closeAll } } : { report };
}

function expiryMs(a: Acquired): number {
  return (a.summary.exp ?? 0) * 1000;
}

/**
 * The topology stage, then AUTH and PING on every node of a cluster. Fills `nodes` with the
 * connections to keep: every node's, and the seed's (`seedNode`) unless the cluster announces
 * the seed's endpoint, in which case its node reuses that connection (one per node).
 */
async function checkCluster(
  stages: Stages,
  s: CheckSettings,
  seed: RespConnection,
  address: string,
  a: Acquired,
  seedNode: LiveNode,
  nodes: LiveNode[],
): Promise<boolean> {
  const t = s.target;
  let topology: Topology | undefined;
  const topologyOk = await stages.run('topology', async () => {
    topology = await readTopology(seed, address, s.auth.timeoutMs);
    if (topology.kind === 'failed') return fail(topology.finding);
    if (topology.kind !== 'cluster') return pass(topology.detail);
    return pass(`OSS cluster: ${describeCluster(topology.nodes)} (from CLUSTER SLOTS)`);
  });
  if (!topologyOk || topology?.kind !== 'cluster') {
    nodes.push(seedNode);
    return topologyOk;
  }
  const announced = topology.nodes;
  const isSeed = (n: (typeof announced)[number]) =>
    n.port === t.port && (n.host === address || n.host === t.host);
  if (!announced.some(isSeed)) nodes.push(seedNode);
  let ok = true;
  for (const [i, node] of announced.entries()) {
    const label = {
      label: `Node ${i + 1}/${announced.length}`,
      endpoint: node.endpoint,
      role: node.role,
    };
    if (isSeed(node)) {
      const live = { ...seedNode, endpoint: node.endpoint };
      ok =
        (await stages.run(
          'node',
          () => checkSeedNode(node, seed, s.auth.timeoutMs, a.summary.oid),
          label,
        )) && ok;
      nodes.push(live);
      continue;
    }
    ok =
      (await stages.run(
        'node',
        async () => {
          const checked = await checkNode(node, t, s.ca, s.auth.timeoutMs, a);
          if (checked.live) nodes.push(checked.live);
          return checked.outcome;
        },
        label,
      )) && ok;
  }
  return ok;
}
