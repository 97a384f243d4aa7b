// A TCP proxy in front of a loopback port, so that a test can cut a client's connection from the
// network side, as a failover or a load balancer does, without touching the client.
import * as net from 'node:net';

/** See {@link tcpProxy}. */
export interface TcpProxy {
  /** The port to connect to instead of the upstream one. */
  readonly port: number;
  /** How many connections it accepted so far. */
  accepted(): number;
  /** Cuts the `index`th connection it accepted (from 0), both sides. */
  cutOne(index: number): void;
  /** Cuts every connection and refuses new ones from then on. */
  cut(): void;
  /** Holds new connections unanswered until the function returned is called. */
  hold(): () => void;
}

/** Starts a TCP proxy to `127.0.0.1:port`. */
export async function tcpProxy(port: number): Promise<TcpProxy> {
  const pairs: Array<readonly [net.Socket, net.Socket]> = [];
  let held: Array<() => void> | undefined;
  const server = net.createServer((client) => {
    const upstream = new net.Socket();
    const end = (): void => void (client.destroy(), upstream.destroy());
    for (const socket of [client, upstream]) socket.on('error', end).on('close', end);
    pairs.push([client, upstream]);
    const start = (): void => {
      if (client.destroyed) return;
      upstream.connect(port, '127.0.0.1');
      client.pipe(upstream).pipe(client);
    };
    if (held) held.push(start);
    else start();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const destroy = (pair: readonly [net.Socket, net.Socket] | undefined): void => {
    for (const socket of pair ?? []) socket.destroy();
  };
  return {
    port: (server.address() as net.AddressInfo).port,
    accepted: () => pairs.length,
    cutOne: (index) => destroy(pairs[index]),
    cut() {
      server.close();
      for (const pair of pairs) destroy(pair);
    },
    hold() {
      const mine = (held ??= []);
      return () => {
        if (held === mine) held = undefined;
        for (const start of mine.splice(0)) start();
      };
    },
  };
}
