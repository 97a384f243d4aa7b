import type { Socket } from 'node:net';
import type { RedisCredentials } from '../token/credentials.js';
import { disconnectUnlessClosed } from './client-internals.js';
import type { IORedisConnectorLike, IORedisLike } from './types.js';

const CLOSED = 'Connection is closed.';

/** What a {@link ConnectionGate} needs of the guard of its client. */
export interface GateHost {
  readonly redis: IORedisLike;
  /** The valid token now, if any. */
  current(): RedisCredentials | undefined;
  /** The current token, or the next one; `undefined` once the client has ended. */
  nextToken(): Promise<RedisCredentials | undefined>;
  /** Called before each gated connection attempt (a client that ended may be reused). */
  beforeAttempt(): void;
  /**
   * Called when an attempt has to wait because the token expired and no fresh one exists
   * (not before the first token): what was in flight or queued fails now.
   */
  failPending(): void;
  /** True once a token was served (to tell "expired" from "not yet"). */
  hadToken(): boolean;
  /** Makes `credentials` what the starting handshake authenticates with. */
  useInHandshake(credentials: RedisCredentials): void;
  /** False once the guard was removed. */
  installed(): boolean;
}

/** Where a gated connector finds its gate. */
const GATE = Symbol('entra-redis.gate');

type Gated = IORedisConnectorLike & { [GATE]?: ConnectionGate };

/** The socket of a connection attempt whose handshake waits for a token. */
type HeldSocket = Socket & { emit(event: string | symbol, ...args: unknown[]): boolean };

/**
 * Holds every connection attempt of one ioredis client until a valid token exists, so that its
 * handshake (AUTH or HELLO AUTH, then the ready check and the queued commands) never goes out
 * without one: wraps the client's connector (`connect`, `disconnect`), and adopts an attempt
 * that was already under way when the guard was installed. `uninstall()` removes it.
 */
export class ConnectionGate {
  readonly #host: GateHost;
  readonly #connector: Gated | undefined;
  readonly #origConnect: IORedisConnectorLike['connect'] | undefined;
  readonly #origDisconnect: IORedisConnectorLike['disconnect'] | undefined;
  #cancel: ((error: Error) => void) | undefined;
  /** Counts the connector's `disconnect()` calls: a connect gated past one must not open. */
  #disconnects = 0;

  constructor(host: GateHost) {
    this.#host = host;
    const redis = host.redis;
    const connector = redis.connector as Gated | undefined;
    if (connector && typeof connector.connect === 'function' && connector.disconnect) {
      this.#connector = connector;
      this.#origConnect = connector.connect;
      this.#origDisconnect = connector.disconnect;
      // One function object for every connector (ioredis calls them on it): nothing per client.
      connector[GATE] = this;
      connector.connect = ConnectionGate.#connect;
      connector.disconnect = ConnectionGate.#disconnect;
    }
    // Built connecting, then protected: this attempt did not pass through the connector above.
    if (redis.status === 'connecting') this.#adopt(redis.connectionEpoch);
  }

  /**
   * ioredis's own connector opens its socket a tick after `connect()` unless `disconnect()` came
   * in between (quit() of a client that never connected: lazyConnect, every Cluster node). The
   * gate makes that gap longer, so a disconnect meanwhile is honoured here.
   */
  static #connect(this: Gated, emit: unknown): Promise<unknown> {
    const gate = this[GATE]!;
    const disconnects = gate.#disconnects;
    return gate.#waitForToken().then(() => {
      if (gate.#disconnects !== disconnects) throw new Error(CLOSED);
      return gate.#origConnect!.call(this, emit);
    });
  }

  static #disconnect(this: Gated): void {
    const gate = this[GATE]!;
    const redis = gate.#host.redis;
    gate.#disconnects++;
    if (redis.manuallyClosing) gate.#cancel?.(new Error(CLOSED));
    disconnectUnlessClosed(this, gate.#origDisconnect!);
    if (redis.manuallyClosing && redis.status === 'reconnecting' && !redis.reconnectTimeout) {
      // ioredis bug (v5 and v6): `disconnect()`/`quit()` while waiting to reconnect clears the
      // timer and ends a socket that is already closed, so no 'close' follows and the client
      // stays 'reconnecting' for ever (its queued commands never settle). Finish the close the
      // way ioredis's close handler does.
      redis.manuallyClosing = false;
      redis.setStatus?.('end');
      redis.flushQueue?.(new Error(CLOSED));
    }
  }

  /** Restores the connector; a connect waiting for a token fails as closed. */
  uninstall(): void {
    const connector = this.#connector as Partial<Gated> | undefined;
    if (connector) {
      delete connector.connect;
      delete connector.disconnect;
      delete connector[GATE];
    }
    this.#cancel?.(new Error(CLOSED));
  }

  /** Before each connection attempt: a valid token in the handshake, or wait for one. */
  async #waitForToken(): Promise<void> {
    const host = this.#host;
    host.beforeAttempt();
    let credentials = host.current();
    if (!credentials) {
      // ioredis would resend what was in flight (and send what was queued) once a token
      // arrives, however long the identity outage lasts; commands fail fast meanwhile instead.
      if (host.hadToken()) host.failPending();
      credentials = await new Promise<RedisCredentials>((resolve, reject) => {
        this.#cancel = reject;
        void host.nextToken().then((c) => (c ? resolve(c) : reject(new Error(CLOSED))));
      }).finally(() => {
        this.#cancel = undefined;
      });
    }
    host.useInHandshake(credentials);
  }

  /**
   * A connection attempt that began before the guard existed (a client built connecting, then
   * attached). ioredis sends its handshake when the socket emits its connect event; with no
   * token yet, that event is held until one arrives. The socket is made on the next tick of
   * the constructor (ioredis's connector), hence the wait for it.
   */
  #adopt(epoch: number | undefined, retried = false): void {
    const host = this.#host;
    const redis = host.redis;
    const current = host.current();
    if (current) {
      host.useInHandshake(current);
      return;
    }
    const stream = (redis.stream ?? redis.connector?.stream) as HeldSocket | undefined;
    if (!stream) {
      if (!retried) process.nextTick(() => this.#adopt(epoch, true));
      return;
    }
    if (redis.status !== 'connecting' || redis.connectionEpoch !== epoch || stream.destroyed) {
      return;
    }
    const event = redis.options.tls ? 'secureConnect' : 'connect';
    let held: unknown[] | undefined;
    const hadOwn = Object.hasOwn(stream, 'emit');
    const emit = stream.emit;
    stream.emit = (name: string | symbol, ...args: unknown[]): boolean => {
      if (name !== event) return emit.call(stream, name, ...args);
      held = args;
      return true;
    };
    const release = (credentials: RedisCredentials | undefined): void => {
      if (hadOwn) stream.emit = emit;
      else delete (stream as { emit?: unknown }).emit;
      const live =
        credentials &&
        host.installed() &&
        !stream.destroyed &&
        redis.connectionEpoch === epoch &&
        redis.status === 'connecting';
      if (!live) return; // closed meanwhile: ioredis's close handler reconnects through the gate
      host.useInHandshake(credentials);
      if (held) stream.emit(event, ...held);
    };
    void host.nextToken().then(release);
  }
}
