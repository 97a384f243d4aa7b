import { EntraRedisError, isEntraRedisError } from '../errors.js';
import { classifyError } from '../lib/classify.js';
import { redactedCause, summarizeError } from '../lib/redact.js';

/**
 * Wraps whatever a credential threw into an {@link EntraRedisError}, classified (transient or
 * not) by name, code and HTTP status. The message carries a redacted one-line summary of the
 * cause, which stays available as `cause`: unchanged, unless printing it would show a token (a
 * credential's own error quoting one), then as a redacted copy.
 */
export function toRequestError(error: unknown, nowMs: number, retryCapMs: number): EntraRedisError {
  if (isEntraRedisError(error)) return error;
  const c = classifyError(error, nowMs);
  const name = (error as { name?: unknown } | null)?.name;
  const code =
    name === 'CredentialUnavailableError' ? 'CREDENTIAL_UNAVAILABLE' : 'TOKEN_REQUEST_FAILED';
  const advice = c.transient
    ? 'retrying with backoff'
    : `this looks permanent: check the identity's configuration (tenant, client id, secret, ` +
      `certificate, role assignment); retrying every ~${Math.round(retryCapMs / 1000)} s meanwhile`;
  return new EntraRedisError(
    code,
    `entra-redis: token request failed (${c.reason}): ${summarizeError(error)}; ${advice}`,
    {
      isRetryable: c.transient,
      cause: redactedCause(error),
      ...(c.statusCode !== undefined ? { statusCode: c.statusCode } : {}),
      ...(c.retryAfterMs !== undefined ? { retryAfterMs: c.retryAfterMs } : {}),
    },
  );
}

/** The error of a request that exceeded `requestTimeoutMs`. */
export function timeoutError(requestTimeoutMs: number): EntraRedisError {
  return new EntraRedisError(
    'TOKEN_REQUEST_TIMEOUT',
    `entra-redis: the token request took longer than "requestTimeoutMs" (${requestTimeoutMs} ms); ` +
      'it was aborted and will be retried',
    { isRetryable: true },
  );
}

/** The error every waiter gets once the source is closed. */
export function closedError(): EntraRedisError {
  return new EntraRedisError(
    'SOURCE_CLOSED',
    'entra-redis: the token source is closed; create a new one to get credentials',
  );
}

/** The fast failure of `getCredentials()` after the last token expired. */
export function expiredError(
  expiredAtMs: number,
  cause: EntraRedisError | undefined,
): EntraRedisError {
  const why = cause
    ? `the last refresh failed: ${cause.message}`
    : 'no fresh token has arrived yet (a request is pending or scheduled)';
  return new EntraRedisError(
    'TOKEN_EXPIRED',
    `entra-redis: the access token expired at ${new Date(expiredAtMs).toISOString()} and ${why}. ` +
      'The source keeps retrying and recovers by itself when the identity endpoint answers',
    { isRetryable: true, ...(cause ? { cause } : {}) },
  );
}
