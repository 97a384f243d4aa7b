// The AUTH and PING stages on one node a cluster announces: its own TCP and TLS connection (TLS
// server name = the cache's host name, as Azure's certificates name the host, not the node).

import net from 'node:net';
import type tls from 'node:tls';
import type { Acquired } from './acquire.js';
import { tcpFailure, tlsFailure, type Target } from './diagnose.js';
import { connectTcp, handshakeTls } from './network.js';
import { authenticate, ping } from './redis-stages.js';
import { RespConnection } from './resp.js';
import { fail, pass, type Outcome } from './stages.js';
import { describeRole, type ClusterNode } from './topology.js';

/** An authenticated connection kept for `--watch`. */
export interface LiveNode {
  /** `host:port` as the cluster announces it (or as given, for a single node). */
  readonly endpoint: string;
  readonly conn: RespConnection;
  /** Expiry of the last token this connection authenticated with, in ms since the epoch. */
  tokenExpiresAtMs: number;
}

const NODE_PORTS_FIX =
  'with a cluster (OSS cluster policy), clients open a connection to every node it announces: ' +
  'allow this machine to reach each node port (Azure Managed Redis: 85xx; clustered Azure Cache ' +
  'for Redis: 15000 and up) through firewalls, network security groups and private endpoints';

async function timed(fn: () => Promise<Outcome>): Promise<{ outcome: Outcome; ms: number }> {
  const started = performance.now();
  const outcome = await fn();
  return { outcome, ms: Math.round(performance.now() - started) };
}

/**
 * Connects to `node`, authenticates with `token` and PINGs. On success the connection stays
 * open in `live`; on failure everything it opened is closed.
 */
export async function checkNode(
  node: ClusterNode,
  t: Target,
  ca: string[] | undefined,
  timeoutMs: number,
  token: Acquired,
): Promise<{ outcome: Outcome; live?: LiveNode }> {
  const where = `${node.endpoint} ${describeRole(node)}`;
  let tcp: net.Socket;
  try {
    tcp = await connectTcp(node.host, node.port, timeoutMs);
  } catch (error) {
    const f = tcpFailure(error, { ...t, host: node.host, port: node.port });
    return { outcome: fail({ ...f, detail: `${where}: ${f.detail}`, fix: NODE_PORTS_FIX }) };
  }
  let socket: tls.TLSSocket;
  try {
    socket = await handshakeTls(tcp, t.host, ca, timeoutMs);
  } catch (error) {
    tcp.destroy();
    const f = tlsFailure(error, { ...t, port: node.port }, false);
    return { outcome: fail({ ...f, detail: `${where}: ${f.detail}` }) };
  }
  const conn = new RespConnection(socket);
  try {
    const auth = await timed(() => authenticate(conn, token, t, timeoutMs));
    if (!auth.outcome.ok) {
      conn.close();
      return {
        outcome: fail({
          ...auth.outcome.finding,
          detail: `${where}: AUTH ${auth.outcome.finding.detail}`,
        }),
      };
    }
    const pong = await timed(() => ping(conn, timeoutMs, token.summary.oid));
    if (!pong.outcome.ok) {
      conn.close();
      return {
        outcome: fail({
          ...pong.outcome.finding,
          detail: `${where}: PING ${pong.outcome.finding.detail}`,
        }),
      };
    }
    const sni = net.isIP(t.host) ? '' : ` (server name ${t.host})`;
    return {
      outcome: pass(`${where}: TLS${sni}, AUTH ${auth.ms} ms, PING ${pong.ms} ms`),
      live: {
        endpoint: node.endpoint,
        conn,
        tokenExpiresAtMs: (token.summary.exp ?? 0) * 1000,
      },
    };
  } catch (error) {
    conn.close();
    throw error;
  }
}

/** The node line of the connection the first stages used, when the cluster announces it. */
export async function checkSeedNode(
  node: ClusterNode,
  seed: RespConnection,
  timeoutMs: number,
  oid: string | undefined,
): Promise<Outcome> {
  const pong = await timed(() => ping(seed, timeoutMs, oid));
  const where = `${node.endpoint} ${describeRole(node)}`;
  if (!pong.outcome.ok) {
    return fail({
      ...pong.outcome.finding,
      detail: `${where}: PING ${pong.outcome.finding.detail}`,
    });
  }
  return pass(`${where}: the connection above (AUTH passed), PING ${pong.ms} ms`);
}
