/**
 * Every stable error code of entra-redis. Callers switch on `error.code`; the set only grows.
 *
 * - `INVALID_OPTION`: an option failed validation at construction (the message names it).
 * - `CREDENTIAL_UNAVAILABLE`: the identity cannot be used here (missing environment, file, …).
 * - `TOKEN_REQUEST_FAILED`: the token endpoint or credential refused or failed.
 * - `TOKEN_REQUEST_TIMEOUT`: a token request took longer than `requestTimeoutMs`.
 * - `TOKEN_EXPIRED`: the last token expired and no fresh one could be obtained (see `cause`).
 * - `TOKEN_MALFORMED`: the credential returned something that is not a usable access token.
 * - `SOURCE_CLOSED`: the token source was closed.
 * - `AUTH_REFUSED`, `PERMISSION_DENIED`, `INSECURE_CONNECTION`, `REAUTH_FAILED`,
 *   `BLOCKING_COMMAND_INTERRUPTED`, `HANDSHAKE_FAILED`: raised by the Redis client adapters.
 *
 * @example
 * ```ts
 * import { isEntraRedisError } from 'entra-redis';
 * try { await source.getCredentials(); } catch (e) {
 *   if (isEntraRedisError(e) && e.code === 'TOKEN_EXPIRED') console.warn(e.cause);
 * }
 * ```
 */
export type EntraRedisErrorCode =
  | 'INVALID_OPTION'
  | 'CREDENTIAL_UNAVAILABLE'
  | 'TOKEN_REQUEST_FAILED'
  | 'TOKEN_REQUEST_TIMEOUT'
  | 'TOKEN_EXPIRED'
  | 'TOKEN_MALFORMED'
  | 'SOURCE_CLOSED'
  | 'AUTH_REFUSED'
  | 'PERMISSION_DENIED'
  | 'INSECURE_CONNECTION'
  | 'REAUTH_FAILED'
  | 'BLOCKING_COMMAND_INTERRUPTED'
  | 'HANDSHAKE_FAILED';

/**
 * All values of {@link EntraRedisErrorCode}, for validation and exhaustive tests.
 *
 * @example
 * ```ts
 * ENTRA_REDIS_ERROR_CODES.includes('TOKEN_EXPIRED'); // true
 * ```
 */
export const ENTRA_REDIS_ERROR_CODES: readonly EntraRedisErrorCode[] = Object.freeze([
  'INVALID_OPTION',
  'CREDENTIAL_UNAVAILABLE',
  'TOKEN_REQUEST_FAILED',
  'TOKEN_REQUEST_TIMEOUT',
  'TOKEN_EXPIRED',
  'TOKEN_MALFORMED',
  'SOURCE_CLOSED',
  'AUTH_REFUSED',
  'PERMISSION_DENIED',
  'INSECURE_CONNECTION',
  'REAUTH_FAILED',
  'BLOCKING_COMMAND_INTERRUPTED',
  'HANDSHAKE_FAILED',
]);

/**
 * Construction options of {@link EntraRedisError}.
 *
 * @example
 * ```ts
 * new EntraRedisError('TOKEN_REQUEST_FAILED', 'token endpoint answered 503', {
 *   isRetryable: true, statusCode: 503, cause: err,
 * });
 * ```
 */
export interface EntraRedisErrorOptions {
  /** Whether trying again later may succeed. @default false */
  readonly isRetryable?: boolean;
  /** HTTP status of the failed request, when there was one. */
  readonly statusCode?: number;
  /** How long the server asked us to wait before retrying (from `Retry-After`), in ms. */
  readonly retryAfterMs?: number;
  /** The underlying error. */
  readonly cause?: unknown;
}

/**
 * Where the troubleshooting entry of `code` is: `docs/troubleshooting.md` of the package (and of
 * its repository), one level-2 heading per code.
 *
 * @example
 * ```ts
 * troubleshootingLink('TOKEN_EXPIRED'); // 'entra-redis/docs/troubleshooting.md#token_expired'
 * ```
 */
export function troubleshootingLink(code: EntraRedisErrorCode): string {
  return `entra-redis/docs/troubleshooting.md#${code.toLowerCase()}`;
}

const POINTER = / To troubleshoot, see entra-redis\/docs\/troubleshooting\.md#[a-z_]+\.$/;

/**
 * The message of an {@link EntraRedisError} without its closing troubleshooting pointer (for
 * quoting one error inside another, which has its own).
 *
 * @example
 * ```ts
 * `re-authentication failed: ${withoutPointer(error.message)}`;
 * ```
 */
export function withoutPointer(message: string): string {
  return message.replace(POINTER, '');
}

/**
 * The one error class of entra-redis. Never compare with `instanceof` across package copies;
 * use {@link isEntraRedisError} and switch on {@link EntraRedisError.code}.
 *
 * @example
 * ```ts
 * try {
 *   await source.getCredentials();
 * } catch (e) {
 *   if (isEntraRedisError(e) && e.isRetryable) scheduleRetry();
 * }
 * ```
 */
export class EntraRedisError extends Error {
  /** Stable machine-readable code. */
  readonly code: EntraRedisErrorCode;
  /** Whether trying again later may succeed. */
  readonly isRetryable: boolean;
  /** HTTP status of the failed request, when there was one. */
  readonly statusCode?: number;
  /** Server-requested delay before a retry, in ms (from `Retry-After`). */
  readonly retryAfterMs?: number;

  /**
   * `message` is what is wrong and what to do; a pointer to the code's troubleshooting entry is
   * appended (`… To troubleshoot, see entra-redis/docs/troubleshooting.md#<code>.`).
   */
  constructor(code: EntraRedisErrorCode, message: string, options: EntraRedisErrorOptions = {}) {
    const text = withoutPointer(message).trimEnd();
    super(
      `${text}${/[.!?]$/.test(text) ? '' : '.'} To troubleshoot, see ${troubleshootingLink(code)}.`,
      options.cause === undefined ? undefined : { cause: options.cause },
    );
    this.name = 'EntraRedisError';
    this.code = code;
    this.isRetryable = options.isRetryable ?? false;
    if (options.statusCode !== undefined) this.statusCode = options.statusCode;
    if (options.retryAfterMs !== undefined) this.retryAfterMs = options.retryAfterMs;
  }
}

/**
 * Whether `e` is an {@link EntraRedisError}, from this or any other copy of the package.
 * Checks the shape (`name` and a known `code`), never `instanceof`.
 *
 * @example
 * ```ts
 * if (isEntraRedisError(e) && e.code === 'SOURCE_CLOSED') return;
 * ```
 */
export function isEntraRedisError(e: unknown): e is EntraRedisError {
  if (typeof e !== 'object' || e === null) return false;
  const candidate = e as { name?: unknown; code?: unknown; isRetryable?: unknown };
  return (
    candidate.name === 'EntraRedisError' &&
    typeof candidate.code === 'string' &&
    (ENTRA_REDIS_ERROR_CODES as readonly string[]).includes(candidate.code) &&
    typeof candidate.isRetryable === 'boolean'
  );
}
