import { mkdtemp, rm } from 'node:fs/promises';
import { request } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  createPki,
  issueClientCertificate,
  type ClientCertificate,
  type Pki,
} from '../../src/pki.js';
import { Tenant, type TenantOptions } from '../../src/tenant.js';
import {
  startIdentityProvider,
  type IdentityProvider,
} from '../../src/identity-provider/server.js';
import { trustEmulatorCa } from '../../src/identity-provider/trust.js';
import type { ServicePrincipal } from '../../src/principals.js';
import { withExactEnv } from './env.js';

/** A running identity provider with a tenant, PKI and a certificate registered on the app. */
export interface TestIdp {
  pki: Pki;
  tenant: Tenant;
  idp: IdentityProvider;
  app: ServicePrincipal;
  cert: ClientCertificate;
  /** Options for @azure/identity credentials: authority, no instance discovery, trusted CA. */
  credentialOptions: ReturnType<typeof trustEmulatorCa> & {
    authorityHost: string;
    disableInstanceDiscovery: true;
  };
  close(): Promise<void>;
}

export async function startTestIdp(tenantOptions: TenantOptions = {}): Promise<TestIdp> {
  const stateDir = await mkdtemp(join(tmpdir(), 'idp-test-'));
  const pki = await createPki({ stateDir });
  const tenant = new Tenant(undefined, tenantOptions);
  const app = tenant.config.servicePrincipals[0] as ServicePrincipal;
  const cert = await issueClientCertificate(pki, 'entra-redis-app');
  app.certificatePem = cert.certPem;
  const idp = await startIdentityProvider({ tenant, pki });
  return {
    pki,
    tenant,
    idp,
    app,
    cert,
    credentialOptions: {
      authorityHost: idp.authorityHost,
      disableInstanceDiscovery: true,
      ...trustEmulatorCa(pki.caCertPem),
    },
    async close() {
      await idp.close();
      await rm(stateDir, { recursive: true, force: true });
    },
  };
}

const MI_VARS = [
  'IDENTITY_ENDPOINT',
  'IDENTITY_HEADER',
  'AZURE_POD_IDENTITY_AUTHORITY_HOST',
  'MSI_ENDPOINT',
  'MSI_SECRET',
  'IMDS_ENDPOINT',
  'IDENTITY_SERVER_THUMBPRINT',
  'AZURE_TENANT_ID',
  'AZURE_CLIENT_ID',
  'AZURE_CLIENT_SECRET',
  'AZURE_CLIENT_CERTIFICATE_PATH',
  'AZURE_AUTHORITY_HOST',
  'AZURE_FEDERATED_TOKEN_FILE',
  'AZURE_USERNAME',
  'AZURE_PASSWORD',
];

/** Runs `fn` with exactly these Azure identity variables set (others cleared), then restores them. */
export function withEnv<T>(vars: Record<string, string>, fn: () => Promise<T>): Promise<T> {
  return withExactEnv(MI_VARS, vars, fn);
}

/** A raw HTTPS request trusting the emulator's CA. */
export function httpsCall(
  url: string,
  ca: string,
  options: {
    method?: string;
    form?: Record<string, string>;
    headers?: Record<string, string>;
  } = {},
): Promise<{
  status: number;
  headers: Record<string, unknown>;
  body: string;
  json: () => Record<string, unknown>;
}> {
  return new Promise((resolve, reject) => {
    const body = options.form ? new URLSearchParams(options.form).toString() : undefined;
    const req = request(url, {
      method: options.method ?? (body ? 'POST' : 'GET'),
      ca,
      agent: false,
      headers: {
        ...(body ? { 'content-type': 'application/x-www-form-urlencoded' } : {}),
        ...options.headers,
      },
    });
    req.on('error', reject);
    req.on('response', (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8');
        resolve({
          status: res.statusCode ?? 0,
          headers: res.headers,
          body: text,
          json: () => JSON.parse(text) as Record<string, unknown>,
        });
      });
    });
    req.end(body);
  });
}

/** Decodes a JWT payload for assertions (tests only; the signature is checked elsewhere). */
export function claimsOf(jwt: string): Record<string, unknown> {
  const part = jwt.split('.')[1] ?? '';
  return JSON.parse(Buffer.from(part, 'base64url').toString('utf8')) as Record<string, unknown>;
}
