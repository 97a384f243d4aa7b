import {
  DefaultAzureCredential,
  type DefaultAzureCredentialClientIdOptions,
  type DefaultAzureCredentialOptions,
  type DefaultAzureCredentialResourceIdOptions,
} from '@azure/identity';
import { OptionValidator } from '../lib/validate.js';
import type { TokenCredentialFactory } from '../token/options.js';
import { checkAuthority } from './common.js';

/**
 * Options of `DefaultAzureCredential`, passed through (`tenantId`, `authorityHost`,
 * `disableInstanceDiscovery`, `managedIdentityClientId`, `workloadIdentityClientId`, …).
 *
 * @example
 * ```ts
 * const options: DefaultCredentialOptions = { managedIdentityClientId: '11111111-2222-3333-4444-555555555555' };
 * ```
 */
export type DefaultCredentialOptions =
  | DefaultAzureCredentialOptions
  | DefaultAzureCredentialClientIdOptions
  | DefaultAzureCredentialResourceIdOptions;

/**
 * The `DefaultAzureCredential` chain (environment, workload identity, managed identity,
 * developer tools). Returns a factory (see {@link servicePrincipalSecret} for why).
 *
 * @example
 * ```ts
 * const source = new TokenSource({ credential: defaultAzureCredential() });
 * ```
 */
export function defaultAzureCredential(
  options: DefaultCredentialOptions = {},
): TokenCredentialFactory {
  const v = new OptionValidator('entra-redis defaultAzureCredential');
  const o = v.object('options', options);
  if (o.tenantId !== undefined) v.tenant('tenantId', o.tenantId);
  checkAuthority(v, o);
  const copy = { ...options };
  return () => new DefaultAzureCredential(copy as DefaultAzureCredentialOptions);
}
