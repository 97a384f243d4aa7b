// Loaded on the first token request only (a chunk of its own in the build): the identity
// factories import @azure/identity, which costs a process about 130 ms and 20 MB to load, and
// most processes that run with NODE_OPTIONS (npm, build tools) never open a Redis connection.
import { defaultAzureCredential } from '../identity/default-azure-credential.js';
import { managedIdentity } from '../identity/managed-identity.js';
import { servicePrincipalCertificate } from '../identity/service-principal-certificate.js';
import { servicePrincipalSecret } from '../identity/service-principal-secret.js';
import { workloadIdentity } from '../identity/workload-identity.js';
import type { TokenCredentialFactory } from '../token/options.js';
import type { IdentitySettings } from './config.js';

/**
 * The credential factory of the configured identity, over the library's own factories.
 *
 * @example
 * ```ts
 * const factory = identityFactory({ kind: 'managed-identity' });
 * ```
 */
export function identityFactory(settings: IdentitySettings): TokenCredentialFactory {
  const authority = settings.authorityHost
    ? { authorityHost: settings.authorityHost, disableInstanceDiscovery: true }
    : {};
  const { tenantId = '', clientId = '' } = settings;
  switch (settings.kind) {
    case 'default':
      return defaultAzureCredential(authority);
    case 'managed-identity':
      return managedIdentity(settings.clientId ? { clientId } : {});
    case 'workload-identity':
      return workloadIdentity({
        tenantId,
        clientId,
        tokenFilePath: settings.tokenFilePath!,
        ...authority,
      });
    case 'service-principal':
      if (settings.clientSecret !== undefined) {
        return servicePrincipalSecret({
          tenantId,
          clientId,
          clientSecret: settings.clientSecret,
          ...authority,
        });
      }
      return servicePrincipalCertificate(
        {
          tenantId,
          clientId,
          certificatePath: settings.certificatePath!,
          ...(settings.certificatePassword !== undefined
            ? { certificatePassword: settings.certificatePassword }
            : {}),
        },
        {
          ...authority,
          ...(settings.sendCertificateChain !== undefined
            ? { sendCertificateChain: settings.sendCertificateChain }
            : {}),
        },
      );
  }
}
