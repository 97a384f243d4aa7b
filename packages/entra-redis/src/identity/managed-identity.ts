import { ManagedIdentityCredential, type TokenCredentialOptions } from '@azure/identity';
import { EntraRedisError } from '../errors.js';
import { OptionValidator } from '../lib/validate.js';
import type { TokenCredentialFactory } from '../token/options.js';
import { without } from './common.js';

/**
 * Which managed identity: at most one of `clientId`, `objectId` and `resourceId` (a
 * user-assigned identity), or none for the system-assigned identity. Other
 * `TokenCredentialOptions` (`retryOptions`, `httpClient`, …) are passed through.
 *
 * @example
 * ```ts
 * const userAssigned: ManagedIdentityOptions = { clientId: '11111111-2222-3333-4444-555555555555' };
 * const systemAssigned: ManagedIdentityOptions = {};
 * ```
 */
export type ManagedIdentityOptions = TokenCredentialOptions &
  (
    | { readonly clientId: string; readonly objectId?: never; readonly resourceId?: never }
    | { readonly objectId: string; readonly clientId?: never; readonly resourceId?: never }
    | { readonly resourceId: string; readonly clientId?: never; readonly objectId?: never }
    | { readonly clientId?: never; readonly objectId?: never; readonly resourceId?: never }
  );

const COMPONENT = 'entra-redis managedIdentity';

/**
 * Managed identity (App Service, Functions, VMs, AKS, …) over @azure/identity's
 * `ManagedIdentityCredential`. Returns a factory; note that msal-node keeps managed identity
 * tokens in a process-wide cache, which the token source handles by asking again inside the
 * cache's renewal window.
 *
 * @example
 * ```ts
 * const source = new TokenSource({ credential: managedIdentity({ clientId: process.env.UAMI_CLIENT_ID! }) });
 * ```
 */
export function managedIdentity(options: ManagedIdentityOptions = {}): TokenCredentialFactory {
  const v = new OptionValidator(COMPONENT);
  const o = v.object('options', options);
  const given = (['clientId', 'objectId', 'resourceId'] as const).filter((k) => o[k] !== undefined);
  if (given.length > 1) {
    throw new EntraRedisError(
      'INVALID_OPTION',
      `${COMPONENT}: give at most one of "clientId", "objectId" and "resourceId" (none = system-assigned); ` +
        `got ${given.map((k) => `"${k}"`).join(' and ')}`,
    );
  }
  const rest = without(o, ['clientId', 'objectId', 'resourceId']) as TokenCredentialOptions;
  let id: Record<string, string> = {};
  if (o.clientId !== undefined)
    id = {
      clientId: v.guid('clientId', o.clientId, 'the client id of the user-assigned identity'),
    };
  if (o.objectId !== undefined)
    id = {
      objectId: v.guid(
        'objectId',
        o.objectId,
        'the object (principal) id of the user-assigned identity',
      ),
    };
  if (o.resourceId !== undefined) {
    const resourceId = v.nonEmptyString('resourceId', o.resourceId, 'an Azure resource id');
    if (!/^\/subscriptions\/[^/]+\/resourcegroups\/[^/]+\/providers\/.+/i.test(resourceId)) {
      v.fail(
        'resourceId',
        'an Azure resource id such as /subscriptions/<sub>/resourceGroups/<rg>/providers/' +
          'Microsoft.ManagedIdentity/userAssignedIdentities/<name>',
        'string',
      );
    }
    id = { resourceId };
  }
  return () =>
    new ManagedIdentityCredential({ ...rest, ...id } as ConstructorParameters<
      typeof ManagedIdentityCredential
    >[0] &
      object);
}
