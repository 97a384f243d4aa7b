import { EntraRedisError } from '../errors.js';

/**
 * Claims of an Entra ID access token that entra-redis reads. Other claims are kept as they are.
 *
 * @example
 * ```ts
 * const claims: AccessTokenClaims = decodeAccessTokenClaims(token);
 * console.log(claims.oid, new Date(claims.exp * 1000));
 * ```
 */
export interface AccessTokenClaims {
  /** Object id of the principal: the Redis username. */
  readonly oid: string;
  /** Expiry, in seconds since the epoch. */
  readonly exp: number;
  /** Issued at, in seconds since the epoch. */
  readonly iat?: number;
  /** Not before, in seconds since the epoch. */
  readonly nbf?: number;
  /** Tenant id. */
  readonly tid?: string;
  /** Audience. */
  readonly aud?: string | readonly string[];
  /** Issuer. */
  readonly iss?: string;
  readonly [claim: string]: unknown;
}

/**
 * Options of {@link decodeAccessTokenClaims}.
 *
 * @example
 * ```ts
 * decodeAccessTokenClaims(token, { requireRedisClaims: false });
 * ```
 */
export interface DecodeAccessTokenOptions {
  /**
   * Require a string `oid` and a numeric `exp` (what Redis authentication needs).
   * Turn off to inspect any JWT (e.g. to explain why it is unusable).
   * @default true
   */
  readonly requireRedisClaims?: boolean;
}

const BASE64URL = /^[A-Za-z0-9_-]*$/;

function malformed(problem: string): EntraRedisError {
  return new EntraRedisError(
    'TOKEN_MALFORMED',
    `entra-redis: the access token is not usable: ${problem}. ` +
      'Check that the credential returns an Entra ID access token for the Redis scope ' +
      '(https://redis.azure.com/.default).',
  );
}

function decodeSegment(segment: string, label: string): Record<string, unknown> {
  if (segment.length === 0) throw malformed(`its ${label} segment is empty`);
  if (!BASE64URL.test(segment) || segment.length % 4 === 1) {
    throw malformed(`its ${label} segment is not base64url`);
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(Buffer.from(segment, 'base64url').toString('utf8'));
  } catch {
    throw malformed(`its ${label} segment is not JSON`);
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    throw malformed(`its ${label} segment is not a JSON object`);
  }
  return parsed as Record<string, unknown>;
}

/**
 * Decodes the claims of a JWT access token with structural checks: three segments, base64url,
 * JSON object header and payload, and (by default) a non-empty string `oid` and a numeric
 * `exp`. Failures throw an {@link EntraRedisError} with code `TOKEN_MALFORMED` that names the
 * problem, never the token.
 *
 * The signature is NOT verified: the Redis server verifies it. Use the result to read the
 * username and the expiry, never to make a trust decision.
 *
 * @example
 * ```ts
 * const { oid, exp } = decodeAccessTokenClaims(accessToken.token);
 * ```
 */
export function decodeAccessTokenClaims(
  token: string,
  options: DecodeAccessTokenOptions = {},
): AccessTokenClaims {
  if (typeof token !== 'string' || token.length === 0) {
    throw malformed('it is not a non-empty string');
  }
  const segments = token.split('.');
  if (segments.length !== 3) {
    throw malformed(`it has ${segments.length} segment(s) where a JWT has 3`);
  }
  const [headerSegment, payloadSegment, signatureSegment] = segments as [string, string, string];
  decodeSegment(headerSegment, 'header');
  const payload = decodeSegment(payloadSegment, 'payload');
  if (!BASE64URL.test(signatureSegment)) throw malformed('its signature segment is not base64url');
  if (options.requireRedisClaims ?? true) {
    if (!('oid' in payload)) {
      throw malformed('the "oid" claim (the Redis username) is missing');
    }
    if (typeof payload.oid !== 'string' || payload.oid.length === 0) {
      throw malformed('the "oid" claim is not a non-empty string');
    }
    if (typeof payload.exp !== 'number' || !Number.isFinite(payload.exp)) {
      throw malformed('the "exp" claim is missing or not a number');
    }
  }
  return payload as unknown as AccessTokenClaims;
}
