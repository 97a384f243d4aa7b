import { accessSync, constants } from 'node:fs';
import { EntraRedisError } from '../errors.js';
import type { OptionValidator } from '../lib/validate.js';

/**
 * Authority options every Entra flow accepts (sovereign clouds, and the local emulator).
 *
 * @example
 * ```ts
 * servicePrincipalSecret({ tenantId, clientId, clientSecret,
 *   authorityHost: 'https://login.microsoftonline.us', disableInstanceDiscovery: true });
 * ```
 */
export interface EntraAuthorityOptions {
  /** Authority host, an https URL. @default 'https://login.microsoftonline.com' (or AZURE_AUTHORITY_HOST) */
  readonly authorityHost?: string;
  /** Skip instance discovery (needed for private clouds and the emulator). @default false */
  readonly disableInstanceDiscovery?: boolean;
}

/** Checks `authorityHost` and `disableInstanceDiscovery` when present. */
export function checkAuthority(v: OptionValidator, options: Record<string, unknown>): void {
  if (options.authorityHost !== undefined) {
    const host = v.nonEmptyString('authorityHost', options.authorityHost, 'an https URL');
    let protocol = '';
    try {
      protocol = new URL(host).protocol;
    } catch {
      // reported below
    }
    if (protocol !== 'https:') {
      v.fail('authorityHost', 'an https URL such as https://login.microsoftonline.com', 'string');
    }
  }
  if (options.disableInstanceDiscovery !== undefined) {
    v.boolean('disableInstanceDiscovery', options.disableInstanceDiscovery);
  }
}

/** Checks that a file exists and is readable now; the message names the option, not the data. */
export function checkReadable(component: string, name: string, path: string): void {
  try {
    accessSync(path, constants.R_OK);
  } catch (error) {
    const code = (error as { code?: unknown }).code;
    throw new EntraRedisError(
      'INVALID_OPTION',
      `${component}: "${name}" must be a readable file; ${path} is not ` +
        `(${typeof code === 'string' ? code : 'unreadable'}). Check the path and its permissions`,
      { cause: error },
    );
  }
}

/** Shallow copy without the listed keys (what is passed through to @azure/identity). */
export function without<T extends object>(
  options: T,
  keys: readonly string[],
): Record<string, unknown> {
  const rest: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(options)) if (!keys.includes(key)) rest[key] = value;
  return rest;
}
