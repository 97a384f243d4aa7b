// Records the TLS sockets a client opens (through `tls.connect`, which node-redis and ioredis
// both call on the module object, so a wrapper sees them): the port, the server name asked for
// and the TCP keepalive each one turned on. Observation only: every call goes through unchanged.
import tls from 'node:tls';

/** One TLS socket a client opened. */
export interface RecordedSocket {
  readonly port: number;
  /** The `servername` option (SNI); undefined when none was given. */
  readonly servername: string | undefined;
  /**
   * The first keepalive probe's delay in ms, when keepalive was turned on (by the
   * `keepAlive`/`keepAliveInitialDelay` options or by `setKeepAlive(true, ms)`); else undefined.
   */
  keepAliveMs: number | undefined;
}

/**
 * Records the TLS sockets opened to one of `ports` until `stop()` (idempotent). `sockets()`
 * returns them.
 */
export function recordTlsSockets(ports: ReadonlySet<number>): {
  sockets(): RecordedSocket[];
  stop(): void;
} {
  const recorded: RecordedSocket[] = [];
  const connect = tls.connect;
  const wrapper = function (this: unknown, ...args: unknown[]): tls.TLSSocket {
    const socket = (connect as (...a: unknown[]) => tls.TLSSocket).apply(this, args);
    const options = (typeof args[0] === 'object' && args[0] !== null ? args[0] : {}) as {
      port?: number | string;
      servername?: string;
      keepAlive?: boolean;
      keepAliveInitialDelay?: number;
    };
    const port = Number(options.port);
    if (!ports.has(port)) return socket;
    const entry: RecordedSocket = {
      port,
      servername: options.servername || undefined,
      keepAliveMs: options.keepAlive ? (options.keepAliveInitialDelay ?? 0) : undefined,
    };
    recorded.push(entry);
    const setKeepAlive = socket.setKeepAlive;
    socket.setKeepAlive = function (enable?: boolean, initialDelay?: number) {
      entry.keepAliveMs = enable ? (initialDelay ?? 0) : undefined;
      return setKeepAlive.call(this, enable, initialDelay);
    };
    return socket;
  };
  (tls as { connect: unknown }).connect = wrapper;
  return {
    sockets: () => [...recorded],
    stop() {
      if (tls.connect === (wrapper as unknown)) (tls as { connect: unknown }).connect = connect;
    },
  };
}
