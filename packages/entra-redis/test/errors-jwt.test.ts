import { describe, expect, it } from 'vitest';
import {
  ENTRA_REDIS_ERROR_CODES,
  EntraRedisError,
  decodeAccessTokenClaims,
  isEntraRedisError,
} from 'entra-redis';
import { makeJwt } from './fakes.js';

describe('EntraRedisError', () => {
  it('carries code, isRetryable, statusCode, retryAfterMs and cause', () => {
    const cause = new Error('boom');
    const e = new EntraRedisError('TOKEN_REQUEST_FAILED', 'failed', {
      isRetryable: true,
      statusCode: 503,
      retryAfterMs: 1000,
      cause,
    });
    expect(e).toBeInstanceOf(Error);
    expect(e).toMatchObject({
      name: 'EntraRedisError',
      code: 'TOKEN_REQUEST_FAILED',
      isRetryable: true,
      statusCode: 503,
      retryAfterMs: 1000,
    });
    expect(e.cause).toBe(cause);
    expect(new EntraRedisError('SOURCE_CLOSED', 'x').isRetryable).toBe(false);
  });

  it('reserves the adapter codes', () => {
    for (const code of [
      'AUTH_REFUSED',
      'PERMISSION_DENIED',
      'INSECURE_CONNECTION',
      'REAUTH_FAILED',
      'BLOCKING_COMMAND_INTERRUPTED',
      'HANDSHAKE_FAILED',
    ]) {
      expect(ENTRA_REDIS_ERROR_CODES).toContain(code);
    }
  });

  it('isEntraRedisError checks the shape, so a copy from another package instance passes', () => {
    const foreign = Object.assign(new Error('x'), {
      name: 'EntraRedisError',
      code: 'TOKEN_EXPIRED',
      isRetryable: true,
    });
    expect(isEntraRedisError(foreign)).toBe(true);
    expect(isEntraRedisError(new EntraRedisError('TOKEN_EXPIRED', 'x'))).toBe(true);
    expect(
      isEntraRedisError(
        Object.assign(new Error('x'), { name: 'EntraRedisError', code: 'NOPE', isRetryable: true }),
      ),
    ).toBe(false);
    expect(isEntraRedisError(new Error('x'))).toBe(false);
    expect(isEntraRedisError(null)).toBe(false);
    expect(isEntraRedisError('EntraRedisError')).toBe(false);
  });
});

describe('decodeAccessTokenClaims', () => {
  const good = makeJwt({ oid: 'abc', exp: 2_000_000_000, tid: 't' });
  const b64 = (v: string): string => Buffer.from(v).toString('base64url');

  it('decodes claims without verifying the signature', () => {
    expect(decodeAccessTokenClaims(good)).toMatchObject({
      oid: 'abc',
      exp: 2_000_000_000,
      tid: 't',
    });
  });

  const malformed: Array<[string, string, string]> = [
    ['empty', '', 'not a non-empty string'],
    ['two segments', 'a.b', 'has 2 segment(s)'],
    ['four segments', 'a.b.c.d', 'has 4 segment(s)'],
    ['bad alphabet', `${b64('{}')}.pay+load.sig`, 'payload segment is not base64url'],
    ['header not JSON', `${b64('nope')}.${b64('{}')}.sig`, 'header segment is not JSON'],
    ['payload an array', `${b64('{}')}.${b64('[1]')}.sig`, 'payload segment is not a JSON object'],
    ['payload null', `${b64('{}')}.${b64('null')}.sig`, 'payload segment is not a JSON object'],
    ['empty payload', `${b64('{}')}..sig`, 'payload segment is empty'],
    ['no oid', makeJwt({ exp: 1 }), '"oid" claim (the Redis username) is missing'],
    ['numeric oid', makeJwt({ oid: 5, exp: 1 }), '"oid" claim is not a non-empty string'],
    ['no exp', makeJwt({ oid: 'x' }), '"exp" claim is missing or not a number'],
    ['string exp', makeJwt({ oid: 'x', exp: '1' }), '"exp" claim is missing or not a number'],
    [
      'bad signature alphabet',
      `${good.split('.').slice(0, 2).join('.')}.si/g`,
      'signature segment is not base64url',
    ],
  ];

  it.each(malformed)(
    'rejects a token with %s, naming the problem and not the token',
    (_label, token, fragment) => {
      let error: unknown;
      try {
        decodeAccessTokenClaims(token);
      } catch (e) {
        error = e;
      }
      expect(error).toMatchObject({ code: 'TOKEN_MALFORMED', name: 'EntraRedisError' });
      expect((error as Error).message).toContain(fragment);
      if (token.length > 3) expect((error as Error).message).not.toContain(token);
    },
  );

  it('can decode any JWT when Redis claims are not required', () => {
    expect(decodeAccessTokenClaims(makeJwt({ sub: 'x' }), { requireRedisClaims: false })).toEqual({
      sub: 'x',
    });
  });
});
