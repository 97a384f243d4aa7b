import { EntraRedisError } from '../errors.js';
import { OptionValidator } from '../lib/validate.js';
import { diagnoseServerError, TransactionTracker } from '../reauth/index.js';
import type { RedisCredentials } from '../token/credentials.js';
import type { TokenSource } from '../token/token-source.js';
import { diagnoseCopy, type ConnectTarget } from './connect-diagnosis.js';
import { installCommandGuard } from './guard.js';
import { respOf } from './internals.js';
import { handOffSubscriber, type PubSubClient } from './pubsub-handoff.js';

/**
 * The part of a node-redis 5.x or 6.x client this adapter uses (all public API).
 *
 * @example
 * ```ts
 * const client: NodeRedisClient = createClient({ url });
 * ```
 */
export interface NodeRedisClient {
  readonly isReady: boolean;
  readonly isPubSubActive: boolean;
  readonly options?: object;
  sendCommand(args: string[], ...rest: never[]): Promise<unknown>;
  duplicate(...args: never[]): NodeRedisClient;
  on(event: string, listener: (...args: unknown[]) => void): unknown;
  off(event: string, listener: (...args: unknown[]) => void): unknown;
}

/** node-redis's messages (5.x and 6.x) for a command that ended because its connection went. */
const CONNECTION_GONE = new Set([
  'The client is closed',
  'Disconnects client',
  'Socket closed unexpectedly',
]);

/** Options of {@link attachEntraAuth}. */
export interface NodeRedisEntraOptions {
  /**
   * Called with every re-authentication failure (an {@link EntraRedisError}); by default it is
   * emitted as `'error'` on the client when the client has `'error'` listeners.
   */
  onError?: (error: EntraRedisError) => void;
}

/** node-redis's async credentials provider: read on every (re)connect. */
export interface EntraCredentialsProvider {
  readonly type: 'async-credentials-provider';
  credentials(): Promise<{ username: string; password: string }>;
}

/**
 * A node-redis credentials provider that hands every (re)connect the token source's current
 * credentials, so a reconnect never sends an expired token. It holds no subscription, so it
 * cannot leak listeners however often the client reconnects.
 *
 * @example
 * ```ts
 * const client = createClient({ url, credentialsProvider: entraCredentialsProvider(tokenSource) });
 * ```
 */
export function entraCredentialsProvider(tokenSource: TokenSource): EntraCredentialsProvider {
  return {
    type: 'async-credentials-provider',
    async credentials() {
      const { username, password } = await tokenSource.getCredentials();
      return { username, password };
    },
  };
}

const ATTACHED = Symbol.for('entra-redis.node-redis.attached');
const SUBSCRIBE_CONTEXT = /only \(P\|S\)SUBSCRIBE|Can't execute 'auth'/i;
const TERMINAL_METHODS = ['destroy', 'close', 'quit', 'disconnect'] as const;

/**
 * Keeps one node-redis client authenticated with fresh Entra ID tokens, for as long as it lives:
 * - each new token is sent as `AUTH` on the live connection, appended to its queue (never
 *   reordering your commands); never inside a transaction: node-redis writes `multi().exec()`
 *   as one block, and a raw `sendCommand(['MULTI'])` … `EXEC` defers the AUTH to right after
 *   `EXEC`/`DISCARD`;
 * - every reconnect uses the current token (give the client {@link entraCredentialsProvider});
 * - a RESP3 subscriber is re-authenticated in place; a RESP2 subscriber (where Redis refuses
 *   AUTH) by a two-marker handoff that loses and duplicates no message (see
 *   `handOffSubscriber`);
 * - blocking commands whose timeout outlives the token are cut into slices and re-issued;
 * - commands fail fast with `TOKEN_EXPIRED` while no valid token exists, and `NOPERM` becomes
 *   `PERMISSION_DENIED` naming the principal;
 * - `duplicate()` copies are attached too.
 * Returns `detach()`; `destroy()`, `close()`, `quit()`, `disconnect()` and the client's `'end'`
 * detach as well (no subscription is left on the token source).
 *
 * @example
 * ```ts
 * const client = createClient({ url, credentialsProvider: entraCredentialsProvider(source) });
 * const detach = attachEntraAuth(client, source);
 * await client.connect();
 * ```
 */
export function attachEntraAuth(
  client: NodeRedisClient,
  tokenSource: TokenSource,
  options: NodeRedisEntraOptions = {},
): () => void {
  const v = new OptionValidator('entra-redis attachEntraAuth');
  if (typeof (client as Partial<NodeRedisClient> | null)?.sendCommand !== 'function') {
    v.fail('client', 'a node-redis client (createClient from redis)', client);
  }
  if (typeof (tokenSource as Partial<TokenSource> | null)?.onCredentials !== 'function') {
    v.fail('tokenSource', 'a TokenSource (new TokenSource({ credential }))', tokenSource);
  }
  if (options.onError !== undefined) v.func('onError', options.onError);
  const target = client as NodeRedisClient & { [ATTACHED]?: () => void };
  const existing = target[ATTACHED];
  if (existing) return existing;

  const report = (error: EntraRedisError): void => {
    if (options.onError) options.onError(error);
    else if (
      (client as unknown as { listenerCount(e: string): number }).listenerCount('error') > 0
    ) {
      (client as unknown as { emit(e: string, x: unknown): void }).emit('error', error);
    }
  };
  // The client's own methods, bound before the guard below is installed.
  const originalSend = client.sendCommand.bind(client) as (
    args: string[],
    options?: { timeout?: number },
  ) => Promise<unknown>;
  const protoDuplicate = client.duplicate;
  let connectedAtMs = 0;
  let detached = false;
  let pending: RedisCredentials | undefined; // deferred past a raw MULTI … EXEC
  let handoff: Promise<void> | undefined;
  let handoffAgain = false;
  let resp2Subscriber = false; // learnt from a refused AUTH when the version default is unknown

  const tracker = new TransactionTracker(() => {
    const deferred = pending;
    pending = undefined;
    if (deferred) void reauthenticate(deferred);
  });

  const authFailed = (credentials: RedisCredentials, error: unknown): void => {
    // The connection went before the AUTH ran (the app closed the client, or it was lost):
    // nothing failed, and a reconnect, if any, authenticates with the current token.
    if (CONNECTION_GONE.has((error as Error)?.message)) return;
    report(
      diagnoseServerError(error, { oid: credentials.oid, username: credentials.username }) ??
        new EntraRedisError(
          'REAUTH_FAILED',
          `entra-redis: re-authentication of principal ${credentials.oid} failed; the server ` +
            'closes the connection when its token expires, and the client reconnects with the ' +
            'current token.',
          { cause: error, isRetryable: true },
        ),
    );
  };

  const rotateSubscriber = (): Promise<void> | undefined => {
    if (handoff) {
      handoffAgain = true;
      return undefined;
    }
    handoff = handOffSubscriber(client as unknown as PubSubClient, {
      duplicate: () => (protoDuplicate as unknown as () => PubSubClient).call(client),
      auth: () => {
        const credentials = tokenSource.current();
        if (!credentials) return Promise.reject(new Error('no valid token'));
        return originalSend(['AUTH', credentials.username, credentials.password]);
      },
    })
      .catch((error: unknown) => {
        if (detached) return; // destroyed or closed during the handoff: nothing to report
        const credentials = tokenSource.current();
        if (credentials) authFailed(credentials, error);
        // Fall back to a reconnect: the handshake takes the current token, node-redis
        // resubscribes; messages published during that reconnect can be lost.
        if (!detached && client.isReady) originalSend(['QUIT']).catch(() => undefined);
      })
      .finally(() => {
        handoff = undefined;
        const again = handoffAgain;
        handoffAgain = false;
        const current = tokenSource.current();
        if (again && current && !detached) void reauthenticate(current);
      });
    return handoff;
  };

  // Returns the re-AUTH's settlement: the token source paces its fan-out on it.
  const reauthenticate = (credentials: RedisCredentials): Promise<void> | undefined => {
    if (detached || !client.isReady) return undefined; // the handshake reads the current token
    if (handoff) {
      handoffAgain = true;
      return undefined;
    }
    if (tracker.inTransaction) {
      pending = credentials;
      return undefined;
    }
    if (client.isPubSubActive && (resp2Subscriber || respOf(client) === 2)) {
      return rotateSubscriber();
    }
    // No command timeout on the re-AUTH (`timeout: 0`): node-redis 6 arms an AbortSignal.timeout
    // per command (commandOptions.timeout, 5 s by default) that only bounds the wait to be
    // written, yet its timer fires after the reply anyway, with a DOMException and an abort
    // event: about a fifth of the client's CPU per re-AUTH in a fan-out. An AUTH waits to be
    // written only behind commands already queued, and the fan-out frees its place after 2 s.
    return originalSend(['AUTH', credentials.username, credentials.password], {
      timeout: 0,
    }).then(
      () => undefined,
      (error: unknown) => {
        if (client.isPubSubActive && SUBSCRIBE_CONTEXT.test(String((error as Error)?.message))) {
          resp2Subscriber = true;
          return rotateSubscriber();
        }
        authFailed(credentials, error);
        return undefined;
      },
    );
  };

  const onConnect = (): void => {
    connectedAtMs = Date.now();
    pending = undefined;
    tracker.onConnectionLost(); // a new connection is never inside a transaction
  };
  const onReady = (): void => {
    // A token that arrived between the handshake and 'ready' was skipped above: send it now.
    const current = tokenSource.current();
    if (current && current.issuedAtMs >= connectedAtMs) void reauthenticate(current);
  };
  const unsubscribe = tokenSource.onCredentials(reauthenticate);
  const removeGuard = installCommandGuard(client, tokenSource, tracker);

  const restore: Array<() => void> = [removeGuard];
  const override = (name: string, value: (...args: never[]) => unknown): void => {
    const own = Object.getOwnPropertyDescriptor(client, name);
    Object.defineProperty(client, name, { configurable: true, writable: true, value });
    restore.push(() => {
      if (own) Object.defineProperty(client, name, own);
      else delete (client as unknown as Record<string, unknown>)[name];
    });
  };
  override('duplicate', (...args: never[]) => {
    const copy = (protoDuplicate as (...a: unknown[]) => NodeRedisClient).apply(client, args);
    attachEntraAuth(copy, tokenSource, options);
    diagnoseCopy(client, copy as NodeRedisClient & ConnectTarget, tokenSource);
    return copy;
  });
  for (const name of TERMINAL_METHODS) {
    const method = (client as unknown as Record<string, unknown>)[name];
    if (typeof method !== 'function') continue;
    override(name, (...args: never[]) => {
      let result: unknown;
      try {
        result = (method as (...a: unknown[]) => unknown).apply(client, args);
      } finally {
        if (!(result instanceof Promise)) detach();
      }
      return result instanceof Promise ? result.finally(detach) : result;
    });
  }

  const detach = (): void => {
    if (detached) return;
    detached = true;
    unsubscribe();
    pending = undefined;
    client.off('connect', onConnect);
    client.off('ready', onReady);
    client.off('end', detach);
    for (const undo of restore.splice(0).reverse()) undo();
    delete target[ATTACHED];
  };
  client.on('connect', onConnect);
  client.on('ready', onReady);
  client.on('end', detach);
  target[ATTACHED] = detach;
  return detach;
}
