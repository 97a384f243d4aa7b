import type { EventEmitter } from 'node:events';

/**
 * Result of checking a Redis username and token. Structurally identical to the type the
 * emulator's tenant exports, so a tenant's verifier can be passed as an {@link Authenticator}.
 */
export type AccessCheck =
  { ok: true; oid: string; expiresAtMs: number; policy: string } | { ok: false; reason: string };

/**
 * Verifies `AUTH <username> <password>`: the password is an Entra access token, the username
 * must be its `oid`, and the principal must have an access policy.
 *
 * @example
 * ```ts
 * const authenticate: Authenticator = async (user, token) =>
 *   user === 'oid-1' && token === 'good'
 *     ? { ok: true, oid: user, expiresAtMs: Date.now() + 60_000, policy: 'Data Owner' }
 *     : { ok: false, reason: 'bad token' };
 * ```
 */
export type Authenticator = (username: string, password: string) => Promise<AccessCheck>;

/** Counters of a {@link RedisFront}. */
export interface RedisFrontStats {
  /** Client connections open now. */
  connectionsOpen: number;
  /** Client connections accepted since start. */
  connectionsTotal: number;
  /** First successful AUTH on a connection (counted when redis-server runs it). */
  authOk: number;
  /** AUTH refused on a connection that was not authenticated. */
  authFailed: number;
  /** Successful AUTH on an already authenticated connection. */
  reauthOk: number;
  /** AUTH refused on an authenticated connection (it stays authenticated until expiry). */
  reauthFailed: number;
  /**
   * Successful AUTH on an authenticated connection with the very token it already uses: it
   * extends nothing (a client that re-authenticates what its handshake just did).
   */
  redundantReauths: number;
  /** Connections closed because their token expired without a fresh AUTH. */
  evictions: number;
  /** Connections closed for malformed input. */
  protocolErrors: number;
  /**
   * Commands other than AUTH and HELLO that arrived on a connection before it was
   * authenticated (redis-server answers them NOAUTH). A client that never sends anything
   * unauthenticated keeps this at zero.
   */
  unauthenticatedCommands: number;
}

/** Payload of the `auth` event. Never contains a token. */
export interface RedisFrontAuthEvent {
  /** The principal's oid on success; the username the client sent on failure. */
  oid: string;
  ok: boolean;
  /** Why it failed (from the authenticator or redis-server). */
  reason?: string;
  /** True when the connection was already authenticated. */
  reauth: boolean;
}

/** Payload of the `connection` event: a client connection was accepted. */
export interface RedisFrontConnectionEvent {
  /** Connection id (also in the `close` event). */
  id: number;
  /** Whether it came in on the TLS listener. */
  tls: boolean;
  /**
   * The TLS server name (SNI) the client sent, when it sent one. Clients that connect to a
   * cluster node by address must still send the cache's host name: Azure's certificates name
   * the host, not the node's address.
   */
  servername?: string;
}

/** Events of {@link RedisFront.events}. */
export interface RedisFrontEventMap {
  auth: [RedisFrontAuthEvent];
  eviction: [{ oid: string }];
  connection: [RedisFrontConnectionEvent];
  close: [{ id: number }];
}

/** Options of `startRedisFront`. */
export interface RedisFrontOptions {
  /** The redis-server behind the front end, with the password of its `default` user. */
  upstream: {
    host: string;
    port: number;
    adminPassword: string;
    /** redis-server's Unix socket: when set, client connections are forwarded over it (faster than TCP). */
    socketPath?: string;
  };
  /** Verifies AUTH username and token. */
  authenticate: Authenticator;
  /** Custom access policies: name → Redis ACL rules (e.g. `'+get allkeys'`). */
  accessPolicies?: Record<string, string>;
  /** TLS listener (the default Azure-like endpoint). `port` 0 or absent picks a free port. */
  tls?: { key: string; cert: string; port?: number };
  /**
   * Plaintext listener port (0 = free port), or `false` for none.
   * @default false when `tls` is given, else 0
   */
  plainPort?: number | false;
  /**
   * Loopback address to listen on.
   * @default '127.0.0.1'
   */
  host?: string;
  /**
   * Refuse `HELLO <v> AUTH ...` as older Azure service versions did.
   * @default false
   */
  rejectHelloAuth?: boolean;
  /**
   * How often expired connections are looked for, in milliseconds.
   * @default 200
   */
  expiryCheckIntervalMs?: number;
  /**
   * Clock, for tests.
   * @default Date.now
   */
  now?: () => number;
}

/** A running Azure-like RESP front end. */
export interface RedisFront {
  /** Loopback address the listeners are bound to. */
  readonly host: string;
  /** TLS port, when TLS is on. */
  readonly tlsPort?: number;
  /** Plaintext port, when on. */
  readonly plainPort?: number;
  /** Typed events: `auth`, `eviction`, `connection`, `close`. */
  readonly events: EventEmitter<RedisFrontEventMap>;
  /** A snapshot of the counters. */
  stats(): RedisFrontStats;
  /** Fault injection: destroys every client connection now. */
  dropAllConnections(): void;
  /** Stops listening, closes every connection and timer. Idempotent. */
  close(): Promise<void>;
}
