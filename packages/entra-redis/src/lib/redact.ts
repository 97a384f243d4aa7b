import { inspect } from 'node:util';

/** A JSON Web Token (header.payload.signature, base64url). Headers always start with `eyJ`. */
const JWT_PATTERN = /eyJ[A-Za-z0-9_-]{2,}\.[A-Za-z0-9_-]{2,}\.[A-Za-z0-9_-]*/g;
/** `Bearer <anything>` as found in echoed HTTP headers. */
const BEARER_PATTERN = /\b(Bearer)\s+[A-Za-z0-9._~+/=-]{8,}/gi;
/** `client_secret=...`, `client_assertion=...`, `access_token=...` in echoed form bodies. */
const FORM_SECRET_PATTERN =
  /\b(client_secret|client_assertion|access_token|refresh_token|password)=[^&\s"']+/gi;

/** Placeholder written where a secret was. */
export const REDACTED = '[REDACTED]';

/**
 * Removes anything that looks like a token or secret from `text`: JWTs, bearer values,
 * secret-bearing form fields, and every string of `secrets` (at least 4 characters long).
 *
 * @example
 * ```ts
 * redactText(`got ${jwt}`); // 'got [REDACTED]'
 * ```
 */
export function redactText(text: string, secrets: Iterable<string> = []): string {
  let out = text
    .replace(JWT_PATTERN, REDACTED)
    .replace(BEARER_PATTERN, `$1 ${REDACTED}`)
    .replace(FORM_SECRET_PATTERN, `$1=${REDACTED}`);
  for (const secret of secrets) {
    if (secret.length >= 4) out = out.split(secret).join(REDACTED);
  }
  return out;
}

/**
 * The type of a value as a user would name it, for messages that must not echo the value.
 *
 * @example
 * ```ts
 * describeType(null); // 'null'
 * describeType([1]); // 'array'
 * ```
 */
export function describeType(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'array';
  if (typeof value === 'number' && Number.isNaN(value)) return 'NaN';
  return typeof value;
}

/**
 * A one-line, redacted, bounded description of an error (`Name: first line of message`),
 * safe to put in our own messages and log fields.
 *
 * @example
 * ```ts
 * summarizeError(new TypeError('bad\nmore')); // 'TypeError: bad'
 * ```
 */
export function summarizeError(error: unknown, secrets: Iterable<string> = [], maxLength = 300) {
  let text: string;
  if (error instanceof Error || (typeof error === 'object' && error !== null)) {
    const e = error as { name?: unknown; message?: unknown };
    const name = typeof e.name === 'string' ? e.name : 'Error';
    const message = typeof e.message === 'string' ? e.message : '';
    const firstLine = message.split('\n').find((line) => line.trim() !== '') ?? '';
    text = firstLine ? `${name}: ${firstLine.trim()}` : name;
  } else {
    text = `thrown ${describeType(error)}`;
  }
  text = redactText(text, secrets);
  return text.length > maxLength ? `${text.slice(0, maxLength - 1)}…` : text;
}

/**
 * `error` itself, to keep as the `cause` of one of our errors, unless printing it would show a
 * token (a credential's own error quoting one): then a copy with the same name, code and status
 * whose message and stack are redacted, and whose causes are treated the same way.
 *
 * @example
 * ```ts
 * new EntraRedisError('TOKEN_REQUEST_FAILED', '…', { cause: redactedCause(error) });
 * ```
 */
export function redactedCause(error: unknown, depth = 0): unknown {
  const shown = inspect(error, { depth: 6 });
  if (redactText(shown) === shown) return error;
  if (typeof error !== 'object' || error === null || depth > 4) {
    return redactText(typeof error === 'object' ? shown : String(error));
  }
  const e = error as Record<string, unknown>;
  const copy = new Error(redactText(String(e.message ?? ''))) as Error & Record<string, unknown>;
  copy.name = typeof e.name === 'string' ? e.name : 'Error';
  copy.stack = typeof e.stack === 'string' ? redactText(e.stack) : copy.stack;
  for (const key of ['code', 'errorCode', 'statusCode', 'status', 'subError'] as const) {
    const value = e[key];
    if (typeof value === 'string' || typeof value === 'number') copy[key] = value;
  }
  if (e.cause !== undefined) copy.cause = redactedCause(e.cause, depth + 1);
  return copy;
}
