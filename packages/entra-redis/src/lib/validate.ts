import { EntraRedisError } from '../errors.js';
import { describeType } from './redact.js';

/** Largest delay Node.js timers accept (about 24.8 days), in ms. */
export const MAX_TIMER_MS = 2_147_483_647;

const GUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const DOMAIN = /^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?(?:\.[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?)+$/i;

/**
 * Builds the `INVALID_OPTION` error: `<component>: "<name>" must be <requirement>; got <what>`.
 * `got` is the type of the value; the value itself only for numbers given to numeric options
 * (`showNumber`), never for anything that may be a secret.
 */
export function invalidOption(
  component: string,
  name: string,
  requirement: string,
  value: unknown,
  showNumber = false,
): EntraRedisError {
  const got =
    showNumber && typeof value === 'number' && !Number.isNaN(value)
      ? `${value}`
      : describeType(value);
  return new EntraRedisError(
    'INVALID_OPTION',
    `${component}: "${name}" must be ${requirement}; got ${got}`,
  );
}

/**
 * Throws `INVALID_OPTION` unless `value` is a token source (`new TokenSource(...)`):
 * the one check of every entry point that takes a `tokenSource`.
 *
 * @example
 * ```ts
 * requireTokenSource('entra-redis createRedis', options.tokenSource);
 * ```
 */
export function requireTokenSource(component: string, value: unknown): void {
  const source = value as { getCredentials?: unknown; onCredentials?: unknown } | null | undefined;
  if (typeof source?.getCredentials !== 'function' || typeof source.onCredentials !== 'function') {
    throw invalidOption(
      component,
      'tokenSource',
      'a TokenSource (new TokenSource({ credential }))',
      value,
    );
  }
}

/** A small validator bound to a component name (e.g. `entra-redis TokenSource`). */
export class OptionValidator {
  constructor(readonly component: string) {}

  fail(name: string, requirement: string, value: unknown, showNumber = false): never {
    throw invalidOption(this.component, name, requirement, value, showNumber);
  }

  object(name: string, value: unknown): Record<string, unknown> {
    if (typeof value !== 'object' || value === null || Array.isArray(value)) {
      this.fail(name, 'an object', value);
    }
    return value as Record<string, unknown>;
  }

  /** Rejects keys that are not in `known` (catches typos such as `refreshratio`). */
  knownKeys(name: string, value: Record<string, unknown>, known: readonly string[]): void {
    for (const key of Object.keys(value)) {
      if (!known.includes(key)) {
        throw new EntraRedisError(
          'INVALID_OPTION',
          `${this.component}: unknown option "${name ? `${name}.` : ''}${key}"; ` +
            `expected one of ${known.map((k) => `"${k}"`).join(', ')}`,
        );
      }
    }
  }

  number(
    name: string,
    value: unknown,
    min: number,
    max: number,
    requirement: string,
    exclusive = false,
  ): number {
    const ok =
      typeof value === 'number' &&
      Number.isFinite(value) &&
      (exclusive ? value > min && value < max : value >= min && value <= max);
    if (!ok) this.fail(name, requirement, value, true);
    return value as number;
  }

  nonEmptyString(name: string, value: unknown, hint = 'a non-empty string'): string {
    if (typeof value !== 'string' || value.trim().length === 0) this.fail(name, hint, value);
    return value as string;
  }

  guid(name: string, value: unknown, hint: string): string {
    const s = this.nonEmptyString(name, value, `a GUID (${hint})`);
    if (!GUID.test(s))
      this.fail(name, `a GUID such as 00000000-0000-0000-0000-000000000000 (${hint})`, value);
    return s;
  }

  /** A tenant: a GUID or a verified domain name; `extra` allows names like `organizations`. */
  tenant(name: string, value: unknown, extra: readonly string[] = []): string {
    const s = this.nonEmptyString(name, value, 'a tenant id (GUID) or tenant domain name');
    if (!GUID.test(s) && !DOMAIN.test(s) && !extra.includes(s.toLowerCase())) {
      this.fail(
        name,
        'a tenant id (GUID) or a tenant domain name such as contoso.onmicrosoft.com' +
          (extra.length ? ` (or ${extra.map((e) => `"${e}"`).join(', ')})` : ''),
        value,
      );
    }
    return s;
  }

  boolean(name: string, value: unknown): boolean {
    if (typeof value !== 'boolean') this.fail(name, 'true or false', value);
    return value as boolean;
  }

  func<T>(name: string, value: unknown, requirement = 'a function'): T {
    if (typeof value !== 'function') this.fail(name, requirement, value);
    return value as T;
  }
}
