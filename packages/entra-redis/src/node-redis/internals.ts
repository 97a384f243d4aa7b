// The only node-redis internals this adapter relies on, each feature-detected, for redis 5.x
// and 6.x. Everything else in the adapter uses public API. If a future node-redis changes
// one of these, the functions below fail with INVALID_OPTION naming it (or, for the
// protocol default, fall back to an observed refusal), instead of misbehaving silently.
import { EntraRedisError } from '../errors.js';

/** node-redis's messages (5.x and 6.x) for a command that ended because its connection went. */
export const CONNECTION_GONE: ReadonlySet<string> = new Set([
  'The client is closed',
  'Disconnects client',
  'Socket closed unexpectedly',
]);

/** A node-redis client, as far as the detection below looks at it. */
interface ClientLike {
  readonly options?: { RESP?: number } | undefined;
  _getQueue?: () => object;
}

/**
 * The protocol version a client speaks: its `RESP` option, else its version's default
 * (redis 6: RESP3; redis 5: RESP2). The default is told apart by a feature of redis 6's
 * command queue (`chainInExecution`, absent in 5.x). Returns `undefined` if it cannot tell;
 * the caller then learns it from the server's refusal of AUTH in subscribe mode.
 *
 * @example
 * ```ts
 * respOf(createClient({ RESP: 2 })); // 2
 * ```
 */
export function respOf(client: object): 2 | 3 | undefined {
  const c = client as ClientLike;
  const resp = c.options?.RESP;
  if (resp === 2 || resp === 3) return resp;
  if (typeof c._getQueue !== 'function') return undefined;
  const queue = c._getQueue();
  return 'chainInExecution' in Object.getPrototypeOf(queue) ? 3 : 2;
}

/** A node-redis `RedisClient` class: its static `factory(config)` builds every client of a pool. */
interface RedisClientClass {
  factory: (config?: unknown) => (options?: unknown) => unknown;
}

const classes = new WeakMap<object, RedisClientClass>();

/**
 * Finds the `RedisClient` class of a redis module (5.x does not export it) by walking the
 * prototype chain of a client it creates; no socket is opened.
 *
 * @example
 * ```ts
 * const RedisClient = redisClientClass(redis5.createClient);
 * ```
 */
export function redisClientClass(
  createClient: (options?: object) => object,
  what = 'createClientPool',
): RedisClientClass {
  const known = classes.get(createClient);
  if (known) return known;
  for (let p = Object.getPrototypeOf(createClient()); p; p = Object.getPrototypeOf(p)) {
    const ctor: unknown = (p as { constructor?: unknown }).constructor;
    if (
      typeof ctor === 'function' &&
      ctor.name === 'RedisClient' &&
      Object.prototype.hasOwnProperty.call(ctor, 'factory') &&
      typeof (ctor as Partial<RedisClientClass>).factory === 'function'
    ) {
      classes.set(createClient, ctor as unknown as RedisClientClass);
      return ctor as unknown as RedisClientClass;
    }
  }
  throw new EntraRedisError(
    'INVALID_OPTION',
    `entra-redis ${what}: this node-redis version has no RedisClient.factory (5.x and 6.x ` +
      'have one); its connections cannot be protected. Report the node-redis version.',
  );
}

/**
 * Runs `build` (which must create a pool synchronously) while `RedisClient.factory` is wrapped
 * so that every client the new pool will ever create from `config` is passed to `onClient`.
 * The wrapper is installed only for the duration of the synchronous call and then removed:
 * nothing global stays patched, other pools and clients are not affected.
 *
 * @example
 * ```ts
 * const pool = withClientHook(RedisClient, (config) => config === options, attach, () =>
 *   redis.createClientPool(options),
 * );
 * ```
 */
export function withClientHook<T>(
  RedisClient: RedisClientClass,
  accept: (config: unknown) => boolean,
  onClient: (client: object) => void,
  build: () => T,
  what = 'createClientPool',
): T {
  const descriptor = Object.getOwnPropertyDescriptor(RedisClient, 'factory');
  const original = RedisClient.factory;
  let hooked = 0;
  Object.defineProperty(RedisClient, 'factory', {
    configurable: true,
    writable: true,
    value(this: unknown, config?: unknown) {
      const make = original.call(this, config);
      if (!accept(config)) return make;
      hooked += 1;
      return (options?: unknown) => {
        const client = make(options) as object;
        onClient(client);
        return client;
      };
    },
  });
  try {
    const result = build();
    if (hooked === 0) {
      throw new EntraRedisError(
        'INVALID_OPTION',
        `entra-redis ${what}: node-redis did not build its clients with RedisClient.factory ` +
          '(node-redis 5.x and 6.x do); its connections cannot be protected.',
      );
    }
    return result;
  } finally {
    if (descriptor) Object.defineProperty(RedisClient, 'factory', descriptor);
  }
}

/**
 * The object that holds a node-redis client's (or pool's, or cluster's) own state: `_self`.
 * What `createClient` returns is `Object.create(instance)` (a "proxy"; `withTypeMapping` and
 * the like make more); properties set on the instance are seen through every proxy of it.
 *
 * @example
 * ```ts
 * ownerOf(client) === ownerOf(client.withTypeMapping({})); // true
 * ```
 */
export function ownerOf(target: object): object {
  const self = (target as { _self?: unknown })._self;
  return typeof self === 'object' && self !== null ? self : target;
}
