import { EntraRedisError } from '../errors.js';
import { diagnoseServerError, dropCommandArgs, TransactionTracker } from '../reauth/index.js';
import type { RedisCredentials } from '../token/credentials.js';
import { runBounded, type BlockingHost } from './blocking.js';
import { applyCredentials, type GuardGroup } from './group.js';
import { redactInspect } from './inspect.js';
import { rotateSubscriber } from './rotation.js';
import type {
  IORedisCommandClass,
  IORedisCommandLike,
  IORedisConnectorLike,
  IORedisLike,
} from './types.js';

const CLOSED = 'Connection is closed.';
const noop = (): void => {};

/** Set on a QUIT once its `reject` is wrapped by {@link ConnectionGuard} (`#quitDone`). */
const QUIT_WRAPPED = Symbol('entra-redis.quit-wrapped');
/** Set on the commands the adapter writes itself (its AUTHs, bounded blocking slices). */
const OWN = Symbol('entra-redis.own');

type MarkedCommand = IORedisCommandLike & { [QUIT_WRAPPED]?: true; [OWN]?: true };

interface TokenWaiter {
  afterMs: number;
  resolve(credentials: RedisCredentials | undefined): void;
  timer?: NodeJS.Timeout;
}

/**
 * Protects one ioredis instance: keeps `options.username/password` current (every reconnect
 * and `duplicate()` reads them), re-AUTHs the live connection in place on each new token
 * (deferred past MULTI … EXEC; RESP2 subscribers are rotated instead), holds a reconnect until
 * a valid token exists, cuts blocking commands to the token's life, fails commands fast while
 * the token is expired, and diagnoses NOPERM. Everything is installed as own properties of the
 * instance and of its connector, and removed by {@link ConnectionGuard.uninstall}.
 */
export class ConnectionGuard implements BlockingHost {
  readonly Command: IORedisCommandClass;
  readonly safetyMarginMs: number;
  readonly #group: GuardGroup;
  readonly #redis: IORedisLike;
  readonly #onDuplicate: (child: IORedisLike) => void;
  readonly #origSend: IORedisLike['sendCommand'];
  readonly #origDuplicate: IORedisLike['duplicate'];
  readonly #connector: IORedisConnectorLike | undefined;
  readonly #origConnect: IORedisConnectorLike['connect'] | undefined;
  readonly #origDisconnect: IORedisConnectorLike['disconnect'] | undefined;
  readonly #tx: TransactionTracker;
  readonly #waiters = new Set<TokenWaiter>();
  readonly #listeners: Array<[string, (...args: unknown[]) => void]> = [];
  readonly #unredact: () => void;
  #unsubscribe: (() => void) | undefined;
  #pendingReauth = false;
  #rotating: Promise<void> | undefined;
  #gateCancel: ((error: Error) => void) | undefined;
  /** Counts the connector's `disconnect()` calls: a connect gated past one must not open. */
  #disconnects = 0;
  #installed = true;

  readonly #registry: Set<ConnectionGuard>;

  /**
   * Installs the guard on `redis`. `onDuplicate` protects each `duplicate()`; `registry` holds
   * the guards of live clients (a guard leaves it when its client ends).
   */
  constructor(
    group: GuardGroup,
    redis: IORedisLike,
    onDuplicate: (child: IORedisLike) => void,
    registry: Set<ConnectionGuard>,
  ) {
    this.#group = group;
    this.#registry = registry;
    this.#redis = redis;
    this.#onDuplicate = onDuplicate;
    this.Command = commandClassOf(redis);
    this.safetyMarginMs = group.options.blockingCommandSafetyMarginMs;
    this.#tx = new TransactionTracker(() => {
      if (this.#pendingReauth) queueMicrotask(() => this.#flushPending());
    });
    this.#origSend = redis.sendCommand;
    this.#origDuplicate = redis.duplicate;
    const current = group.source.current();
    if (current) applyCredentials(redis.options, current);

    // ioredis passes at most three arguments (a pipeline adds its stream and, in a cluster, the
    // node); named parameters, no rest array, on the path every command takes.
    redis.sendCommand = (command: IORedisCommandLike, stream?: unknown, node?: unknown) =>
      this.#sendCommand(command, stream, node);
    redis.duplicate = (override?: Record<string, unknown>) => {
      const child = this.#origDuplicate.call(redis, override);
      if (this.#installed && !child.options.monitor) this.#onDuplicate(child);
      return child;
    };
    this.#connector = redis.connector;
    this.#origConnect = this.#connector?.connect;
    this.#origDisconnect = this.#connector?.disconnect;
    if (this.#connector && this.#origConnect && this.#origDisconnect) {
      const connector = this.#connector;
      const origConnect = this.#origConnect;
      const origDisconnect = this.#origDisconnect;
      // ioredis's own connector opens its socket a tick after `connect()` unless `disconnect()`
      // came in between (quit() of a client that never connected: lazyConnect, every Cluster
      // node). The gate makes that gap longer, so a disconnect meanwhile is honoured here.
      connector.connect = (emit: unknown) => {
        const disconnects = this.#disconnects;
        return this.#gate().then(() => {
          if (this.#disconnects !== disconnects) throw new Error(CLOSED);
          return origConnect.call(connector, emit);
        });
      };
      connector.disconnect = () => {
        const redis = this.#redis;
        this.#disconnects++;
        if (redis.manuallyClosing) this.#gateCancel?.(new Error(CLOSED));
        origDisconnect.call(connector);
        if (redis.manuallyClosing && redis.status === 'reconnecting' && !redis.reconnectTimeout) {
          // ioredis bug (v5 and v6): `disconnect()`/`quit()` while waiting to reconnect clears
          // the timer and ends a socket that is already closed, so no 'close' follows and the
          // client stays 'reconnecting' for ever (its queued commands never settle). Finish
          // the close the way ioredis's close handler does.
          redis.manuallyClosing = false;
          redis.setStatus?.('end');
          redis.flushQueue?.(new Error('Connection is closed.'));
        }
      };
    }
    // NOPERM is explained where ioredis hands every error reply to its command: nothing is
    // added to the commands that succeed (wrapping each command's `reject` cost about 0.3 µs
    // and two allocations per command in a pipeline).
    const handleReconnection = redis.handleReconnection;
    if (typeof handleReconnection === 'function') {
      redis.handleReconnection = (error: Error, item: { command: IORedisCommandLike }) =>
        handleReconnection.call(redis, this.#diagnose(item.command, error), item);
    }
    const setStatus = redis.setStatus;
    if (typeof setStatus === 'function') {
      redis.setStatus = (status: string, arg?: unknown) => {
        if (status === 'ready' && redis.status !== 'connect') {
          ignoreStaleReady(redis);
          return;
        }
        setStatus.call(redis, status, arg);
      };
    }
    this.#unredact = redactInspect(redis);
    this.#listen('ready', () => this.#onReady());
    this.#listen('close', () => this.#tx.onConnectionLost());
    this.#listen('end', () => this.#sleep());
    if (redis.status !== 'end') this.#subscribe();
  }

  // ---- BlockingHost ----

  send(command: IORedisCommandLike): Promise<unknown> {
    return this.#origSend.call(this.#redis, command) as Promise<unknown>;
  }

  own(command: IORedisCommandLike): void {
    (command as MarkedCommand)[OWN] = true;
  }

  current(): RedisCredentials | undefined {
    return this.#group.source.current();
  }

  waitForToken(afterMs: number, deadlineMs: number): Promise<RedisCredentials | undefined> {
    return new Promise((resolve) => {
      const waiter: TokenWaiter = { afterMs, resolve };
      if (Number.isFinite(deadlineMs)) {
        waiter.timer = setTimeout(
          () => this.#settle(waiter, undefined),
          Math.max(0, deadlineMs - Date.now()),
        );
        waiter.timer.unref();
      }
      this.#waiters.add(waiter);
    });
  }

  closed(): boolean {
    return !this.#installed || this.#redis.status === 'end';
  }

  /** Removes every override and listener; the instance becomes a plain ioredis client. */
  uninstall(): void {
    if (!this.#installed) return;
    this.#installed = false;
    const r = this.#redis as unknown as Record<string, unknown>;
    delete r.sendCommand;
    delete r.duplicate;
    delete r.setStatus;
    delete r.handleReconnection;
    if (this.#connector) {
      const c = this.#connector as unknown as Record<string, unknown>;
      delete c.connect;
      delete c.disconnect;
    }
    for (const [event, fn] of this.#listeners) this.#redis.off(event, fn);
    this.#unredact();
    this.#gateCancel?.(new Error(CLOSED));
    this.#sleep();
  }

  // ---- internals ----

  #listen(event: string, fn: (...args: unknown[]) => void): void {
    this.#redis.on(event, fn);
    this.#listeners.push([event, fn]);
  }

  #subscribe(): void {
    if (this.#unsubscribe || !this.#installed) return;
    this.#registry.add(this);
    this.#unsubscribe = this.#group.source.onCredentials((c) => this.#onToken(c));
  }

  /** The client ended: no token subscription, no timer, no waiter left. */
  #sleep(): void {
    this.#unsubscribe?.();
    this.#unsubscribe = undefined;
    this.#registry.delete(this);
    for (const w of [...this.#waiters]) this.#settle(w, undefined);
  }

  #settle(waiter: TokenWaiter, credentials: RedisCredentials | undefined): void {
    if (!this.#waiters.delete(waiter)) return;
    clearTimeout(waiter.timer);
    waiter.resolve(credentials);
  }

  /** Before each connection attempt: a valid token in the handshake, or wait for one. */
  async #gate(): Promise<void> {
    this.#subscribe();
    let credentials = this.#group.source.current();
    if (!credentials) {
      credentials = await new Promise<RedisCredentials>((resolve, reject) => {
        this.#gateCancel = reject;
        this.#group.source.getCredentials().then(resolve, () => {
          void this.waitForToken(0, Infinity).then((c) =>
            c ? resolve(c) : reject(new Error(CLOSED)),
          );
        });
      }).finally(() => {
        this.#gateCancel = undefined;
      });
    }
    this.#group.hadToken = true;
    applyCredentials(this.#redis.options, credentials);
    const condition = this.#redis.condition;
    if (condition) {
      condition.auth = this.#redis.options.username
        ? [credentials.username, credentials.password]
        : credentials.password;
    }
  }

  /** A new token; returns the re-AUTH's settlement (the source paces its fan-out on it). */
  #onToken(credentials: RedisCredentials): Promise<void> | undefined {
    this.#group.hadToken = true;
    applyCredentials(this.#redis.options, credentials);
    for (const w of [...this.#waiters]) {
      if (credentials.expiresAtMs > w.afterMs) this.#settle(w, credentials);
    }
    const status = this.#redis.status;
    if (status === 'connecting' && this.#redis.condition) {
      this.#redis.condition.auth = [credentials.username, credentials.password];
    } else if (status === 'ready') {
      return this.#reauth(credentials);
    }
    return undefined;
  }

  #onReady(): void {
    const current = this.#group.source.current();
    const auth = this.#redis.condition?.auth;
    const used = Array.isArray(auth) ? auth[1] : auth;
    if (current && used !== current.password) void this.#reauth(current);
  }

  /** Re-AUTHs in place (or rotates a RESP2 subscriber); settles when that is done. */
  #reauth(credentials: RedisCredentials): Promise<void> | undefined {
    const redis = this.#redis;
    if (redis.options.monitor) return undefined;
    if (redis.mode === 'subscriber') return this.#rotate();
    if (this.#tx.inTransaction) {
      this.#pendingReauth = true;
      return undefined;
    }
    this.#pendingReauth = false;
    const auth = new this.Command('auth', [credentials.username, credentials.password]);
    this.own(auth);
    return this.send(auth).then(noop, (error: unknown) => {
      // The connection went before the AUTH ran (closed by the app, or lost): nothing failed;
      // a reconnect, if any, authenticates with the newest token.
      if (error === OBSOLETE || (error as Error)?.message === CLOSED) return;
      dropCommandArgs(error); // ioredis put our AUTH's args (the token) on the reply error
      const diagnosed = diagnoseServerError(error, credentials);
      this.#group.report(
        new EntraRedisError(
          'REAUTH_FAILED',
          `entra-redis: re-authenticating a live connection failed; it keeps its previous ` +
            `identity until that token expires, then reconnects with the newest token. ` +
            `${diagnosed?.message ?? (error as Error)?.message ?? ''}`,
          { isRetryable: true, cause: diagnosed ?? error },
        ),
        redis,
      );
    });
  }

  #flushPending(): void {
    if (!this.#pendingReauth || this.#tx.inTransaction || this.#redis.status !== 'ready') return;
    const current = this.#group.source.current();
    if (current) void this.#reauth(current);
  }

  #rotate(): Promise<void> | undefined {
    if (this.#rotating) {
      this.#pendingReauth = true;
      return undefined;
    }
    const redis = this.#redis;
    this.#rotating = rotateSubscriber(redis, (override) =>
      this.#origDuplicate.call(redis, override),
    ).finally(() => {
      this.#rotating = undefined;
      if (this.#pendingReauth) {
        this.#pendingReauth = false;
        this.#onReady();
      }
    });
    return this.#rotating;
  }

  #sendCommand(command: MarkedCommand, stream: unknown, node: unknown): unknown {
    const redis = this.#redis;
    const own = command[OWN] === true;
    if (own && command.name === 'auth') {
      // Own AUTHs are written past this override; one seen here is ioredis re-sending it after
      // a reconnect: obsolete (the handshake used the newest token), and it could shorten the
      // connection's life.
      command.reject(OBSOLETE);
      return command.promise;
    }
    const name = command.name;
    const source = this.#group.source;
    if (
      this.#group.hadToken &&
      !source.current() &&
      redis.status !== 'connect' &&
      name.toLowerCase() !== 'quit'
    ) {
      source.getCredentials().then(
        () =>
          stream === undefined ? redis.sendCommand(command) : command.reject(new Error(CLOSED)),
        (error: unknown) => command.reject(error as Error),
      );
      return command.promise;
    }
    if (stream === undefined && !own && !command.inTransaction && !this.#tx.inTransaction) {
      const bounded = runBounded(this, command, redis.condition ?? redis.options);
      if (bounded) return bounded;
    }
    if (name.length === 4 && command[QUIT_WRAPPED] !== true && name.toLowerCase() === 'quit') {
      command[QUIT_WRAPPED] = true;
      const reject = command.reject;
      command.reject = (error: Error) => {
        if (!this.#quitDone(command, error)) reject.call(command, error);
      };
    }
    const result = this.#origSend.call(redis, command, stream, node);
    this.#tx.onCommandWritten(name);
    return result;
  }

  /**
   * A QUIT whose connection closed before its OK was read (the server, a proxy or a RESP2
   * handoff closed it a moment earlier): the client ended as asked, so `quit()` resolves 'OK'
   * as ioredis's own quit of an unwritable connection does, instead of rejecting with
   * "Connection is closed." during an application's shutdown. Only QUITs' `reject` calls it.
   */
  #quitDone(command: IORedisCommandLike, error: Error): boolean {
    if (error?.message !== CLOSED || this.#redis.status !== 'end') return false;
    command.resolve(Buffer.from('OK'));
    return true;
  }

  /** A NOPERM reply explained (which identity, which command, what to grant); others as is. */
  #diagnose(command: IORedisCommandLike, error: Error): Error {
    if (!/^NOPERM\b/.test(error?.message ?? '')) return error;
    const current = this.#group.source.current();
    return (
      diagnoseServerError(error, {
        ...(current ? { oid: current.oid, username: current.username } : {}),
        command: command.name,
      }) ?? error
    );
  }
}

/**
 * ioredis 5 with `enableReadyCheck: false` finishes a handshake after its connection closed
 * (ioredis issue 2099, fixed in 6): a `quit()` or a drop while the client is 'connect' leaves it
 * 'ready' on a dead socket (never 'end', never reconnecting). This happens at every RESP2
 * subscriber handoff's reconnect that the application closes at that moment. Called instead of
 * that `setStatus('ready')`: the status stays; the rest of that handshake (resubscribing,
 * re-sending) finds nothing to do, and what it would have used is put back for the real one.
 */
function ignoreStaleReady(redis: IORedisLike): void {
  const { prevCondition, prevCommandQueue } = redis;
  redis.prevCondition = null;
  redis.prevCommandQueue = null;
  queueMicrotask(() => {
    redis.prevCondition ??= prevCondition;
    redis.prevCommandQueue ??= prevCommandQueue;
  });
}

/** Rejection of an own AUTH that ioredis tried to re-send after a reconnect (ignored). */
const OBSOLETE = Object.freeze(new Error('entra-redis: obsolete re-AUTH not re-sent'));

/**
 * The `Command` class of the ioredis copy that made `redis` (5.x and 6.x; `redis.constructor`
 * is not the Redis class there): read from a pipeline command that is never sent.
 */
function commandClassOf(redis: IORedisLike): IORedisCommandClass {
  const pipeline = (
    redis as unknown as { pipeline(): { ping(): unknown; _queue?: object[] } }
  ).pipeline();
  pipeline.ping();
  const probe = pipeline._queue?.[0];
  if (!probe) {
    throw new EntraRedisError(
      'INVALID_OPTION',
      'entra-redis ioredis: unsupported ioredis version (expected 5.x or 6.x)',
    );
  }
  return probe.constructor as IORedisCommandClass;
}
