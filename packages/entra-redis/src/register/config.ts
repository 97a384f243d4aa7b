// The preload's configuration: environment variables only, read and checked once at startup.
// Every message names the variable and what it accepts; none prints a secret.
import { accessSync, constants } from 'node:fs';
import { EntraRedisError } from '../errors.js';
import { normalizeTokenSourceOptions } from '../token/normalize-options.js';
import { AZURE_HOST_PATTERNS, parseHostPatterns, type HostPattern } from './hosts.js';

/** The identity kinds of ENTRA_REDIS_CREDENTIAL. */
export const CREDENTIAL_KINDS = [
  'default',
  'managed-identity',
  'workload-identity',
  'service-principal',
] as const;

/** One of {@link CREDENTIAL_KINDS}. */
export type CredentialKind = (typeof CREDENTIAL_KINDS)[number];

/** The log levels of ENTRA_REDIS_LOG. */
export const LOG_LEVELS = ['silent', 'info', 'debug'] as const;

/** One of {@link LOG_LEVELS}. */
export type LogLevel = (typeof LOG_LEVELS)[number];

/** What the identity needs, read from the variables the Azure SDK reads. */
export interface IdentitySettings {
  readonly kind: CredentialKind;
  readonly tenantId?: string;
  readonly clientId?: string;
  /** Never printed. */
  readonly clientSecret?: string;
  readonly certificatePath?: string;
  /** Never printed. */
  readonly certificatePassword?: string;
  readonly sendCertificateChain?: boolean;
  readonly tokenFilePath?: string;
  /** AZURE_AUTHORITY_HOST: a sovereign cloud or the emulator (instance discovery off). */
  readonly authorityHost?: string;
}

/** Token source options settable from the environment. */
export interface SourceSettings {
  readonly scopes?: string;
  readonly refreshRatio?: number;
  readonly minRemainingMs?: number;
  readonly minRefreshIntervalMs?: number;
}

/** Everything the preload reads from the environment. */
export interface RegisterConfig {
  readonly identity: IdentitySettings;
  /** Azure's host names, then ENTRA_REDIS_HOSTS. */
  readonly hosts: readonly HostPattern[];
  readonly log: LogLevel;
  readonly source: SourceSettings;
}

type Env = Record<string, string | undefined>;

const PREFIX = 'entra-redis/register';

function invalid(message: string): EntraRedisError {
  return new EntraRedisError('INVALID_OPTION', `${PREFIX}: ${message}`);
}

function oneOf<T extends string>(env: Env, name: string, values: readonly T[], fallback: T): T {
  const raw = env[name]?.trim();
  if (raw === undefined || raw === '') return fallback;
  if ((values as readonly string[]).includes(raw)) return raw as T;
  throw invalid(`${name} must be one of ${values.join(', ')} (got "${raw}")`);
}

const GUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const TENANT = /^(?:[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}|[a-z0-9.-]+)$/i;

function optional(env: Env, name: string): string | undefined {
  const value = env[name]?.trim();
  return value === undefined || value === '' ? undefined : value;
}

function required(env: Env, name: string, kind: CredentialKind, what: string): string {
  const value = optional(env, name);
  if (value === undefined) {
    throw invalid(`ENTRA_REDIS_CREDENTIAL=${kind} needs ${name} (${what}); it is not set`);
  }
  return value;
}

function guid(name: string, value: string): string {
  if (!GUID.test(value)) throw invalid(`${name} must be a GUID (got "${value}")`);
  return value;
}

function readable(name: string, path: string): string {
  try {
    accessSync(path, constants.R_OK);
  } catch (error) {
    const code = (error as { code?: unknown }).code;
    throw invalid(
      `${name} must be a readable file; ${path} is not (${typeof code === 'string' ? code : 'unreadable'})`,
    );
  }
  return path;
}

function identity(env: Env): IdentitySettings {
  const kind = oneOf(env, 'ENTRA_REDIS_CREDENTIAL', CREDENTIAL_KINDS, 'default');
  const authority = optional(env, 'AZURE_AUTHORITY_HOST');
  if (authority !== undefined && !/^https:\/\/[^/\s]+/i.test(authority)) {
    throw invalid(`AZURE_AUTHORITY_HOST must be an https URL (got "${authority}")`);
  }
  const authorityHost = authority === undefined ? {} : { authorityHost: authority };
  const clientId = optional(env, 'AZURE_CLIENT_ID');
  switch (kind) {
    case 'default':
      return { kind, ...authorityHost };
    case 'managed-identity':
      // User-assigned when AZURE_CLIENT_ID is set, as for the Azure SDK.
      return { kind, ...(clientId ? { clientId: guid('AZURE_CLIENT_ID', clientId) } : {}) };
    case 'workload-identity': {
      const tenantId = required(env, 'AZURE_TENANT_ID', kind, 'the directory (tenant) id');
      const id = required(env, 'AZURE_CLIENT_ID', kind, 'the client id of the identity');
      const file = required(env, 'AZURE_FEDERATED_TOKEN_FILE', kind, 'the projected token file');
      return {
        kind,
        tenantId: tenant(tenantId),
        clientId: guid('AZURE_CLIENT_ID', id),
        tokenFilePath: readable('AZURE_FEDERATED_TOKEN_FILE', file),
        ...authorityHost,
      };
    }
    case 'service-principal': {
      const tenantId = required(env, 'AZURE_TENANT_ID', kind, 'the directory (tenant) id');
      const id = required(env, 'AZURE_CLIENT_ID', kind, "the application's client id");
      const base = { kind, tenantId: tenant(tenantId), clientId: guid('AZURE_CLIENT_ID', id) };
      const clientSecret = optional(env, 'AZURE_CLIENT_SECRET');
      // As the Azure SDK's EnvironmentCredential: the secret when set, else the certificate.
      if (clientSecret !== undefined) return { ...base, clientSecret, ...authorityHost };
      const path = optional(env, 'AZURE_CLIENT_CERTIFICATE_PATH');
      if (path === undefined) {
        throw invalid(
          'ENTRA_REDIS_CREDENTIAL=service-principal needs AZURE_CLIENT_SECRET (a client ' +
            'secret) or AZURE_CLIENT_CERTIFICATE_PATH (a PEM file with the certificate and its ' +
            'private key); neither is set',
        );
      }
      const password = optional(env, 'AZURE_CLIENT_CERTIFICATE_PASSWORD');
      const chain = optional(env, 'AZURE_CLIENT_SEND_CERTIFICATE_CHAIN');
      return {
        ...base,
        certificatePath: readable('AZURE_CLIENT_CERTIFICATE_PATH', path),
        ...(password !== undefined ? { certificatePassword: password } : {}),
        ...(chain !== undefined ? { sendCertificateChain: chain === 'true' || chain === '1' } : {}),
        ...authorityHost,
      };
    }
  }
}

function tenant(value: string): string {
  if (!TENANT.test(value)) {
    throw invalid(`AZURE_TENANT_ID must be a tenant id (a GUID) or domain (got "${value}")`);
  }
  return value;
}

const NUMBER = /^[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:e[+-]?\d+)?$/i;

/** The timing variables and the token source option each one sets. */
const TIMING = [
  ['ENTRA_REDIS_REFRESH_RATIO', 'refreshRatio'],
  ['ENTRA_REDIS_MIN_REMAINING_MS', 'minRemainingMs'],
  ['ENTRA_REDIS_MIN_REFRESH_INTERVAL_MS', 'minRefreshIntervalMs'],
] as const;

function source(env: Env): SourceSettings {
  const settings: Record<string, unknown> = {};
  const scope = optional(env, 'ENTRA_REDIS_SCOPE');
  if (scope !== undefined) settings.scopes = scope;
  for (const [name, option] of TIMING) {
    const raw = optional(env, name);
    if (raw === undefined) continue;
    if (!NUMBER.test(raw)) throw invalid(`${name} must be a number (got "${raw}")`);
    settings[option] = Number(raw);
    try {
      // The same validation as the option itself, one variable at a time.
      normalizeTokenSourceOptions({ credential: () => undefined, [option]: settings[option] });
    } catch (error) {
      const why = String((error as Error).message).replace(/^[^:]*: /, '');
      throw invalid(`${name}=${raw} is not accepted: ${why}`);
    }
  }
  try {
    normalizeTokenSourceOptions({ credential: () => undefined, ...settings });
  } catch (error) {
    // Each one was valid alone: a combination is not (or the scope is).
    const why = String((error as Error).message).replace(/^[^:]*: /, '');
    throw invalid(`the token source settings are not accepted together: ${why}`);
  }
  return settings as SourceSettings;
}

/**
 * Reads and checks the preload's environment variables; throws `INVALID_OPTION` naming the
 * variable and what it accepts.
 *
 * @example
 * ```ts
 * const config = readConfig(process.env);
 * ```
 */
export function readConfig(env: Env): RegisterConfig {
  const log = oneOf(env, 'ENTRA_REDIS_LOG', LOG_LEVELS, 'info');
  const raw = optional(env, 'ENTRA_REDIS_HOSTS');
  const extra = raw === undefined ? [] : parseHostPatterns(raw);
  if (!Array.isArray(extra)) {
    throw invalid(
      `ENTRA_REDIS_HOSTS must be comma-separated host[:port] patterns, a host may start with ` +
        `"*." (e.g. "*.cache.contoso.internal,10.0.0.5:6380"); "${extra.invalid}" is not one`,
    );
  }
  return {
    identity: identity(env),
    hosts: [...AZURE_HOST_PATTERNS, ...extra],
    log,
    source: source(env),
  };
}

/**
 * What the startup line says of the identity: its kind and ids, never a secret.
 *
 * @example
 * ```ts
 * describeIdentity({ kind: 'managed-identity' }); // 'managed identity (system-assigned)'
 * ```
 */
export function describeIdentity(identity: IdentitySettings): string {
  const authority = identity.authorityHost ? `, authority ${identity.authorityHost}` : '';
  switch (identity.kind) {
    case 'default':
      return `DefaultAzureCredential${authority}`;
    case 'managed-identity':
      return identity.clientId
        ? `managed identity (user-assigned, client id ${identity.clientId})`
        : 'managed identity (system-assigned)';
    case 'workload-identity':
      return `workload identity (client id ${identity.clientId}${authority})`;
    case 'service-principal':
      return (
        `service principal ${identity.clientId} ` +
        `(${identity.clientSecret !== undefined ? 'client secret' : 'certificate'}${authority})`
      );
  }
}
