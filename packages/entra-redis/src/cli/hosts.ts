// Which Azure Redis service a host name belongs to, and its TLS port.

/** The service behind a host name. */
export type HostKind = 'cache' | 'managed' | 'other';

const CACHE_SUFFIXES = [
  '.redis.cache.windows.net',
  '.redis.cache.chinacloudapi.cn',
  '.redis.cache.usgovcloudapi.net',
];
const MANAGED_SUFFIXES = ['.redis.azure.net', '.redisenterprise.cache.azure.net'];

/** Azure Cache for Redis (6380), Azure Managed Redis (10000), or another host. */
export function hostKind(host: string): HostKind {
  const h = host.trim().toLowerCase().replace(/\.$/, '');
  const matches = (suffixes: string[]) =>
    suffixes.some((s) => h.endsWith(s) && h.length > s.length);
  if (matches(CACHE_SUFFIXES)) return 'cache';
  if (matches(MANAGED_SUFFIXES)) return 'managed';
  return 'other';
}

/** The TLS port of a host kind: 6380, 10000, or 6380 for unknown hosts. */
export function defaultPort(kind: HostKind): number {
  return kind === 'managed' ? 10000 : 6380;
}

/** A human name of the service. */
export function serviceName(kind: HostKind): string {
  return kind === 'cache'
    ? 'Azure Cache for Redis'
    : kind === 'managed'
      ? 'Azure Managed Redis'
      : 'unrecognised host: not an Azure Redis name';
}

/** `"6380 (Azure Cache for Redis) or 10000 (Azure Managed Redis)"`, or the one for the kind. */
export function tlsPortAdvice(kind: HostKind): string {
  if (kind === 'cache') return 'port 6380 (the TLS port of Azure Cache for Redis)';
  if (kind === 'managed') return 'port 10000 (the TLS port of Azure Managed Redis)';
  return 'the TLS port: 6380 for Azure Cache for Redis, 10000 for Azure Managed Redis';
}
