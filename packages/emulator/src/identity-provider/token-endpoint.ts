import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import type { ServerResponse } from 'node:http';
import type { User } from '../principals.js';
import { isServicePrincipal } from '../tenant.js';
import { verifyClientAssertion } from './client-assertion.js';
import { entraError, sendEntraError, sendJson, type EntraError } from './http.js';
import { countError, parseScope, type IdpState } from './state.js';

const JWT_BEARER = 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer';
const REFRESH_TOKEN_TTL_MS = 24 * 3600 * 1000;

/** Context of one token request: its form and the URLs the token endpoint is known by. */
export interface TokenRequest {
  form: URLSearchParams;
  tokenEndpoints: string[];
}

/** Serves `POST /{tenant}/oauth2/v2.0/token`. */
export async function handleToken(
  state: IdpState,
  req: TokenRequest,
  res: ServerResponse,
): Promise<void> {
  const result = await issue(state, req);
  if ('error' in result) {
    sendEntraError(res, countError(state, result.error));
    return;
  }
  sendJson(res, 200, result.body);
}

type Outcome = { body: Record<string, unknown> } | { error: EntraError };

async function issue(state: IdpState, { form, tokenEndpoints }: TokenRequest): Promise<Outcome> {
  const { tenant } = state;
  const grantType = form.get('grant_type');
  const clientId = form.get('client_id');
  if (!grantType)
    return err(900144, "The request body must contain the following parameter: 'grant_type'.");
  if (!clientId)
    return err(900144, "The request body must contain the following parameter: 'client_id'.");

  const app = tenant.findByClientId(clientId);
  const isPublicClient = clientId.toLowerCase() === tenant.config.publicClientId.toLowerCase();
  if (!isServicePrincipal(app) && !(isPublicClient && grantType !== 'client_credentials')) {
    return {
      error: entraError(
        'unauthorized_client',
        400,
        700016,
        `Application with identifier '${clientId}' was not found in the directory '${tenant.tenantId}'. This can happen if the application has not been installed by the administrator of the tenant or consented to by any user in the tenant. You may have sent your authentication request to the wrong tenant.`,
      ),
    };
  }

  // Client authentication (confidential clients; optional for the public client).
  let clientAuth: 0 | 1 | 2 = 0;
  if (isServicePrincipal(app)) {
    const secret = form.get('client_secret');
    const assertion = form.get('client_assertion');
    if (secret !== null) {
      if (!app.secret || !safeEqual(secret, app.secret)) {
        return {
          error: entraError(
            'invalid_client',
            401,
            7000215,
            `Invalid client secret provided. Ensure the secret being sent in the request is the client secret value, not the client secret ID, for a secret added to app '${app.clientId}'.`,
          ),
        };
      }
      clientAuth = 1;
    } else if (assertion !== null) {
      if (form.get('client_assertion_type') !== JWT_BEARER) {
        return err(700027, `Client assertion type must be '${JWT_BEARER}'.`, 'invalid_client', 401);
      }
      const checked = await verifyClientAssertion(tenant, app, assertion, tokenEndpoints);
      if (!checked.ok) return { error: checked.error };
      clientAuth = checked.clientAuth;
    } else if (!isPublicClient) {
      return err(
        7000218,
        "The request body must contain the following parameter: 'client_assertion' or 'client_secret'.",
        'invalid_client',
        401,
      );
    }
  }

  if (grantType === 'client_credentials') {
    if (!isServicePrincipal(app)) return err(700016, 'Unknown client.', 'unauthorized_client');
    const scope = parseScope(form.get('scope'), tenant.tenantId, true);
    if (!scope.ok) return { error: scope.error };
    const minted = await tenant.mintAccessToken(app, {
      audience: scope.resource,
      clientAuth,
      nbfOffsetSec: tenant.nbfOffsetSec + state.faults.takeNbfOffsetSec(),
    });
    return {
      body: {
        token_type: 'Bearer',
        expires_in: minted.expiresInSec,
        ext_expires_in: minted.expiresInSec,
        access_token: minted.accessToken,
      },
    };
  }
  if (grantType === 'authorization_code') return redeemCode(state, form, clientId);
  if (grantType === 'refresh_token') return redeemRefreshToken(state, form, clientId);
  return err(
    70003,
    `The app requested an unsupported grant type '${grantType}'.`,
    'unsupported_grant_type',
  );
}

async function redeemCode(
  state: IdpState,
  form: URLSearchParams,
  clientId: string,
): Promise<Outcome> {
  const code = form.get('code');
  if (!code) return err(900144, "The request body must contain the following parameter: 'code'.");
  const pending = state.codes.get(code);
  state.codes.delete(code);
  if (!pending || pending.expiresAtMs < Date.now()) {
    return err(
      70008,
      'The provided authorization code or refresh token has expired due to inactivity. Send a new interactive authorization request for this user and resource.',
      'invalid_grant',
    );
  }
  if (pending.clientId.toLowerCase() !== clientId.toLowerCase()) {
    return err(
      70000,
      'The provided grant is invalid: it was issued to another client.',
      'invalid_grant',
    );
  }
  if (form.get('redirect_uri') !== pending.redirectUri) {
    return err(
      500112,
      'The reply address does not match the reply address provided when requesting the authorization code.',
      'invalid_grant',
    );
  }
  if (pending.codeChallenge) {
    const verifier = form.get('code_verifier') ?? '';
    const computed =
      pending.codeChallengeMethod === 'plain'
        ? verifier
        : createHash('sha256').update(verifier).digest('base64url');
    if (!verifier || computed !== pending.codeChallenge) {
      return err(
        501481,
        'The Code_Verifier does not match the code_challenge supplied in the authorization request.',
        'invalid_grant',
      );
    }
  }
  const user = state.tenant.findByOid(pending.userOid);
  if (user?.kind !== 'user')
    return err(50034, 'The user account does not exist in the directory.', 'invalid_grant');
  return userTokens(state, user, clientId, form.get('scope') ?? pending.scope, pending.nonce);
}

async function redeemRefreshToken(
  state: IdpState,
  form: URLSearchParams,
  clientId: string,
): Promise<Outcome> {
  const token = form.get('refresh_token');
  if (!token)
    return err(900144, "The request body must contain the following parameter: 'refresh_token'.");
  const grant = state.refreshTokens.get(token);
  if (
    !grant ||
    grant.expiresAtMs < Date.now() ||
    grant.clientId.toLowerCase() !== clientId.toLowerCase()
  ) {
    return err(9002313, 'Invalid request. Request is malformed or invalid.', 'invalid_grant');
  }
  state.refreshTokens.delete(token);
  const user = state.tenant.findByOid(grant.userOid);
  if (user?.kind !== 'user')
    return err(50034, 'The user account does not exist in the directory.', 'invalid_grant');
  return userTokens(state, user, clientId, form.get('scope') ?? '', undefined);
}

async function userTokens(
  state: IdpState,
  user: User,
  clientId: string,
  scopeParam: string,
  nonce: string | undefined,
): Promise<Outcome> {
  const { tenant } = state;
  const scope = parseScope(scopeParam, tenant.tenantId, false);
  if (!scope.ok) return { error: scope.error };
  const minted = await tenant.mintAccessToken(user, {
    audience: scope.resource,
    clientId,
    scopes: 'user_impersonation',
    nbfOffsetSec: tenant.nbfOffsetSec + state.faults.takeNbfOffsetSec(),
  });
  const refreshToken = `emu.rt.${randomBytes(32).toString('base64url')}`;
  purge(state.refreshTokens);
  state.refreshTokens.set(refreshToken, {
    clientId,
    userOid: user.oid,
    expiresAtMs: Date.now() + REFRESH_TOKEN_TTL_MS,
  });
  const clientInfo = Buffer.from(JSON.stringify({ uid: user.oid, utid: tenant.tenantId })).toString(
    'base64url',
  );
  return {
    body: {
      token_type: 'Bearer',
      scope: [...scope.resourceScopes, ...scope.oidc].join(' '),
      expires_in: minted.expiresInSec,
      ext_expires_in: minted.expiresInSec,
      access_token: minted.accessToken,
      refresh_token: refreshToken,
      id_token: await tenant.mintIdToken(user, { clientId, ...(nonce ? { nonce } : {}) }),
      client_info: clientInfo,
    },
  };
}

/** Drops expired entries (no timers: run on insert). */
export function purge(map: Map<string, { expiresAtMs: number }>): void {
  const now = Date.now();
  for (const [key, value] of map) if (value.expiresAtMs < now) map.delete(key);
}

function safeEqual(a: string, b: string): boolean {
  const ha = createHash('sha256').update(a).digest();
  const hb = createHash('sha256').update(b).digest();
  return timingSafeEqual(ha, hb);
}

function err(code: number, description: string, error = 'invalid_request', status = 400): Outcome {
  return { error: entraError(error, status, code, description) };
}
