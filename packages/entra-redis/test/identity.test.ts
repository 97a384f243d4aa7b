import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generate } from 'selfsigned';
import {
  defaultAzureCredential,
  interactiveUser,
  managedIdentity,
  servicePrincipalCertificate,
  servicePrincipalSecret,
  workloadIdentity,
} from 'entra-redis';
import { CLIENT, OID, SECRET, TID, fakeEntra, makeJwt } from './fakes.js';

const SCOPE = 'https://redis.azure.com/.default';
let dir = '';
let pem = '';

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'entra-redis-identity-'));
  const generated = await generate([{ name: 'commonName', value: 'entra-redis-test' }], {
    keySize: 2048,
  });
  pem = `${generated.cert}\n${generated.private}`;
  writeFileSync(join(dir, 'cert.pem'), pem);
  writeFileSync(join(dir, 'cert-only.pem'), generated.cert);
  writeFileSync(join(dir, 'federated-token'), makeJwt({ sub: 'system:sa' }));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function expectInvalid(fn: () => unknown, fragment: string, secret?: string): void {
  let error: unknown;
  try {
    fn();
  } catch (e) {
    error = e;
  }
  expect(error).toMatchObject({ name: 'EntraRedisError' });
  expect((error as { code: string }).code).toMatch(/INVALID_OPTION|CREDENTIAL_UNAVAILABLE/);
  expect((error as Error).message).toContain(fragment);
  if (secret) expect((error as Error).message).not.toContain(secret);
}

describe('identity factories get real tokens through @azure/identity (authorityHost, disableInstanceDiscovery, httpClient passed through)', () => {
  it('servicePrincipalSecret', async () => {
    const { state, options } = fakeEntra();
    const factory = servicePrincipalSecret({
      tenantId: TID,
      clientId: CLIENT,
      clientSecret: SECRET,
      ...options,
    });
    expect(typeof factory).toBe('function');
    expect((await factory().getToken(SCOPE))?.token).toBe(state.tokens[0]);
  });

  it('servicePrincipalCertificate, from a path and from a PEM string, with sendCertificateChain', async () => {
    const { state, options } = fakeEntra();
    const byPath = servicePrincipalCertificate(
      { tenantId: TID, clientId: CLIENT, certificatePath: join(dir, 'cert.pem') },
      { ...options, sendCertificateChain: true },
    );
    expect((await byPath().getToken(SCOPE))?.token).toBe(state.tokens[0]);
    const byPem = servicePrincipalCertificate(
      { tenantId: TID, clientId: CLIENT, certificatePem: pem },
      options,
    );
    expect((await byPem().getToken(SCOPE))?.token).toBe(state.tokens[1]);
    expect(byPem().constructor.name).toBe('ClientCertificateCredential');
  });

  it('workloadIdentity', async () => {
    const { state, options } = fakeEntra();
    const factory = workloadIdentity({
      tenantId: TID,
      clientId: CLIENT,
      tokenFilePath: join(dir, 'federated-token'),
      ...options,
    });
    expect((await factory().getToken(SCOPE))?.token).toBe(state.tokens[0]);
  });

  it('defaultAzureCredential (environment service principal)', async () => {
    const { state, options } = fakeEntra();
    const saved = { ...process.env };
    Object.assign(process.env, {
      AZURE_TENANT_ID: TID,
      AZURE_CLIENT_ID: CLIENT,
      AZURE_CLIENT_SECRET: SECRET,
    });
    try {
      const factory = defaultAzureCredential({
        ...options,
        requiredEnvVars: ['AZURE_CLIENT_SECRET'],
      });
      const token = await factory().getToken(SCOPE);
      expect(token?.token).toBe(state.tokens[0]);
      expect(JSON.parse(Buffer.from(token!.token.split('.')[1]!, 'base64url').toString()).oid).toBe(
        OID,
      );
    } finally {
      process.env = saved;
    }
  });

  it('managedIdentity and interactiveUser build the @azure/identity classes', () => {
    expect(managedIdentity()().constructor.name).toBe('ManagedIdentityCredential');
    expect(managedIdentity({ clientId: CLIENT })().constructor.name).toBe(
      'ManagedIdentityCredential',
    );
    const user = interactiveUser({
      tenantId: 'organizations',
      clientId: CLIENT,
      redirectUri: 'http://localhost:8400',
    });
    expect(typeof user.getToken).toBe('function'); // one credential: a fresh one would prompt again
    expect(user.constructor.name).toBe('InteractiveBrowserCredential');
  });
});

describe('identity factory validation', () => {
  it('servicePrincipalSecret', () => {
    expectInvalid(
      () =>
        servicePrincipalSecret({
          tenantId: 'not a tenant',
          clientId: CLIENT,
          clientSecret: SECRET,
        }),
      '"tenantId" must be a tenant id (GUID) or a tenant domain name',
      SECRET,
    );
    expectInvalid(
      () => servicePrincipalSecret({ tenantId: TID, clientId: 'my-app', clientSecret: SECRET }),
      '"clientId" must be a GUID',
      SECRET,
    );
    expectInvalid(
      () => servicePrincipalSecret({ tenantId: TID, clientId: CLIENT, clientSecret: '' }),
      '"clientSecret" must be a non-empty string',
    );
    expectInvalid(
      () =>
        servicePrincipalSecret({
          tenantId: TID,
          clientId: CLIENT,
          clientSecret: SECRET,
          authorityHost: 'http://login.test',
        }),
      '"authorityHost" must be an https URL',
      SECRET,
    );
    expectInvalid(
      () => servicePrincipalSecret({ tenantId: TID, clientId: CLIENT, clientSecret: 42 as never }),
      'got number',
    );
    expect(
      typeof servicePrincipalSecret({
        tenantId: 'contoso.onmicrosoft.com',
        clientId: CLIENT,
        clientSecret: SECRET,
      }),
    ).toBe('function');
  });

  it('servicePrincipalCertificate', () => {
    const base = { tenantId: TID, clientId: CLIENT };
    expectInvalid(
      () => servicePrincipalCertificate({ ...base } as never),
      'exactly one of "certificatePath" and "certificatePem"; got neither',
    );
    expectInvalid(
      () =>
        servicePrincipalCertificate({
          ...base,
          certificatePath: join(dir, 'cert.pem'),
          certificatePem: pem,
        } as never),
      'got both',
      pem,
    );
    expectInvalid(
      () => servicePrincipalCertificate({ ...base, certificatePath: join(dir, 'missing.pem') }),
      '"certificatePath" must be a readable file',
    );
    expectInvalid(
      () => servicePrincipalCertificate({ ...base, certificatePath: join(dir, 'cert-only.pem') }),
      'has no private key block',
    );
    expectInvalid(
      () => servicePrincipalCertificate({ ...base, certificatePem: 'garbage' }),
      'has no "-----BEGIN CERTIFICATE-----" block',
    );
    expectInvalid(
      () =>
        servicePrincipalCertificate({
          ...base,
          certificatePem: pem.replace('BEGIN PRIVATE', 'BEGIN ENCRYPTED PRIVATE'),
        }),
      'no "certificatePassword"',
      pem,
    );
    expectInvalid(
      () =>
        servicePrincipalCertificate(
          { ...base, certificatePem: pem },
          { sendCertificateChain: 'yes' as never },
        ),
      '"sendCertificateChain" must be true or false',
    );
  });

  it('managedIdentity', () => {
    expectInvalid(
      () => managedIdentity({ clientId: CLIENT, objectId: CLIENT } as never),
      'at most one of "clientId", "objectId" and "resourceId"',
    );
    expectInvalid(() => managedIdentity({ clientId: 'abc' }), '"clientId" must be a GUID');
    expectInvalid(() => managedIdentity({ objectId: '' }), '"objectId" must be a GUID');
    expectInvalid(
      () => managedIdentity({ resourceId: CLIENT }),
      '"resourceId" must be an Azure resource id',
    );
    expect(
      typeof managedIdentity({
        resourceId:
          '/subscriptions/s/resourceGroups/rg/providers/Microsoft.ManagedIdentity/userAssignedIdentities/id',
      }),
    ).toBe('function');
  });

  it('workloadIdentity names the option and the environment variable', () => {
    const saved = { ...process.env };
    delete process.env.AZURE_TENANT_ID;
    delete process.env.AZURE_CLIENT_ID;
    delete process.env.AZURE_FEDERATED_TOKEN_FILE;
    try {
      expectInvalid(
        () => workloadIdentity(),
        '"tenantId" is not set and neither is AZURE_TENANT_ID',
      );
      expectInvalid(
        () => workloadIdentity({ tenantId: TID }),
        '"clientId" is not set and neither is AZURE_CLIENT_ID',
      );
      expectInvalid(
        () => workloadIdentity({ tenantId: TID, clientId: CLIENT }),
        'AZURE_FEDERATED_TOKEN_FILE',
      );
      expectInvalid(
        () =>
          workloadIdentity({ tenantId: TID, clientId: CLIENT, tokenFilePath: join(dir, 'nope') }),
        '"tokenFilePath" must be a readable file',
      );
    } finally {
      process.env = saved;
    }
  });

  it('interactiveUser and defaultAzureCredential', () => {
    expectInvalid(
      () => interactiveUser({ tenantId: TID, clientId: 'x' }),
      '"clientId" must be a GUID',
    );
    expectInvalid(
      () => interactiveUser({ tenantId: TID, clientId: CLIENT, redirectUri: 'localhost:80' }),
      '"redirectUri" must be an http(s) URL',
    );
    expectInvalid(
      () => defaultAzureCredential({ tenantId: 'bad tenant' }),
      '"tenantId" must be a tenant id',
    );
    expectInvalid(
      () => defaultAzureCredential({ disableInstanceDiscovery: 'true' as never }),
      '"disableInstanceDiscovery" must be true or false',
    );
  });
});
