import { describe, expect, it, vi } from 'vitest';
import { defaultTenantConfig, type ServicePrincipal } from '../src/principals.js';
import { Tenant } from '../src/tenant.js';
import { claimsOf } from './helpers/idp.js';

const AUD = 'https://redis.azure.com';

function setup(lifetimeSec = 60) {
  let nowMs = 1_800_000_000_000;
  const tenant = new Tenant(defaultTenantConfig(), {
    tokenLifetimeSec: lifetimeSec,
    now: () => nowMs,
  });
  const [owner, reader, unassigned] = tenant.config.servicePrincipals as [
    ServicePrincipal,
    ServicePrincipal,
    ServicePrincipal,
  ];
  return {
    tenant,
    owner,
    reader,
    unassigned,
    advance: (ms: number) => (nowMs += ms),
    now: () => nowMs,
  };
}

describe('Tenant', () => {
  it('default config: stable ids, policies, random secrets per run', () => {
    const a = defaultTenantConfig();
    const b = defaultTenantConfig();
    expect(a.tenantId).toBe(b.tenantId);
    expect(a.servicePrincipals.map((p) => p.accessPolicy)).toEqual([
      'Data Owner',
      'Data Reader',
      undefined,
    ]);
    expect(a.systemAssignedIdentity?.accessPolicy).toBe('Data Contributor');
    expect(a.userAssignedIdentities[0]?.resourceId).toMatch(
      /^\/subscriptions\/[^/]+\/resourceGroups\/[^/]+\/providers\/Microsoft\.ManagedIdentity\/userAssignedIdentities\/[^/]+$/,
    );
    expect(a.users[0]?.accessPolicy).toBe('Data Owner');
    expect(a.servicePrincipals[0]?.secret).not.toBe(b.servicePrincipals[0]?.secret);
    expect(defaultTenantConfig({ secret: 's3cret' }).servicePrincipals[0]?.secret).toBe('s3cret');
  });

  it('mints RS256 tokens with the configured lifetime that verify for Redis', async () => {
    const { tenant, owner, now } = setup(2);
    const minted = await tenant.mintAccessToken(owner, { audience: AUD });
    expect(minted.expiresInSec).toBe(2);
    const claims = claimsOf(minted.accessToken);
    expect(claims).toMatchObject({
      aud: AUD,
      oid: owner.oid,
      tid: tenant.tenantId,
      iat: now() / 1000,
      nbf: now() / 1000,
      exp: now() / 1000 + 2,
    });
    expect(await tenant.verifyRedisAuth(owner.oid, minted.accessToken)).toEqual({
      ok: true,
      oid: owner.oid,
      expiresAtMs: now() + 2000,
      policy: 'Data Owner',
    });
    expect(tenant.tokensIssued()).toEqual({ [owner.oid]: 1 });
  });

  it('refuses with short machine-friendly reasons that never contain the token', async () => {
    const { tenant, owner, unassigned, advance } = setup(60);
    const good = (await tenant.mintAccessToken(owner, { audience: AUD })).accessToken;
    const reason = async (user: string, token: string) => {
      const r = await tenant.verifyRedisAuth(user, token);
      expect(JSON.stringify(r)).not.toContain(token);
      return r.ok ? 'ok' : r.reason;
    };
    const [h, p, s] = good.split('.') as [string, string, string];
    const tampered = `${h}.${Buffer.from(JSON.stringify({ ...claimsOf(good), oid: unassigned.oid })).toString('base64url')}.${s}`;
    expect(await reason(owner.oid, tampered)).toBe('bad-signature');
    expect(await reason(owner.oid, `${h}.${p}`)).toBe('malformed');
    expect(await reason(owner.oid, 'not a jwt')).toBe('malformed');
    expect(await reason(unassigned.oid, good)).toBe('username-mismatch');
    expect(
      await reason(
        owner.oid,
        (await tenant.mintAccessToken(owner, { audience: 'https://management.azure.com' }))
          .accessToken,
      ),
    ).toBe('wrong-audience');
    expect(
      await reason(
        owner.oid,
        (await tenant.mintAccessToken(owner, { audience: 'acca5fbb-b7e4-4009-81f1-37e38fd66d78' }))
          .accessToken,
      ),
    ).toBe('ok');
    expect(
      await reason(
        unassigned.oid,
        (await tenant.mintAccessToken(unassigned, { audience: AUD })).accessToken,
      ),
    ).toBe('no-access-policy');
    const ghost: ServicePrincipal = { ...owner, oid: '99999999-9999-4999-8999-999999999999' };
    expect(
      await reason(ghost.oid, (await tenant.mintAccessToken(ghost, { audience: AUD })).accessToken),
    ).toBe('unknown-principal');
    expect(
      await reason(
        owner.oid,
        (await tenant.mintAccessToken(owner, { audience: AUD, nbfOffsetSec: 30 })).accessToken,
      ),
    ).toBe('not-yet-valid');
    advance(59_999);
    expect(await reason(owner.oid, good)).toBe('ok');
    advance(1);
    expect(await reason(owner.oid, good)).toBe('expired');
    const other = new Tenant(defaultTenantConfig());
    expect(
      await reason(owner.oid, (await other.mintAccessToken(owner, { audience: AUD })).accessToken),
    ).toBe('unknown-key');
  });

  it('key rotation: new key signs, old tokens verify until the old key is retired', async () => {
    const { tenant, owner } = setup();
    const old = (await tenant.mintAccessToken(owner, { audience: AUD })).accessToken;
    const kid = tenant.rotateSigningKey();
    expect(tenant.jwks().keys.map((k) => k.kid)[0]).toBe(kid);
    expect(tenant.jwks().keys).toHaveLength(2);
    const fresh = (await tenant.mintAccessToken(owner, { audience: AUD })).accessToken;
    expect(JSON.parse(Buffer.from(fresh.split('.')[0]!, 'base64url').toString()).kid).toBe(kid);
    expect((await tenant.verifyRedisAuth(owner.oid, old)).ok).toBe(true);
    tenant.rotateSigningKey({ retireOld: true });
    expect(tenant.jwks().keys).toHaveLength(1);
    expect(await tenant.verifyRedisAuth(owner.oid, old)).toEqual({
      ok: false,
      reason: 'unknown-key',
    });
    expect(await tenant.verifyRedisAuth(owner.oid, fresh)).toEqual({
      ok: false,
      reason: 'unknown-key',
    });
  });

  it('a token whose signature verified once is still checked for time, user and policy on each use', async () => {
    const { tenant, owner, unassigned, advance } = setup(60);
    const token = (await tenant.mintAccessToken(owner, { audience: AUD })).accessToken;
    const [head, payload, signature] = token.split('.') as [string, string, string];
    const tampered = `${head}.${payload}.${signature.slice(0, -4)}AAAA`;
    const checks = vi.spyOn(tenant as unknown as { verifySignature(): unknown }, 'verifySignature');
    // 20 AUTHs with the same token arrive before the first check ends (as at a rotation), and
    // one with a tampered copy: one RS256 check for the 20, one of its own for the tampered one.
    const results = await Promise.all([
      ...Array.from({ length: 20 }, () => tenant.verifyRedisAuth(owner.oid, token)),
      tenant.verifyRedisAuth(owner.oid, tampered),
    ]);
    expect(results.slice(0, 20).every((r) => r.ok)).toBe(true);
    expect(results[20]).toEqual({ ok: false, reason: 'bad-signature' });
    expect(checks).toHaveBeenCalledTimes(2);
    checks.mockRestore();
    expect(await tenant.verifyRedisAuth(unassigned.oid, token)).toEqual({
      ok: false,
      reason: 'username-mismatch',
    });
    const policy = owner.accessPolicy;
    delete owner.accessPolicy;
    expect(await tenant.verifyRedisAuth(owner.oid, token)).toEqual({
      ok: false,
      reason: 'no-access-policy',
    });
    owner.accessPolicy = policy;
    expect((await tenant.verifyRedisAuth(owner.oid, token)).ok).toBe(true);
    advance(60_000);
    expect(await tenant.verifyRedisAuth(owner.oid, token)).toEqual({
      ok: false,
      reason: 'expired',
    });
  });

  it('looks principals up by client id, oid and resource id; user tokens carry user claims', async () => {
    const { tenant } = setup();
    const mi = tenant.config.userAssignedIdentities[0]!;
    expect(tenant.findByClientId(mi.clientId.toUpperCase())).toBe(mi);
    expect(tenant.findByOid(mi.oid)).toBe(mi);
    expect(tenant.findByResourceId(mi.resourceId.toLowerCase())).toBe(mi);
    const user = tenant.findUser()!;
    const claims = claimsOf((await tenant.mintAccessToken(user, { audience: AUD })).accessToken);
    expect(claims).toMatchObject({
      idtyp: 'user',
      upn: user.upn,
      preferred_username: user.upn,
      name: user.displayName,
      scp: 'user_impersonation',
    });
  });

  it('validates the lifetime option', () => {
    expect(() => new Tenant(defaultTenantConfig(), { tokenLifetimeSec: 0 })).toThrow(
      /tokenLifetimeSec/,
    );
  });
});
