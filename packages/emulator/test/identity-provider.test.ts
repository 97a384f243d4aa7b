import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import {
  ClientCertificateCredential,
  ClientSecretCredential,
  DefaultAzureCredential,
  ManagedIdentityCredential,
  WorkloadIdentityCredential,
} from '@azure/identity';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startIdentityProvider } from '../src/identity-provider/server.js';
import { claimsOf, httpsCall, startTestIdp, withEnv, type TestIdp } from './helpers/idp.js';

const SCOPE = 'https://redis.azure.com/.default';

describe('identity provider with the real @azure/identity credentials', () => {
  let t: TestIdp;
  beforeAll(async () => {
    t = await startTestIdp();
  });
  afterAll(async () => {
    await t?.close();
  });

  async function expectRedisToken(token: string, oid: string) {
    const check = await t.tenant.verifyRedisAuth(oid, token);
    expect(check).toMatchObject({ ok: true, oid });
    return claimsOf(token);
  }

  it('serves OIDC discovery whose issuer host is the authority host', async () => {
    const res = await httpsCall(
      `${t.idp.authorityHost}/${t.tenant.tenantId}/v2.0/.well-known/openid-configuration`,
      t.pki.caCertPem,
    );
    const doc = res.json();
    expect(res.status).toBe(200);
    expect(new URL(doc.issuer as string).host).toBe(new URL(t.idp.authorityHost).host);
    expect(doc.token_endpoint).toBe(t.idp.tokenEndpoint);
    const jwks = (await httpsCall(doc.jwks_uri as string, t.pki.caCertPem)).json();
    expect((jwks.keys as unknown[]).length).toBe(1);
  });

  it('ClientSecretCredential gets a Redis token with app claims', async () => {
    const cred = new ClientSecretCredential(
      t.tenant.tenantId,
      t.app.clientId,
      t.app.secret as string,
      t.credentialOptions,
    );
    const token = await cred.getToken(SCOPE);
    const claims = await expectRedisToken(token.token, t.app.oid);
    expect(claims).toMatchObject({
      aud: 'https://redis.azure.com',
      iss: `https://sts.windows.net/${t.tenant.tenantId}/`,
      tid: t.tenant.tenantId,
      oid: t.app.oid,
      sub: t.app.oid,
      appid: t.app.clientId,
      azp: t.app.clientId,
      appidacr: '1',
      idtyp: 'app',
      ver: '1.0',
    });
    expect(typeof claims.uti).toBe('string');
    expect((claims.exp as number) - (claims.iat as number)).toBe(3600);
    expect(Math.abs(token.expiresOnTimestamp - (claims.exp as number) * 1000)).toBeLessThan(2000);
  });

  it('ClientCertificateCredential works from a file path, from PEM in memory, and with x5c', async () => {
    const variants = [
      new ClientCertificateCredential(
        t.tenant.tenantId,
        t.app.clientId,
        { certificatePath: t.cert.combinedPemPath },
        t.credentialOptions,
      ),
      new ClientCertificateCredential(
        t.tenant.tenantId,
        t.app.clientId,
        { certificate: t.cert.certPem + t.cert.keyPem },
        t.credentialOptions,
      ),
      new ClientCertificateCredential(
        t.tenant.tenantId,
        t.app.clientId,
        { certificatePath: t.cert.combinedPemPath },
        { ...t.credentialOptions, sendCertificateChain: true },
      ),
    ];
    for (const cred of variants) {
      const claims = await expectRedisToken((await cred.getToken(SCOPE)).token, t.app.oid);
      expect(claims.appidacr).toBe('2');
    }
  });

  it('ManagedIdentityCredential, App Service style: system-assigned and user-assigned by client id, object id, resource id', async () => {
    const system = t.tenant.config.systemAssignedIdentity!;
    const user = t.tenant.config.userAssignedIdentities[0]!;
    await withEnv(
      { IDENTITY_ENDPOINT: t.idp.managedIdentityEndpoint, IDENTITY_HEADER: t.idp.identityHeader },
      async () => {
        const token = await new ManagedIdentityCredential().getToken(SCOPE);
        const claims = await expectRedisToken(token.token, system.oid);
        expect(claims.appid).toBe(system.clientId);
        expect(Math.abs(token.expiresOnTimestamp - (claims.exp as number) * 1000)).toBeLessThan(
          2000,
        );
        for (const cred of [
          new ManagedIdentityCredential(user.clientId),
          new ManagedIdentityCredential({ objectId: user.oid }),
          new ManagedIdentityCredential({ resourceId: user.resourceId }),
        ]) {
          const c = await expectRedisToken((await cred.getToken(SCOPE)).token, user.oid);
          expect(c.xms_mirid).toBe(user.resourceId);
        }
      },
    );
  });

  it('ManagedIdentityCredential, IMDS style via AZURE_POD_IDENTITY_AUTHORITY_HOST', async () => {
    const system = t.tenant.config.systemAssignedIdentity!;
    const user = t.tenant.config.userAssignedIdentities[0]!;
    await withEnv({ AZURE_POD_IDENTITY_AUTHORITY_HOST: t.idp.imdsEndpoint }, async () => {
      const token = await new ManagedIdentityCredential().getToken(SCOPE);
      expect(token.expiresOnTimestamp).toBeGreaterThan(Date.now() + 3500_000);
      await expectRedisToken(token.token, system.oid);
      await expectRedisToken(
        (await new ManagedIdentityCredential({ clientId: user.clientId }).getToken(SCOPE)).token,
        user.oid,
      );
      await expectRedisToken(
        (await new ManagedIdentityCredential({ resourceId: user.resourceId }).getToken(SCOPE))
          .token,
        user.oid,
      );
    });
  });

  it('ManagedIdentityCredential fails for an unknown user-assigned identity', async () => {
    await withEnv(
      { IDENTITY_ENDPOINT: t.idp.managedIdentityEndpoint, IDENTITY_HEADER: t.idp.identityHeader },
      async () => {
        const cred = new ManagedIdentityCredential('99999999-9999-4999-8999-999999999999');
        await expect(cred.getToken(SCOPE)).rejects.toThrow(/No managed identity found/);
      },
    );
  });

  it('DefaultAzureCredential uses AZURE_TENANT_ID/AZURE_CLIENT_ID/AZURE_CLIENT_SECRET/AZURE_AUTHORITY_HOST', async () => {
    await withEnv(
      {
        AZURE_TENANT_ID: t.tenant.tenantId,
        AZURE_CLIENT_ID: t.app.clientId,
        AZURE_CLIENT_SECRET: t.app.secret as string,
        AZURE_AUTHORITY_HOST: t.idp.authorityHost,
      },
      async () => {
        const { authorityHost: _ignored, ...options } = t.credentialOptions;
        const cred = new DefaultAzureCredential(options);
        await expectRedisToken((await cred.getToken(SCOPE)).token, t.app.oid);
      },
    );
  });

  it('WorkloadIdentityCredential exchanges a federated token minted by the emulator', async () => {
    const file = join(t.pki.stateDir, 'federated-token');
    await writeFile(file, await t.tenant.mintFederatedToken(), { mode: 0o600 });
    const cred = new WorkloadIdentityCredential({
      tenantId: t.tenant.tenantId,
      clientId: t.app.clientId,
      tokenFilePath: file,
      ...t.credentialOptions,
    });
    const claims = await expectRedisToken((await cred.getToken(SCOPE)).token, t.app.oid);
    expect(claims.appid).toBe(t.app.clientId);

    await writeFile(
      file,
      await t.tenant.mintFederatedToken({ subject: 'system:serviceaccount:other:sa' }),
    );
    const untrusted = new WorkloadIdentityCredential({
      tenantId: t.tenant.tenantId,
      clientId: t.app.clientId,
      tokenFilePath: file,
      ...t.credentialOptions,
    });
    await expect(untrusted.getToken(SCOPE)).rejects.toThrow(/AADSTS70021/);
  });

  it('counts tokens per principal', () => {
    const stats = t.idp.stats();
    expect(stats.tokensIssued[t.app.oid]).toBeGreaterThanOrEqual(5);
    expect(stats.requests.managedIdentity).toBeGreaterThanOrEqual(4);
  });

  it('refuses a non-loopback host', async () => {
    await expect(
      startIdentityProvider({ tenant: t.tenant, pki: t.pki, host: '0.0.0.0' }),
    ).rejects.toMatchObject({ code: 'NOT_LOOPBACK' });
  });
});
