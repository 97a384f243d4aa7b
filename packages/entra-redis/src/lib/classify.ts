/**
 * What the retry logic needs to know about a failed token request. Classification reads
 * `name`, `code`, `errorCode`, HTTP status fields and message keywords, never `instanceof`
 * (the error classes may come from another copy of @azure/identity or msal).
 */
export interface ErrorClassification {
  /** Whether the failure is likely to pass by itself (network, timeout, 5xx, 429). */
  readonly transient: boolean;
  /** HTTP status found on the error or its causes. */
  readonly statusCode?: number;
  /** Server-requested wait from `Retry-After`, in ms. */
  readonly retryAfterMs?: number;
  /** Short reason for logs, e.g. `status 503` or `code ECONNREFUSED`. */
  readonly reason: string;
}

const NETWORK_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ECONNABORTED',
  'ETIMEDOUT',
  'ESOCKETTIMEDOUT',
  'EPIPE',
  'EHOSTUNREACH',
  'EHOSTDOWN',
  'ENETUNREACH',
  'ENETDOWN',
  'ENOTFOUND',
  'EAI_AGAIN',
  'UND_ERR_CONNECT_TIMEOUT',
  'UND_ERR_HEADERS_TIMEOUT',
  'UND_ERR_BODY_TIMEOUT',
  'UND_ERR_SOCKET',
  'REQUEST_SEND_ERROR',
  'network_error',
  // msal: the authority's metadata could not be fetched (the identity endpoint unreachable)
  'endpoints_resolution_error',
  'temporarily_unavailable',
  'server_error',
]);

const PERMANENT_CODES = new Set([
  'invalid_client',
  'unauthorized_client',
  'invalid_scope',
  'invalid_grant',
  'invalid_request',
  'invalid_resource',
  'access_denied',
  'consent_required',
  'interaction_required',
  'login_required',
]);

const TRANSIENT_NAMES = new Set(['AbortError', 'TimeoutError', 'FetchError']);

const PERMANENT_MESSAGE =
  /\b(invalid_client|unauthorized_client|invalid_scope|invalid_grant|invalid_request|invalid_resource|interaction_required|consent_required|login_required)\b|AADSTS(7000215|7000222|700016|700027|90002|50034|500011|50126|53003)\b/i;
const TRANSIENT_MESSAGE =
  /\b(temporarily_unavailable|server_error|network_error|endpoints_resolution_error|too_many_requests|throttl\w*|timed? ?out|timeout|socket hang up|internal server error|service unavailable|bad gateway|gateway timeout|ECONNREFUSED|ECONNRESET|ETIMEDOUT|EAI_AGAIN|ENOTFOUND)\b/i;

/**
 * An answer replayed by MSAL's throttling cache: msal-common rebuilds a `ServerError` from the
 * cached response's numeric `error_codes` ("90033: AADSTS90033: A transient error ..."), with no
 * status, and @azure/identity wraps it in an `AuthenticationRequiredError` (otherwise read as
 * needing a user). The cache keeps only 429 and 5xx answers (and error answers that carry
 * `Retry-After`): a replay passes by itself. Same shape in msal-node 5 and 7.
 */
const THROTTLE_REPLAY_MESSAGE = /^\d+(?: \d+)*: AADSTS\d+:/;

type Bag = Record<string, unknown>;

function asBag(value: unknown): Bag | undefined {
  return typeof value === 'object' && value !== null ? (value as Bag) : undefined;
}

function statusOf(e: Bag): number | undefined {
  for (const candidate of [e.statusCode, e.status, asBag(e.response)?.status]) {
    if (typeof candidate === 'number' && candidate >= 100 && candidate < 600) return candidate;
  }
  return undefined;
}

function header(headers: unknown, name: string): string | undefined {
  const bag = asBag(headers);
  if (!bag) return undefined;
  if (typeof bag.get === 'function') {
    const value: unknown = (bag.get as (n: string) => unknown).call(headers, name);
    return typeof value === 'string' ? value : undefined;
  }
  for (const [key, value] of Object.entries(bag)) {
    if (key.toLowerCase() === name && typeof value === 'string') return value;
  }
  return undefined;
}

/**
 * Parses a `Retry-After` value (delta seconds or HTTP date) into ms.
 *
 * @example
 * ```ts
 * parseRetryAfterMs('3', Date.now()); // 3000
 * ```
 */
export function parseRetryAfterMs(value: string, nowMs: number): number | undefined {
  const trimmed = value.trim();
  if (/^\d+(\.\d+)?$/.test(trimmed)) return Math.round(Number(trimmed) * 1000);
  const dateMs = Date.parse(trimmed);
  return Number.isNaN(dateMs) ? undefined : Math.max(0, dateMs - nowMs);
}

function retryAfterOf(e: Bag, nowMs: number): number | undefined {
  for (const candidate of [e.retryAfterMs, e.retryAfterInMs]) {
    if (typeof candidate === 'number' && Number.isFinite(candidate) && candidate >= 0) {
      return candidate;
    }
  }
  const raw = header(e.headers, 'retry-after') ?? header(asBag(e.response)?.headers, 'retry-after');
  return raw === undefined ? undefined : parseRetryAfterMs(raw, nowMs);
}

function byStatus(status: number): boolean {
  return status === 408 || status === 429 || (status >= 500 && status !== 501 && status !== 505);
}

/**
 * Classifies a failure of `TokenCredential.getToken` as transient or not, walking the `cause`
 * chain (and `errors` of aggregate errors). Unknown errors count as transient, except
 * `AuthenticationRequiredError`, which needs a user and does not pass by itself.
 *
 * @example
 * ```ts
 * classifyError(Object.assign(new Error('x'), { code: 'ECONNREFUSED' })).transient; // true
 * ```
 */
export function classifyError(error: unknown, nowMs: number = Date.now()): ErrorClassification {
  let statusCode: number | undefined;
  let retryAfterMs: number | undefined;
  let verdict: { transient: boolean; reason: string } | undefined;
  let fallback: { transient: boolean; reason: string } = { transient: true, reason: 'unknown' };

  const queue: unknown[] = [error];
  const seen = new Set<unknown>();
  while (queue.length > 0 && seen.size < 10) {
    const current = queue.shift();
    const e = asBag(current);
    if (!e || seen.has(e)) continue;
    seen.add(e);
    statusCode ??= statusOf(e);
    retryAfterMs ??= retryAfterOf(e, nowMs);
    const name = typeof e.name === 'string' ? e.name : '';
    const code = [e.code, e.errorCode].find((c): c is string => typeof c === 'string');
    const message = typeof e.message === 'string' ? e.message : '';

    if (!verdict) {
      if (name === 'EntraRedisError' && typeof e.isRetryable === 'boolean') {
        verdict = { transient: e.isRetryable, reason: `code ${String(e.code)}` };
      } else if (code !== undefined && NETWORK_CODES.has(code)) {
        verdict = { transient: true, reason: `code ${code}` };
      } else if (code !== undefined && PERMANENT_CODES.has(code)) {
        verdict = { transient: false, reason: `code ${code}` };
      } else if (statusOf(e) !== undefined) {
        const status = statusOf(e) as number;
        verdict = { transient: byStatus(status), reason: `status ${status}` };
      } else if (TRANSIENT_NAMES.has(name)) {
        verdict = { transient: true, reason: name };
      } else if (PERMANENT_MESSAGE.test(message)) {
        verdict = { transient: false, reason: `message ${PERMANENT_MESSAGE.exec(message)?.[0]}` };
      } else if (THROTTLE_REPLAY_MESSAGE.test(message)) {
        verdict = { transient: true, reason: 'replayed by msal throttling cache' };
      } else if (TRANSIENT_MESSAGE.test(message)) {
        verdict = { transient: true, reason: `message ${TRANSIENT_MESSAGE.exec(message)?.[0]}` };
      } else if (name === 'AuthenticationRequiredError' || name === 'CredentialUnavailableError') {
        // Decided by a cause if one is found; otherwise it needs a person or a configuration.
        if (fallback.reason === 'unknown') fallback = { transient: false, reason: name };
      }
    }
    if (e.cause !== undefined) queue.push(e.cause);
    if (Array.isArray(e.errors)) queue.push(...(e.errors as unknown[]));
  }
  const result = verdict ?? fallback;
  return {
    transient: result.transient,
    reason: result.reason,
    ...(statusCode !== undefined ? { statusCode } : {}),
    ...(retryAfterMs !== undefined ? { retryAfterMs } : {}),
  };
}
