import { request } from 'node:http';
import { ClientSecretCredential } from '@azure/identity';
import { SignJWT } from 'jose';
import { createPrivateKey } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { httpsCall, startTestIdp, type TestIdp } from './helpers/idp.js';

const SCOPE = 'https://redis.azure.com/.default';
const JWT_BEARER = 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer';

describe('identity provider: Entra-style errors', () => {
  let t: TestIdp;
  beforeAll(async () => {
    t = await startTestIdp();
  });
  afterAll(async () => {
    await t?.close();
  });

  async function token(form: Record<string, string>) {
    const res = await httpsCall(t.idp.tokenEndpoint, t.pki.caCertPem, { form });
    return { status: res.status, body: res.json() };
  }

  function expectEntraError(body: Record<string, unknown>, error: string, code: number) {
    expect(body.error).toBe(error);
    expect(body.error_description).toMatch(new RegExp(`^AADSTS${code}: `));
    expect(body.error_codes).toEqual([code]);
    for (const field of ['timestamp', 'trace_id', 'correlation_id'])
      expect(typeof body[field]).toBe('string');
  }

  it('bad secret: 401 invalid_client AADSTS7000215, and the real credential fails with it', async () => {
    const { status, body } = await token({
      grant_type: 'client_credentials',
      client_id: t.app.clientId,
      client_secret: 'wrong',
      scope: SCOPE,
    });
    expect(status).toBe(401);
    expectEntraError(body, 'invalid_client', 7000215);
    expect(JSON.stringify(body)).not.toContain(t.app.secret);
    const cred = new ClientSecretCredential(
      t.tenant.tenantId,
      t.app.clientId,
      'wrong',
      t.credentialOptions,
    );
    await expect(cred.getToken(SCOPE)).rejects.toThrow(/AADSTS7000215/);
  });

  it('unknown client: 400 unauthorized_client AADSTS700016', async () => {
    const { status, body } = await token({
      grant_type: 'client_credentials',
      client_id: '99999999-0000-4000-8000-000000000000',
      client_secret: 'x',
      scope: SCOPE,
    });
    expect(status).toBe(400);
    expectEntraError(body, 'unauthorized_client', 700016);
  });

  it('unknown resource: AADSTS500011; scope without /.default: AADSTS1002012', async () => {
    const unknown = await token({
      grant_type: 'client_credentials',
      client_id: t.app.clientId,
      client_secret: t.app.secret!,
      scope: 'https://nowhere.example/.default',
    });
    expectEntraError(unknown.body, 'invalid_resource', 500011);
    const noDefault = await token({
      grant_type: 'client_credentials',
      client_id: t.app.clientId,
      client_secret: t.app.secret!,
      scope: 'https://redis.azure.com/user_impersonation',
    });
    expectEntraError(noDefault.body, 'invalid_scope', 1002012);
  });

  it('no credential at all: AADSTS7000218', async () => {
    const { status, body } = await token({
      grant_type: 'client_credentials',
      client_id: t.app.clientId,
      scope: SCOPE,
    });
    expect(status).toBe(401);
    expectEntraError(body, 'invalid_client', 7000218);
  });

  it('bad assertion: wrong key, unregistered certificate, wrong audience, expired', async () => {
    const key = createPrivateKey(t.cert.keyPem);
    const x5t256 = Buffer.from(t.cert.thumbprintSha256, 'hex').toString('base64url');
    const now = Math.floor(Date.now() / 1000);
    const sign = (
      claims: Record<string, unknown>,
      header: Record<string, unknown>,
      signingKey = key,
    ) =>
      new SignJWT({
        iss: t.app.clientId,
        sub: t.app.clientId,
        aud: t.idp.tokenEndpoint,
        nbf: now,
        exp: now + 600,
        jti: 'x',
        ...claims,
      })
        .setProtectedHeader({ alg: 'RS256', ...header })
        .sign(signingKey);
    const send = async (assertion: string) =>
      token({
        grant_type: 'client_credentials',
        client_id: t.app.clientId,
        scope: SCOPE,
        client_assertion_type: JWT_BEARER,
        client_assertion: assertion,
      });

    const good = await send(await sign({}, { 'x5t#S256': x5t256 }));
    expect(good.status).toBe(200);

    const otherKey = createPrivateKey(t.pki.serverKeyPem);
    const wrongKey = await send(await sign({}, { 'x5t#S256': x5t256 }, otherKey));
    expectEntraError(wrongKey.body, 'invalid_client', 700027);
    expect(wrongKey.body.error_description).toMatch(/signature validation/);

    const unregistered = await send(
      await sign({}, { 'x5t#S256': Buffer.alloc(32, 1).toString('base64url') }),
    );
    expectEntraError(unregistered.body, 'invalid_client', 700027);

    const wrongAud = await send(
      await sign({ aud: 'https://elsewhere.example/token' }, { 'x5t#S256': x5t256 }),
    );
    expectEntraError(wrongAud.body, 'invalid_client', 700027);

    const expired = await send(
      await sign({ nbf: now - 4000, exp: now - 3600 }, { 'x5t#S256': x5t256 }),
    );
    expectEntraError(expired.body, 'invalid_client', 700024);
  });

  it('unsupported grant type, unknown tenant', async () => {
    const grant = await token({
      grant_type: 'password',
      client_id: t.app.clientId,
      client_secret: t.app.secret!,
    });
    expectEntraError(grant.body, 'unsupported_grant_type', 70003);
    const res = await httpsCall(
      `${t.idp.authorityHost}/not-a-tenant/oauth2/v2.0/token`,
      t.pki.caCertPem,
      { form: { grant_type: 'client_credentials' } },
    );
    expect(res.status).toBe(400);
    expectEntraError(res.json(), 'invalid_tenant', 90002);
  });

  it('managed identity endpoints: missing Metadata header, wrong X-IDENTITY-HEADER', async () => {
    const get = (url: string, headers: Record<string, string>) =>
      new Promise<{ status: number; body: Record<string, unknown> }>((resolve, reject) => {
        request(url, { headers }, (res) => {
          let text = '';
          res.on('data', (c: Buffer) => (text += c.toString()));
          res.on('end', () =>
            resolve({
              status: res.statusCode ?? 0,
              body: JSON.parse(text) as Record<string, unknown>,
            }),
          );
        })
          .on('error', reject)
          .end();
      });
    const imds = await get(
      `${t.idp.imdsEndpoint}/metadata/identity/oauth2/token/?api-version=2018-02-01&resource=https://redis.azure.com`,
      {},
    );
    expect(imds).toMatchObject({ status: 400, body: { error: 'invalid_request' } });
    const imdsOk = await get(
      `${t.idp.imdsEndpoint}/metadata/identity/oauth2/token/?api-version=2018-02-01&resource=https://redis.azure.com`,
      { Metadata: 'true' },
    );
    expect(imdsOk.status).toBe(200);
    expect(imdsOk.body).toMatchObject({
      token_type: 'Bearer',
      resource: 'https://redis.azure.com',
    });
    expect(typeof imdsOk.body.expires_on).toBe('string');
    const app = await get(
      `${t.idp.managedIdentityEndpoint}?api-version=2019-08-01&resource=https://redis.azure.com`,
      { 'X-IDENTITY-HEADER': 'wrong' },
    );
    expect(app.status).toBe(401);
  });

  it('counts errors by AADSTS code', () => {
    const { errors } = t.idp.stats();
    expect(errors.AADSTS7000215).toBeGreaterThanOrEqual(2);
    expect(errors.AADSTS700016).toBe(1);
  });
});
