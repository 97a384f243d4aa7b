import { inspect } from 'node:util';
import { REDACTED } from '../lib/redact.js';

/**
 * What a Redis client needs to authenticate: `AUTH <username> <password>`. The password (the
 * access token) is a getter on the prototype, not an own property: it does not show in
 * `Object.keys`, spreads, `JSON.stringify`, template strings or `util.inspect`. Read it explicitly.
 *
 * @example
 * ```ts
 * const { username, password } = await source.getCredentials();
 * await client.auth({ username, password });
 * ```
 */
export interface RedisCredentials {
  /** Redis username: the token's `oid` claim unless overridden. */
  readonly username: string;
  /** The access token (a prototype getter; never printed). */
  readonly password: string;
  /** Object id of the principal (the token's `oid` claim). */
  readonly oid: string;
  /** Tenant id (the token's `tid` claim), when present. */
  readonly tenantId?: string;
  /** When the token expires, in ms since the epoch (the earlier of the credential's and the JWT's). */
  readonly expiresAtMs: number;
  /** When the token was issued, in ms since the epoch (local clock). */
  readonly issuedAtMs: number;
}

class Credentials implements RedisCredentials {
  readonly username: string;
  readonly oid: string;
  declare readonly tenantId?: string;
  readonly expiresAtMs: number;
  readonly issuedAtMs: number;
  readonly #password: string;

  constructor(fields: RedisCredentials) {
    this.username = fields.username;
    this.oid = fields.oid;
    if (fields.tenantId !== undefined) {
      Object.defineProperty(this, 'tenantId', { value: fields.tenantId, enumerable: true });
    }
    this.expiresAtMs = fields.expiresAtMs;
    this.issuedAtMs = fields.issuedAtMs;
    this.#password = fields.password;
    Object.freeze(this);
  }

  /** The access token. A getter on the prototype: never an own, printable property. */
  get password(): string {
    return this.#password;
  }

  toJSON(): Record<string, unknown> {
    return {
      username: this.username,
      password: REDACTED,
      oid: this.oid,
      ...(this.tenantId !== undefined ? { tenantId: this.tenantId } : {}),
      expiresAtMs: this.expiresAtMs,
      issuedAtMs: this.issuedAtMs,
    };
  }

  toString(): string {
    return `RedisCredentials(username=${this.username}, password=${REDACTED})`;
  }

  [inspect.custom](): string {
    return `RedisCredentials ${inspect(this.toJSON())}`;
  }
}

/** Builds a frozen {@link RedisCredentials} whose password never shows when printed. */
export function createRedisCredentials(fields: RedisCredentials): RedisCredentials {
  return new Credentials(fields);
}
