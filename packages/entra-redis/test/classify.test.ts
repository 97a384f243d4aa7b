import { describe, expect, it } from 'vitest';
import { classifyError, parseRetryAfterMs } from '../src/lib/classify.js';
import { retryDelayMs } from '../src/lib/backoff.js';
import { toRequestError } from '../src/token/failure.js';
import { makeJwt } from './fakes.js';
import { EntraRedisError } from 'entra-redis';

const named = (name: string, message: string, extra: Record<string, unknown> = {}): Error =>
  Object.assign(new Error(message), { name }, extra);

// Shapes as thrown by @azure/identity 4.x, msal-node and Node.js (checked in their sources).
const table: Array<[string, unknown, boolean, Record<string, unknown>?]> = [
  ['ECONNREFUSED', Object.assign(new Error('connect'), { code: 'ECONNREFUSED' }), true],
  ['ECONNRESET', Object.assign(new Error('reset'), { code: 'ECONNRESET' }), true],
  ['ETIMEDOUT', Object.assign(new Error('t'), { code: 'ETIMEDOUT' }), true],
  [
    'undici socket error',
    Object.assign(new Error('other side closed'), { code: 'UND_ERR_SOCKET' }),
    true,
  ],
  ['core-rest-pipeline send error', named('RestError', 'x', { code: 'REQUEST_SEND_ERROR' }), true],
  [
    'HTTP 500 AuthenticationError',
    named('AuthenticationError', 'x', { statusCode: 500 }),
    true,
    { statusCode: 500 },
  ],
  ['HTTP 503', named('AuthenticationError', 'x', { statusCode: 503 }), true],
  ['HTTP 501 (not retryable)', named('RestError', 'x', { statusCode: 501 }), false],
  [
    'HTTP 429 with Retry-After',
    named('RestError', 'x', {
      statusCode: 429,
      response: {
        status: 429,
        headers: { get: (n: string) => (n === 'retry-after' ? '12' : undefined) },
      },
    }),
    true,
    { retryAfterMs: 12_000 },
  ],
  ['HTTP 408', named('RestError', 'x', { statusCode: 408 }), true],
  [
    'AADSTS7000215 invalid_client 400',
    named(
      'AuthenticationError',
      'invalid_client Status code: 400\nAADSTS7000215: Invalid client secret provided.',
      { statusCode: 400 },
    ),
    false,
    { statusCode: 400 },
  ],
  ['HTTP 401', named('AuthenticationError', 'x', { statusCode: 401 }), false],
  [
    'msal ServerError with status 500',
    named('ServerError', 'server_error: boom', { errorCode: 'server_error', status: 500 }),
    true,
  ],
  [
    'msal ServerError invalid_client',
    named('ServerError', 'invalid_client: AADSTS7000222', { errorCode: 'invalid_client' }),
    false,
  ],
  [
    'msal network_error (ClientAuthError)',
    named('ClientAuthError', 'network_error: Network request failed', {
      errorCode: 'network_error',
    }),
    true,
  ],
  [
    'AuthenticationRequiredError wrapping a 5xx message',
    named('AuthenticationRequiredError', 'server_error: Error(s): 50001 - Description: temporary'),
    true,
  ],
  [
    'AuthenticationRequiredError wrapping invalid_client',
    named(
      'AuthenticationRequiredError',
      'invalid_client: Error(s): 7000215 - Description: AADSTS7000215: Invalid client secret',
    ),
    false,
  ],
  [
    // msal's throttling cache replaying a 5xx (numeric error codes, no status), as
    // @azure/identity 4.13 throws it; 4.14 adds the ServerError as `cause`
    'AuthenticationRequiredError: a 5xx replayed by msal',
    named('AuthenticationRequiredError', '90033: AADSTS90033: A transient error has occurred.', {
      cause: named('ServerError', '90033: AADSTS90033: A transient error', { errorCode: '90033' }),
    }),
    true,
  ],
  [
    'AuthenticationRequiredError: a 429 replayed by msal',
    named('AuthenticationRequiredError', '50196: AADSTS50196: Too many requests; retry later.'),
    true,
  ],
  [
    'AuthenticationRequiredError (needs a user)',
    named('AuthenticationRequiredError', 'Silent authentication failed.'),
    false,
  ],
  [
    'CredentialUnavailableError without cause',
    named('CredentialUnavailableError', 'EnvironmentCredential is unavailable.'),
    false,
  ],
  [
    // @azure/identity, after a refused connection to the authority (seen in an outage)
    'CredentialUnavailableError: msal could not fetch the authority metadata',
    named('CredentialUnavailableError', 'endpoints_resolution_error: Endpoints cannot be resolved'),
    true,
  ],
  [
    'CredentialUnavailableError with network cause (managed identity)',
    named('CredentialUnavailableError', 'ManagedIdentityCredential: Network unreachable.', {
      cause: Object.assign(new Error('x'), { code: 'ECONNREFUSED' }),
    }),
    true,
  ],
  [
    'AggregateAuthenticationError of unavailable credentials',
    named('AggregateAuthenticationError', 'ChainedTokenCredential failed', {
      errors: [named('CredentialUnavailableError', 'env missing')],
    }),
    false,
  ],
  ['AbortError', named('AbortError', 'aborted'), true],
  [
    'our timeout error',
    new EntraRedisError('TOKEN_REQUEST_TIMEOUT', 'x', { isRetryable: true }),
    true,
  ],
  ['our malformed error', new EntraRedisError('TOKEN_MALFORMED', 'x'), false],
  ['a plain TypeError (unknown: transient)', new TypeError('x is not a function'), true],
  ['a thrown string', 'boom', true],
];

describe('classifyError', () => {
  it.each(table)('%s', (_label, error, transient, extra) => {
    const c = classifyError(error, 0);
    expect(c.transient).toBe(transient);
    if (extra) expect(c).toMatchObject(extra);
  });

  it('parses Retry-After in seconds and as an HTTP date', () => {
    expect(parseRetryAfterMs('3', 0)).toBe(3000);
    expect(parseRetryAfterMs(new Date(10_000).toUTCString(), 4_000)).toBe(6_000);
    expect(parseRetryAfterMs('soon', 0)).toBeUndefined();
  });

  it('wraps errors with a redacted summary, the cause (a redacted copy if it quotes a token), and the right code', () => {
    const jwt = makeJwt({ oid: 'x' });
    const cause = named('CredentialUnavailableError', `unavailable; last token ${jwt}`);
    const e = toRequestError(cause, 0, 5000);
    expect(e).toMatchObject({ code: 'CREDENTIAL_UNAVAILABLE', isRetryable: false });
    expect(e.cause).toMatchObject({
      name: 'CredentialUnavailableError',
      message: 'unavailable; last token [REDACTED]',
    });
    expect(e.message).not.toContain(jwt);
    expect(e.message).toContain('[REDACTED]');
    const plain = named('CredentialUnavailableError', 'EnvironmentCredential is unavailable.');
    expect(toRequestError(plain, 0, 5000).cause).toBe(plain);
  });
});

describe('retryDelayMs', () => {
  const settings = {
    initialDelayMs: 500,
    maxDelayMs: 5000,
    multiplier: 2,
    maxRetryAfterMs: 60_000,
  };
  it('grows exponentially under full jitter and never exceeds the cap', () => {
    expect(retryDelayMs(settings, 1, { transient: true }, () => 0.999)).toBeLessThanOrEqual(500);
    expect(retryDelayMs(settings, 3, { transient: true }, () => 0.999)).toBe(1998);
    for (let attempt = 1; attempt < 200; attempt++) {
      expect(retryDelayMs(settings, attempt, { transient: true }, Math.random)).toBeLessThanOrEqual(
        5000,
      );
    }
  });
  it('uses the capped rate for non-transient failures and honours Retry-After up to its bound', () => {
    expect(retryDelayMs(settings, 1, { transient: false }, () => 0)).toBe(4000);
    expect(retryDelayMs(settings, 1, { transient: false }, () => 0.999)).toBeLessThanOrEqual(5000);
    expect(retryDelayMs(settings, 1, { transient: true, retryAfterMs: 20_000 }, () => 0)).toBe(
      20_000,
    );
    expect(retryDelayMs(settings, 1, { transient: true, retryAfterMs: 3_600_000 }, () => 0)).toBe(
      60_000,
    );
  });
});
