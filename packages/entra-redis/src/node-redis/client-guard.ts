// One object per protected node-redis client: its re-authentication state, and the methods its
// overrides and listeners call. The overrides (`sendCommand`, `duplicate`) and the listeners
// ('connect', 'ready', 'end') are functions shared by every client, which find the guard under
// GUARD on the client's instance, so protecting a client costs one object and a few
// properties rather than a closure per feature (see issue 23 in docs/benchmarks.md).
import { EntraRedisError } from '../errors.js';
import { realTime } from '../lib/clock.js';
import {
  diagnoseServerError,
  inFlightExpiredError,
  mayBlock,
  tokenExpiredError,
  TransactionTracker,
} from '../reauth/index.js';
import type { RedisCredentials } from '../token/credentials.js';
import { subscribe, unsubscribe, type CredentialsListener } from '../token/subscribe.js';
import type { TokenSource } from '../token/token-source.js';
import { sendBounded } from './blocking.js';
import { diagnoseCopy, type ConnectTarget } from './connect-diagnosis.js';
import {
  droppedAtExpiry,
  expiryWatchOf,
  withExpirySignal,
  type ExpiryWatch,
} from './expiry-watch.js';
import { CONNECTION_GONE, ownerOf, respOf } from './internals.js';
import { HANDOFF_CONNECTION_LOST, handOffSubscriber, type PubSubClient } from './pubsub-handoff.js';
import { isEntraProvider } from './provider.js';
import type { NodeRedisClient, NodeRedisEntraOptions } from './attach.js';

type SendCommand = (args: unknown[], options?: unknown) => Promise<unknown>;
type Duplicate = (...args: unknown[]) => NodeRedisClient;

/** A global symbol: every copy of the library (ESM, CommonJS, bundles) sees the others' guard. */
const GUARD = Symbol.for('entra-redis.node-redis.guard');

/** The client's instance (`_self`): where the overrides and the guard live. */
interface Instance {
  sendCommand: SendCommand;
  duplicate: Duplicate;
  [GUARD]?: ClientGuard;
}

const OVERRIDES = ['sendCommand', 'duplicate'] as const;
const SUBSCRIBE_CONTEXT = /only \(P\|S\)SUBSCRIBE|Can't execute 'auth'/i;
const noop = (): void => {};

/**
 * Keeps one node-redis client authenticated (see `attachEntraAuth` for what it does). It
 * listens to the token source only while its client is connected: from each 'ready' to 'end',
 * or, for a client whose reconnects gave up without 'end', to the next rotation.
 */
export class ClientGuard extends TransactionTracker implements CredentialsListener {
  readonly #client: NodeRedisClient;
  readonly #instance: Instance;
  readonly #source: TokenSource;
  readonly #options: NodeRedisEntraOptions;
  /** The instance's methods before the guard, and own properties it replaced (to restore). */
  readonly #send: SendCommand;
  readonly #duplicate: Duplicate;
  readonly #replaced: Array<[string, PropertyDescriptor]> | undefined;
  #connectedAtMs = 0;
  /** Whether a handshake ever succeeded (with a token): tells "expired" from "not yet". */
  #hadToken = false;
  /**
   * The credentials the connection authenticated with last, when known: its handshake's (with
   * an entra-redis provider), then each re-AUTH's. A rotation reaches a connection through the
   * paced fan-out and through 'ready': whichever comes second has nothing to send.
   */
  #connectionToken: RedisCredentials | undefined;
  #pending: RedisCredentials | undefined; // deferred past a raw MULTI … EXEC
  #handoff: Promise<void> | undefined;
  #handoffAgain = false;
  #resp2Subscriber = false; // learnt from a refused AUTH when the version default is unknown
  #abort: AbortController | undefined; // ends blocking commands' waits for a token; made lazily
  readonly #watch: ExpiryWatch;
  #detached = false;
  readonly #onFailed = (error: unknown): Promise<never> => this.#failed(error);

  private constructor(
    client: NodeRedisClient,
    source: TokenSource,
    options: NodeRedisEntraOptions,
  ) {
    super();
    const instance = ownerOf(client) as unknown as Instance;
    this.#client = client;
    this.#instance = instance;
    this.#source = source;
    this.#watch = expiryWatchOf(source);
    this.#options = options;
    this.#send = instance.sendCommand;
    this.#duplicate = instance.duplicate;
    let replaced: Array<[string, PropertyDescriptor]> | undefined;
    for (const name of OVERRIDES) {
      const own = Object.getOwnPropertyDescriptor(instance, name);
      if (own) (replaced ??= []).push([name, own]);
    }
    this.#replaced = replaced;
  }

  /** The guard of `client`, if it is protected. */
  static of(client: object): ClientGuard | undefined {
    return (ownerOf(client) as Instance)[GUARD];
  }

  /** Protects `client` (once; a second call returns the first guard). */
  static install(
    client: NodeRedisClient,
    source: TokenSource,
    options: NodeRedisEntraOptions,
  ): ClientGuard {
    const existing = ClientGuard.of(client);
    if (existing) return existing;
    const guard = new ClientGuard(client, source, options);
    const instance = guard.#instance;
    const define = (key: PropertyKey, value: unknown): void =>
      void Object.defineProperty(instance, key, { configurable: true, writable: true, value });
    define(GUARD, guard);
    define('sendCommand', guardedSendCommand);
    define('duplicate', guardedDuplicate);
    client.on('connect', onConnect);
    client.on('ready', onReady);
    client.on('end', onEnd);
    return guard;
  }

  /** Removes everything `install` added; idempotent. */
  detach(): void {
    if (this.#detached) return;
    this.#detached = true;
    this.ended();
    const client = this.#client;
    client.off('connect', onConnect);
    client.off('ready', onReady);
    client.off('end', onEnd);
    const instance = this.#instance as unknown as Record<PropertyKey, unknown>;
    delete instance[GUARD];
    for (const name of OVERRIDES) delete instance[name];
    for (const [name, own] of this.#replaced ?? []) Object.defineProperty(instance, name, own);
  }

  // ---- every command -------------------------------------------------------------------------

  /**
   * `sendCommand` of the instance, through which node-redis 5.x and 6.x send every single
   * command (`multi().exec()` and pipelines are queued as one block and do not pass here):
   * fails fast with TOKEN_EXPIRED while the token is expired and none can be had; cuts blocking
   * commands to the token's life; tells the transaction tracker; diagnoses error replies.
   */
  send(args: unknown[], options: unknown): Promise<unknown> {
    const source = this.#source;
    if (source.expired && !source.closed) return this.#failFast(args, options);
    const signal = this.#watch.atRisk ? this.#watch.signal : undefined;
    const sent = signal ? withExpirySignal(options, signal) : options;
    const first = args[0];
    const name = typeof first === 'string' ? first : String(first ?? '');
    const reply =
      (mayBlock(name) ? this.#sendBlocking(args, sent) : undefined) ?? this.#sendNow(args, sent);
    this.onCommandWritten(name);
    // One handler per client, not a closure per command (Redis names a refused command itself).
    if (!signal) return reply.catch(this.#onFailed);
    // Dropped unwritten at the expiry (see expiry-watch.ts): as if sent after it.
    return reply.catch((error: unknown) =>
      droppedAtExpiry(error, signal, options) && !source.closed
        ? this.#failFast(args, options)
        : this.#failed(error),
    );
  }

  #sendNow(args: unknown[], options: unknown): Promise<unknown> {
    const instance = this.#instance;
    return options === undefined
      ? this.#send.call(instance, args)
      : this.#send.call(instance, args, options);
  }

  #sendBlocking(args: unknown[], options: unknown): Promise<unknown> | undefined {
    const signal = (this.#abort ??= new AbortController()).signal;
    return sendBounded((a) => this.#sendNow(a, options), args as never, this.#source, signal);
  }

  /** The source answers at once after expiry: TOKEN_EXPIRED naming the cause, or a fresh token. */
  #failFast(args: unknown[], options: unknown): Promise<unknown> {
    return this.#source.getCredentials().then(
      () => this.#instance.sendCommand(args, options),
      (error: unknown) => {
        throw (error as { code?: unknown })?.code === 'TOKEN_EXPIRED'
          ? error
          : tokenExpiredError(error);
      },
    );
  }

  /** A command failed: say why in Entra terms where we can. */
  #failed(error: unknown): Promise<never> {
    const source = this.#source;
    // Its connection went while the token is expired and no fresh one exists (the cache closed
    // it at expiry during an identity outage): say so, as for the commands that follow.
    if (
      this.#hadToken &&
      CONNECTION_GONE.has((error as Error)?.message) &&
      !source.current() &&
      !source.closed
    ) {
      return source.getCredentials().then(
        () => Promise.reject(inFlightExpiredError(error)),
        (expired: unknown) => Promise.reject(inFlightExpiredError(expired, error)),
      );
    }
    const current = source.current();
    return Promise.reject(
      diagnoseServerError(error, current ? { oid: current.oid, username: current.username } : {}) ??
        error,
    );
  }

  /** `duplicate()`: the copy is protected too, and diagnosed at connect as this client is. */
  copy(self: object, args: unknown[]): NodeRedisClient {
    const copy = this.#duplicate.apply(self, args);
    ClientGuard.install(copy, this.#source, this.#options);
    diagnoseCopy(self, copy as NodeRedisClient & ConnectTarget, this.#source);
    return copy;
  }

  // ---- the connection's life -----------------------------------------------------------------

  connected(): void {
    this.#connectedAtMs = realTime.now();
    const provider = (this.#client.options as { credentialsProvider?: object } | undefined)
      ?.credentialsProvider;
    this.#connectionToken = isEntraProvider(provider, this.#source)
      ? this.#source.current()
      : undefined;
    this.#pending = undefined;
    this.onConnectionLost(); // a new connection is never inside a transaction
  }

  ready(): void {
    this.#hadToken = true; // the handshake authenticated
    subscribe(this.#source, this);
    // A token that arrived between the handshake and 'ready' was skipped: send it now.
    const current = this.#source.current();
    if (!current || current === this.#connectionToken) return;
    if (this.#connectionToken || current.issuedAtMs >= this.#connectedAtMs) {
      void this.receiveCredentials(current);
    }
  }

  /** 'end': closed for good; a later `connect()` subscribes again at 'ready'. */
  ended(): void {
    unsubscribe(this.#source, this);
    this.#pending = undefined;
    this.#abort?.abort();
    this.#abort = undefined;
  }

  /** Closed for good (or detached): nothing to re-authenticate any more. */
  #gone(): boolean {
    return this.#detached || this.#client.isOpen === false;
  }

  // ---- re-authentication ---------------------------------------------------------------------

  /** A new token: re-AUTH; returns its settlement (the token source paces its fan-out on it). */
  receiveCredentials(credentials: RedisCredentials): Promise<void> | undefined {
    if (this.#gone()) {
      this.ended(); // closed without 'end' (reconnects gave up): stop listening
      return undefined;
    }
    const client = this.#client;
    if (!client.isReady || credentials === this.#connectionToken) return undefined;
    if (this.#handoff) {
      this.#handoffAgain = true;
      return undefined;
    }
    if (this.inTransaction) {
      this.#pending = credentials;
      return undefined;
    }
    this.#connectionToken = credentials;
    if (client.isPubSubActive && (this.#resp2Subscriber || respOf(client) === 2)) {
      return this.#rotateSubscriber();
    }
    // No command timeout on the re-AUTH (`timeout: 0`): node-redis 6 arms an AbortSignal.timeout
    // per command (5 s by default) that only bounds the wait to be written, yet its timer fires
    // after the reply anyway, with a DOMException and an abort event: about a fifth of the
    // client's CPU per re-AUTH in a fan-out. An AUTH waits to be written only behind commands
    // already queued, and the fan-out frees its place after 2 s.
    return this.#send
      .call(this.#instance, ['AUTH', credentials.username, credentials.password], { timeout: 0 })
      .then(noop, (error: unknown) => {
        if (client.isPubSubActive && SUBSCRIBE_CONTEXT.test(String((error as Error)?.message))) {
          this.#resp2Subscriber = true;
          return this.#rotateSubscriber();
        }
        this.#authFailed(credentials, error);
        return undefined;
      });
  }

  override transactionEnded(): void {
    const deferred = this.#pending;
    this.#pending = undefined;
    if (deferred) void this.receiveCredentials(deferred);
  }

  /** A RESP2 subscriber, where Redis refuses AUTH: the two-marker handoff. */
  #rotateSubscriber(): Promise<void> | undefined {
    if (this.#handoff) {
      this.#handoffAgain = true;
      return undefined;
    }
    const client = this.#client;
    const source = this.#source;
    this.#handoff = handOffSubscriber(client as unknown as PubSubClient, {
      duplicate: () => this.#duplicate.call(client) as unknown as PubSubClient,
      auth: () => {
        const credentials = source.current();
        if (!credentials) return Promise.reject(new Error('no valid token'));
        return this.#send.call(this.#instance, [
          'AUTH',
          credentials.username,
          credentials.password,
        ]);
      },
    })
      .catch((error: unknown) => {
        if (this.#gone()) return; // destroyed or closed during the handoff: nothing to report
        // Its connection lost: node-redis reconnects with the current token and resubscribes.
        if ((error as Error).message === HANDOFF_CONNECTION_LOST) return;
        const credentials = source.current();
        if (credentials) this.#authFailed(credentials, error);
        // Fall back to a reconnect: the handshake takes the current token, node-redis
        // resubscribes; messages published during that reconnect can be lost.
        if (client.isReady) this.#send.call(this.#instance, ['QUIT']).catch(noop);
      })
      .finally(() => {
        this.#handoff = undefined;
        const again = this.#handoffAgain;
        this.#handoffAgain = false;
        const current = source.current();
        if (again && current && !this.#gone()) void this.receiveCredentials(current);
      });
    return this.#handoff;
  }

  #authFailed(credentials: RedisCredentials, error: unknown): void {
    // The connection went before the AUTH ran (the app closed the client, or it was lost):
    // nothing failed, and a reconnect, if any, authenticates with the current token.
    if (CONNECTION_GONE.has((error as Error)?.message)) return;
    this.#report(
      diagnoseServerError(error, { oid: credentials.oid, username: credentials.username }) ??
        new EntraRedisError(
          'REAUTH_FAILED',
          `entra-redis: re-authentication of principal ${credentials.oid} failed; the server ` +
            'closes the connection when its token expires, and the client reconnects with the ' +
            'current token.',
          { cause: error, isRetryable: true },
        ),
    );
  }

  #report(error: EntraRedisError): void {
    const client = this.#client as unknown as {
      listenerCount(e: string): number;
      emit(e: string, x: unknown): void;
    };
    if (this.#options.onError) this.#options.onError(error);
    else if (client.listenerCount('error') > 0) client.emit('error', error);
  }
}

// The shared overrides and listeners: `this` is the client (or its instance), as node-redis and
// EventEmitter call them. Without a guard (a reference kept past detach), the instance's own
// method runs.

function guardedSendCommand(this: Instance, args: unknown[], options?: unknown): Promise<unknown> {
  const guard = this[GUARD];
  return guard ? guard.send(args, options) : this.sendCommand(args, options);
}

function guardedDuplicate(this: Instance, ...args: unknown[]): NodeRedisClient {
  const guard = this[GUARD];
  return guard ? guard.copy(this, args) : this.duplicate(...args);
}

function onConnect(this: object): void {
  ClientGuard.of(this)?.connected();
}

function onReady(this: object): void {
  ClientGuard.of(this)?.ready();
}

function onEnd(this: object): void {
  ClientGuard.of(this)?.ended();
}
