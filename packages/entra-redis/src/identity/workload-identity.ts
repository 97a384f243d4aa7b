import {
  WorkloadIdentityCredential,
  type WorkloadIdentityCredentialOptions,
} from '@azure/identity';
import { EntraRedisError } from '../errors.js';
import { OptionValidator } from '../lib/validate.js';
import type { TokenCredentialFactory } from '../token/options.js';
import { checkAuthority, checkReadable, without } from './common.js';

/**
 * Workload identity (Kubernetes federated credentials). Each value defaults to its environment
 * variable as set by the Azure Workload Identity webhook. Other
 * `WorkloadIdentityCredentialOptions` are passed through.
 *
 * @example
 * ```ts
 * const options: WorkloadIdentityOptions = { tokenFilePath: '/var/run/secrets/azure/tokens/azure-identity-token' };
 * ```
 */
export interface WorkloadIdentityOptions extends WorkloadIdentityCredentialOptions {
  /** Tenant id. @default process.env.AZURE_TENANT_ID */
  readonly tenantId?: string;
  /** Client id of the app or user-assigned identity. @default process.env.AZURE_CLIENT_ID */
  readonly clientId?: string;
  /** Path of the projected service account token. @default process.env.AZURE_FEDERATED_TOKEN_FILE */
  readonly tokenFilePath?: string;
  /**
   * Authority host, an https URL: a sovereign cloud (e.g. `https://login.microsoftonline.us`) or
   * the emulator. @default 'https://login.microsoftonline.com' (or AZURE_AUTHORITY_HOST)
   */
  readonly authorityHost?: string;
}

const COMPONENT = 'entra-redis workloadIdentity';

function required(option: string, env: string): EntraRedisError {
  return new EntraRedisError(
    'CREDENTIAL_UNAVAILABLE',
    `${COMPONENT}: "${option}" is not set and neither is ${env}; pass "${option}" or enable ` +
      'Azure Workload Identity for this pod (it sets the environment variables)',
  );
}

/**
 * Workload identity over @azure/identity's `WorkloadIdentityCredential`. Checks now that the
 * tenant, client and token file are known and the file is readable. Returns a factory (see
 * {@link servicePrincipalSecret} for why).
 *
 * @example
 * ```ts
 * const source = new TokenSource({ credential: workloadIdentity() });
 * ```
 */
export function workloadIdentity(options: WorkloadIdentityOptions = {}): TokenCredentialFactory {
  const v = new OptionValidator(COMPONENT);
  const o = v.object('options', options);
  const env = process.env;
  const tenantRaw = o.tenantId ?? env.AZURE_TENANT_ID;
  const clientRaw = o.clientId ?? env.AZURE_CLIENT_ID;
  const fileRaw = o.tokenFilePath ?? env.AZURE_FEDERATED_TOKEN_FILE;
  if (tenantRaw === undefined || tenantRaw === '') throw required('tenantId', 'AZURE_TENANT_ID');
  if (clientRaw === undefined || clientRaw === '') throw required('clientId', 'AZURE_CLIENT_ID');
  if (fileRaw === undefined || fileRaw === '')
    throw required('tokenFilePath', 'AZURE_FEDERATED_TOKEN_FILE');
  const tenantId = v.tenant('tenantId', tenantRaw);
  const clientId = v.guid(
    'clientId',
    clientRaw,
    'the client id of the app or user-assigned identity',
  );
  const tokenFilePath = v.nonEmptyString(
    'tokenFilePath',
    fileRaw,
    'a path to the federated token file',
  );
  checkReadable(COMPONENT, 'tokenFilePath', tokenFilePath);
  checkAuthority(v, o);
  const rest = without(o, [
    'tenantId',
    'clientId',
    'tokenFilePath',
  ]) as WorkloadIdentityCredentialOptions;
  return () => new WorkloadIdentityCredential({ ...rest, tenantId, clientId, tokenFilePath });
}
