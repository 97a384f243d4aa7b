import { connect } from 'node:net';
import { ClientSecretCredential } from '@azure/identity';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { FaultHandle } from '../src/identity-provider/faults.js';
import { claimsOf, httpsCall, startTestIdp, type TestIdp } from './helpers/idp.js';
import { msalHonoursRetryAfter } from './helpers/msal.js';

const SCOPE = 'https://redis.azure.com/.default';

describe('identity provider: fault injection with the real ClientSecretCredential', () => {
  let t: TestIdp;
  beforeAll(async () => {
    t = await startTestIdp();
  });
  afterAll(async () => {
    await t?.close();
  });
  afterEach(() => t.idp.faults.clear());

  // A fresh credential per attempt: msal-node keeps a throttling cache per application.
  const credential = () =>
    new ClientSecretCredential(t.tenant.tenantId, t.app.clientId, t.app.secret as string, {
      ...t.credentialOptions,
      retryOptions: { maxRetries: 0 },
    });

  async function waitEnded(handle: FaultHandle) {
    while (!handle.ended) await new Promise((r) => setTimeout(r, 50));
  }

  const cases = [
    { fault: { kind: 'status', status: 503, durationMs: 800 }, error: /AADSTS90033/ },
    { fault: { kind: 'status', status: 500, durationMs: 800 }, error: /AADSTS90033/ },
    { fault: { kind: 'throttle', retryAfterSec: 1, durationMs: 800 }, error: /AADSTS50196/ },
    { fault: { kind: 'hang', durationMs: 800 }, error: /network|socket|ECONNRESET|hang up/i },
    // A fresh credential first fetches OIDC discovery, which the refused connection breaks.
    { fault: { kind: 'refuse', durationMs: 800 }, error: /endpoints_resolution_error/ },
  ] as const;

  for (const { fault, error } of cases) {
    it(`${fault.kind}${'status' in fault ? ` ${fault.status}` : ''}: getToken fails, then succeeds after the period`, async () => {
      await credential().getToken(SCOPE); // warm: discovery is not affected by request faults
      const handle = t.idp.faults.inject(fault);
      const started = Date.now();
      await expect(credential().getToken(SCOPE)).rejects.toThrow(error);
      if (fault.kind === 'hang') expect(Date.now() - started).toBeGreaterThanOrEqual(600);
      expect(handle.affected).toBeGreaterThanOrEqual(1);
      await waitEnded(handle);
      const token = await credential().getToken(SCOPE);
      expect(claimsOf(token.token).oid).toBe(t.app.oid);
    });
  }

  it(`throttle: the same credential replays the 429 until Retry-After (msal-common >= 16.15), else for 60 s (older msal misses the lower-case header)`, async () => {
    // msal-common before 16.15 read headers['Retry-After']; @azure/identity hands it lower-case
    // header names, so the default 60 s throttle applied whatever Retry-After said (msal-node 5,
    // with @azure/identity 4.13). msal-node 7.1.2 and later find the header in any case.
    const cred = credential();
    const handle = t.idp.faults.inject({ kind: 'throttle', retryAfterSec: 1, durationMs: 300 });
    await expect(cred.getToken(SCOPE)).rejects.toThrow(/AADSTS50196/);
    await waitEnded(handle);
    const before = t.idp.stats().requests.token;
    await expect(cred.getToken(SCOPE)).rejects.toThrow(/AADSTS50196/); // within Retry-After
    expect(t.idp.stats().requests.token).toBe(before);
    await new Promise((r) => setTimeout(r, 1100));
    if (msalHonoursRetryAfter()) {
      const token = await cred.getToken(SCOPE);
      expect(claimsOf(token.token).oid).toBe(t.app.oid);
      expect(t.idp.stats().requests.token).toBe(before + 1);
    } else {
      await expect(cred.getToken(SCOPE)).rejects.toThrow(/AADSTS50196/);
      expect(t.idp.stats().requests.token).toBe(before);
    }
  });

  it('a 5xx without Retry-After makes msal-node replay the error for the same credential (its 60 s throttle cache)', async () => {
    const cred = credential();
    const handle = t.idp.faults.inject({ kind: 'status', status: 503, durationMs: 200 });
    await expect(cred.getToken(SCOPE)).rejects.toThrow(/AADSTS90033/);
    await waitEnded(handle);
    const before = t.idp.stats().requests.token;
    await expect(cred.getToken(SCOPE)).rejects.toThrow(/AADSTS90033/);
    expect(t.idp.stats().requests.token).toBe(before); // answered from msal's cache, not the endpoint
  });

  it('clock-skew: minted tokens carry nbf in the future and fail Redis verification until then', async () => {
    const handle = t.idp.faults.inject({ kind: 'clock-skew', nbfOffsetSec: 120, durationMs: 5000 });
    const token = await credential().getToken(SCOPE);
    handle.cancel();
    const claims = claimsOf(token.token);
    expect((claims.nbf as number) - Date.now() / 1000).toBeGreaterThan(100);
    expect(await t.tenant.verifyRedisAuth(t.app.oid, token.token)).toEqual({
      ok: false,
      reason: 'not-yet-valid',
    });
    expect(handle.affected).toBe(1);
  });

  it('discovery and JWKS are not affected by request faults; clear() ends faults at once', async () => {
    const handle = t.idp.faults.inject({ kind: 'status', status: 503, durationMs: 60_000 });
    const res = await httpsCall(
      `${t.idp.authorityHost}/${t.tenant.tenantId}/discovery/v2.0/keys`,
      t.pki.caCertPem,
    );
    expect(res.status).toBe(200);
    t.idp.faults.clear();
    expect(handle.ended).toBe(true);
    await expect(credential().getToken(SCOPE)).resolves.toBeDefined();
  });

  it('rejects invalid faults', () => {
    expect(() => t.idp.faults.inject({ kind: 'status', status: 200, durationMs: 10 })).toThrow(
      /status/,
    );
    expect(() => t.idp.faults.inject({ kind: 'hang', durationMs: 0 })).toThrow(/durationMs/);
  });
});

describe('identity provider: close()', () => {
  it('destroys held requests and open sockets, ends faults, stops listening; idempotent', async () => {
    const t = await startTestIdp();
    const baseline = process.getActiveResourcesInfo().filter((r) => r === 'TCPServerWrap').length;
    const handle = t.idp.faults.inject({ kind: 'hang', durationMs: 60_000 });
    const pending = httpsCall(t.idp.tokenEndpoint, t.pki.caCertPem, {
      form: { grant_type: 'client_credentials' },
    });
    const outcome = pending.then(
      () => 'answered',
      () => 'destroyed',
    );
    while (handle.affected === 0) await new Promise((r) => setTimeout(r, 20));
    const started = Date.now();
    await Promise.all([t.close(), t.idp.close()]);
    await t.idp.close();
    expect(Date.now() - started).toBeLessThan(2000);
    expect(await outcome).toBe('destroyed');
    expect(handle.ended).toBe(true);
    const after = process.getActiveResourcesInfo().filter((r) => r === 'TCPServerWrap').length;
    expect(after).toBe(baseline - 2);
    const refused = await new Promise<string>((resolve) => {
      const socket = connect(t.idp.port, '127.0.0.1');
      socket.on('connect', () => {
        socket.destroy();
        resolve('connected');
      });
      socket.on('error', (err: NodeJS.ErrnoException) => resolve(err.code ?? 'error'));
    });
    expect(refused).toBe('ECONNREFUSED');
  });
});
