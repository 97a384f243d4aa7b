// The Azure-like RESP front end: TLS (and optional plaintext) listeners in front of redis-server.

import { randomBytes } from 'node:crypto';
import { EventEmitter } from 'node:events';
import net from 'node:net';
import tls from 'node:tls';
import { AclKeeper } from './acl-setup.js';
import { FrontConnection, type ConnectionContext } from './connection.js';
import { EmulatorError } from '../errors.js';
import { buildPolicyUsers } from './policies.js';
import type {
  RedisFront,
  RedisFrontEventMap,
  RedisFrontOptions,
  RedisFrontStats,
} from './types.js';

const DEFAULT_EXPIRY_CHECK_INTERVAL_MS = 200;

function isLoopback(host: string): boolean {
  return host === 'localhost' || host === '::1' || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(host);
}

async function listen(server: net.Server, port: number, host: string): Promise<number> {
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.removeListener('error', reject);
      resolve();
    });
  });
  return (server.address() as net.AddressInfo).port;
}

/**
 * Starts the front end: creates the access-policy ACL users on redis-server, then listens.
 * Clients must `AUTH <oid> <token>` (or `HELLO <v> AUTH <oid> <token>`); tokens are checked
 * with `authenticate`; connections are closed when their token expires without a fresh AUTH.
 *
 * @example
 * ```ts
 * const server = await startRedisServer();
 * const front = await startRedisFront({
 *   upstream: server,
 *   authenticate: tenant.verifyRedisAuth,
 *   tls: { key, cert },
 * });
 * console.log(front.tlsPort);
 * await front.close();
 * ```
 */
export async function startRedisFront(options: RedisFrontOptions): Promise<RedisFront> {
  const host = options.host ?? '127.0.0.1';
  if (!isLoopback(host)) {
    throw new EmulatorError(
      'INVALID_OPTION',
      `"host" must be a loopback address (127.0.0.1, ::1 or localhost); the emulator never listens on "${host}"`,
    );
  }
  if (typeof options.authenticate !== 'function') {
    throw new EmulatorError(
      'INVALID_OPTION',
      '"authenticate" must be a function (username, password) => Promise<AccessCheck>',
    );
  }
  const plainPortOption = options.plainPort ?? (options.tls ? false : 0);
  const intervalMs = options.expiryCheckIntervalMs ?? DEFAULT_EXPIRY_CHECK_INTERVAL_MS;
  if (!(intervalMs > 0)) {
    throw new EmulatorError(
      'INVALID_OPTION',
      '"expiryCheckIntervalMs" must be a positive number of milliseconds',
    );
  }
  const now = options.now ?? Date.now;
  const users = buildPolicyUsers(options.accessPolicies, () => randomBytes(24).toString('hex'));
  const acl = new AclKeeper(options.upstream, users);
  await acl.start();

  const events = new EventEmitter<RedisFrontEventMap>();
  const stats: RedisFrontStats = {
    connectionsOpen: 0,
    connectionsTotal: 0,
    authOk: 0,
    authFailed: 0,
    reauthOk: 0,
    reauthFailed: 0,
    redundantReauths: 0,
    evictions: 0,
    protocolErrors: 0,
    unauthenticatedCommands: 0,
  };
  const connections = new Set<FrontConnection>();
  let nextId = 1;
  const context: ConnectionContext = {
    upstream: {
      host: options.upstream.host,
      port: options.upstream.port,
      ...(options.upstream.socketPath ? { socketPath: options.upstream.socketPath } : {}),
    },
    authenticate: options.authenticate,
    policyUser: (policy) => users.get(policy),
    aclReady: () => acl.ready(),
    rejectHelloAuth: options.rejectHelloAuth ?? false,
    now,
    stats,
    events,
    closed: (connection) => {
      if (!connections.delete(connection)) return;
      stats.connectionsOpen--;
      events.emit('close', { id: connection.id });
    },
  };
  const accept = (socket: net.Socket, isTls: boolean): void => {
    socket.on('error', () => socket.destroy());
    const connection = new FrontConnection(context, nextId++, socket, isTls);
    connections.add(connection);
    stats.connectionsOpen++;
    stats.connectionsTotal++;
    const servername = isTls ? (socket as tls.TLSSocket).servername : undefined;
    events.emit('connection', {
      id: connection.id,
      tls: isTls,
      ...(typeof servername === 'string' && servername !== '' ? { servername } : {}),
    });
  };

  const servers: net.Server[] = [];
  let tlsPort: number | undefined;
  let plainPort: number | undefined;
  try {
    if (options.tls) {
      const server = tls.createServer({ key: options.tls.key, cert: options.tls.cert }, (s) =>
        accept(s, true),
      );
      server.on('tlsClientError', (_err, socket) => socket.destroy());
      servers.push(server);
      tlsPort = await listen(server, options.tls.port ?? 0, host);
    }
    if (plainPortOption !== false) {
      const server = net.createServer((s) => accept(s, false));
      servers.push(server);
      plainPort = await listen(server, plainPortOption, host);
    }
  } catch (e) {
    acl.close();
    for (const s of servers) s.close();
    throw new EmulatorError(
      'INVALID_OPTION',
      `could not listen on ${host}: ${(e as Error).message}`,
      { cause: e },
    );
  }
  for (const s of servers) s.on('error', () => undefined);

  const sweep = setInterval(() => {
    const t = now();
    for (const c of connections) c.checkExpiry(t);
  }, intervalMs);
  sweep.unref();

  let closing: Promise<void> | undefined;
  const front: RedisFront = {
    host,
    ...(tlsPort !== undefined ? { tlsPort } : {}),
    ...(plainPort !== undefined ? { plainPort } : {}),
    events,
    stats: () => ({ ...stats }),
    dropAllConnections: () => {
      for (const c of [...connections]) c.destroy();
    },
    close: () => {
      closing ??= (async () => {
        clearInterval(sweep);
        acl.close();
        const closed = servers.map((s) => new Promise<void>((resolve) => s.close(() => resolve())));
        for (const c of [...connections]) c.destroy();
        await Promise.all(closed);
      })();
      return closing;
    },
  };
  return front;
}
