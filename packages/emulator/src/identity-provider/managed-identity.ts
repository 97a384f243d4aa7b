import { randomUUID, timingSafeEqual } from 'node:crypto';
import type { IncomingHttpHeaders, ServerResponse } from 'node:http';
import type { Principal } from '../principals.js';
import { sendJson } from './http.js';
import { isKnownResource, normaliseResource, type IdpState } from './state.js';

/** Path of the App Service style endpoint (`IDENTITY_ENDPOINT`). */
export const APP_SERVICE_PATH = '/msi/token';
/** Path of the IMDS token endpoint (msal-node requests it without a trailing slash). */
export const IMDS_PATH = '/metadata/identity/oauth2/token';

type Style = 'appService' | 'imds';

/**
 * Serves a managed identity token request, App Service style (`X-IDENTITY-HEADER`,
 * api-version 2019-08-01) or IMDS style (`Metadata: true`, api-version 2018-02-01), with the
 * response bodies those services return (`expires_on` as epoch seconds in a string).
 */
export async function handleManagedIdentity(
  state: IdpState,
  style: Style,
  query: URLSearchParams,
  headers: IncomingHttpHeaders,
  res: ServerResponse,
): Promise<void> {
  const fail = (status: number, error: string, description: string) => {
    const key = `mi:${error}`;
    state.errors[key] = (state.errors[key] ?? 0) + 1;
    if (style === 'imds') return sendJson(res, status, { error, error_description: description });
    return sendJson(res, status, {
      statusCode: status,
      message: description,
      correlationId: randomUUID(),
    });
  };

  if (style === 'imds') {
    if (headers.metadata !== 'true') {
      return fail(400, 'invalid_request', 'Required metadata header not specified');
    }
  } else {
    const given = headers['x-identity-header'];
    if (typeof given !== 'string' || !sameSecret(given, state.identityHeader)) {
      return fail(
        401,
        'unauthorized',
        'The X-IDENTITY-HEADER header is missing or does not match IDENTITY_HEADER.',
      );
    }
  }
  const apiVersion = query.get('api-version');
  if (!apiVersion)
    return fail(400, 'invalid_request', 'Required query variable api-version is missing');
  const resource = query.get('resource');
  if (!resource) return fail(400, 'invalid_request', 'Required query variable resource is missing');
  if (!isKnownResource(resource)) {
    return fail(
      400,
      'invalid_resource',
      `AADSTS500011: The resource principal named ${resource} was not found in the tenant named ${state.tenant.tenantId}.`,
    );
  }

  const principal = selectIdentity(state, query);
  if (!principal) {
    return style === 'imds'
      ? fail(400, 'invalid_request', 'Identity not found')
      : fail(
          400,
          'invalid_request',
          'No managed identity found for specified ClientId/ResourceId/PrincipalId.',
        );
  }
  const audience = normaliseResource(resource);
  const minted = await state.tenant.mintAccessToken(principal, {
    audience,
    nbfOffsetSec: state.tenant.nbfOffsetSec + state.faults.takeNbfOffsetSec(),
  });
  const clientId = principal.kind === 'user' ? '' : principal.clientId;
  const nbf = String(minted.expiresOnSec - minted.expiresInSec);
  if (style === 'imds') {
    return sendJson(res, 200, {
      access_token: minted.accessToken,
      client_id: clientId,
      expires_in: String(minted.expiresInSec),
      expires_on: String(minted.expiresOnSec),
      ext_expires_in: String(minted.expiresInSec),
      not_before: nbf,
      resource,
      token_type: 'Bearer',
    });
  }
  return sendJson(res, 200, {
    access_token: minted.accessToken,
    expires_on: String(minted.expiresOnSec),
    resource,
    token_type: 'Bearer',
    client_id: clientId,
  });
}

function selectIdentity(state: IdpState, query: URLSearchParams): Principal | undefined {
  const { tenant } = state;
  const clientId = query.get('client_id') ?? query.get('clientid');
  const objectId = query.get('object_id') ?? query.get('principal_id');
  const resourceId = query.get('mi_res_id') ?? query.get('msi_res_id');
  const managed = (p: Principal | undefined) =>
    p && (p.kind === 'userAssigned' || p.kind === 'systemAssigned') ? p : undefined;
  if (clientId) return managed(tenant.findByClientId(clientId));
  if (objectId) return managed(tenant.findByOid(objectId));
  if (resourceId) return managed(tenant.findByResourceId(resourceId));
  return tenant.config.systemAssignedIdentity;
}

function sameSecret(a: string, b: string): boolean {
  const ba = Buffer.from(a);
  const bb = Buffer.from(b);
  return ba.length === bb.length && timingSafeEqual(ba, bb);
}
