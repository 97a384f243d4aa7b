// Which Redis hosts the preload protects: Azure's Redis host names in every cloud, plus the
// `host[:port]` patterns of ENTRA_REDIS_HOSTS.
import { AZURE_REDIS_HOST_SUFFIXES } from '../reauth/index.js';

/** One pattern: an exact host or a `*.` suffix, and a port or any. */
export interface HostPattern {
  /** Lower case, no trailing dot; for a wildcard, the part after `*.` with its leading dot. */
  readonly host: string;
  readonly wildcard: boolean;
  readonly port: number | undefined;
  /** As written, for log lines. */
  readonly text: string;
}

/** The patterns every process protects: Azure's Redis host names, any port. */
export const AZURE_HOST_PATTERNS: readonly HostPattern[] = Object.freeze(
  AZURE_REDIS_HOST_SUFFIXES.map((suffix) => ({
    host: suffix,
    wildcard: true,
    port: undefined,
    text: `*${suffix}`,
  })),
);

const LABEL = /^[a-z0-9_](?:[a-z0-9_-]{0,61}[a-z0-9_])?$/;

/** A host name (dot-separated labels), an IPv4 address or a bracketed IPv6 address. */
function isHost(host: string): boolean {
  if (host.startsWith('[') && host.endsWith(']')) return /^[0-9a-f:.]+$/i.test(host.slice(1, -1));
  return host.length <= 253 && host.split('.').every((label) => LABEL.test(label));
}

/** Normalises a host for comparison: lower case, no trailing dot, IPv6 in brackets. */
export function normalizeHost(host: string): string {
  const h = host.trim().toLowerCase().replace(/\.$/, '');
  return h.includes(':') && !h.startsWith('[') ? `[${h}]` : h;
}

/**
 * Parses ENTRA_REDIS_HOSTS: comma-separated `host[:port]`, where host may start with `*.`
 * (any name below it). Returns the patterns, or the first entry that is not one.
 *
 * @example
 * ```ts
 * parseHostPatterns('*.cache.contoso.internal, 127.0.0.1:6380');
 * ```
 */
export function parseHostPatterns(raw: string): HostPattern[] | { invalid: string } {
  const patterns: HostPattern[] = [];
  for (const entry of raw.split(',')) {
    const text = entry.trim();
    if (text === '') continue;
    const match = /^(.*?)(?::(\d{1,5}))?$/.exec(text);
    let host = normalizeHost(match?.[1] ?? '');
    const port = match?.[2] === undefined ? undefined : Number(match[2]);
    const wildcard = host.startsWith('*.');
    if (wildcard) host = host.slice(1);
    const valid =
      (port === undefined || (port >= 1 && port <= 65535)) &&
      isHost(wildcard ? host.slice(1) : host);
    if (!valid) return { invalid: text };
    patterns.push({ host, wildcard, port, text });
  }
  return patterns;
}

/**
 * Whether `host:port` matches one of `patterns`. A wildcard matches names below its suffix
 * (`*.example.com`: `a.example.com`, `a.b.example.com`; not `example.com`).
 *
 * @example
 * ```ts
 * hostMatches(AZURE_HOST_PATTERNS, 'contoso.redis.cache.windows.net', 6380); // true
 * ```
 */
export function hostMatches(
  patterns: readonly HostPattern[],
  host: string | undefined,
  port: number | undefined,
): boolean {
  if (typeof host !== 'string' || host === '') return false;
  const h = normalizeHost(host);
  return patterns.some(
    (p) =>
      (p.port === undefined || p.port === port) &&
      (p.wildcard ? h.endsWith(p.host) && h.length > p.host.length : h === p.host),
  );
}
