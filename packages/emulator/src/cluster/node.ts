// One cluster node: a cluster-enabled redis-server child, its validating front end (its own
// ACL users), and, when the cluster has replicas, the port splitter that is its public port.

import net from 'node:net';
import type { EmulatorError } from '../errors.js';
import { startRedisFront } from '../redis-front/front.js';
import type { RedisFront, RedisFrontOptions } from '../redis-front/types.js';
import { startRedisServer, type RedisServer } from '../redis-server.js';
import { NodeAdmin } from './admin.js';
import { startPortSplitter, type PortSplitter } from './port-splitter.js';

const START_ATTEMPTS = 3;

/** Options of {@link startClusterNode}. */
export interface ClusterNodeOptions {
  index: number;
  shard: number;
  /** Password of the `default` user, the same on every node (replication and MIGRATE use it). */
  adminPassword: string;
  nodeTimeoutMs: number;
  binary?: string;
  extraArgs?: string[];
  /** Front-end options shared by every node. */
  front: Pick<RedisFrontOptions, 'authenticate' | 'accessPolicies' | 'rejectHelloAuth'> & {
    tls: { key: string; cert: string };
  };
  /** Public TLS port (0 = free). */
  tlsPort: number;
  /** Front-end plaintext port (0 = free), or false for none. */
  plainPort: number | false;
  /** Which port the node announces. */
  announce: 'tls' | 'plain';
  /** Put a {@link PortSplitter} on the public TLS port so that replication links reach the node. */
  split: boolean;
}

/** A running cluster node. */
export interface ClusterNode {
  readonly index: number;
  readonly shard: number;
  /** Redis Cluster node id. */
  readonly id: string;
  /** The port in CLUSTER SLOTS / NODES / SHARDS and in redirections. */
  readonly announcedPort: number;
  /** The public TLS port (the splitter's, or the front end's own). */
  readonly tlsPort: number;
  /** The cluster bus port (node-to-node only). */
  readonly busPort: number;
  readonly server: RedisServer;
  readonly front: RedisFront;
  readonly admin: NodeAdmin;
  /** Destroys every client connection of this node's front end. */
  dropConnections(): void;
  /** Stops the front end, the splitter and redis-server. Idempotent. */
  stop(): Promise<void>;
}

async function freePort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const { port } = server.address() as net.AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

/** Starts redis-server with cluster mode on; retries with another bus port if it was taken. */
async function startServer(
  o: ClusterNodeOptions,
): Promise<{ server: RedisServer; busPort: number }> {
  for (let attempt = 1; ; attempt++) {
    const busPort = await freePort();
    try {
      const server = await startRedisServer({
        ...(o.binary ? { binary: o.binary } : {}),
        adminPassword: o.adminPassword,
        extraArgs: [
          '--cluster-enabled',
          'yes',
          '--cluster-port',
          String(busPort),
          '--cluster-node-timeout',
          String(o.nodeTimeoutMs),
          // Topology changes only through the emulator's faults: no automatic failover, and a
          // master that loses its last slot stays a master.
          '--cluster-replica-no-failover',
          'yes',
          '--cluster-allow-replica-migration',
          'no',
          ...(o.extraArgs ?? []),
        ],
      });
      return { server, busPort };
    } catch (e) {
      const code = (e as EmulatorError).code;
      if (code !== 'REDIS_SERVER_START_FAILED' || attempt >= START_ATTEMPTS) throw e;
    }
  }
}

/**
 * Starts one node: redis-server, its front end (which creates the access-policy ACL users on
 * it) and, when asked, the splitter; then makes the node announce the public port.
 *
 * @example
 * ```ts
 * const node = await startClusterNode({ index: 0, shard: 0, ...shared });
 * await node.stop();
 * ```
 */
export async function startClusterNode(o: ClusterNodeOptions): Promise<ClusterNode> {
  const { server, busPort } = await startServer(o);
  let front: RedisFront | undefined;
  let splitter: PortSplitter | undefined;
  const admin = new NodeAdmin(server.port, o.adminPassword);
  const stop = async (): Promise<void> => {
    admin.close();
    await front?.close();
    await splitter?.close();
    await server.stop();
  };
  try {
    front = await startRedisFront({
      ...o.front,
      upstream: {
        host: server.host,
        port: server.port,
        adminPassword: server.adminPassword,
        socketPath: server.socketPath,
      },
      tls: { ...o.front.tls, port: o.split ? 0 : o.tlsPort },
      plainPort: o.announce === 'plain' && o.plainPort === false ? 0 : o.plainPort,
    });
    const frontTls = front.tlsPort!;
    if (o.split) {
      splitter = await startPortSplitter(o.tlsPort, { tlsPort: frontTls, plainPort: server.port });
    }
    const tlsPort = splitter?.port ?? frontTls;
    const announcedPort = o.announce === 'plain' ? front.plainPort! : tlsPort;
    await admin.ok([
      'CONFIG',
      'SET',
      'masterauth',
      o.adminPassword,
      'cluster-announce-ip',
      '127.0.0.1',
      'cluster-announce-port',
      String(announcedPort),
      'cluster-announce-bus-port',
      String(busPort),
      'replica-announce-ip',
      '127.0.0.1',
      'replica-announce-port',
      String(announcedPort),
    ]);
    const id = await admin.text(['CLUSTER', 'MYID']);
    const node = front;
    return {
      index: o.index,
      shard: o.shard,
      id,
      announcedPort,
      tlsPort,
      busPort,
      server,
      front: node,
      admin,
      dropConnections: () => {
        node.dropAllConnections();
        splitter?.dropTlsConnections();
      },
      stop,
    };
  } catch (e) {
    await stop().catch(() => undefined);
    throw e;
  }
}
