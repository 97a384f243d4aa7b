import { X509Certificate } from 'node:crypto';
import { compactVerify, decodeJwt, decodeProtectedHeader } from 'jose';
import { thumbprints } from '../pki.js';
import type { ServicePrincipal } from '../principals.js';
import { FEDERATED_AUDIENCE, type Tenant } from '../tenant.js';
import { entraError, type EntraError } from './http.js';

/** Seconds of clock skew tolerated on assertion times, as Entra does. */
const SKEW_SEC = 300;

/**
 * Verifies a `client_assertion` for a service principal: either a JWT signed with its registered
 * certificate (header `x5t#S256` or `x5t`), or a federated token issued by the emulator whose
 * subject the app trusts. Returns the client authentication kind (2 certificate, 0 federated) or
 * an Entra error.
 */
export async function verifyClientAssertion(
  tenant: Tenant,
  app: ServicePrincipal,
  assertion: string,
  tokenEndpoints: string[],
): Promise<{ ok: true; clientAuth: 0 | 2 } | { ok: false; error: EntraError }> {
  let header: Record<string, unknown>;
  let issuer: unknown;
  try {
    header = decodeProtectedHeader(assertion) as Record<string, unknown>;
    issuer = decodeJwt(assertion).iss;
  } catch {
    return fail(50027, 'JWT token is invalid or malformed.');
  }
  const x5t256 = typeof header['x5t#S256'] === 'string' ? header['x5t#S256'] : undefined;
  const x5t = typeof header.x5t === 'string' ? header.x5t : undefined;
  // An assertion the app signed itself has iss = client id; anything else is a federated token.
  if (issuer !== app.clientId || (x5t256 === undefined && x5t === undefined)) {
    return verifyFederated(tenant, app, assertion);
  }

  if (!app.certificatePem) {
    return fail(
      700027,
      'The certificate with identifier used to sign the client assertion is not registered on application.',
    );
  }
  const registered = thumbprints(app.certificatePem);
  const matches =
    (x5t256 !== undefined && x5t256 === hexToB64url(registered.thumbprintSha256)) ||
    (x5t !== undefined && x5t === hexToB64url(registered.thumbprintSha1));
  if (!matches) {
    return fail(
      700027,
      'The certificate with identifier used to sign the client assertion is not registered on application.',
    );
  }
  if (Array.isArray(header.x5c) && header.x5c.length > 0) {
    const leaf = `-----BEGIN CERTIFICATE-----\n${String(header.x5c[0])}\n-----END CERTIFICATE-----\n`;
    try {
      if (thumbprints(leaf).thumbprintSha256 !== registered.thumbprintSha256) {
        return fail(
          700027,
          'The x5c certificate does not match the certificate registered on application.',
        );
      }
    } catch {
      return fail(700027, 'The x5c header does not hold a valid certificate.');
    }
  }
  let claims: Record<string, unknown>;
  try {
    const key = new X509Certificate(app.certificatePem).publicKey;
    const { payload } = await compactVerify(assertion, key, { algorithms: ['RS256', 'PS256'] });
    claims = JSON.parse(Buffer.from(payload).toString('utf8')) as Record<string, unknown>;
  } catch {
    return fail(700027, 'Client assertion failed signature validation.');
  }
  const aud = Array.isArray(claims.aud) ? claims.aud : [claims.aud];
  if (!aud.some((a) => typeof a === 'string' && tokenEndpoints.includes(a.replace(/\/+$/, '')))) {
    return fail(700027, 'Client assertion audience claim does not match the token endpoint.');
  }
  if (claims.iss !== app.clientId || claims.sub !== app.clientId) {
    return fail(
      700027,
      'Client assertion contains an invalid issuer or subject; both must be the client id.',
    );
  }
  const timeError = checkTimes(tenant, claims);
  if (timeError) return { ok: false, error: timeError };
  return { ok: true, clientAuth: 2 };
}

async function verifyFederated(
  tenant: Tenant,
  app: ServicePrincipal,
  assertion: string,
): Promise<{ ok: true; clientAuth: 0 } | { ok: false; error: EntraError }> {
  const checked = await tenant.verifyJwt(assertion);
  if (!checked.ok) {
    if (checked.reason === 'expired' || checked.reason === 'not-yet-valid') {
      return fail(700024, 'Client assertion is not within its valid time range.');
    }
    return fail(700027, 'Client assertion failed signature validation.');
  }
  const { claims } = checked;
  const aud = Array.isArray(claims.aud) ? claims.aud : [claims.aud];
  const subjects = app.federatedSubjects ?? [];
  if (
    claims.iss !== tenant.federatedIssuer ||
    !aud.includes(FEDERATED_AUDIENCE) ||
    typeof claims.sub !== 'string' ||
    !subjects.includes(claims.sub)
  ) {
    return fail(
      70021,
      `No matching federated identity record found for presented assertion. Assertion Issuer: '${String(claims.iss)}'. Assertion Subject: '${String(claims.sub)}'. Assertion Audience: '${aud.join(',')}'.`,
    );
  }
  return { ok: true, clientAuth: 0 };
}

function checkTimes(tenant: Tenant, claims: Record<string, unknown>): EntraError | undefined {
  const nowSec = tenant.now() / 1000;
  if (typeof claims.exp !== 'number' || claims.exp + SKEW_SEC < nowSec) {
    return entraError(
      'invalid_client',
      401,
      700024,
      'Client assertion is not within its valid time range.',
    );
  }
  if (typeof claims.nbf === 'number' && claims.nbf - SKEW_SEC > nowSec) {
    return entraError(
      'invalid_client',
      401,
      700024,
      'Client assertion is not within its valid time range.',
    );
  }
  return undefined;
}

function fail(code: number, description: string): { ok: false; error: EntraError } {
  return {
    ok: false,
    error: entraError(
      code === 70021 ? 'invalid_request' : 'invalid_client',
      code === 70021 ? 400 : 401,
      code,
      description,
    ),
  };
}

function hexToB64url(hex: string): string {
  return Buffer.from(hex, 'hex').toString('base64url');
}
