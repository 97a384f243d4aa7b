import { createServer, type Server } from 'node:http';
import { request as httpsRequest } from 'node:https';
import type { AddressInfo } from 'node:net';
import { CryptoProvider, PublicClientApplication, ResponseMode } from '@azure/msal-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { completeInteractiveSignIn } from '../src/identity-provider/browser.js';
import { msalNetworkClient } from '../src/identity-provider/trust.js';
import { claimsOf, startTestIdp, type TestIdp } from './helpers/idp.js';

const SCOPES = ['https://redis.azure.com/.default'];

describe('interactive sign-in: msal-node auth code + PKCE against the emulator', () => {
  let t: TestIdp;
  let redirectServer: Server;
  let redirectUri: string;
  const received: Array<{ method: string; body: string; url: string }> = [];

  beforeAll(async () => {
    t = await startTestIdp();
    redirectServer = createServer((req, res) => {
      let body = '';
      req.on('data', (c: Buffer) => (body += c.toString()));
      req.on('end', () => {
        received.push({ method: req.method ?? '', body, url: req.url ?? '' });
        res.end('signed in');
      });
    });
    await new Promise<void>((r) => redirectServer.listen(0, '127.0.0.1', r));
    redirectUri = `http://127.0.0.1:${(redirectServer.address() as AddressInfo).port}/redirect`;
  });
  afterAll(async () => {
    await new Promise<void>((r) => (redirectServer ? redirectServer.close(() => r()) : r()));
    await t?.close();
  });

  function app(): PublicClientApplication {
    return new PublicClientApplication({
      auth: {
        clientId: t.tenant.config.publicClientId,
        authority: `${t.idp.authorityHost}/${t.tenant.tenantId}`,
        knownAuthorities: [new URL(t.idp.authorityHost).host],
      },
      system: { networkClient: msalNetworkClient(t.pki.caCertPem) },
    });
  }

  for (const responseMode of [ResponseMode.FORM_POST, ResponseMode.QUERY]) {
    it(`signs the user in (${responseMode}), redeems the code with PKCE, then refreshes`, async () => {
      const pca = app();
      const { verifier, challenge } = await new CryptoProvider().generatePkceCodes();
      const url = await pca.getAuthCodeUrl({
        scopes: SCOPES,
        redirectUri,
        codeChallenge: challenge,
        codeChallengeMethod: 'S256',
        responseMode,
        state: 'xyz',
      });
      const before = received.length;
      const signIn = await completeInteractiveSignIn(url, { ca: t.pki.caCertPem });
      expect(signIn.delivered?.status).toBe(200);
      expect(received.length).toBe(before + 1);
      expect(received.at(-1)?.method).toBe(
        responseMode === ResponseMode.FORM_POST ? 'POST' : 'GET',
      );
      expect(signIn.params.state).toBe('xyz');

      const result = await pca.acquireTokenByCode({
        code: signIn.params.code as string,
        scopes: SCOPES,
        redirectUri,
        codeVerifier: verifier,
      });
      const user = t.tenant.config.users[0]!;
      expect(result.account?.username).toBe(user.upn);
      expect(claimsOf(result.accessToken)).toMatchObject({
        aud: 'https://redis.azure.com',
        oid: user.oid,
        upn: user.upn,
        preferred_username: user.upn,
        name: user.displayName,
        idtyp: 'user',
        scp: 'user_impersonation',
      });
      expect(await t.tenant.verifyRedisAuth(user.oid, result.accessToken)).toMatchObject({
        ok: true,
      });

      const refreshed = await pca.acquireTokenSilent({
        account: result.account!,
        scopes: SCOPES,
        forceRefresh: true,
      });
      expect(refreshed.accessToken).not.toBe(result.accessToken);
      expect(claimsOf(refreshed.accessToken).oid).toBe(user.oid);
    });
  }

  it('rejects a wrong PKCE verifier with AADSTS501481', async () => {
    const pca = app();
    const { challenge } = await new CryptoProvider().generatePkceCodes();
    const { verifier: other } = await new CryptoProvider().generatePkceCodes();
    const url = await pca.getAuthCodeUrl({
      scopes: SCOPES,
      redirectUri,
      codeChallenge: challenge,
      codeChallengeMethod: 'S256',
    });
    const { params } = await completeInteractiveSignIn(url, {
      ca: t.pki.caCertPem,
      deliver: false,
    });
    await expect(
      pca.acquireTokenByCode({
        code: params.code as string,
        scopes: SCOPES,
        redirectUri,
        codeVerifier: other,
      }),
    ).rejects.toThrow(/AADSTS501481/);
  });

  it('a code is single use (AADSTS70008 on reuse)', async () => {
    const pca = app();
    const { verifier, challenge } = await new CryptoProvider().generatePkceCodes();
    const url = await pca.getAuthCodeUrl({
      scopes: SCOPES,
      redirectUri,
      codeChallenge: challenge,
      codeChallengeMethod: 'S256',
    });
    const { params } = await completeInteractiveSignIn(url, {
      ca: t.pki.caCertPem,
      deliver: false,
    });
    const request = {
      code: params.code as string,
      scopes: SCOPES,
      redirectUri,
      codeVerifier: verifier,
    };
    await pca.acquireTokenByCode(request);
    await expect(pca.acquireTokenByCode(request)).rejects.toThrow(/AADSTS70008/);
  });

  it('signs in the login_hint user, and reports an unknown one to the redirect URI', async () => {
    const pca = app();
    const { challenge } = await new CryptoProvider().generatePkceCodes();
    const url = await pca.getAuthCodeUrl({
      scopes: SCOPES,
      redirectUri,
      codeChallenge: challenge,
      codeChallengeMethod: 'S256',
      loginHint: 'nobody@example.com',
    });
    const { params } = await completeInteractiveSignIn(url, {
      ca: t.pki.caCertPem,
      deliver: false,
    });
    expect(params.error).toBe('invalid_request');
    expect(params.error_description).toMatch(/^AADSTS50034/);
  });

  it('sends no code to a redirect URI off this machine (AADSTS50011); loopback ones on any port get one', async () => {
    const pca = app();
    const { challenge } = await new CryptoProvider().generatePkceCodes();
    const foreign = await httpsGet(
      t.pki.caCertPem,
      await pca.getAuthCodeUrl({
        scopes: SCOPES,
        redirectUri: 'https://evil.example/cb',
        codeChallenge: challenge,
        codeChallengeMethod: 'S256',
      }),
    );
    expect(foreign.status).toBe(400);
    expect(foreign.body).toContain('AADSTS50011');
    expect(foreign.location).toBeUndefined();
    for (const uri of ['http://localhost:5999/cb', 'http://[::1]:5999/cb']) {
      const local = await httpsGet(
        t.pki.caCertPem,
        await pca.getAuthCodeUrl({
          scopes: SCOPES,
          redirectUri: uri,
          codeChallenge: challenge,
          codeChallengeMethod: 'S256',
        }),
      );
      expect(local.status, uri).toBe(302);
      expect(new URL(local.location!).searchParams.get('code'), uri).toMatch(/^emu\.code\./);
    }
  });
});

/** A GET trusting the emulator's CA, not following redirects. */
function httpsGet(
  ca: string,
  url: string,
): Promise<{ status: number; body: string; location?: string }> {
  return new Promise((resolve, reject) => {
    const req = httpsRequest(url, { ca }, (res) => {
      let body = '';
      res.setEncoding('utf8').on('data', (d: string) => (body += d));
      res.on('end', () =>
        resolve({
          status: res.statusCode ?? 0,
          body,
          ...(res.headers.location ? { location: res.headers.location } : {}),
        }),
      );
    });
    req.on('error', reject);
    req.end();
  });
}
