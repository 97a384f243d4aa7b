import { randomBytes } from 'node:crypto';
import { SignJWT, compactVerify, decodeProtectedHeader, type JWK } from 'jose';
import { EmulatorError } from './errors.js';
import { newSigningKey, type SigningKey } from './signing-key.js';
import {
  DEFAULT_FEDERATED_SUBJECT,
  allPrincipals,
  defaultTenantConfig,
  type Principal,
  type ServicePrincipal,
  type TenantConfig,
  type User,
} from './principals.js';

/** Result of {@link Tenant.verifyRedisAuth}. `reason` is short and never contains the token. */
export type AccessCheck =
  { ok: true; oid: string; expiresAtMs: number; policy: string } | { ok: false; reason: string };

/** Audiences Azure's Redis accepts: the resource URI and its app id. */
export const REDIS_AUDIENCES = ['https://redis.azure.com', 'acca5fbb-b7e4-4009-81f1-37e38fd66d78'];
/** Audience of federated (workload identity) tokens. */
export const FEDERATED_AUDIENCE = 'api://AzureADTokenExchange';

/** Options of {@link Tenant}. */
export interface TenantOptions {
  /** Access token lifetime in seconds. @default 3600 */
  tokenLifetimeSec?: number;
  /** Clock in epoch milliseconds (a seam for tests). @default Date.now */
  now?: () => number;
}

/** Options of {@link Tenant.mintAccessToken}. */
export interface MintOptions {
  /** The `aud` claim, e.g. `https://redis.azure.com`. */
  audience: string;
  /** Lifetime in seconds. @default the tenant's `tokenLifetimeSec` */
  lifetimeSec?: number;
  /** Seconds added to `nbf` (and `iat`), e.g. to emulate clock skew. @default the tenant's `nbfOffsetSec` */
  nbfOffsetSec?: number;
  /** Client (app) id that requested the token (`appid`/`azp`); for apps and identities, their own. */
  clientId?: string;
  /** Delegated scopes (`scp`) for user tokens. @default 'user_impersonation' */
  scopes?: string;
  /** How the client authenticated (`appidacr`): 0 none/MI, 1 secret, 2 certificate. @default 0 */
  clientAuth?: 0 | 1 | 2;
}

/** A minted access token. */
export interface MintedToken {
  accessToken: string;
  /** `exp` in epoch seconds. */
  expiresOnSec: number;
  /** Lifetime in seconds from issue. */
  expiresInSec: number;
}

/**
 * Tokens whose signature already verified, at most this many (oldest dropped first). Every
 * connection of a client presents the same token, so at a rotation one RS256 verification
 * serves them all, as a cache in Azure's front end would; time claims are checked on each use.
 */
const VERIFIED_CACHE_SIZE = 4096;

/**
 * The emulated Entra ID tenant: principals, RS256 signing keys, token minting and the
 * verification Azure's Redis applies to `AUTH <oid> <token>`.
 *
 * @example
 * ```ts
 * const tenant = new Tenant(defaultTenantConfig(), { tokenLifetimeSec: 60 });
 * const sp = tenant.config.servicePrincipals[0];
 * const { accessToken } = await tenant.mintAccessToken(sp, { audience: 'https://redis.azure.com' });
 * await tenant.verifyRedisAuth(sp.oid, accessToken); // { ok: true, ... }
 * ```
 */
export class Tenant {
  /** The principals and ids. Mutations (e.g. a new secret) take effect at once. */
  readonly config: TenantConfig;
  /** The tenant id. */
  readonly tenantId: string;
  /** Default access token lifetime, seconds. */
  tokenLifetimeSec: number;
  /** Seconds added to `nbf`/`iat` of minted tokens (clock-skew emulation). @default 0 */
  nbfOffsetSec = 0;
  /** The clock, epoch milliseconds. */
  readonly now: () => number;
  private authority = 'https://login.microsoftonline.com';
  private keys: SigningKey[] = [];
  /** Tokens whose signature verified, with the key that signed them and their claims. */
  private readonly verified = new Map<string, { kid: string; claims: Record<string, unknown> }>();
  /** Signature checks under way, by token: concurrent AUTHs with one token share one check. */
  private readonly verifying = new Map<string, ReturnType<Tenant['verifySignature']>>();
  private readonly issued = new Map<string, number>();

  constructor(config: TenantConfig = defaultTenantConfig(), options: TenantOptions = {}) {
    const lifetime = options.tokenLifetimeSec ?? 3600;
    if (!Number.isFinite(lifetime) || lifetime < 1) {
      throw new EmulatorError(
        'INVALID_OPTION',
        `"tokenLifetimeSec" must be a number of seconds >= 1 (got ${String(lifetime)}).`,
      );
    }
    this.config = config;
    this.tenantId = config.tenantId;
    this.tokenLifetimeSec = lifetime;
    this.now = options.now ?? Date.now;
    this.keys.push(newSigningKey());
  }

  /** The authority host (`https://127.0.0.1:<port>`), set by the identity provider when it starts. */
  get authorityHost(): string {
    return this.authority;
  }
  set authorityHost(url: string) {
    this.authority = url.replace(/\/+$/, '');
  }

  /** Issuer of access tokens (v1 form, as Azure issues for `https://redis.azure.com`). */
  get accessTokenIssuer(): string {
    return `https://sts.windows.net/${this.tenantId}/`;
  }

  /** Issuer of ID tokens and discovery (v2 form, on the emulator's authority host). */
  get v2Issuer(): string {
    return `${this.authority}/${this.tenantId}/v2.0`;
  }

  /** Issuer of federated tokens (a stand-in for a Kubernetes OIDC issuer). */
  get federatedIssuer(): string {
    return `${this.authority}/${this.tenantId}/federation`;
  }

  /** Every principal. */
  principals(): Principal[] {
    return allPrincipals(this.config);
  }

  /** The principal with this client id (service principals and managed identities). */
  findByClientId(clientId: string): Exclude<Principal, User> | undefined {
    const id = clientId.toLowerCase();
    return this.principals().find(
      (p): p is Exclude<Principal, User> => p.kind !== 'user' && p.clientId.toLowerCase() === id,
    );
  }

  /** The principal with this object id. */
  findByOid(oid: string): Principal | undefined {
    const id = oid.toLowerCase();
    return this.principals().find((p) => p.oid.toLowerCase() === id);
  }

  /** The user-assigned identity with this ARM resource id (case-insensitive). */
  findByResourceId(resourceId: string): Principal | undefined {
    const id = resourceId.toLowerCase();
    return this.config.userAssignedIdentities.find((p) => p.resourceId.toLowerCase() === id);
  }

  /** The user with this UPN or oid, or the first user when `hint` is empty. */
  findUser(hint?: string): User | undefined {
    if (!hint) return this.config.users[0];
    const h = hint.toLowerCase();
    return this.config.users.find((u) => u.upn.toLowerCase() === h || u.oid.toLowerCase() === h);
  }

  /** The published signing keys, newest first (a JWKS document). */
  jwks(): { keys: JWK[] } {
    return { keys: this.keys.map((k) => ({ ...k.jwk })) };
  }

  /**
   * Creates a new signing key that signs from now on. The old keys stay published (tokens they
   * signed keep verifying) unless `retireOld` is set. Returns the new `kid`.
   */
  rotateSigningKey(options: { retireOld?: boolean } = {}): string {
    const key = newSigningKey();
    this.keys = options.retireOld ? [key] : [key, ...this.keys];
    return key.kid;
  }

  /** Tokens issued so far, per principal oid. */
  tokensIssued(): Record<string, number> {
    return Object.fromEntries(this.issued);
  }

  /** Mints an RS256 access token for a principal. */
  async mintAccessToken(principal: Principal, options: MintOptions): Promise<MintedToken> {
    const nowSec = Math.floor(this.now() / 1000);
    const lifetimeSec = Math.max(1, Math.round(options.lifetimeSec ?? this.tokenLifetimeSec));
    const iat = nowSec + (options.nbfOffsetSec ?? this.nbfOffsetSec);
    const exp = nowSec + lifetimeSec;
    const clientId =
      options.clientId ??
      (principal.kind === 'user' ? this.config.publicClientId : principal.clientId);
    const claims: Record<string, unknown> = {
      aud: options.audience,
      iss: this.accessTokenIssuer,
      iat,
      nbf: iat,
      exp,
      appid: clientId,
      appidacr: String(options.clientAuth ?? 0),
      azp: clientId,
      idp: this.accessTokenIssuer,
      idtyp: principal.kind === 'user' ? 'user' : 'app',
      oid: principal.oid,
      sub: principal.oid,
      tid: this.tenantId,
      uti: randomBytes(16).toString('base64url').slice(0, 22),
      ver: '1.0',
    };
    if (principal.kind === 'userAssigned') claims.xms_mirid = principal.resourceId;
    if (principal.kind === 'user') {
      delete claims.idp;
      Object.assign(claims, {
        name: principal.displayName,
        upn: principal.upn,
        unique_name: principal.upn,
        preferred_username: principal.upn,
        scp: options.scopes ?? 'user_impersonation',
        amr: ['pwd'],
      });
    }
    const accessToken = await this.sign(claims, 'JWT');
    this.issued.set(principal.oid, (this.issued.get(principal.oid) ?? 0) + 1);
    return { accessToken, expiresOnSec: exp, expiresInSec: exp - nowSec };
  }

  /** Mints a v2 ID token for a user signing in to `clientId`. */
  async mintIdToken(user: User, options: { clientId: string; nonce?: string }): Promise<string> {
    const nowSec = Math.floor(this.now() / 1000);
    return this.sign(
      {
        aud: options.clientId,
        iss: this.v2Issuer,
        iat: nowSec,
        nbf: nowSec,
        exp: nowSec + 3600,
        name: user.displayName,
        oid: user.oid,
        preferred_username: user.upn,
        sub: user.oid,
        tid: this.tenantId,
        ver: '2.0',
        ...(options.nonce ? { nonce: options.nonce } : {}),
      },
      'JWT',
    );
  }

  /**
   * Mints a federated token (what AKS writes to `AZURE_FEDERATED_TOKEN_FILE`), accepted as a
   * `client_assertion` by apps that list its subject in `federatedSubjects`.
   */
  async mintFederatedToken(
    options: { subject?: string; lifetimeSec?: number } = {},
  ): Promise<string> {
    const nowSec = Math.floor(this.now() / 1000);
    return this.sign(
      {
        aud: [FEDERATED_AUDIENCE],
        iss: this.federatedIssuer,
        sub: options.subject ?? DEFAULT_FEDERATED_SUBJECT,
        iat: nowSec,
        nbf: nowSec,
        exp: nowSec + (options.lifetimeSec ?? 3600),
      },
      'JWT',
    );
  }

  /**
   * Checks a JWT signed by this tenant's published keys and returns its claims, or a reason.
   * Time claims are checked against {@link Tenant.now}; `iss`/`aud` are left to the caller.
   */
  async verifyJwt(
    token: string,
  ): Promise<{ ok: true; claims: Record<string, unknown> } | { ok: false; reason: string }> {
    const cached = this.verified.get(token);
    if (cached && this.keys.some((k) => k.kid === cached.kid))
      return this.checkTimes(cached.claims);
    // A rotation brings the same new token on every connection at once; without sharing, each
    // AUTH that arrives before the first check finishes would run its own RS256 verification.
    let pending = this.verifying.get(token);
    if (!pending) {
      pending = this.verifySignature(token).finally(() => this.verifying.delete(token));
      this.verifying.set(token, pending);
    }
    const checked = await pending;
    if (!checked.ok) return checked;
    if (!this.verified.has(token)) this.remember(token, checked);
    return this.checkTimes(checked.claims);
  }

  /** Caches a verified token; drops the oldest entries once expired or over the bound. */
  private remember(token: string, entry: { kid: string; claims: Record<string, unknown> }): void {
    const nowSec = this.now() / 1000;
    for (const [cachedToken, cached] of this.verified) {
      const exp = cached.claims.exp;
      const expired = typeof exp !== 'number' || nowSec >= exp;
      if (!expired && this.verified.size < VERIFIED_CACHE_SIZE) break;
      this.verified.delete(cachedToken);
    }
    this.verified.set(token, entry);
  }

  private checkTimes(
    claims: Record<string, unknown>,
  ): { ok: true; claims: Record<string, unknown> } | { ok: false; reason: string } {
    const nowSec = this.now() / 1000;
    if (typeof claims.exp !== 'number' || nowSec >= claims.exp)
      return { ok: false, reason: 'expired' };
    if (typeof claims.nbf === 'number' && nowSec < claims.nbf)
      return { ok: false, reason: 'not-yet-valid' };
    return { ok: true, claims };
  }

  /** RS256 signature against the published key named by `kid`; the claims, or why not. */
  private async verifySignature(
    token: string,
  ): Promise<
    { ok: true; kid: string; claims: Record<string, unknown> } | { ok: false; reason: string }
  > {
    let kid: string | undefined;
    try {
      const header = decodeProtectedHeader(token);
      if (header.alg !== 'RS256') return { ok: false, reason: 'bad-algorithm' };
      kid = header.kid;
    } catch {
      return { ok: false, reason: 'malformed' };
    }
    const key = this.keys.find((k) => k.kid === kid);
    if (!key) return { ok: false, reason: 'unknown-key' };
    let claims: Record<string, unknown>;
    try {
      const { payload } = await compactVerify(token, key.publicKey, { algorithms: ['RS256'] });
      claims = JSON.parse(Buffer.from(payload).toString('utf8')) as Record<string, unknown>;
    } catch (err) {
      const code = (err as { code?: string }).code;
      return {
        ok: false,
        reason: code === 'ERR_JWS_SIGNATURE_VERIFICATION_FAILED' ? 'bad-signature' : 'malformed',
      };
    }
    if (typeof claims !== 'object' || claims === null || Array.isArray(claims)) {
      return { ok: false, reason: 'malformed' };
    }
    return { ok: true, kid: key.kid, claims: Object.freeze(claims) };
  }

  /**
   * The check Azure's Redis applies to `AUTH <username> <token>`: RS256 signature against the
   * published keys, issuer, audience, nbf/exp, `username === oid`, a known principal with an
   * access policy.
   */
  async verifyRedisAuth(username: string, password: string): Promise<AccessCheck> {
    const checked = await this.verifyJwt(password);
    if (!checked.ok) return checked;
    const { claims } = checked;
    if (claims.iss !== this.accessTokenIssuer && claims.iss !== this.v2Issuer) {
      return { ok: false, reason: 'wrong-issuer' };
    }
    if (claims.tid !== this.tenantId) return { ok: false, reason: 'wrong-tenant' };
    const aud = Array.isArray(claims.aud) ? claims.aud : [claims.aud];
    if (!aud.some((a) => typeof a === 'string' && REDIS_AUDIENCES.includes(a))) {
      return { ok: false, reason: 'wrong-audience' };
    }
    if (typeof claims.oid !== 'string') return { ok: false, reason: 'missing-oid' };
    if (username !== claims.oid) return { ok: false, reason: 'username-mismatch' };
    const principal = this.findByOid(claims.oid);
    if (!principal) return { ok: false, reason: 'unknown-principal' };
    if (!principal.accessPolicy) return { ok: false, reason: 'no-access-policy' };
    return {
      ok: true,
      oid: principal.oid,
      expiresAtMs: (claims.exp as number) * 1000,
      policy: principal.accessPolicy,
    };
  }

  private async sign(claims: Record<string, unknown>, typ: string): Promise<string> {
    const key = this.keys[0];
    if (!key) throw new EmulatorError('CLOSED', 'The tenant has no signing key.');
    return new SignJWT(claims)
      .setProtectedHeader({ alg: 'RS256', typ, kid: key.kid, x5t: key.kid })
      .sign(key.privateKey);
  }
}

/** Whether a principal is a service principal. */
export function isServicePrincipal(p: Principal | undefined): p is ServicePrincipal {
  return p?.kind === 'servicePrincipal';
}
