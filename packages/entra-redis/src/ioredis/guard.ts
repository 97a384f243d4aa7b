import { mayBlock, TransactionTracker } from '../reauth/index.js';
import type { RedisCredentials } from '../token/credentials.js';
import { subscribe, unsubscribe, type CredentialsListener } from '../token/subscribe.js';
import { runBounded, type BlockingHost } from './blocking.js';
import { commandClassOf, ignoreStaleReady } from './client-internals.js';
import { ConnectionGate, type GateHost } from './connection-gate.js';
import { applyCredentials, GUARDED, type GuardGroup } from './group.js';
import {
  CLOSED,
  explainErrorReply,
  OBSOLETE,
  failPendingCommands,
  reauthFailedError,
  wrapQuit,
} from './guard-replies.js';
import { redactInspect, unredactInspect } from './inspect.js';
import { rotateSubscriber } from './rotation.js';
import { TokenWaiters } from './token-waiters.js';
import type { IORedisCommandClass, IORedisCommandLike, IORedisLike } from './types.js';

const noop = (): void => {};

/** Set on a QUIT once its `reject` is wrapped ({@link wrapQuit}). */
const QUIT_WRAPPED = Symbol('entra-redis.quit-wrapped');
/** Set on the commands the adapter writes itself (its AUTHs, bounded blocking slices). */
const OWN = Symbol('entra-redis.own');

type MarkedCommand = IORedisCommandLike & { [QUIT_WRAPPED]?: true; [OWN]?: true };

/** Where a protected client finds its guard. */
const GUARD = Symbol('entra-redis.guard');

type Guarded = IORedisLike & { [GUARD]?: ConnectionGuard };

/**
 * Protects one ioredis instance: keeps `options.username/password` current (every reconnect
 * and `duplicate()` reads them), re-AUTHs the live connection in place on each new token
 * (deferred past MULTI … EXEC; RESP2 subscribers are rotated instead), holds a reconnect until
 * a valid token exists, cuts blocking commands to the token's life, fails commands fast while
 * the token is expired, and diagnoses NOPERM. Everything is installed as own properties of the
 * instance and of its connector, and removed by {@link ConnectionGuard.uninstall}.
 */
export class ConnectionGuard
  extends TransactionTracker
  implements BlockingHost, GateHost, CredentialsListener
{
  readonly Command: IORedisCommandClass;

  get safetyMarginMs(): number {
    return this.#group.options.blockingCommandSafetyMarginMs;
  }
  readonly #group: GuardGroup;
  readonly #redis: IORedisLike;
  readonly #origSend: IORedisLike['sendCommand'];
  readonly #origDuplicate: IORedisLike['duplicate'];
  readonly #origHandleReconnection: IORedisLike['handleReconnection'];
  readonly #origSetStatus: IORedisLike['setStatus'];
  readonly #gate: ConnectionGate;
  #waiters: TokenWaiters | undefined; // made on first use: most connections never wait
  #subscribed = false;
  #pendingReauth = false;
  #rotating: Promise<void> | undefined;
  #installed = true;

  /** Installs the guard on `redis`; `group.protect` protects each `duplicate()`. */
  constructor(group: GuardGroup, redis: IORedisLike) {
    super();
    this.#group = group;
    this.#redis = redis;
    this.Command = commandClassOf(redis);
    this.#origSend = redis.sendCommand;
    this.#origDuplicate = redis.duplicate;
    this.#origHandleReconnection = redis.handleReconnection;
    this.#origSetStatus = redis.setStatus;
    const current = group.source.current();
    if (current) applyCredentials(redis.options, current);

    // The overrides and listeners are one function object each for every client (ioredis calls
    // them on the client, which holds its guard): a protected connection costs its guard and
    // little else.
    const guarded = redis as Guarded;
    guarded[GUARD] = this;
    guarded.sendCommand = ConnectionGuard.#sendCommandOf;
    guarded.duplicate = ConnectionGuard.#duplicateOf;
    if (typeof this.#origHandleReconnection === 'function') {
      guarded.handleReconnection = ConnectionGuard.#handleReconnectionOf;
    }
    if (typeof this.#origSetStatus === 'function') guarded.setStatus = ConnectionGuard.#setStatusOf;
    redactInspect(redis);
    (redis as { [GUARDED]?: true })[GUARDED] = true;
    redis.on('ready', ConnectionGuard.#onReadyEvent);
    redis.on('close', ConnectionGuard.#onCloseEvent);
    redis.on('end', ConnectionGuard.#onEndEvent);
    if (redis.status !== 'end') this.#subscribe();
    this.#gate = new ConnectionGate(this);
  }

  // ---- the client's overrides and listeners: `this` is the client ----

  // ioredis passes at most three arguments (a pipeline adds its stream and, in a cluster, the
  // node); named parameters, no rest array, on the path every command takes.
  static #sendCommandOf(this: Guarded, command: MarkedCommand, stream?: unknown, node?: unknown) {
    return this[GUARD]!.#sendCommand(command, stream, node);
  }

  static #duplicateOf(this: Guarded, override?: Record<string, unknown>): IORedisLike {
    return this[GUARD]!.#duplicate(override);
  }

  /**
   * Error replies are handled where ioredis hands each one to its command, before any listener
   * or caller sees it: nothing is added to the commands that succeed.
   */
  static #handleReconnectionOf(
    this: Guarded,
    error: Error,
    item: { command: IORedisCommandLike },
  ): void {
    const guard = this[GUARD]!;
    const reply = explainErrorReply(guard.#group.source, item.command, error);
    guard.#origHandleReconnection!.call(this, reply, item);
  }

  static #setStatusOf(this: Guarded, status: string, arg?: unknown): void {
    if (status === 'ready' && this.status !== 'connect') {
      ignoreStaleReady(this);
      return;
    }
    this[GUARD]!.#origSetStatus!.call(this, status, arg);
  }

  static #onReadyEvent(this: Guarded): void {
    const guard = this[GUARD];
    if (guard) guard.#onReady();
  }

  static #onCloseEvent(this: Guarded): void {
    const guard = this[GUARD];
    if (guard) guard.onConnectionLost();
  }

  static #onEndEvent(this: Guarded): void {
    const guard = this[GUARD];
    if (guard) guard.#sleep();
  }

  // ---- CredentialsListener ----

  /** @internal A new token; returns the re-AUTH's settlement (the fan-out paces on it). */
  receiveCredentials(credentials: RedisCredentials): Promise<void> | undefined {
    return this.#onToken(credentials);
  }

  // ---- TransactionTracker ----

  /** @internal A transaction ended: a re-AUTH deferred past it goes now. */
  override transactionEnded(): void {
    if (this.#pendingReauth) queueMicrotask(() => this.#flushPending());
  }

  // ---- GateHost ----

  /** @internal */
  get redis(): IORedisLike {
    return this.#redis;
  }

  /** @internal The current token, or the next one (undefined if the client ends first). */
  nextToken(): Promise<RedisCredentials | undefined> {
    return this.#group.source
      .getCredentials()
      .catch(() => (this.closed() ? undefined : this.waitForToken(0, Infinity)));
  }

  /** @internal */
  beforeAttempt(): void {
    this.#subscribe();
  }

  /** @internal See {@link failPendingCommands}. */
  failPending(): void {
    failPendingCommands(this.#redis, this.#group.source);
  }

  /** @internal */
  hadToken(): boolean {
    return this.#group.hadToken;
  }

  /** @internal Makes `credentials` what the next (or the starting) handshake authenticates with. */
  useInHandshake(credentials: RedisCredentials): void {
    this.#group.hadToken = true;
    applyCredentials(this.#redis.options, credentials);
    const condition = this.#redis.condition;
    if (condition) condition.auth = [credentials.username, credentials.password];
  }

  /** @internal */
  installed(): boolean {
    return this.#installed;
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
    return (this.#waiters ??= new TokenWaiters()).wait(afterMs, deadlineMs);
  }

  closed(): boolean {
    return !this.#installed || this.#redis.status === 'end';
  }

  /** Removes every override and listener; the instance becomes a plain ioredis client. */
  uninstall(): void {
    if (!this.#installed) return;
    this.#installed = false;
    const redis = this.#redis as Partial<Guarded>;
    delete redis.sendCommand;
    delete redis.duplicate;
    delete redis.setStatus;
    delete redis.handleReconnection;
    this.#gate.uninstall();
    this.#redis.off('ready', ConnectionGuard.#onReadyEvent);
    this.#redis.off('close', ConnectionGuard.#onCloseEvent);
    this.#redis.off('end', ConnectionGuard.#onEndEvent);
    delete redis[GUARD];
    delete (redis as { [GUARDED]?: true })[GUARDED];
    unredactInspect(this.#redis);
    this.#sleep();
  }

  // ---- internals ----

  #subscribe(): void {
    if (this.#subscribed || !this.#installed) return;
    this.#subscribed = true;
    this.#group.join(this);
    subscribe(this.#group.source, this);
  }

  /** The client ended: no token subscription, no timer, no waiter left. */
  #sleep(): void {
    if (this.#subscribed) unsubscribe(this.#group.source, this);
    this.#subscribed = false;
    this.#group.leave(this);
    this.#waiters?.clear();
  }

  /**
   * `duplicate()`: ioredis builds the copy with `new Redis({ ...options, ...override })`, whose
   * constructor starts connecting before this method could protect it; a copy made before the
   * first token would send its handshake without AUTH (NOAUTH, every queued command failed).
   * So the copy is built lazily, protected, then connected as the caller asked.
   */
  #duplicate(override?: Record<string, unknown>): IORedisLike {
    const redis = this.#redis;
    if (!this.#installed || override?.monitor) return this.#origDuplicate.call(redis, override);
    const lazy =
      override && 'lazyConnect' in override ? override.lazyConnect : redis.options.lazyConnect;
    const child = this.#origDuplicate.call(redis, { ...override, lazyConnect: true });
    child.options.lazyConnect = lazy; // what the copy's own duplicates inherit
    this.#group.protect(child);
    if (!lazy) child.connect().catch(noop); // as ioredis's constructor does
    return child;
  }

  /** A new token; returns the re-AUTH's settlement (the source paces its fan-out on it). */
  #onToken(credentials: RedisCredentials): Promise<void> | undefined {
    this.#group.hadToken = true;
    applyCredentials(this.#redis.options, credentials);
    this.#waiters?.deliver(credentials);
    const status = this.#redis.status;
    if (status === 'connecting' && this.#redis.condition) {
      this.#redis.condition.auth = [credentials.username, credentials.password];
    } else if (status === 'ready' && this.#handshakeToken() !== credentials.password) {
      // (A connection whose handshake used this very token, made while the rotation was
      // fanning out, has nothing to send.)
      return this.#reauth(credentials);
    }
    return undefined;
  }

  #onReady(): void {
    const current = this.#group.source.current();
    if (current && this.#handshakeToken() !== current.password) void this.#reauth(current);
  }

  /**
   * The token the current connection authenticated with last: its handshake's, or the last
   * re-AUTH's (kept in its handshake state, which ioredis makes anew for every connection). A
   * rotation reaches a connection through the paced fan-out and through 'ready': whichever comes
   * second has nothing to send.
   */
  #handshakeToken(): string | undefined {
    const auth = this.#redis.condition?.auth;
    return Array.isArray(auth) ? auth[1] : auth;
  }

  /** Re-AUTHs in place (or rotates a RESP2 subscriber); settles when that is done. */
  #reauth(credentials: RedisCredentials): Promise<void> | undefined {
    const redis = this.#redis;
    if (redis.options.monitor) return undefined;
    if (redis.mode === 'subscriber') return this.#rotate();
    if (this.inTransaction) {
      this.#pendingReauth = true;
      return undefined;
    }
    this.#pendingReauth = false;
    const condition = redis.condition;
    if (condition) condition.auth = [credentials.username, credentials.password];
    const auth = new this.Command('auth', [credentials.username, credentials.password]);
    this.own(auth);
    return this.send(auth).then(noop, (error: unknown) => {
      // The connection went before the AUTH ran (closed by the app, or lost): nothing failed;
      // a reconnect, if any, authenticates with the newest token.
      if (error === OBSOLETE || (error as Error)?.message === CLOSED) return;
      this.#group.report(reauthFailedError(error, credentials), redis);
    });
  }

  #flushPending(): void {
    if (!this.#pendingReauth || this.inTransaction || this.#redis.status !== 'ready') return;
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
    // Runs for every command: the cheapest tests first, nothing allocated.
    const redis = this.#redis;
    const name = command.name;
    if (name === 'auth' && command[OWN] === true) {
      // Own AUTHs are written past this override; one seen here is ioredis re-sending it after
      // a reconnect: obsolete (the handshake used the newest token), and it could shorten the
      // connection's life.
      command.reject(OBSOLETE);
      return command.promise;
    }
    const source = this.#group.source;
    if ((source.expired || source.closed) && this.#group.hadToken && redis.status !== 'connect') {
      if (name.toLowerCase() !== 'quit') return this.#failFast(command, stream);
    }
    if (
      mayBlock(name) &&
      stream === undefined &&
      command[OWN] !== true &&
      !command.inTransaction &&
      !this.inTransaction
    ) {
      const bounded = runBounded(this, command, redis.condition ?? redis.options);
      if (bounded) return bounded;
    }
    if (name.length === 4 && command[QUIT_WRAPPED] !== true && name.toLowerCase() === 'quit') {
      command[QUIT_WRAPPED] = true;
      wrapQuit(redis, command);
    }
    const result = this.#origSend.call(redis, command, stream, node);
    this.onCommandWritten(name);
    return result;
  }

  /** No valid token and none to be had now: TOKEN_EXPIRED naming the cause, or a fresh token. */
  #failFast(command: MarkedCommand, stream: unknown): Promise<unknown> {
    const redis = this.#redis;
    this.#group.source.getCredentials().then(
      () => (stream === undefined ? redis.sendCommand(command) : command.reject(new Error(CLOSED))),
      (error: unknown) => command.reject(error as Error),
    );
    return command.promise;
  }
}
