import { randomBytes } from 'node:crypto';

/** Built-in data access policy names of Azure's Redis; any other string names a custom policy. */
export type AccessPolicyName = 'Data Owner' | 'Data Contributor' | 'Data Reader' | (string & {});

/** Fields every principal has. */
export interface PrincipalBase {
  /** Object id (GUID): the Redis username and the token's `oid`. */
  oid: string;
  /** Human-readable name. */
  displayName: string;
  /** Redis data access policy assigned to it; undefined means no assignment (AUTH fails). */
  accessPolicy?: AccessPolicyName;
}

/** An app registration's service principal (client credentials flows). */
export interface ServicePrincipal extends PrincipalBase {
  kind: 'servicePrincipal';
  /** Application (client) id, GUID. */
  clientId: string;
  /** Client secret; undefined means secrets are not accepted. */
  secret?: string;
  /** Registered certificate (PEM). Set by the emulator when it issues one. */
  certificatePem?: string;
  /** Subjects (`sub`) of federated tokens this app accepts (workload identity). */
  federatedSubjects?: string[];
}

/** The system-assigned managed identity of the emulated host. */
export interface SystemAssignedIdentity extends PrincipalBase {
  kind: 'systemAssigned';
  /** Client id, GUID. */
  clientId: string;
}

/** A user-assigned managed identity. */
export interface UserAssignedIdentity extends PrincipalBase {
  kind: 'userAssigned';
  /** Client id, GUID. */
  clientId: string;
  /** ARM resource id, `/subscriptions/…/providers/Microsoft.ManagedIdentity/userAssignedIdentities/<name>`. */
  resourceId: string;
}

/** A user for the interactive (authorization code) flow. */
export interface User extends PrincipalBase {
  kind: 'user';
  /** User principal name, e.g. `dev@contoso.example`. */
  upn: string;
}

/** Any principal of the emulated tenant. */
export type Principal = ServicePrincipal | SystemAssignedIdentity | UserAssignedIdentity | User;

/** The emulated tenant: its id and its principals. */
export interface TenantConfig {
  /** Tenant id, GUID. */
  tenantId: string;
  /** Service principals; the first is the default one (`AZURE_CLIENT_ID`). */
  servicePrincipals: ServicePrincipal[];
  /** The system-assigned managed identity, if any. */
  systemAssignedIdentity?: SystemAssignedIdentity;
  /** User-assigned managed identities. */
  userAssignedIdentities: UserAssignedIdentity[];
  /** Users; the first signs in when `login_hint` names none. */
  users: User[];
  /** Client id of the public client app users sign in to (any client id is accepted for users). */
  publicClientId: string;
}

/** Ids of the default tenant, stable across runs. */
export const DEFAULT_IDS = {
  tenantId: 'e7e7e7e7-0000-4000-8000-000000000001',
  subscriptionId: '00000000-1111-4222-8333-444444444444',
  resourceGroup: 'entra-redis-emulator',
  app: {
    clientId: '11111111-1111-4111-8111-000000000001',
    oid: '11111111-1111-4111-8111-100000000001',
  },
  reader: {
    clientId: '11111111-1111-4111-8111-000000000002',
    oid: '11111111-1111-4111-8111-100000000002',
  },
  unassigned: {
    clientId: '11111111-1111-4111-8111-000000000003',
    oid: '11111111-1111-4111-8111-100000000003',
  },
  systemAssigned: {
    clientId: '22222222-2222-4222-8222-000000000001',
    oid: '22222222-2222-4222-8222-100000000001',
  },
  userAssigned: {
    clientId: '33333333-3333-4333-8333-000000000001',
    oid: '33333333-3333-4333-8333-100000000001',
  },
  user: { oid: '44444444-4444-4444-8444-100000000001' },
  publicClientId: '55555555-5555-4555-8555-000000000001',
} as const;

/** Subject of the default federated token (a Kubernetes service account, as AKS issues). */
export const DEFAULT_FEDERATED_SUBJECT = 'system:serviceaccount:default:entra-redis';

/**
 * A fresh random client secret in Entra's style (40 characters).
 *
 * @example
 * ```ts
 * const secret = generateClientSecret();
 * ```
 */
export function generateClientSecret(): string {
  return `emu~${randomBytes(27).toString('base64url')}`.slice(0, 40);
}

/**
 * The default tenant: service principal `entra-redis-app` (secret, certificate issued later by
 * the emulator, workload identity subject; Data Owner), `entra-redis-reader` (secret; Data Reader),
 * `entra-redis-unassigned` (secret; no policy), a system-assigned identity (Data Contributor), one
 * user-assigned identity (Data Owner) and a user (Data Owner). GUIDs are stable; secrets are
 * random per call unless given.
 *
 * @example
 * ```ts
 * const config = defaultTenantConfig({ secret: process.env.EMULATOR_SECRET });
 * ```
 */
export function defaultTenantConfig(options: { secret?: string } = {}): TenantConfig {
  const ids = DEFAULT_IDS;
  const sp = (
    key: 'app' | 'reader' | 'unassigned',
    displayName: string,
    accessPolicy: AccessPolicyName | undefined,
    secret: string,
  ): ServicePrincipal => ({
    kind: 'servicePrincipal',
    clientId: ids[key].clientId,
    oid: ids[key].oid,
    displayName,
    secret,
    ...(accessPolicy ? { accessPolicy } : {}),
  });
  const app = sp('app', 'entra-redis-app', 'Data Owner', options.secret ?? generateClientSecret());
  app.federatedSubjects = [DEFAULT_FEDERATED_SUBJECT];
  return {
    tenantId: ids.tenantId,
    servicePrincipals: [
      app,
      sp('reader', 'entra-redis-reader', 'Data Reader', generateClientSecret()),
      sp('unassigned', 'entra-redis-unassigned', undefined, generateClientSecret()),
    ],
    systemAssignedIdentity: {
      kind: 'systemAssigned',
      clientId: ids.systemAssigned.clientId,
      oid: ids.systemAssigned.oid,
      displayName: 'system-assigned identity',
      accessPolicy: 'Data Contributor',
    },
    userAssignedIdentities: [
      {
        kind: 'userAssigned',
        clientId: ids.userAssigned.clientId,
        oid: ids.userAssigned.oid,
        displayName: 'entra-redis-identity',
        resourceId: userAssignedResourceId('entra-redis-identity'),
        accessPolicy: 'Data Owner',
      },
    ],
    users: [
      {
        kind: 'user',
        oid: ids.user.oid,
        displayName: 'Emulated Developer',
        upn: 'developer@entra-redis.example',
        accessPolicy: 'Data Owner',
      },
    ],
    publicClientId: ids.publicClientId,
  };
}

/**
 * The ARM resource id of a user-assigned identity in the default subscription and resource group.
 *
 * @example
 * ```ts
 * userAssignedResourceId('my-identity');
 * // '/subscriptions/…/resourceGroups/entra-redis-emulator/providers/Microsoft.ManagedIdentity/userAssignedIdentities/my-identity'
 * ```
 */
export function userAssignedResourceId(name: string): string {
  return (
    `/subscriptions/${DEFAULT_IDS.subscriptionId}/resourceGroups/${DEFAULT_IDS.resourceGroup}` +
    `/providers/Microsoft.ManagedIdentity/userAssignedIdentities/${name}`
  );
}

/**
 * Every principal of a tenant config, in a stable order.
 *
 * @example
 * ```ts
 * for (const p of allPrincipals(config)) console.log(p.displayName, p.oid);
 * ```
 */
export function allPrincipals(config: TenantConfig): Principal[] {
  return [
    ...config.servicePrincipals,
    ...(config.systemAssignedIdentity ? [config.systemAssignedIdentity] : []),
    ...config.userAssignedIdentities,
    ...config.users,
  ];
}
