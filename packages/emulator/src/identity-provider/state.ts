import type { Tenant } from '../tenant.js';
import type { Faults } from './faults.js';
import { entraError, type EntraError } from './http.js';

/** An authorization code awaiting redemption. */
export interface PendingCode {
  clientId: string;
  redirectUri: string;
  userOid: string;
  scope: string;
  nonce?: string;
  codeChallenge?: string;
  codeChallengeMethod?: string;
  expiresAtMs: number;
}

/** A refresh token's grant. */
export interface RefreshGrant {
  clientId: string;
  userOid: string;
  expiresAtMs: number;
}

/** Counters of the identity provider. */
export interface IdentityProviderStats {
  /** Requests served per endpoint kind. */
  requests: Record<
    'discovery' | 'jwks' | 'token' | 'authorize' | 'managedIdentity' | 'other',
    number
  >;
  /** Access tokens issued, per principal oid. */
  tokensIssued: Record<string, number>;
  /** Error answers per `error`/AADSTS code, e.g. `AADSTS7000215`. */
  errors: Record<string, number>;
  /** Requests, connections and tokens affected by faults. */
  faultsAffected: number;
}

/** State shared by the identity provider's endpoints. */
export interface IdpState {
  tenant: Tenant;
  faults: Faults;
  identityHeader: string;
  codes: Map<string, PendingCode>;
  refreshTokens: Map<string, RefreshGrant>;
  requests: IdentityProviderStats['requests'];
  errors: Record<string, number>;
}

/** Resources (audiences) the emulated tenant knows. */
export const KNOWN_RESOURCES = [
  'https://redis.azure.com',
  'acca5fbb-b7e4-4009-81f1-37e38fd66d78',
  'https://management.azure.com',
  'https://graph.microsoft.com',
  'https://storage.azure.com',
  'https://vault.azure.net',
];

const OIDC_SCOPES = new Set(['openid', 'profile', 'offline_access', 'email']);

/** Records an error answer in the counters and returns it. */
export function countError(state: IdpState, err: EntraError): EntraError {
  const key = `AADSTS${err.code}`;
  state.errors[key] = (state.errors[key] ?? 0) + 1;
  return err;
}

/** Normalises a resource: strips `/.default` and a trailing slash. */
export function normaliseResource(resource: string): string {
  return resource.replace(/\/\.default$/, '').replace(/\/+$/, '');
}

/** Whether a resource (normalised) is known to the tenant. */
export function isKnownResource(resource: string): boolean {
  return KNOWN_RESOURCES.includes(normaliseResource(resource).toLowerCase());
}

/**
 * Parses a `scope` parameter into one resource (the token audience) and the OIDC scopes.
 * App flows need exactly `<resource>/.default`.
 */
export function parseScope(
  scope: string | null,
  tenantId: string,
  appFlow: boolean,
):
  | { ok: true; resource: string; resourceScopes: string[]; oidc: string[] }
  | { ok: false; error: EntraError } {
  const parts = (scope ?? '').split(/\s+/).filter(Boolean);
  const oidc = parts.filter((s) => OIDC_SCOPES.has(s));
  const resourceScopes = parts.filter((s) => !OIDC_SCOPES.has(s));
  if (parts.length === 0) {
    return bad(900144, "The request body must contain the following parameter: 'scope'.");
  }
  if (appFlow && (resourceScopes.length !== 1 || !resourceScopes[0]?.endsWith('/.default'))) {
    return bad(
      1002012,
      `The provided value for scope ${parts.join(' ')} is not valid. Client credential flows must have a scope value with /.default suffixed to the resource identifier (application ID URI).`,
    );
  }
  const resources = new Set(
    resourceScopes.map((s) => s.slice(0, Math.max(s.lastIndexOf('/'), 0)) || s),
  );
  if (resources.size > 1) {
    return bad(
      28000,
      'Provided value for the input parameter scope is not valid because it contains more than one resource.',
    );
  }
  const resource = [...resources][0] ?? 'https://graph.microsoft.com';
  if (!isKnownResource(resource)) {
    return {
      ok: false,
      error: entraError(
        'invalid_resource',
        400,
        500011,
        `The resource principal named ${resource} was not found in the tenant named ${tenantId}. This can happen if the application has not been installed by the administrator of the tenant or consented to by any user in the tenant. You might have sent your authentication request to the wrong tenant.`,
      ),
    };
  }
  return { ok: true, resource: normaliseResource(resource), resourceScopes, oidc };
}

function bad(code: number, description: string): { ok: false; error: EntraError } {
  return {
    ok: false,
    error: entraError(
      code === 1002012 ? 'invalid_scope' : 'invalid_request',
      400,
      code,
      description,
    ),
  };
}
