// The `--auth` options shared by `check` and `token`: validated once, turned into a credential
// through the public identity factories of the core.

import { accessSync, constants } from 'node:fs';
import {
  EntraRedisError,
  defaultAzureCredential,
  interactiveUser,
  managedIdentity,
  servicePrincipalCertificate,
  servicePrincipalSecret,
  workloadIdentity,
  type TokenSourceOptions,
} from '../index.js';

/** The identity flows `--auth` accepts. */
export const AUTH_KINDS = [
  'default',
  'managed-identity',
  'service-principal',
  'workload-identity',
  'interactive',
];

/** Scope requested unless `--scope` says otherwise. */
export const DEFAULT_SCOPE = 'https://redis.azure.com/.default';

/** Raw `--auth` related options as commander parses them (or as the prompts answer them). */
export interface AuthFlags {
  /** `--auth`; `default` when absent. */
  auth?: string;
  tenantId?: string;
  clientId?: string;
  secretEnv?: string;
  certificate?: string;
  tokenFile?: string;
  /** The client secret typed at a prompt (never a flag: a secret on a command line leaks). */
  typedSecret?: string;
  authorityHost?: string;
  scope: string;
  timeout: string;
}

/** A credential ready for a token source, and what to keep out of every output. */
export interface ResolvedAuth {
  readonly kind: string;
  readonly credential: TokenSourceOptions['credential'];
  readonly scope: string;
  /** The authority in use, when one was set (`--authority-host` or AZURE_AUTHORITY_HOST). */
  readonly authorityHost?: string;
  /** Timeout of each network step, in ms. */
  readonly timeoutMs: number;
  /** Timeout of the token request, in ms (longer for a user who signs in). */
  readonly tokenTimeoutMs: number;
  /** Values that must never be printed (the client secret). */
  readonly secrets: readonly string[];
}

/** Bad input: reported with exit code 2. */
export function usageError(message: string): EntraRedisError {
  return new EntraRedisError('INVALID_OPTION', `entra-redis: ${message}`);
}

/** Parses `--timeout <seconds>` into ms. */
export function parseTimeoutMs(raw: string): number {
  const seconds = Number(raw);
  if (!/^\d+(\.\d+)?$/.test(raw.trim()) || !(seconds > 0) || seconds > 600) {
    throw usageError(`--timeout must be a number of seconds between 0 and 600 (got "${raw}")`);
  }
  return Math.round(seconds * 1000);
}

function only(flags: AuthFlags, allowed: readonly (keyof AuthFlags)[]): void {
  const names: Record<string, string> = {
    tenantId: '--tenant-id',
    clientId: '--client-id',
    secretEnv: '--secret-env',
    certificate: '--certificate',
    tokenFile: '--token-file',
  };
  for (const [key, flag] of Object.entries(names)) {
    if (flags[key as keyof AuthFlags] !== undefined && !allowed.includes(key as keyof AuthFlags)) {
      throw usageError(`${flag} does not apply to --auth ${flags.auth ?? 'default'}; remove it`);
    }
  }
}

function readSecret(variable: string): string {
  if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(variable)) {
    throw usageError(
      `--secret-env takes the NAME of an environment variable holding the secret (e.g. ` +
        `--secret-env AZURE_CLIENT_SECRET), not the secret itself`,
    );
  }
  const value = process.env[variable];
  if (value === undefined || value === '') {
    throw usageError(
      `--secret-env ${variable}: the environment variable ${variable} is not set or empty; ` +
        `put the client secret in it (e.g. export ${variable}=...) and run again`,
    );
  }
  return value;
}

/** Why `path` cannot be read (`ENOENT`, `EACCES`, …), or undefined when it can. */
export function unreadable(path: string): string | undefined {
  try {
    accessSync(path, constants.R_OK);
    return undefined;
  } catch (error) {
    const code = (error as { code?: unknown }).code;
    return typeof code === 'string' ? code : 'error';
  }
}

function checkCertificate(path: string): void {
  const why = unreadable(path);
  if (why !== undefined) {
    throw usageError(
      `--certificate ${path}: the file cannot be read (${why}); ` +
        'give the path of a PEM file holding the certificate and its private key',
    );
  }
}

/**
 * Validates the `--auth` flags and builds the credential. Throws `INVALID_OPTION` (exit 2)
 * naming the flag and the fix.
 */
export function resolveAuth(flags: AuthFlags): ResolvedAuth {
  const timeoutMs = parseTimeoutMs(flags.timeout);
  const scope = flags.scope.trim();
  if (scope === '') throw usageError('--scope must not be empty (default ' + DEFAULT_SCOPE + ')');
  const authorityHost = flags.authorityHost ?? process.env.AZURE_AUTHORITY_HOST;
  // A custom authority (sovereign cloud, the emulator) is used as given: no instance discovery.
  const authority = authorityHost ? { authorityHost, disableInstanceDiscovery: true as const } : {};
  const kind = flags.auth ?? 'default';
  const base = {
    kind,
    scope,
    timeoutMs,
    tokenTimeoutMs: timeoutMs,
    secrets: [],
    ...(authorityHost && kind !== 'managed-identity' ? { authorityHost } : {}),
  };
  switch (kind) {
    case 'default':
      only(flags, ['tenantId', 'clientId']);
      return {
        ...base,
        credential: defaultAzureCredential({
          ...authority,
          ...(flags.tenantId ? { tenantId: flags.tenantId } : {}),
          ...(flags.clientId ? { managedIdentityClientId: flags.clientId } : {}),
        }),
      };
    case 'managed-identity':
      only(flags, ['clientId']);
      return {
        ...base,
        credential: managedIdentity(flags.clientId ? { clientId: flags.clientId } : {}),
      };
    case 'service-principal':
      return { ...base, ...servicePrincipal(flags, authority) };
    case 'workload-identity':
      only(flags, ['tenantId', 'clientId', 'tokenFile']);
      return { ...base, credential: workload(flags, authority) };
    case 'interactive':
      only(flags, ['tenantId', 'clientId']);
      if (!flags.clientId) {
        throw usageError(
          '--auth interactive needs --client-id <id> (a public client app registration with ' +
            'http://localhost as a redirect URI)',
        );
      }
      return {
        ...base,
        tokenTimeoutMs: Math.max(timeoutMs, 120_000),
        credential: interactiveUser({
          tenantId: flags.tenantId ?? 'organizations',
          clientId: flags.clientId,
          ...authority,
        }),
      };
    default:
      throw usageError(`--auth must be one of ${AUTH_KINDS.join(', ')} (got "${flags.auth}")`);
  }
}

function servicePrincipal(
  flags: AuthFlags,
  authority: { authorityHost?: string; disableInstanceDiscovery?: true },
): Pick<ResolvedAuth, 'credential' | 'secrets'> {
  if (!flags.tenantId) {
    throw usageError(
      '--auth service-principal needs --tenant-id <tenant id> (the directory id of the app)',
    );
  }
  if (!flags.clientId) {
    throw usageError(
      '--auth service-principal needs --client-id <application id> (the app registration)',
    );
  }
  if (flags.secretEnv !== undefined && flags.certificate !== undefined) {
    throw usageError('give either --secret-env or --certificate, not both');
  }
  if (flags.secretEnv !== undefined || flags.typedSecret !== undefined) {
    const clientSecret = flags.typedSecret ?? readSecret(flags.secretEnv!);
    return {
      credential: servicePrincipalSecret({
        tenantId: flags.tenantId,
        clientId: flags.clientId,
        clientSecret,
        ...authority,
      }),
      secrets: [clientSecret],
    };
  }
  if (flags.certificate !== undefined) {
    checkCertificate(flags.certificate);
    return {
      credential: servicePrincipalCertificate(
        {
          tenantId: flags.tenantId,
          clientId: flags.clientId,
          certificatePath: flags.certificate,
        },
        authority,
      ),
      secrets: [],
    };
  }
  throw usageError(
    '--auth service-principal needs --secret-env <VAR> (an environment variable holding the ' +
      'client secret) or --certificate <path> (a PEM with certificate and private key)',
  );
}

/** Workload identity: each value from its flag, else from the variable AKS sets. */
function workload(
  flags: AuthFlags,
  authority: { authorityHost?: string; disableInstanceDiscovery?: true },
): ResolvedAuth['credential'] {
  const env = process.env;
  const tenantId = flags.tenantId ?? env.AZURE_TENANT_ID;
  const clientId = flags.clientId ?? env.AZURE_CLIENT_ID;
  const tokenFilePath = flags.tokenFile ?? env.AZURE_FEDERATED_TOKEN_FILE;
  const missing = (flag: string, variable: string) =>
    usageError(
      `--auth workload-identity needs ${flag} (or ${variable}, which Azure Workload Identity sets in the pod)`,
    );
  if (!tenantId) throw missing('--tenant-id <tenant id>', 'AZURE_TENANT_ID');
  if (!clientId) throw missing('--client-id <application id>', 'AZURE_CLIENT_ID');
  if (!tokenFilePath) throw missing('--token-file <path>', 'AZURE_FEDERATED_TOKEN_FILE');
  const why = unreadable(tokenFilePath);
  if (why !== undefined) {
    throw usageError(
      `--token-file ${tokenFilePath}: the file cannot be read (${why}); give the path of the ` +
        'federated (service account) token file',
    );
  }
  return workloadIdentity({ tenantId, clientId, tokenFilePath, ...authority });
}
