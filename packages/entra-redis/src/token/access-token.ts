import type { AccessToken } from '@azure/identity';
import { EntraRedisError } from '../errors.js';
import { decodeAccessTokenClaims } from '../lib/jwt.js';
import { createRedisCredentials, type RedisCredentials } from './credentials.js';

/** A token accepted by the source (internal). */
export interface TokenEntry {
  readonly token: string;
  readonly credentials: RedisCredentials;
  readonly expiresAtMs: number;
  readonly issuedAtMs: number;
  /** Sequence number of the request that produced it. */
  readonly seq: number;
}

/**
 * Checks an `AccessToken` from a credential and turns it into an entry.
 *
 * Expiry: the earlier of the credential's `expiresOnTimestamp` and the JWT's `exp`. The server
 * enforces `exp` on its own clock while `expiresOnTimestamp` is usually computed locally from
 * `expires_in`; taking the earlier of the two means a skewed clock or an optimistic credential
 * can only make us refresh early, never serve a token the server considers expired.
 *
 * `expiresOnTimestamp` is on the clock of the process's `Date` (MSAL adds `expires_in` to
 * it); `reportedOffsetMs` moves it onto `nowMs`'s clock when the two differ (fake timers).
 *
 * Issued at: `expiresAt - (exp - iat)` when the JWT has `iat` (the lifetime, free of clock
 * skew), never later than now; otherwise now.
 */
export function toTokenEntry(
  accessToken: AccessToken | null | undefined,
  username: string | undefined,
  nowMs: number,
  seq: number,
  scopes: readonly string[] = [],
  reportedOffsetMs = 0,
): TokenEntry {
  if (
    typeof accessToken !== 'object' ||
    accessToken === null ||
    typeof accessToken.token !== 'string'
  ) {
    throw new EntraRedisError(
      'TOKEN_REQUEST_FAILED',
      'entra-redis: the credential returned no access token (getToken resolved to ' +
        `${accessToken === null ? 'null' : typeof accessToken}); it will be asked again`,
      { isRetryable: true },
    );
  }
  const claims = decodeAccessTokenClaims(accessToken.token);
  checkAudience(claims.aud, scopes);
  const jwtExpMs = claims.exp * 1000;
  const reported = accessToken.expiresOnTimestamp;
  const expiresAtMs =
    typeof reported === 'number' && Number.isFinite(reported) && reported > 0
      ? Math.min(reported + reportedOffsetMs, jwtExpMs)
      : jwtExpMs;
  if (expiresAtMs <= nowMs) {
    throw new EntraRedisError(
      'TOKEN_EXPIRED',
      'entra-redis: the credential returned an access token that has already expired ' +
        `(${new Date(expiresAtMs).toISOString()}); check the clock of this machine and that the ` +
        'token endpoint reports expires_on/expires_in correctly',
      { isRetryable: true },
    );
  }
  let issuedAtMs = nowMs;
  if (typeof claims.iat === 'number' && Number.isFinite(claims.iat) && claims.iat < claims.exp) {
    issuedAtMs = Math.min(nowMs, expiresAtMs - (claims.exp - claims.iat) * 1000);
  }
  const credentials = createRedisCredentials({
    username: username ?? claims.oid,
    password: accessToken.token,
    oid: claims.oid,
    ...(typeof claims.tid === 'string' ? { tenantId: claims.tid } : {}),
    expiresAtMs,
    issuedAtMs,
  });
  return { token: accessToken.token, credentials, expiresAtMs, issuedAtMs, seq };
}

/** Audiences of Redis tokens: the resource URI (v1 tokens) and the app id (v2 tokens). */
const REDIS_AUDIENCES = ['https://redis.azure.com', 'acca5fbb-b7e4-4009-81f1-37e38fd66d78'];

/**
 * Refuses a token issued for another resource (the server would answer WRONGPASS): its `aud`,
 * when present, must be the resource of a requested scope or Redis's. The audience is no secret.
 */
function checkAudience(
  aud: string | readonly string[] | undefined,
  scopes: readonly string[],
): void {
  if (aud === undefined) return;
  const norm = (s: string): string => s.toLowerCase().replace(/\/+$/, '');
  const accepted = new Set(
    [...REDIS_AUDIENCES, ...scopes.map((s) => s.replace(/\/[^/]*$/, ''))].map(norm),
  );
  const given = typeof aud === 'string' ? [aud] : aud;
  if (given.some((a) => typeof a === 'string' && accepted.has(norm(a)))) return;
  throw new EntraRedisError(
    'TOKEN_MALFORMED',
    `entra-redis: the access token's audience (${given.map((a) => JSON.stringify(a)).join(', ')}) ` +
      `is not Redis; request the scope https://redis.azure.com/.default (option "scopes")`,
  );
}
