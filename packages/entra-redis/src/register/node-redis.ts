// node-redis (5.x and 6.x) under the preload: the factories of @redis/client (`createClient`,
// `createClientPool`, `createCluster`), which the `redis` package's own factories call, hand
// a client aimed at a matching host with no credentials of its own to the adapter.
import type { CreateClientOptions } from '../node-redis/options.js';
import { newClient, newClientPool } from '../node-redis/new-client.js';
import { newCluster, type CreateClusterOptions } from '../node-redis/new-cluster.js';
import { hostMatches } from './hosts.js';
import { wrapExport } from './patch.js';
import type { RegisterRuntime } from './runtime.js';

type Options = Record<string, unknown> | undefined;
type Factory = (...args: never[]) => unknown;

const CREDENTIALS = ['password', 'credentialsProvider'] as const;

/** Where a client's options point: `socket.host/port`, else its `url`; with its credentials. */
function target(options: Options): { host?: string; port?: number; credentials: boolean } {
  const socket = (options?.socket ?? {}) as { host?: unknown; port?: unknown; path?: unknown };
  let url: URL | undefined;
  try {
    url = typeof options?.url === 'string' ? new URL(options.url) : undefined;
  } catch {
    url = undefined;
  }
  const credentials =
    CREDENTIALS.some((key) => options?.[key] !== undefined) || Boolean(url?.password);
  if (typeof socket.path === 'string') return { credentials }; // a Unix socket
  const host = typeof socket.host === 'string' ? socket.host : url?.hostname || 'localhost';
  const port = typeof socket.port === 'number' ? socket.port : Number(url?.port) || 6379;
  return { host, port, credentials };
}

/** The options without a username (the token source's is the token's oid). */
function withoutUsername(options: Options): Record<string, unknown> {
  const { username: _username, ...rest } = options ?? {};
  return rest;
}

/**
 * Patches one loaded copy of @redis/client (its CommonJS exports or its ESM namespace).
 * Idempotent per copy.
 *
 * @example
 * ```ts
 * patchNodeRedis(require('@redis/client'), runtime);
 * ```
 */
export function patchNodeRedis(exported: unknown, runtime: RegisterRuntime): void {
  const views = [exported, (exported as { default?: unknown })?.default].filter(
    (view): view is Record<string, Factory> => typeof view === 'object' && view !== null,
  );
  // The originals of this copy, whichever view is patched first.
  const original = (name: string): Factory | undefined =>
    views.map((view) => view[name]).find((f) => typeof f === 'function');
  const createClient = original('createClient');
  const createClientPool = original('createClientPool');
  const createCluster = original('createCluster');
  if (!createClient) return;
  const matches = (what: string, options: Options): boolean => {
    const t = target(options);
    if (!hostMatches(runtime.config.hosts, t.host, t.port)) return false;
    if (t.credentials) {
      runtime.log.debug(`node-redis ${what} ${t.host}:${t.port} left alone: it has credentials`);
      return false;
    }
    runtime.log.debug(
      `protecting node-redis ${what} ${t.host}:${t.port} (RESP ${options?.RESP ?? 'default'})`,
    );
    return true;
  };
  const attempt = (what: string, protect: () => unknown, fallback: () => unknown): unknown => {
    try {
      return protect();
    } catch (error) {
      runtime.log.info(
        `could not protect a node-redis ${what}: ${(error as Error)?.message ?? error}`,
      );
      return fallback();
    }
  };
  const clientFactory = createClient as (options?: object) => object;
  for (const view of views) {
    wrapExport<(options?: Options) => unknown>(
      view,
      'createClient',
      (create) => (options) =>
        matches('client', options)
          ? attempt(
              'client',
              () =>
                newClient(
                  {
                    ...withoutUsername(options),
                    tokenSource: runtime.source(),
                  } as CreateClientOptions,
                  create as never,
                ),
              () => create(options),
            )
          : create(options),
    );
    if (createClientPool) {
      wrapExport<(options?: Options, pool?: object) => unknown>(
        view,
        'createClientPool',
        (create) => (options, poolOptions) =>
          matches('pool', options)
            ? attempt(
                'pool',
                () =>
                  newClientPool(
                    {
                      ...withoutUsername(options),
                      tokenSource: runtime.source(),
                    } as CreateClientOptions,
                    poolOptions,
                    { createClient: clientFactory, createClientPool: create as never },
                  ),
                () => create(options, poolOptions),
              )
            : create(options, poolOptions),
      );
    }
    if (createCluster) {
      wrapExport<(options?: Options) => unknown>(view, 'createCluster', (create) => (options) => {
        const roots = (options?.rootNodes ?? []) as Options[];
        const defaults = options?.defaults as Options;
        const own = roots.some((root) => target(root).credentials) || target(defaults).credentials;
        const matching = roots.some((root) => {
          const t = target({
            ...defaults,
            ...root,
            socket: { ...(defaults?.socket as object), ...(root?.socket as object) },
          });
          return hostMatches(runtime.config.hosts, t.host, t.port);
        });
        if (!matching || own) {
          if (matching) runtime.log.debug('node-redis cluster left alone: it has credentials');
          return create(options);
        }
        runtime.log.debug(`protecting node-redis cluster (${roots.length} root nodes)`);
        return attempt(
          'cluster',
          () =>
            newCluster(
              {
                ...withoutUsername(options),
                rootNodes: roots.map(withoutUsername),
                ...(defaults ? { defaults: withoutUsername(defaults) } : {}),
                tokenSource: runtime.source(),
              } as CreateClusterOptions,
              { createClient: clientFactory, createCluster: create as never },
            ),
          () => create(options),
        );
      });
    }
  }
}
