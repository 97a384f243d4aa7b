import { readFileSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { inspect } from 'node:util';
import type { TokenCredential } from '@azure/identity';
import {
  decodeAccessTokenClaims,
  defaultAzureCredential,
  interactiveUser,
  managedIdentity,
  servicePrincipalCertificate,
  servicePrincipalSecret,
  TokenSource,
  workloadIdentity,
  type ManagedIdentityOptions,
  type RedisCredentials,
  type TokenCredentialFactory,
  type TokenSourceOptions,
} from 'entra-redis';
import { createClient } from 'redis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sleep, startTestEmulator, waitFor, type TestEmulator } from './helpers/emulator.js';
import { withExactEnv } from '../../emulator/test/helpers/env.js';

// Every identity factory against the emulator, through the real @azure/identity credentials,
// wrapped in a real TokenSource; the credentials it yields AUTH a real node-redis client over
// TLS on the emulator's Redis front end. Everything the sources log and emit is collected and
// searched for tokens and secrets at the end.

/** Variables the credentials read; each test sets exactly the ones it needs (see withEnv). */
const AZURE_VARS = [
  'AZURE_TENANT_ID',
  'AZURE_CLIENT_ID',
  'AZURE_CLIENT_SECRET',
  'AZURE_CLIENT_CERTIFICATE_PATH',
  'AZURE_CLIENT_CERTIFICATE_PASSWORD',
  'AZURE_CLIENT_SEND_CERTIFICATE_CHAIN',
  'AZURE_AUTHORITY_HOST',
  'AZURE_FEDERATED_TOKEN_FILE',
  'AZURE_USERNAME',
  'AZURE_PASSWORD',
  'AZURE_TOKEN_CREDENTIALS',
  'IDENTITY_ENDPOINT',
  'IDENTITY_HEADER',
  'IDENTITY_SERVER_THUMBPRINT',
  'IMDS_ENDPOINT',
  'MSI_ENDPOINT',
  'MSI_SECRET',
  'AZURE_POD_IDENTITY_AUTHORITY_HOST',
];
/** What the bundled xdg-open of the `open` package looks at before it falls back to $BROWSER. */
const DESKTOP_VARS = [
  'BROWSER',
  'DISPLAY',
  'WAYLAND_DISPLAY',
  'XDG_CURRENT_DESKTOP',
  'XDG_RUNTIME_DIR',
  'DESKTOP',
  'DESKTOP_SESSION',
  'KDE_FULL_SESSION',
  'GNOME_DESKTOP_SESSION_ID',
  'MATE_DESKTOP_SESSION_ID',
  'LXQT_SESSION_CONFIG',
  'DBUS_SESSION_BUS_ADDRESS',
];

/** Runs `fn` with exactly `vars` among AZURE_VARS and DESKTOP_VARS (others unset), then restores. */
function withEnv<T>(vars: Record<string, string>, fn: () => Promise<T>): Promise<T> {
  return withExactEnv([...AZURE_VARS, ...DESKTOP_VARS], vars, fn);
}

const BROWSER_SCRIPT = fileURLToPath(new URL('./fixtures/browser.mjs', import.meta.url));

describe('identity factories against the emulator, AUTH on its Redis over TLS', () => {
  let t: TestEmulator;
  let workDir: string;
  const logged: Array<{ level: string; message: string; fields?: Record<string, unknown> }> = [];
  const emitted: Array<{ event: string; payload: unknown }> = [];
  const errors: unknown[] = [];
  const tokens = new Set<string>();
  const sources: TokenSource[] = [];

  beforeAll(async () => {
    // Tokens shorter than MSAL's 5-minute renewal offset: MSAL never answers from its cache, so
    // every test's token really comes from the emulator.
    t = await startTestEmulator({ tokenLifetimeSec: 60 });
    workDir = await mkdtemp(join(tmpdir(), 'entra-redis-identity-it-'));
  });
  afterAll(async () => {
    await Promise.all(sources.map((s) => s.close()));
    await t?.close();
    if (workDir) await rm(workDir, { recursive: true, force: true });
  });

  /** A token source over `credential` whose every log line, event and token is recorded. */
  function open(
    credential: TokenCredential | TokenCredentialFactory,
    options: Partial<TokenSourceOptions> = {},
  ): TokenSource {
    const record =
      (level: string) =>
      (message: string, fields?: Record<string, unknown>): void => {
        logged.push({ level, message, ...(fields ? { fields } : {}) });
      };
    const source = new TokenSource({
      credential,
      logger: {
        debug: record('debug'),
        info: record('info'),
        warn: record('warn'),
        error: record('error'),
      },
      ...options,
    });
    for (const event of ['refreshed', 'refreshFailed', 'expired', 'recovered'] as const) {
      source.on(event, (payload: unknown) => emitted.push({ event, payload }));
    }
    source.onCredentials((c) => tokens.add(c.password));
    sources.push(source);
    return source;
  }

  /** Credentials from `source` (checked: username = oid = `oid`), then AUTH + PING over TLS. */
  async function authenticates(source: TokenSource, oid: string): Promise<RedisCredentials> {
    const { emulator } = t;
    const issuedBefore = emulator.stats().identity.tokensIssued[oid] ?? 0;
    const credentials = await source.getCredentials();
    tokens.add(credentials.password);
    expect(credentials.username).toBe(oid);
    expect(credentials.oid).toBe(oid);
    expect(decodeAccessTokenClaims(credentials.password).oid).toBe(oid);
    // The token came from the emulator now, not from some cache.
    expect(emulator.stats().identity.tokensIssued[oid] ?? 0).toBeGreaterThan(issuedBefore);

    const auths: Array<{ oid: string; ok: boolean }> = [];
    const onAuth = (e: { oid: string; ok: boolean }): void => void auths.push(e);
    emulator.front.events.on('auth', onAuth);
    const client = createClient({
      username: credentials.username,
      password: credentials.password,
      socket: {
        host: emulator.redis.host,
        port: emulator.redis.port,
        tls: true,
        ca: emulator.caCertPem,
        reconnectStrategy: false,
      },
    });
    client.on('error', () => {}); // surfaced by connect()/ping() below
    try {
      await client.connect();
      expect(await client.ping()).toBe('PONG');
    } finally {
      emulator.front.events.off('auth', onAuth);
      if (client.isOpen) await client.close();
    }
    expect(auths).toEqual([expect.objectContaining({ oid, ok: true })]);
    return credentials;
  }

  const clientSecret = (): string => t.emulator.servicePrincipal.clientSecret;

  it('defaultAzureCredential: the environment (AZURE_TENANT_ID, AZURE_CLIENT_ID, AZURE_CLIENT_SECRET, AZURE_AUTHORITY_HOST)', async () => {
    const { emulator } = t;
    const env = emulator.env();
    const { authorityHost: _fromEnv, ...options } = emulator.credentialOptions();
    await withEnv(
      {
        AZURE_TENANT_ID: env.AZURE_TENANT_ID!,
        AZURE_CLIENT_ID: env.AZURE_CLIENT_ID!,
        AZURE_CLIENT_SECRET: env.AZURE_CLIENT_SECRET!,
        AZURE_AUTHORITY_HOST: env.AZURE_AUTHORITY_HOST!,
      },
      async () => {
        const source = open(defaultAzureCredential(options));
        const c = await authenticates(source, emulator.servicePrincipal.oid);
        expect(decodeAccessTokenClaims(c.password).appidacr).toBe('1');
        await source.close();
      },
    );
  });

  describe('managedIdentity', () => {
    const styles = {
      'App Service (IDENTITY_ENDPOINT + IDENTITY_HEADER)': () => ({
        IDENTITY_ENDPOINT: t.emulator.env().IDENTITY_ENDPOINT!,
        IDENTITY_HEADER: t.emulator.env().IDENTITY_HEADER!,
      }),
      'IMDS (AZURE_POD_IDENTITY_AUTHORITY_HOST)': () => ({
        AZURE_POD_IDENTITY_AUTHORITY_HOST: t.emulator.env().AZURE_POD_IDENTITY_AUTHORITY_HOST!,
      }),
    };
    const identities: Record<string, () => { options: ManagedIdentityOptions; oid: string }> = {
      'system-assigned': () => ({ options: {}, oid: t.emulator.principals.systemAssigned!.oid }),
      'user-assigned by client id': () => ({
        options: { clientId: t.emulator.principals.userAssigned!.clientId! },
        oid: t.emulator.principals.userAssigned!.oid,
      }),
      'user-assigned by object id': () => ({
        options: { objectId: t.emulator.principals.userAssigned!.oid },
        oid: t.emulator.principals.userAssigned!.oid,
      }),
      'user-assigned by resource id': () => ({
        options: { resourceId: t.emulator.tenant.config.userAssignedIdentities[0]!.resourceId },
        oid: t.emulator.principals.userAssigned!.oid,
      }),
    };
    for (const [style, vars] of Object.entries(styles)) {
      for (const [name, identity] of Object.entries(identities)) {
        it(`${style}: ${name}`, async () => {
          const { options, oid } = identity();
          await withEnv(vars(), async () => {
            const before = t.emulator.stats().identity.requests.managedIdentity;
            const source = open(managedIdentity(options));
            await authenticates(source, oid);
            expect(t.emulator.stats().identity.requests.managedIdentity).toBeGreaterThan(before);
            await source.close();
          });
        });
      }
    }
  });

  it('servicePrincipalSecret', async () => {
    const { emulator } = t;
    const source = open(
      servicePrincipalSecret({
        tenantId: emulator.tenantId,
        clientId: emulator.servicePrincipal.clientId,
        clientSecret: clientSecret(),
        ...emulator.credentialOptions(),
      }),
    );
    const c = await authenticates(source, emulator.servicePrincipal.oid);
    expect(decodeAccessTokenClaims(c.password).appidacr).toBe('1');
    await source.close();
  });

  describe('servicePrincipalCertificate', () => {
    /** Credential options that also record the header of each client assertion sent. */
    function recordingAssertions(): {
      options: ReturnType<TestEmulator['emulator']['credentialOptions']>;
      headers: Array<Record<string, unknown>>;
    } {
      const base = t.emulator.credentialOptions();
      const headers: Array<Record<string, unknown>> = [];
      const recorder = {
        position: 'perCall' as const,
        policy: {
          name: 'recordClientAssertionHeader',
          sendRequest<Req extends { url: string; body?: unknown }, Res>(
            request: Req,
            next: (request: Req) => Promise<Res>,
          ): Promise<Res> {
            if (typeof request.body === 'string') {
              const assertion = new URLSearchParams(request.body).get('client_assertion');
              const header = assertion?.split('.')[0];
              if (header) {
                headers.push(
                  JSON.parse(Buffer.from(header, 'base64url').toString('utf8')) as Record<
                    string,
                    unknown
                  >,
                );
              }
            }
            return next(request);
          },
        },
      };
      return {
        options: { ...base, additionalPolicies: [...base.additionalPolicies, recorder] },
        headers,
      };
    }

    const variants = {
      'by path': { pem: false, chain: false },
      'by PEM': { pem: true, chain: false },
      'by PEM with sendCertificateChain (x5c)': { pem: true, chain: true },
    };
    for (const [name, { pem, chain }] of Object.entries(variants)) {
      it(name, async () => {
        const { emulator } = t;
        const { certificatePath } = emulator.servicePrincipal;
        const { options, headers } = recordingAssertions();
        const identity = {
          tenantId: emulator.tenantId,
          clientId: emulator.servicePrincipal.clientId,
        };
        const source = open(
          servicePrincipalCertificate(
            pem
              ? { ...identity, certificatePem: readFileSync(certificatePath, 'utf8') }
              : { ...identity, certificatePath },
            { ...options, ...(chain ? { sendCertificateChain: true } : {}) },
          ),
        );
        const c = await authenticates(source, emulator.servicePrincipal.oid);
        expect(decodeAccessTokenClaims(c.password).appidacr).toBe('2');
        expect(headers.length).toBeGreaterThanOrEqual(1);
        for (const header of headers) {
          expect(typeof header['x5t#S256']).toBe('string');
          expect(Array.isArray(header.x5c)).toBe(chain);
        }
        await source.close();
      });
    }
  });

  it('workloadIdentity: tenant, client and federated token file from the environment', async () => {
    const { emulator } = t;
    const env = emulator.env();
    await withEnv(
      {
        AZURE_TENANT_ID: env.AZURE_TENANT_ID!,
        AZURE_CLIENT_ID: env.AZURE_CLIENT_ID!,
        AZURE_FEDERATED_TOKEN_FILE: env.ENTRA_REDIS_FEDERATED_TOKEN_FILE!,
      },
      async () => {
        const source = open(workloadIdentity({ ...emulator.credentialOptions() }));
        await authenticates(source, emulator.servicePrincipal.oid);
        await source.close();
      },
    );
  });

  it('interactiveUser: InteractiveBrowserCredential opens $BROWSER, which signs in; refreshes without a prompt', async () => {
    const { emulator } = t;
    const user = emulator.tenant.config.users[0]!;
    const browserLog = join(workDir, 'browser.log');
    const savedLifetimeSec = emulator.tenant.tokenLifetimeSec;
    await withEnv(
      {
        // xdg-open splits $BROWSER on ':' (alternatives) and runs each with the URL appended.
        BROWSER: `${process.execPath} ${BROWSER_SCRIPT}`,
        ENTRA_REDIS_TEST_BROWSER_CA: emulator.caCertPath,
        ENTRA_REDIS_TEST_BROWSER_LOG: browserLog,
      },
      async () => {
        expect(process.env.BROWSER, 'no ":" in the node and script paths').not.toContain(':');
        // 3-second tokens, so that the source refreshes (silently) within the test.
        emulator.tenant.tokenLifetimeSec = 3;
        try {
          const source = open(
            interactiveUser({
              tenantId: emulator.tenantId,
              clientId: emulator.tenant.config.publicClientId,
              loginHint: user.upn,
              ...emulator.credentialOptions(),
            }),
            { requestTimeoutMs: 15_000 },
          );
          const first = await authenticates(source, user.oid);
          expect(decodeAccessTokenClaims(first.password)).toMatchObject({
            idtyp: 'user',
            upn: user.upn,
          });
          const lines = (await readFile(browserLog, 'utf8')).trim().split('\n');
          expect(lines.map((l) => JSON.parse(l) as Record<string, unknown>)).toEqual([
            expect.objectContaining({
              ok: true,
              authorize: `${emulator.authorityHost}/${emulator.tenantId}/oauth2/v2.0/authorize`,
              status: expect.any(Number),
            }),
          ]);
          const next = await new Promise<RedisCredentials>((resolve) => {
            const off = source.onCredentials((c) => {
              off();
              resolve(c);
            });
          });
          expect(next.password).not.toBe(first.password);
          expect(next.oid).toBe(user.oid);
          // The refresh used MSAL's refresh token: the browser was not opened again.
          expect((await readFile(browserLog, 'utf8')).trim().split('\n')).toHaveLength(1);
          await source.close();
        } finally {
          emulator.tenant.tokenLifetimeSec = savedLifetimeSec;
        }
      },
    );
  }, 30_000);

  it('a wrong client secret fails with an error that holds no secret', async () => {
    const { emulator } = t;
    const source = open(
      servicePrincipalSecret({
        tenantId: emulator.tenantId,
        clientId: emulator.servicePrincipal.clientId,
        clientSecret: WRONG_SECRET,
        ...emulator.credentialOptions(),
      }),
    );
    const error = await source.getCredentials().catch((e: unknown) => e);
    errors.push(error);
    expect(error).toMatchObject({ name: 'EntraRedisError' });
    expect(inspect(error, { depth: 10 })).toMatch(/AADSTS7000215/);
    await source.close();
  });

  it('refreshes the secret flow with 2-second tokens for 10 s: one request per rotation, each token AUTHs', async () => {
    const { emulator } = t;
    const oid = emulator.servicePrincipal.oid;
    const savedLifetimeSec = emulator.tenant.tokenLifetimeSec;
    emulator.tenant.tokenLifetimeSec = 2;
    const source = open(
      servicePrincipalSecret({
        tenantId: emulator.tenantId,
        clientId: emulator.servicePrincipal.clientId,
        clientSecret: clientSecret(),
        ...emulator.credentialOptions(),
      }),
    );
    let client: ReturnType<typeof createClient> | undefined;
    try {
      const first = await source.getCredentials();
      client = createClient({
        username: first.username,
        password: first.password,
        socket: {
          host: emulator.redis.host,
          port: emulator.redis.port,
          tls: true,
          ca: emulator.caCertPem,
          reconnectStrategy: false,
        },
      });
      client.on('error', () => {});
      await client.connect();
      const live = client;
      const before = emulator.stats().identity.tokensIssued[oid] ?? 0;
      const evictionsBefore = emulator.stats().redis.evictions;
      const rotations: Array<Promise<unknown>> = [];
      source.onCredentials((c) => {
        // Re-AUTH the live connection, as the adapters do.
        rotations.push(live.auth({ username: c.username, password: c.password }));
      });
      await sleep(10_000);
      const requests = (emulator.stats().identity.tokensIssued[oid] ?? 0) - before;
      // `exp` has whole seconds, so a "2 s" token lives 1–2 s; refreshed at 75 % of that (minus
      // up to 10 % jitter) that is a request every 0.7–1.5 s plus the request's own time, held
      // to at most one a second by the refresh floor: at most 10/1 + 1 requests. At least one
      // per token life (2 s), or the connection would be evicted (asserted below): a loaded
      // machine stretches each request, so 10/1.5 is not a floor.
      expect(requests).toBeGreaterThanOrEqual(10_000 / 2_000);
      expect(requests).toBeLessThanOrEqual(11);
      // Rotations seen within the window match the requests (± the one in flight at either end).
      expect(Math.abs(rotations.length - requests)).toBeLessThanOrEqual(1);
      expect(await Promise.all(rotations)).toEqual(rotations.map(() => 'OK'));
      expect(await live.ping()).toBe('PONG');
      expect(emulator.stats().redis.evictions).toBe(evictionsBefore);
      expect(emulator.stats().identity.errors).toEqual({ AADSTS7000215: 1 });
    } finally {
      await source.close();
      emulator.tenant.tokenLifetimeSec = savedLifetimeSec;
      if (client?.isOpen) await client.close();
    }
  }, 20_000);

  it('no token and no secret in anything the sources logged or emitted, and nothing is left open', async () => {
    const { emulator } = t;
    expect(sources.every((s) => s.closed)).toBe(true);
    await waitFor(
      () => emulator.stats().redis.connectionsOpen === 0,
      5_000,
      'Redis clients closed',
    );

    // The record is not empty: every test's source logged and emitted.
    expect(emitted.filter((e) => e.event === 'refreshed').length).toBeGreaterThanOrEqual(
      sources.length - 1,
    );
    expect(emitted.some((e) => e.event === 'refreshFailed')).toBe(true);
    expect(logged.some((l) => l.level === 'info')).toBe(true);
    expect(errors).toHaveLength(1);

    const certificatePem = readFileSync(emulator.servicePrincipal.certificatePath, 'utf8');
    const privateKeyLine = /PRIVATE KEY-----\r?\n([^\r\n]+)/.exec(certificatePem)?.[1];
    const secrets = [
      ...tokens,
      ...emulator.tenant.config.servicePrincipals.map((p) => p.secret ?? ''),
      WRONG_SECRET,
      readFileSync(emulator.env().ENTRA_REDIS_FEDERATED_TOKEN_FILE!, 'utf8').trim(),
      privateKeyLine ?? '',
    ];
    // Every source but the wrong-secret one got at least one token.
    expect(tokens.size).toBeGreaterThanOrEqual(sources.length - 1);
    const text = [
      inspect(logged, { depth: Infinity }),
      inspect(emitted, { depth: Infinity }),
      inspect(errors, { depth: Infinity }),
      JSON.stringify(logged),
      JSON.stringify(emitted),
    ].join('\n');
    // The search finds what it looks for.
    const sample = [...tokens][0]!;
    expect(inspect({ sample }).includes(sample)).toBe(true);
    for (const secret of secrets) {
      expect(secret.length).toBeGreaterThan(16);
      expect(text.includes(secret), 'a token or secret in the logs or events').toBe(false);
    }
    // No JWT at all (header.payload.signature, each base64url starting with `eyJ`).
    expect(text).not.toMatch(/eyJ[\w-]{10,}\.eyJ[\w-]{10,}\.[\w-]{10,}/);
  });
});

/** A client secret the emulator does not know (same shape as its own). */
const WRONG_SECRET = 'emu~not-the-secret-0123456789abcdefghijk';
