import { EntraRedisError } from '../errors.js';
import { requireTokenSource } from '../lib/validate.js';
import { checkTransportSecurity } from '../reauth/index.js';
import type { TokenSource } from '../token/token-source.js';
import { createProtector } from './attach.js';
import { applyCredentials, GUARDED } from './group.js';
import { redactInspect } from './inspect.js';
import { normalizeEntraOptions, type EntraAuthOptions } from './options.js';
import { bridgeWhenReplaced } from './rotation.js';
import type { IORedisLike } from './types.js';

/**
 * The parts of an ioredis 5.x or 6.x `Cluster` this adapter uses. `connectionPool`,
 * `subscriber` and `shardedSubscribers` are undocumented internals, each feature-detected.
 *
 * @example
 * ```ts
 * const cluster: IORedisClusterLike = new Cluster(nodes, { lazyConnect: true });
 * ```
 */
export interface IORedisClusterLike {
  readonly options: object;
  readonly status: string;
  on(event: string, listener: (...args: unknown[]) => void): unknown;
  off(event: string, listener: (...args: unknown[]) => void): unknown;
  nodes(role?: 'all'): unknown[];
  duplicate(...args: never[]): unknown;
}

interface ClusterInternals {
  options: { redisOptions?: Record<string, unknown>; shardedSubscribers?: boolean };
  startupNodes?: unknown[];
  connectionPool?: { redisOptions?: Record<string, unknown> };
  subscriber?: { selectSubscriber?: () => void; getInstance?: () => IORedisLike | null };
  shardedSubscribers?: { shardedSubscribers?: Map<string, { instance?: IORedisLike | null }> };
  duplicate(...args: unknown[]): unknown;
  on(event: string, listener: (...args: never[]) => void): unknown;
  off(event: string, listener: (...args: never[]) => void): unknown;
  nodes(role?: 'all'): IORedisLike[];
}

function unsupported(what: string): EntraRedisError {
  return new EntraRedisError(
    'INVALID_OPTION',
    `entra-redis ioredis cluster: this ioredis version has no ${what} (5.x and 6.x have one); ` +
      'its connections cannot be protected. Report the ioredis version.',
  );
}

/** Protects each connection `make` creates: wraps the method, returns its undo. */
function afterEach<T extends object>(
  target: T,
  method: keyof T & string,
  each: (result: unknown, self: T, args: unknown[]) => void,
): () => void {
  const original = target[method] as unknown as (...args: unknown[]) => unknown;
  const had = Object.prototype.hasOwnProperty.call(target, method);
  Object.defineProperty(target, method, {
    configurable: true,
    writable: true,
    value(this: T, ...args: unknown[]) {
      const result = original.apply(this, args);
      each(result, this, args);
      return result;
    },
  });
  return () => {
    if (had) Object.defineProperty(target, method, { value: original, writable: true });
    else delete (target as Record<string, unknown>)[method];
  };
}

function startupHosts(cluster: ClusterInternals): { host?: string; port?: number }[] {
  return (cluster.startupNodes ?? []).map((node) =>
    typeof node === 'object' && node !== null
      ? (node as { host?: string; port?: number })
      : typeof node === 'string'
        ? { host: node.replace(/:\d+$/, '') }
        : { port: Number(node) },
  );
}

/**
 * Protects an ioredis (5.x or 6.x) `Cluster` with Entra ID tokens from `tokenSource`: every node
 * connection — those opened at start and those opened later after a `MOVED`, a slot migration
 * or a failover — authenticates with the current token and is re-authenticated in place at each
 * rotation, with the same rules as {@link attachEntraAuth} (transactions, blocking commands,
 * fail-fast `TOKEN_EXPIRED`). The cluster's subscriber connections (classic and, with
 * `shardedSubscribers: true`, sharded) are protected too: AUTH in place under RESP3, a handoff
 * that loses no message under RESP2. `cluster.duplicate()` copies are protected. One token
 * request per rotation for the whole cluster. Returns `detach()` (idempotent).
 *
 * @example
 * ```ts
 * import { Cluster } from 'ioredis';
 * import { attachClusterAuth } from 'entra-redis/ioredis';
 *
 * const { username, password } = await tokenSource.getCredentials();
 * const cluster = new Cluster([{ host, port: 10000 }], {
 *   redisOptions: { tls: { servername: host }, username, password },
 *   lazyConnect: true,
 * });
 * attachClusterAuth(cluster, tokenSource);
 * await cluster.connect();
 * ```
 */
export function attachClusterAuth(
  cluster: IORedisClusterLike,
  tokenSource: TokenSource,
  options: EntraAuthOptions = {},
): () => void {
  requireTokenSource('entra-redis ioredis cluster', tokenSource);
  const normalized = normalizeEntraOptions(options);
  const c = cluster as unknown as ClusterInternals;
  // The object the connection pool builds node connections from (same as options.redisOptions).
  const redisOptions = c.connectionPool?.redisOptions ?? c.options.redisOptions;
  if (!redisOptions) throw unsupported('connection pool options');
  for (const node of startupHosts(c)) {
    checkTransportSecurity({
      host: node.host,
      port: node.port,
      tls: Boolean(redisOptions.tls),
      allowInsecureConnection: normalized.allowInsecureConnection,
    });
  }
  const protector = createProtector(tokenSource, normalized);
  const undo: Array<() => void> = [];
  let unsubscribe: (() => void) | undefined;
  const follow = (): void => {
    if (unsubscribe) return;
    const current = tokenSource.current();
    if (current) applyCredentials(redisOptions, current);
    unsubscribe = tokenSource.onCredentials((credentials) =>
      applyCredentials(redisOptions, credentials),
    );
  };
  const rest = (): void => {
    unsubscribe?.();
    unsubscribe = undefined;
  };
  const onNode = (redis: IORedisLike): void => {
    follow();
    protector.protect(redis);
  };
  follow();
  c.on('+node', onNode);
  c.on('end', rest);
  (cluster as { [GUARDED]?: true })[GUARDED] = true;
  undo.push(
    () => c.off('+node', onNode),
    () => c.off('end', rest),
    () => delete (cluster as { [GUARDED]?: true })[GUARDED],
    redactInspect(cluster, 'Cluster'),
  );
  for (const node of c.nodes('all')) protector.protect(node);

  const subscriber = c.subscriber;
  if (!subscriber?.selectSubscriber || !subscriber.getInstance) throw unsupported('subscriber');
  // A Cluster closed by disconnect() can stay 'close' (no 'end' follows): closed on purpose is
  // told from a passing 'close' before a reconnect by ioredis's own flag.
  const inUse = (): boolean => {
    const status = cluster.status;
    if (status === 'disconnecting' || status === 'end') return false;
    return !(status === 'close' && (cluster as { manuallyClosing?: boolean }).manuallyClosing);
  };
  const protectSubscriber = (instance: IORedisLike): void => {
    // ioredis builds the classic subscriber connection from a few of the node's options, not
    // `keepAlive` (ioredis 5's default then leaves its first probe to the OS: two hours on
    // Linux, past Azure's ~10 minutes idle timeout). It connects on the next tick, reading its
    // options then: give it the cluster's.
    if (typeof redisOptions.keepAlive === 'number') {
      instance.options.keepAlive = redisOptions.keepAlive;
    }
    protector.protect(instance);
    bridgeWhenReplaced(instance, { inUse, current: () => subscriber.getInstance?.() });
  };
  undo.push(
    afterEach(subscriber, 'selectSubscriber', (_r, self) => {
      const instance = self.getInstance?.();
      if (instance) protectSubscriber(instance);
    }),
  );
  const current = subscriber.getInstance();
  if (current) protectSubscriber(current);
  if (c.options.shardedSubscribers) {
    const map = c.shardedSubscribers?.shardedSubscribers;
    if (!(map instanceof Map)) throw unsupported('sharded subscriber group');
    undo.push(
      afterEach(map, 'set', (_r, _self, args) => {
        const instance = (args[1] as { instance?: IORedisLike | null } | undefined)?.instance;
        if (instance) protector.protect(instance);
      }),
    );
    for (const sub of map.values()) if (sub.instance) protector.protect(sub.instance);
  }
  const copies: Array<() => void> = [];
  undo.push(
    afterEach(c, 'duplicate', (copy) => {
      copies.push(attachClusterAuth(copy as IORedisClusterLike, tokenSource, options));
    }),
  );

  let detached = false;
  return () => {
    if (detached) return;
    detached = true;
    rest();
    for (const step of undo.splice(0).reverse()) step();
    for (const detachCopy of copies.splice(0)) detachCopy();
    protector.detach();
  };
}
