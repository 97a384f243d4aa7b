import { EntraRedisError } from '../errors.js';

/**
 * Host name suffixes of Azure's Redis services, in every cloud: Azure Cache for Redis
 * (public, China, US Government), Azure Managed Redis and Azure Cache for Redis Enterprise.
 * Private Link names (`<name>.privatelink.redis.cache.windows.net`) match as well.
 *
 * @example
 * ```ts
 * AZURE_REDIS_HOST_SUFFIXES.includes('.redis.azure.net'); // true
 * ```
 */
export const AZURE_REDIS_HOST_SUFFIXES: readonly string[] = Object.freeze([
  '.redis.cache.windows.net',
  '.redis.azure.net',
  '.redisenterprise.cache.azure.net',
  '.redis.cache.chinacloudapi.cn',
  '.redis.cache.usgovcloudapi.net',
]);

/** Azure's non-TLS port, refused for Entra ID authentication. */
export const AZURE_NON_TLS_PORT = 6379;

/**
 * Whether `host` is an Azure Redis endpoint (case-insensitive; a trailing dot is ignored).
 *
 * @example
 * ```ts
 * isAzureRedisHost('contoso.redis.cache.windows.net'); // true
 * isAzureRedisHost('localhost'); // false
 * ```
 */
export function isAzureRedisHost(host: string | undefined): boolean {
  if (typeof host !== 'string') return false;
  const h = host.trim().toLowerCase().replace(/\.$/, '');
  return AZURE_REDIS_HOST_SUFFIXES.some((s) => h.endsWith(s) && h.length > s.length);
}

/** Inputs of {@link checkTransportSecurity}. */
export interface TransportSecurityInput {
  /** Host the client connects to. */
  readonly host: string | undefined;
  /** Port the client connects to. */
  readonly port: number | undefined;
  /** Whether the connection uses TLS. */
  readonly tls: boolean;
  /** The user's explicit opt-out. @default false */
  readonly allowInsecureConnection?: boolean;
}

/**
 * Refuses plaintext connections to Azure Redis hosts, where an access token would cross the
 * network unencrypted (and Azure refuses Entra ID authentication anyway), unless the user set
 * `allowInsecureConnection: true`. Throws `INSECURE_CONNECTION` naming the option.
 *
 * @example
 * ```ts
 * checkTransportSecurity({ host: 'x.redis.cache.windows.net', port: 6380, tls: true }); // ok
 * checkTransportSecurity({ host: 'x.redis.cache.windows.net', port: 6379, tls: false }); // throws
 * ```
 */
export function checkTransportSecurity(input: TransportSecurityInput): void {
  if (input.tls || input.allowInsecureConnection === true || !isAzureRedisHost(input.host)) return;
  const portHint =
    input.port === AZURE_NON_TLS_PORT
      ? ` Port ${AZURE_NON_TLS_PORT} is Azure's non-TLS port: use 6380 (Azure Cache for Redis) or 10000 (Azure Managed Redis) with TLS.`
      : '';
  throw new EntraRedisError(
    'INSECURE_CONNECTION',
    `entra-redis: refusing a plaintext connection to ${input.host}: the access token would be ` +
      `sent unencrypted and Azure accepts Entra ID authentication over TLS only. Enable TLS ` +
      `(e.g. \`tls: { servername: host }\`).${portHint} To connect without TLS anyway (a local ` +
      `tunnel, tests), set "allowInsecureConnection: true".`,
  );
}
