// Decoded token summaries for `check` and `token`: claims only, never the token.

import { decodeAccessTokenClaims, type AccessTokenClaims } from '../index.js';

/** Audiences Azure's Redis accepts: the resource URI and its application id. */
export const REDIS_AUDIENCES: readonly string[] = [
  'https://redis.azure.com',
  'acca5fbb-b7e4-4009-81f1-37e38fd66d78',
];

/** The claims `check` and `token` show, and the derived expiry. */
export interface TokenSummary {
  readonly oid?: string;
  readonly tid?: string;
  readonly aud?: string | readonly string[];
  readonly appid?: string;
  readonly azp?: string;
  readonly iss?: string;
  readonly idtyp?: string;
  readonly upn?: string;
  /** Issued at, epoch seconds. */
  readonly iat?: number;
  /** Not before, epoch seconds. */
  readonly nbf?: number;
  /** Expiry, epoch seconds. */
  readonly exp?: number;
  /** `exp` as an ISO date. */
  readonly expiresAt?: string;
  /** Seconds from now until `exp` (negative once expired). */
  readonly timeLeftSec?: number;
}

function str(value: unknown): string | undefined {
  return typeof value === 'string' && value !== '' ? value : undefined;
}
function num(value: unknown): number | undefined {
  return typeof value === 'number' && Number.isFinite(value) ? value : undefined;
}

/** Decodes a token's claims without requiring `oid`/`exp` (so a bad token can be explained). */
export function decodeClaims(token: string): AccessTokenClaims {
  return decodeAccessTokenClaims(token, { requireRedisClaims: false });
}

/** The claims worth showing, with the time left relative to `nowMs`. */
export function summarizeClaims(claims: AccessTokenClaims, nowMs: number): TokenSummary {
  const exp = num(claims.exp);
  const aud = claims.aud;
  const entries: [string, unknown][] = [
    ['oid', str(claims.oid)],
    ['tid', str(claims.tid)],
    ['aud', typeof aud === 'string' || Array.isArray(aud) ? aud : undefined],
    ['appid', str(claims.appid)],
    ['azp', str(claims.azp)],
    ['iss', str(claims.iss)],
    ['idtyp', str(claims.idtyp)],
    ['upn', str(claims.upn)],
    ['iat', num(claims.iat)],
    ['nbf', num(claims.nbf)],
    ['exp', exp],
    ['expiresAt', exp === undefined ? undefined : new Date(exp * 1000).toISOString()],
    ['timeLeftSec', exp === undefined ? undefined : Math.round(exp - nowMs / 1000)],
  ];
  return Object.fromEntries(entries.filter(([, v]) => v !== undefined)) as TokenSummary;
}

/** Whether the audience is one Azure's Redis accepts. */
export function isRedisAudience(aud: TokenSummary['aud']): boolean {
  const list = typeof aud === 'string' ? [aud] : (aud ?? []);
  return list.some((a) => REDIS_AUDIENCES.includes(a.replace(/\/+$/, '')));
}

/** `1h 02m 03s`, `45s`, or `-12s` for the past. */
export function formatDuration(totalSec: number): string {
  const sign = totalSec < 0 ? '-' : '';
  let s = Math.abs(Math.round(totalSec));
  const h = Math.floor(s / 3600);
  s -= h * 3600;
  const m = Math.floor(s / 60);
  s -= m * 60;
  const pad = (n: number) => String(n).padStart(2, '0');
  if (h > 0) return `${sign}${h}h ${pad(m)}m ${pad(s)}s`;
  if (m > 0) return `${sign}${m}m ${pad(s)}s`;
  return `${sign}${s}s`;
}

/** One line: `oid=… tid=… aud=… appid=… expires … (in 59m 58s)`. */
export function describeSummary(t: TokenSummary): string {
  const parts = [
    `oid=${t.oid ?? '(none)'}`,
    `tid=${t.tid ?? '(none)'}`,
    `aud=${t.aud === undefined ? '(none)' : typeof t.aud === 'string' ? t.aud : t.aud.join(',')}`,
    `appid=${t.appid ?? t.azp ?? '(none)'}`,
  ];
  if (t.expiresAt !== undefined && t.timeLeftSec !== undefined) {
    const left = t.timeLeftSec >= 0 ? `in ${formatDuration(t.timeLeftSec)}` : 'EXPIRED';
    parts.push(`expires ${t.expiresAt} (${left})`);
  }
  return parts.join(' ');
}
