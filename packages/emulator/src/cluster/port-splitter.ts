// The public port of a cluster node that has replicas. redis-server connects a replica to its
// master's announced port (the front end's), but its replication link speaks neither TLS nor
// Entra ID auth. So this listener looks at the first byte of each connection: a TLS handshake
// (0x16) goes to the node's validating front end; anything else goes to the raw redis-server,
// which still requires its random admin password (only the other nodes know it).

import net from 'node:net';

const TLS_HANDSHAKE = 0x16;

/** Where a connection goes. */
export interface SplitTargets {
  /** The front end's TLS port. */
  tlsPort: number;
  /** The raw redis-server port (replication links). */
  plainPort: number;
}

/** A running splitter. */
export interface PortSplitter {
  readonly port: number;
  /** Destroys the client connections (to the front end, or not yet routed); replication links stay. */
  dropTlsConnections(): void;
  /** Stops listening and destroys every connection. Idempotent. */
  close(): Promise<void>;
}

interface Pair {
  client: net.Socket;
  upstream?: net.Socket;
  /** Undecided until the first byte arrives. */
  kind: 'pending' | 'tls' | 'plain';
}

function destroy(pair: Pair): void {
  pair.client.destroy();
  pair.upstream?.destroy();
}

/**
 * Listens on `127.0.0.1:port` (0 = a free port) and splits connections between the front end
 * (TLS) and redis-server (plaintext).
 *
 * @example
 * ```ts
 * const splitter = await startPortSplitter(0, { tlsPort: front.tlsPort!, plainPort: server.port });
 * await splitter.close();
 * ```
 */
export async function startPortSplitter(
  port: number,
  targets: SplitTargets,
): Promise<PortSplitter> {
  const pairs = new Set<Pair>();
  const accept = (client: net.Socket): void => {
    const pair: Pair = { client, kind: 'pending' };
    pairs.add(pair);
    const done = (): void => {
      pairs.delete(pair);
      destroy(pair);
    };
    client.on('error', done);
    client.on('close', done);
    client.once('data', (first: Buffer) => {
      client.pause();
      pair.kind = first[0] === TLS_HANDSHAKE ? 'tls' : 'plain';
      const upstream = net.connect({
        host: '127.0.0.1',
        port: pair.kind === 'tls' ? targets.tlsPort : targets.plainPort,
      });
      pair.upstream = upstream;
      upstream.setNoDelay(true);
      upstream.on('error', done);
      upstream.on('close', done);
      upstream.once('connect', () => {
        upstream.write(first);
        client.pipe(upstream);
        upstream.pipe(client);
      });
    });
    client.setNoDelay(true);
  };

  const server = net.createServer(accept);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => {
      server.removeListener('error', reject);
      resolve();
    });
  });
  server.on('error', () => undefined);
  const bound = (server.address() as net.AddressInfo).port;

  let closing: Promise<void> | undefined;
  return {
    port: bound,
    dropTlsConnections: () => {
      for (const pair of [...pairs]) if (pair.kind !== 'plain') destroy(pair);
    },
    close: () =>
      (closing ??= new Promise<void>((resolve) => {
        server.close(() => resolve());
        for (const pair of [...pairs]) destroy(pair);
      })),
  };
}
