// The compared arms: node-redis and ioredis, each with entra-redis or with a static password
// (a long-lived token minted once, passed as plain username/password), and node-redis with
// @redis/entraid. Every arm has its own principal, so the front end's counters (re-AUTHs,
// evictions) can be told apart. Every arm goes through the same emulator front end.
import { ClientSecretCredential, type TokenCredential } from '@azure/identity';
import { trustEmulatorCa } from '@entra-redis/emulator';
import { DEFAULT_RETRY_POLICY, EntraIdCredentialsProviderFactory } from '@redis/entraid';
import { Redis } from 'ioredis';
import { createClient as createNodeRedis } from 'redis';
import { servicePrincipalSecret, TokenSource } from 'entra-redis';
import { createRedis } from 'entra-redis/ioredis';
import { createClient as createEntraClient } from 'entra-redis/node-redis';
import { wrapIORedis, wrapNodeRedis, type BenchClient, type NodeRedisLike } from './clients.js';
import type { EmulatorLink } from './emulator-link.js';
import { nowMs, redactTokens } from './timing.js';

/** Arm ids: `<client>-<auth>`. */
export type ArmId = 'node-password' | 'node-entra' | 'node-entraid' | 'io-password' | 'io-entra';

/** Every arm, in report order. */
export const ARM_IDS: readonly ArmId[] = [
  'node-password',
  'node-entra',
  'node-entraid',
  'io-password',
  'io-entra',
];

/** Human-readable arm names for the report. */
export const ARM_LABELS: Readonly<Record<ArmId, string>> = {
  'node-password': 'node-redis + static password',
  'node-entra': 'node-redis + entra-redis',
  'node-entraid': 'node-redis + @redis/entraid',
  'io-password': 'ioredis + static password',
  'io-entra': 'ioredis + entra-redis',
};

/** Token refresh settings of an arm (ignored by the static-password arms). */
export interface ArmOptions {
  /** Share of a token's lifetime after which it is refreshed (both libraries). */
  refreshRatio?: number;
  /** entra-redis only: jitter of the refresh time (0 for predictable rotations). */
  jitterRatio?: number;
  /** Floor between token requests (entra-redis), ms. @default the library's */
  minRefreshIntervalMs?: number;
  /** Lifetime of the static password token, seconds. @default 86400 */
  passwordLifetimeSec?: number;
}

/** One arm: its credential machinery and a way to open connections with it. */
export interface Arm {
  readonly id: ArmId;
  readonly oid: string;
  /** When each new token arrived from the identity layer (this process's clock, ms). */
  readonly tokenTimes: number[];
  /** Client `'error'` events and re-auth errors reported by the library. */
  readonly errors: { count: number; samples: Set<string> };
  /** Acquires the first token (or mints the static one); starts refreshing. */
  ready(): Promise<void>;
  /** Opens one connected client; `resp` picks the protocol (default: the client's default). */
  connect(options?: { resp?: 2 | 3 }): Promise<BenchClient>;
  /** Registers a token listener after every client's own (it runs once they dispatched). */
  onDispatched(listener: () => void): void;
  /**
   * Token listeners still registered on the arm's token source or provider besides the arm's
   * own (after every client was closed this should be 0); undefined for static passwords.
   */
  clientListeners(): number | undefined;
  /** Stops refreshing and releases listeners (clients are closed by their owners). */
  close(): Promise<void>;
}

const SCOPE = 'https://redis.azure.com/.default';

function timed(credential: TokenCredential, times: number[]): TokenCredential {
  return {
    getToken: async (scopes, options) => {
      const token = await credential.getToken(scopes, options);
      if (token) times.push(nowMs());
      return token;
    },
  };
}

/**
 * Creates an arm against the emulator. Call `ready()` before `connect()`.
 *
 * @example
 * ```ts
 * const arm = createArm('node-entra', link, { refreshRatio: 0.5 });
 * await arm.ready();
 * const client = await arm.connect();
 * ```
 */
export function createArm(id: ArmId, link: EmulatorLink, options: ArmOptions = {}): Arm {
  const info = link.info;
  const principal = info.principals[id];
  if (!principal) throw new Error(`no principal for arm ${id}`);
  const tokenTimes: number[] = [];
  const errors = { count: 0, samples: new Set<string>() };
  const onError = (error: unknown): void => {
    errors.count++;
    if (errors.samples.size < 5) {
      // The message and its causes (a library error names what failed; its cause says why).
      const parts: string[] = [];
      for (let e: unknown = error; e !== undefined && parts.length < 3;) {
        parts.push(String((e as Error)?.message ?? e));
        e = (e as { cause?: unknown })?.cause;
      }
      errors.samples.add(redactTokens(parts.join(' ← cause: ')).slice(0, 400));
    }
  };
  const socket = { host: info.host, port: info.port, tls: true as const, ca: info.caCertPem };
  const ioBase = { host: info.host, port: info.port, tls: { ca: info.caCertPem } };
  const credentialOptions = {
    authorityHost: info.authorityHost,
    disableInstanceDiscovery: true as const,
    ...trustEmulatorCa(info.caCertPem),
  };
  const isNode = id.startsWith('node-');
  const nodeClient = async (raw: unknown): Promise<BenchClient> => {
    const client = raw as NodeRedisLike;
    client.on('error', onError);
    await client.connect();
    return wrapNodeRedis(client);
  };
  const cleanups: Array<() => void | Promise<void>> = [];
  const base = { id, oid: principal.oid, tokenTimes, errors };
  const close = async (): Promise<void> => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  };

  if (id === 'node-password' || id === 'io-password') {
    let password = '';
    return {
      ...base,
      async ready() {
        password = await link.mint(principal.oid, options.passwordLifetimeSec ?? 86_400);
        tokenTimes.push(nowMs());
      },
      async connect({ resp } = {}) {
        const auth = { username: principal.oid, password };
        if (isNode) return nodeClient(createNodeRedis({ socket, ...auth, ...respOf(resp) }));
        const redis = new Redis({ ...ioBase, ...auth, ...protocolOf(resp), lazyConnect: true });
        redis.on('error', onError);
        await redis.connect();
        return wrapIORedis(redis);
      },
      onDispatched() {},
      clientListeners: () => undefined,
      close,
    };
  }

  if (id === 'node-entra' || id === 'io-entra') {
    const factory = servicePrincipalSecret({
      tenantId: info.tenantId,
      clientId: principal.clientId,
      clientSecret: principal.clientSecret,
      ...credentialOptions,
    });
    const source = new TokenSource({
      credential: () => timed(factory(), tokenTimes),
      ...(options.refreshRatio !== undefined ? { refreshRatio: options.refreshRatio } : {}),
      ...(options.jitterRatio !== undefined ? { jitterRatio: options.jitterRatio } : {}),
      ...(options.minRefreshIntervalMs !== undefined
        ? { minRefreshIntervalMs: options.minRefreshIntervalMs }
        : {}),
    });
    cleanups.push(() => source.close());
    let own = 0;
    return {
      ...base,
      async ready() {
        await source.getCredentials();
      },
      async connect({ resp } = {}) {
        const common = { tokenSource: source, onError };
        if (isNode) return nodeClient(createEntraClient({ socket, ...common, ...respOf(resp) }));
        const redis = await createRedis(
          { ...ioBase, ...common, enableReadyCheck: false, ...protocolOf(resp) },
          Redis,
        );
        redis.on('error', onError);
        return wrapIORedis(redis);
      },
      onDispatched(listener) {
        own++;
        cleanups.push(source.onCredentials(() => listener()));
      },
      clientListeners: () => source.listenerCount('credentials') - own,
      close,
    };
  }

  const credential = timed(
    new ClientSecretCredential(
      info.tenantId,
      principal.clientId,
      principal.clientSecret,
      credentialOptions,
    ),
    tokenTimes,
  );
  const provider = EntraIdCredentialsProviderFactory.createForDefaultAzureCredential({
    credential,
    scopes: SCOPE,
    tokenManagerConfig: {
      expirationRefreshRatio: options.refreshRatio ?? 0.7,
      retry: DEFAULT_RETRY_POLICY,
    },
    onReAuthenticationError: onError,
    onRetryableError: onError,
  });
  let own = 0;
  const subscribe = async (onNext: () => void): Promise<void> => {
    own++;
    const [, disposable] = await provider.subscribe({ onNext, onError });
    cleanups.push(() => {
      own--;
      disposable.dispose();
    });
  };
  return {
    ...base,
    // A subscription of our own keeps the token manager running between clients.
    ready: () => subscribe(() => undefined),
    async connect({ resp } = {}) {
      return nodeClient(
        createNodeRedis({ socket, credentialsProvider: provider, ...respOf(resp) }),
      );
    },
    onDispatched(listener) {
      void subscribe(listener);
    },
    clientListeners: () => provider.getSubscriptionsCount() - own,
    close,
  };
}

function respOf(resp: 2 | 3 | undefined): { RESP?: 2 | 3 } {
  return resp ? { RESP: resp } : {};
}

function protocolOf(resp: 2 | 3 | undefined): { protocol?: 2 | 3 } {
  return resp ? { protocol: resp } : {};
}
