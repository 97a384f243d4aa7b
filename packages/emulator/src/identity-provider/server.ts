import { randomBytes } from 'node:crypto';
import {
  createServer as createHttpServer,
  type IncomingMessage,
  type Server,
  type ServerResponse,
} from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo, Socket } from 'node:net';
import type { Pki } from '../pki.js';
import type { Tenant } from '../tenant.js';
import { handleAuthorize } from './authorize.js';
import { EmulatorError } from '../errors.js';
import { Faults } from './faults.js';
import { readBody, sendEntraError, sendJson, entraError } from './http.js';
import { APP_SERVICE_PATH, IMDS_PATH, handleManagedIdentity } from './managed-identity.js';
import type { IdentityProviderStats, IdpState } from './state.js';
import { handleToken } from './token-endpoint.js';

/** Options of {@link startIdentityProvider}. */
export interface IdentityProviderOptions {
  /** The emulated tenant (principals, keys). */
  tenant: Tenant;
  /** Certificates for HTTPS. */
  pki: Pki;
  /** Loopback address to listen on; anything else is refused. @default '127.0.0.1' */
  host?: string;
  /** HTTPS port of the authority; 0 picks a free port. @default 0 */
  port?: number;
  /** Plain-HTTP port of the managed identity endpoints (as on Azure hosts); 0 picks one. @default 0 */
  managedIdentityPort?: number;
}

/** A running identity provider. */
export interface IdentityProvider {
  /** `https://127.0.0.1:<port>`: the value for `AZURE_AUTHORITY_HOST` / `authorityHost`. */
  readonly authorityHost: string;
  /** HTTPS port of the authority. */
  readonly port: number;
  /** The tenant id (`AZURE_TENANT_ID`). */
  readonly tenantId: string;
  /** `<authorityHost>/<tenantId>/oauth2/v2.0/token`. */
  readonly tokenEndpoint: string;
  /** App Service style endpoint (`IDENTITY_ENDPOINT`), plain HTTP on loopback as on Azure. */
  readonly managedIdentityEndpoint: string;
  /** Secret for `IDENTITY_HEADER` (sent back as `X-IDENTITY-HEADER`). */
  readonly identityHeader: string;
  /** IMDS base URL (`AZURE_POD_IDENTITY_AUTHORITY_HOST`); the token path is `/metadata/identity/oauth2/token`. */
  readonly imdsEndpoint: string;
  /** Fault injection on the token-issuing endpoints. */
  readonly faults: Faults;
  /** Counters. */
  stats(): IdentityProviderStats;
  /** Destroys every open client connection now; returns how many. */
  dropConnections(): number;
  /** Stops both servers, destroys all sockets and ends faults. Idempotent. */
  close(): Promise<void>;
}

const LOOPBACK = /^(127\.\d{1,3}\.\d{1,3}\.\d{1,3}|::1|localhost)$/i;
const TENANT_ALIASES = new Set(['common', 'organizations']);

/**
 * Starts the emulated Entra ID: an HTTPS authority (OIDC discovery, JWKS, token, authorize, and
 * the managed identity paths too) and a plain-HTTP loopback listener for managed identity
 * (App Service and IMDS style), as Azure hosts expose it.
 *
 * @example
 * ```ts
 * const idp = await startIdentityProvider({ tenant, pki });
 * const credential = new ClientSecretCredential(idp.tenantId, clientId, secret, {
 *   authorityHost: idp.authorityHost,
 *   disableInstanceDiscovery: true,
 * });
 * // ...
 * await idp.close();
 * ```
 */
export async function startIdentityProvider(
  options: IdentityProviderOptions,
): Promise<IdentityProvider> {
  const host = options.host ?? '127.0.0.1';
  if (!LOOPBACK.test(host)) {
    throw new EmulatorError(
      'NOT_LOOPBACK',
      `The identity provider listens on loopback only; "host" ${JSON.stringify(host)} is not a loopback address. Use 127.0.0.1, ::1 or localhost.`,
    );
  }
  const { tenant, pki } = options;
  const sockets = new Set<Socket>();
  const dropAll = (): number => {
    const n = sockets.size;
    for (const s of sockets) s.destroy();
    sockets.clear();
    return n;
  };
  const faults = new Faults({ onRefuse: dropAll });
  const state: IdpState = {
    tenant,
    faults,
    identityHeader: randomBytes(24).toString('hex'),
    codes: new Map(),
    refreshTokens: new Map(),
    requests: { discovery: 0, jwks: 0, token: 0, authorize: 0, managedIdentity: 0, other: 0 },
    errors: {},
  };

  const https = createHttpsServer({ cert: pki.serverCertPem, key: pki.serverKeyPem }, (req, res) =>
    route(state, req, res, true),
  );
  const http = createHttpServer((req, res) => route(state, req, res, false));
  for (const server of [https, http] as Server[]) {
    server.on('connection', (socket: Socket) => {
      if (faults.refuseConnection()) {
        socket.destroy();
        return;
      }
      sockets.add(socket);
      socket.on('close', () => sockets.delete(socket));
    });
    server.on('clientError', (_err, socket) => socket.destroy());
  }
  try {
    await listen(https, host, options.port ?? 0);
    await listen(http, host, options.managedIdentityPort ?? 0);
  } catch (err) {
    dropAll();
    https.close();
    http.close();
    throw new EmulatorError(
      'INVALID_OPTION',
      `The identity provider could not listen on ${host}: ${(err as Error).message}. Choose another port or 0 for a free one.`,
      { cause: err },
    );
  }
  const urlHost = host.includes(':') ? `[${host}]` : host;
  const port = (https.address() as AddressInfo).port;
  const miPort = (http.address() as AddressInfo).port;
  const authorityHost = `https://${urlHost}:${port}`;
  tenant.authorityHost = authorityHost;

  let closing: Promise<void> | undefined;
  return {
    authorityHost,
    port,
    tenantId: tenant.tenantId,
    tokenEndpoint: `${authorityHost}/${tenant.tenantId}/oauth2/v2.0/token`,
    managedIdentityEndpoint: `http://${urlHost}:${miPort}/MSI/token`,
    identityHeader: state.identityHeader,
    imdsEndpoint: `http://${urlHost}:${miPort}`,
    faults,
    stats: () => ({
      requests: { ...state.requests },
      tokensIssued: tenant.tokensIssued(),
      errors: { ...state.errors },
      faultsAffected: faults.affectedTotal,
    }),
    dropConnections: dropAll,
    close() {
      closing ??= (async () => {
        faults.dispose();
        const closed = Promise.all(
          [https, http].map((s) => new Promise<void>((r) => s.close(() => r()))),
        );
        dropAll();
        await closed;
      })();
      return closing;
    },
  };
}

function listen(server: Server, host: string, port: number): Promise<void> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
}

function route(state: IdpState, req: IncomingMessage, res: ServerResponse, secure: boolean): void {
  handle(state, req, res, secure).catch(() => {
    if (!res.headersSent) {
      sendEntraError(
        res,
        entraError('server_error', 500, 90033, 'An internal error occurred in the emulator.'),
      );
    } else res.destroy();
  });
}

async function handle(
  state: IdpState,
  req: IncomingMessage,
  res: ServerResponse,
  secure: boolean,
): Promise<void> {
  const { tenant } = state;
  const origin = `${secure ? 'https' : 'http'}://${req.headers.host ?? 'localhost'}`;
  const url = new URL(req.url ?? '/', origin);
  const path = url.pathname.replace(/\/{2,}/g, '/');
  const lower = path.toLowerCase().replace(/\/+$/, '');
  const method = req.method ?? 'GET';

  if (lower === APP_SERVICE_PATH || lower === IMDS_PATH) {
    state.requests.managedIdentity++;
    if (state.faults.applyToRequest(req, res)) return;
    const style = lower === IMDS_PATH ? 'imds' : 'appService';
    return handleManagedIdentity(state, style, url.searchParams, req.headers, res);
  }
  if (!secure) {
    state.requests.other++;
    return sendJson(res, 404, {
      error: 'not_found',
      error_description: 'Only managed identity paths are served over HTTP.',
    });
  }
  const [, segment = '', ...rest] = path.split('/');
  const tail = rest.join('/').toLowerCase().replace(/\/+$/, '');
  const tenantOk =
    segment.toLowerCase() === tenant.tenantId.toLowerCase() ||
    TENANT_ALIASES.has(segment.toLowerCase());
  if (!tenantOk) {
    state.requests.other++;
    return sendEntraError(
      res,
      entraError(
        'invalid_tenant',
        400,
        90002,
        `Tenant '${segment}' not found. Check to make sure you have the correct tenant ID and are signing into the correct cloud.`,
      ),
    );
  }
  const base = `${origin}/${segment}`;
  if (
    tail === 'v2.0/.well-known/openid-configuration' ||
    tail === '.well-known/openid-configuration'
  ) {
    state.requests.discovery++;
    return sendJson(res, 200, discovery(base, origin, segment, tenant.tenantId));
  }
  if (tail === 'discovery/v2.0/keys' || tail === 'discovery/keys') {
    state.requests.jwks++;
    return sendJson(res, 200, tenant.jwks());
  }
  if (tail === 'oauth2/v2.0/token' || tail === 'oauth2/token') {
    state.requests.token++;
    if (method !== 'POST') {
      return sendEntraError(
        res,
        entraError('invalid_request', 405, 900561, 'The endpoint only accepts POST requests.'),
      );
    }
    if (state.faults.applyToRequest(req, res)) return;
    const form = new URLSearchParams(await readBody(req));
    const tokenEndpoints = [...new Set([origin, tenant.authorityHost])].flatMap((o) =>
      [segment, tenant.tenantId].flatMap((t) => [
        `${o}/${t}/oauth2/v2.0/token`,
        `${o}/${t}/oauth2/token`,
      ]),
    );
    return handleToken(state, { form, tokenEndpoints }, res);
  }
  if (tail === 'oauth2/v2.0/authorize' || tail === 'oauth2/authorize') {
    state.requests.authorize++;
    const params = method === 'POST' ? new URLSearchParams(await readBody(req)) : url.searchParams;
    return handleAuthorize(state, params, res);
  }
  if (tail === 'oauth2/v2.0/logout') {
    state.requests.other++;
    res.writeHead(200, { 'content-type': 'text/html' });
    return void res.end('<html><body>Signed out.</body></html>');
  }
  state.requests.other++;
  sendJson(res, 404, { error: 'not_found', error_description: `No endpoint at ${path}.` });
}

function discovery(
  base: string,
  origin: string,
  segment: string,
  tenantId: string,
): Record<string, unknown> {
  const issuerTenant = segment.toLowerCase() === tenantId.toLowerCase() ? tenantId : '{tenantid}';
  return {
    token_endpoint: `${base}/oauth2/v2.0/token`,
    token_endpoint_auth_methods_supported: [
      'client_secret_post',
      'private_key_jwt',
      'client_secret_basic',
    ],
    jwks_uri: `${base}/discovery/v2.0/keys`,
    response_modes_supported: ['query', 'fragment', 'form_post'],
    subject_types_supported: ['pairwise'],
    id_token_signing_alg_values_supported: ['RS256'],
    response_types_supported: ['code', 'id_token', 'code id_token', 'id_token token'],
    scopes_supported: ['openid', 'profile', 'email', 'offline_access'],
    issuer: `${origin}/${issuerTenant}/v2.0`,
    request_uri_parameter_supported: false,
    userinfo_endpoint: `${origin}/oidc/userinfo`,
    authorization_endpoint: `${base}/oauth2/v2.0/authorize`,
    device_authorization_endpoint: `${base}/oauth2/v2.0/devicecode`,
    http_logout_supported: true,
    frontchannel_logout_supported: true,
    end_session_endpoint: `${base}/oauth2/v2.0/logout`,
    claims_supported: [
      'sub',
      'iss',
      'aud',
      'exp',
      'iat',
      'auth_time',
      'acr',
      'nonce',
      'preferred_username',
      'name',
      'tid',
      'ver',
      'at_hash',
      'c_hash',
      'email',
    ],
    kerberos_endpoint: `${base}/kerberos`,
    tenant_region_scope: 'EU',
    cloud_instance_name: 'microsoftonline.com',
    cloud_graph_host_name: 'graph.windows.net',
    msgraph_host: 'graph.microsoft.com',
    rbac_url: 'https://pas.windows.net',
  };
}
