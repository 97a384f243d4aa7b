import { mkdir, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startRedisBackend, type RedisBackend } from './cluster/backend.js';
import type { ClusterOptions, EmulatorCluster } from './cluster/types.js';
import { startIdentityProvider, type IdentityProvider } from './identity-provider/server.js';
import type { IdentityProviderStats } from './identity-provider/state.js';
import { trustEmulatorCa } from './identity-provider/trust.js';
import { EmulatorError } from './errors.js';
import { createPki, issueClientCertificate } from './pki.js';
import { defaultTenantConfig, type ServicePrincipal, type TenantConfig } from './principals.js';
import type { RedisFront, RedisFrontStats } from './redis-front/types.js';
import type { RedisServer } from './redis-server.js';
import { Tenant } from './tenant.js';

/** Options of {@link startEmulator}. Every port defaults to a free loopback port. */
export interface EmulatorOptions {
  /**
   * Directory for the CA, server and client certificates and the federated token file. Reused
   * across runs, so a CA you trusted stays trusted. Never removed by {@link Emulator.close}.
   * @default `<os tmpdir>/entra-redis-emulator`
   */
  stateDir?: string;
  /** Lifetime of issued access tokens, in seconds. @default 3600 */
  tokenLifetimeSec?: number;
  /** The tenant and its principals. @default defaultTenantConfig() */
  tenant?: TenantConfig;
  /** Custom access policies for the Redis front end: policy name → Redis ACL rules. */
  accessPolicies?: Record<string, string>;
  /** Redis front end and the redis-server child behind it. */
  redis?: {
    /** TLS port (Azure Cache for Redis uses 6380, Azure Managed Redis 10000). @default 0 */
    tlsPort?: number;
    /** An extra plaintext port, or `false` for none (Azure accepts Entra auth over TLS only). @default false */
    plainPort?: number | false;
    /** Path of the redis-server binary. @default `REDIS_SERVER_BIN`, then PATH */
    binary?: string;
    /** Refuse `HELLO <v> AUTH …` as older Azure service versions did. @default false */
    rejectHelloAuth?: boolean;
    /** More redis-server arguments, e.g. `['--maxclients', '20000']`. @default [] */
    extraArgs?: string[];
  };
  /**
   * Run a Redis Cluster instead of one node: each node is a cluster-enabled redis-server behind
   * its own front end, announcing the front end's port. In this mode `redis.tlsPort` and
   * `redis.plainPort`, when not 0, are the first node's ports (node `i` gets port + i).
   * @default undefined (one node)
   */
  cluster?: ClusterOptions;
  /** Identity provider ports. */
  identity?: {
    /** HTTPS port of the authority. @default 0 */
    port?: number;
    /** Plain-HTTP port of the managed identity endpoints. @default 0 */
    managedIdentityPort?: number;
  };
}

/** Counters of a running emulator. */
export interface EmulatorStats {
  /** Identity provider: requests per endpoint, tokens issued per oid, errors, fault hits. */
  identity: IdentityProviderStats;
  /** Redis front end: connections, AUTHs, re-AUTHs, evictions, protocol errors. */
  redis: RedisFrontStats;
}

/** A principal as a client needs to know it. */
export interface EmulatorPrincipal {
  /** Object id: the Redis username. */
  oid: string;
  /** Client (application) id, where the principal has one. */
  clientId?: string;
  /** Access policy assigned to it on the cache, if any. */
  accessPolicy?: string;
}

/** A running emulator; stop it with {@link Emulator.close}. */
export interface Emulator {
  /** The emulated tenant id. */
  readonly tenantId: string;
  /** `https://127.0.0.1:<port>`: pass as `authorityHost` with `disableInstanceDiscovery: true`. */
  readonly authorityHost: string;
  /** Path of the CA certificate that signed every emulator TLS certificate (`NODE_EXTRA_CA_CERTS`). */
  readonly caCertPath: string;
  /** The same CA certificate, PEM. Pass as `tls.ca` to Redis clients. */
  readonly caCertPem: string;
  /** The Redis front end: TLS on `port`; `plainPort` when enabled. In cluster mode, the first master's. */
  readonly redis: { readonly host: string; readonly port: number; readonly plainPort?: number };
  /** The cluster (root nodes, nodes, faults, stats) when started with `cluster`; else undefined. */
  readonly cluster: EmulatorCluster | undefined;
  /** The default service principal (secret and certificate; Data Owner). */
  readonly servicePrincipal: EmulatorPrincipal & {
    clientId: string;
    clientSecret: string;
    certificatePath: string;
  };
  /** Other principals of the default tenant, by role. */
  readonly principals: Readonly<Record<string, EmulatorPrincipal>>;
  /** The tenant: mint tokens, rotate signing keys, look up principals. */
  readonly tenant: Tenant;
  /** The identity provider, with its fault injection (`identity.faults.inject(...)`). */
  readonly identity: IdentityProvider;
  /** The Redis front end (events: `auth`, `eviction`, …). In cluster mode, the first master's. */
  readonly front: RedisFront;
  /** The redis-server child. In cluster mode, the first master's. */
  readonly redisServer: RedisServer;
  /**
   * The settings a client process needs, as environment variables: `AZURE_AUTHORITY_HOST`,
   * `AZURE_TENANT_ID`, `AZURE_CLIENT_ID`, `AZURE_CLIENT_SECRET`, `AZURE_CLIENT_CERTIFICATE_PATH`,
   * `IDENTITY_ENDPOINT`, `IDENTITY_HEADER`, `AZURE_POD_IDENTITY_AUTHORITY_HOST`,
   * `NODE_EXTRA_CA_CERTS`, `REDIS_HOST`, `REDIS_PORT`, `REDIS_USERNAME` (and `REDIS_PLAIN_PORT`
   * when the plaintext port is on);
   * `ENTRA_REDIS_<ROLE>_OID` / `_CLIENT_ID` / `_CLIENT_SECRET` for the other principals; and
   * `ENTRA_REDIS_FEDERATED_TOKEN_FILE`, the app's workload identity token. That one is not
   * `AZURE_FEDERATED_TOKEN_FILE`: with it set, `@azure/identity`'s ManagedIdentityCredential
   * would exchange it instead of calling the managed identity endpoints (set
   * `AZURE_FEDERATED_TOKEN_FILE` from it to act as an AKS pod). In cluster mode also
   * `REDIS_CLUSTER_NODES` (`127.0.0.1:<port>,…`, one per master). For the zero-code preload
   * (`node --import entra-redis/register`): `ENTRA_REDIS_HOSTS` (every front end's ports, every
   * cluster node's) and `ENTRA_REDIS_MIN_REFRESH_INTERVAL_MS` (a tenth of the token lifetime, at
   * most the library's 1 s default).
   */
  env(): Record<string, string>;
  /**
   * Options that make an in-process @azure/identity credential use and trust this emulator:
   * `authorityHost`, `disableInstanceDiscovery: true` and a pipeline policy trusting the CA.
   */
  credentialOptions(): ReturnType<typeof trustEmulatorCa> & {
    authorityHost: string;
    disableInstanceDiscovery: true;
  };
  /** Counters (in cluster mode, `redis` is summed over the nodes). */
  stats(): EmulatorStats;
  /** Fault injection across the emulator. */
  readonly faults: {
    /** Makes the identity provider sign with a new key; `retireOld` stops accepting the old one. */
    rotateSigningKey(options?: { retireOld?: boolean }): string;
    /** Destroys every client connection to the Redis front end (every node's) now. */
    dropRedisConnections(): void;
    /** Restarts redis-server on the same port (every client connection is closed). Rejects in cluster mode. */
    restartRedis(): Promise<void>;
  };
  /** Stops everything the emulator started. Idempotent. */
  close(): Promise<void>;
  /** Same as {@link Emulator.close}. */
  [Symbol.asyncDispose](): Promise<void>;
}

/** Where the emulator keeps its certificates unless told otherwise. */
export const DEFAULT_STATE_DIR = join(tmpdir(), 'entra-redis-emulator');

/** Lifetime of the federated token written for workload identity, in seconds. */
const FEDERATED_TOKEN_LIFETIME_SEC = 24 * 3600;

/**
 * Starts the emulator: an Entra ID identity provider (HTTPS on loopback), a real redis-server
 * child, and an Azure-like Redis front end that validates Entra ID tokens in front of it.
 *
 * @example
 * ```ts
 * import { startEmulator } from '@entra-redis/emulator';
 *
 * await using emulator = await startEmulator({ tokenLifetimeSec: 10 });
 * console.log(emulator.env()); // settings for a client process
 * ```
 */
export async function startEmulator(options: EmulatorOptions = {}): Promise<Emulator> {
  const stateDir = options.stateDir ?? DEFAULT_STATE_DIR;
  await mkdir(stateDir, { recursive: true, mode: 0o700 });
  const config = options.tenant ?? defaultTenantConfig();
  const tenant = new Tenant(config, { tokenLifetimeSec: options.tokenLifetimeSec ?? 3600 });
  const app = config.servicePrincipals[0] as ServicePrincipal | undefined;
  if (!app?.secret) {
    throw new EmulatorError(
      'INVALID_OPTION',
      'startEmulator: "tenant.servicePrincipals[0]" must be a service principal with a secret; it is the default identity of the emulator',
    );
  }

  const pki = await createPki({ stateDir });
  // The CA and the server certificate are shared by every run (a trusted CA stays trusted); the
  // files handed to clients that belong to this run's tenant live in a directory of its own, so
  // two emulators on one state directory do not overwrite each other's.
  await removeAbandonedRunDirs(stateDir);
  const runDir = await mkdtemp(join(stateDir, `run-${process.pid}-`));
  const stops: Array<() => Promise<void>> = [() => rm(runDir, { recursive: true, force: true })];
  const stopAll = async (): Promise<void> => {
    for (const stop of stops.reverse()) await stop().catch(() => undefined);
    stops.length = 0;
  };
  try {
    const cert = await issueClientCertificate(pki, app.displayName, runDir);
    app.certificatePem = cert.certPem;
    const identity = await startIdentityProvider({
      tenant,
      pki,
      port: options.identity?.port ?? 0,
      managedIdentityPort: options.identity?.managedIdentityPort ?? 0,
    });
    stops.push(() => identity.close());
    const backend = await startRedisBackend(options, {
      authenticate: (username, password) => tenant.verifyRedisAuth(username, password),
      tls: { key: pki.serverKeyPem, cert: pki.serverCertPem },
    });
    stops.push(() => backend.stop());

    const federatedTokenPath = join(runDir, 'federated-token');
    const federated = await tenant.mintFederatedToken({
      lifetimeSec: FEDERATED_TOKEN_LIFETIME_SEC,
    });
    await writeFile(federatedTokenPath, federated, { mode: 0o600 });

    return assemble({
      tenant,
      config,
      app: { ...app, secret: app.secret },
      certificatePath: cert.combinedPemPath,
      federatedTokenPath,
      caCertPath: pki.caCertPath,
      caCertPem: pki.caCertPem,
      identity,
      backend,
      stopAll,
    });
  } catch (error) {
    await stopAll();
    throw error;
  }
}

/** Removes the run directories of emulator processes that ended without closing (killed). */
async function removeAbandonedRunDirs(stateDir: string): Promise<void> {
  for (const name of await readdir(stateDir).catch(() => [])) {
    const pid = /^run-(\d+)-/.exec(name)?.[1];
    if (pid && !processExists(Number(pid))) {
      await rm(join(stateDir, name), { recursive: true, force: true });
    }
  }
}

function processExists(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM'; // exists, owned by someone else
  }
}

interface Parts {
  tenant: Tenant;
  config: TenantConfig;
  app: ServicePrincipal & { secret: string };
  certificatePath: string;
  federatedTokenPath: string;
  caCertPath: string;
  caCertPem: string;
  identity: IdentityProvider;
  backend: RedisBackend;
  stopAll: () => Promise<void>;
}

function assemble(parts: Parts): Emulator {
  const { tenant, config, app, identity, backend } = parts;
  const principals = otherPrincipals(config);
  const secrets = new Map(config.servicePrincipals.map((sp) => [sp.oid, sp.secret]));
  let closing: Promise<void> | undefined;
  const close = (): Promise<void> => (closing ??= parts.stopAll());

  const env = (): Record<string, string> => {
    const vars: Record<string, string> = {
      AZURE_AUTHORITY_HOST: identity.authorityHost,
      AZURE_TENANT_ID: config.tenantId,
      AZURE_CLIENT_ID: app.clientId,
      AZURE_CLIENT_SECRET: app.secret,
      AZURE_CLIENT_CERTIFICATE_PATH: parts.certificatePath,
      IDENTITY_ENDPOINT: identity.managedIdentityEndpoint,
      IDENTITY_HEADER: identity.identityHeader,
      AZURE_POD_IDENTITY_AUTHORITY_HOST: identity.imdsEndpoint,
      NODE_EXTRA_CA_CERTS: parts.caCertPath,
      REDIS_HOST: backend.redis.host,
      REDIS_PORT: String(backend.redis.port),
      REDIS_USERNAME: app.oid,
      ...(backend.redis.plainPort !== undefined
        ? { REDIS_PLAIN_PORT: String(backend.redis.plainPort) }
        : {}),
      ...backend.env(),
    };
    for (const [role, principal] of Object.entries(principals)) {
      const key = role.replace(/[A-Z]/g, (c) => `_${c}`).toUpperCase();
      vars[`ENTRA_REDIS_${key}_OID`] = principal.oid;
      if (principal.clientId) vars[`ENTRA_REDIS_${key}_CLIENT_ID`] = principal.clientId;
      const secret = secrets.get(principal.oid);
      if (secret) vars[`ENTRA_REDIS_${key}_CLIENT_SECRET`] = secret;
    }
    vars.ENTRA_REDIS_FEDERATED_TOKEN_FILE = parts.federatedTokenPath;
    Object.assign(vars, preloadEnv(backend, tenant.tokenLifetimeSec));
    return vars;
  };

  return {
    tenantId: config.tenantId,
    authorityHost: identity.authorityHost,
    caCertPath: parts.caCertPath,
    caCertPem: parts.caCertPem,
    redis: backend.redis,
    cluster: backend.cluster,
    servicePrincipal: {
      oid: app.oid,
      clientId: app.clientId,
      clientSecret: app.secret,
      certificatePath: parts.certificatePath,
      ...(app.accessPolicy ? { accessPolicy: app.accessPolicy } : {}),
    },
    principals,
    tenant,
    identity,
    front: backend.front,
    redisServer: backend.redisServer,
    env,
    credentialOptions: () => ({
      authorityHost: identity.authorityHost,
      disableInstanceDiscovery: true,
      ...trustEmulatorCa(parts.caCertPem),
    }),
    stats: () => ({ identity: identity.stats(), redis: backend.stats() }),
    faults: {
      rotateSigningKey: (options) => tenant.rotateSigningKey(options),
      dropRedisConnections: () => backend.dropConnections(),
      restartRedis: () => backend.restart(),
    },
    close,
    [Symbol.asyncDispose]: close,
  };
}

/**
 * What `node --import entra-redis/register` needs to protect an unmodified application's
 * clients of this emulator: its front ends (every cluster node's) as ENTRA_REDIS_HOSTS, and a
 * refresh floor short enough for the token lifetime (the library's 1 s default would put the
 * refresh of tokens of a few seconds at their expiry).
 */
function preloadEnv(backend: RedisBackend, tokenLifetimeSec: number): Record<string, string> {
  const fronts = backend.cluster?.fronts ?? [backend.front];
  const endpoints = fronts.flatMap((front) =>
    [front.tlsPort, front.plainPort]
      .filter((port) => port !== undefined)
      .map((port) => `${front.host}:${port}`),
  );
  return {
    ENTRA_REDIS_HOSTS: [...new Set(endpoints)].join(','),
    ENTRA_REDIS_MIN_REFRESH_INTERVAL_MS: String(
      Math.max(10, Math.min(1_000, Math.floor((tokenLifetimeSec * 1_000) / 10))),
    ),
  };
}

/** The default tenant's principals other than the default service principal, by role. */
function otherPrincipals(config: TenantConfig): Record<string, EmulatorPrincipal> {
  const describe = (p: { oid: string; clientId?: string; accessPolicy?: string }) => ({
    oid: p.oid,
    ...(p.clientId ? { clientId: p.clientId } : {}),
    ...(p.accessPolicy ? { accessPolicy: p.accessPolicy } : {}),
  });
  const out: Record<string, EmulatorPrincipal> = {};
  const [, reader, unassigned] = config.servicePrincipals;
  if (reader) out.reader = describe(reader);
  if (unassigned) out.unassigned = describe(unassigned);
  if (config.systemAssignedIdentity) out.systemAssigned = describe(config.systemAssignedIdentity);
  const userAssigned = config.userAssignedIdentities[0];
  if (userAssigned) out.userAssigned = describe(userAssigned);
  const user = config.users[0];
  if (user) out.user = describe(user);
  return out;
}
