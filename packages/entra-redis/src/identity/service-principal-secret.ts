import { ClientSecretCredential, type ClientSecretCredentialOptions } from '@azure/identity';
import { EntraRedisError } from '../errors.js';
import { OptionValidator } from '../lib/validate.js';
import type { TokenCredentialFactory } from '../token/options.js';
import { checkAuthority, without } from './common.js';

/**
 * A service principal with a client secret. Every other @azure/identity
 * `ClientSecretCredentialOptions` member (`authorityHost`, `disableInstanceDiscovery`,
 * `additionallyAllowedTenants`, `httpClient`, …) is passed through.
 *
 * @example
 * ```ts
 * const options: ServicePrincipalSecretOptions = { tenantId, clientId, clientSecret };
 * ```
 */
export interface ServicePrincipalSecretOptions extends ClientSecretCredentialOptions {
  /** Directory (tenant) id: a GUID or a tenant domain name. */
  readonly tenantId: string;
  /** Application (client) id, a GUID. */
  readonly clientId: string;
  /** The client secret (never shown in errors or logs). */
  readonly clientSecret: string;
  /**
   * Authority host, an https URL: a sovereign cloud (e.g. `https://login.microsoftonline.us`) or
   * the emulator. @default 'https://login.microsoftonline.com' (or AZURE_AUTHORITY_HOST)
   */
  readonly authorityHost?: string;
}

/**
 * Service principal with a secret, over @azure/identity's `ClientSecretCredential`. Returns a
 * factory: the token source builds a fresh credential (fresh MSAL app) after a failure, so
 * MSAL's throttling cache cannot hold back recovery, and when MSAL returns its cached token.
 *
 * @example
 * ```ts
 * const source = new TokenSource({
 *   credential: servicePrincipalSecret({ tenantId, clientId, clientSecret: process.env.SECRET! }),
 * });
 * ```
 */
export function servicePrincipalSecret(
  options: ServicePrincipalSecretOptions,
): TokenCredentialFactory {
  const v = new OptionValidator('entra-redis servicePrincipalSecret');
  const o = v.object('options', options);
  const tenantId = v.tenant('tenantId', o.tenantId);
  const clientId = v.guid('clientId', o.clientId, "the application's client id");
  const clientSecret = v.nonEmptyString(
    'clientSecret',
    o.clientSecret,
    'a non-empty string (the client secret value, not its id)',
  );
  // @azure/identity would ignore a certificate given here: refuse the ambiguity.
  for (const key of ['certificatePath', 'certificatePem', 'certificate']) {
    if (o[key] !== undefined) {
      throw new EntraRedisError(
        'INVALID_OPTION',
        `${v.component}: "${key}" cannot be combined with "clientSecret"; give one credential: ` +
          'the secret here, or the certificate to servicePrincipalCertificate(...)',
      );
    }
  }
  checkAuthority(v, o);
  const rest = without(o, [
    'tenantId',
    'clientId',
    'clientSecret',
  ]) as ClientSecretCredentialOptions;
  return () => new ClientSecretCredential(tenantId, clientId, clientSecret, rest);
}
