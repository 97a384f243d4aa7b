// Bad input (issue #9): invalid configurations of the identity factories, the token source and
// both adapters fail at construction with an EntraRedisError whose message names the option and
// the fix; malformed tokens fail with a clear error before anything reaches Redis. The
// TokenSource's own option table (typos, ratios given as percent, …) is in options.test.ts.
import { generateKeyPairSync } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  TokenSource,
  interactiveUser,
  isEntraRedisError,
  managedIdentity,
  servicePrincipalCertificate,
  servicePrincipalSecret,
  workloadIdentity,
} from 'entra-redis';
import { attachEntraAuth, createRedis } from 'entra-redis/ioredis';
import { createClient } from 'entra-redis/node-redis';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { ScriptedCredential, issueToken } from './fakes.js';

const TENANT = '72f988bf-86f1-41af-91ab-2d7cd011db47';
const CLIENT = '0c2b2f5e-1111-4222-8333-944445555666';
const AZURE = 'contoso.redis.cache.windows.net';
const BEGIN_CERT = '-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n';

let dir: string;
let certOnly: string;
let encryptedKey: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'entra-redis-bad-input-'));
  certOnly = join(dir, 'cert-only.pem');
  await writeFile(certOnly, BEGIN_CERT);
  const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  encryptedKey =
    BEGIN_CERT +
    privateKey.export({ format: 'pem', type: 'pkcs8', cipher: 'aes-256-cbc', passphrase: 'pw' });
});
afterAll(() => rm(dir, { recursive: true, force: true }));

/** A token source whose credential counts calls: a row must fail before asking for a token. */
const credential = new ScriptedCredential(({ n }) => issueToken(Date.now(), 3_600_000 + n));
const source = new TokenSource({ credential, metrics: false });
afterAll(() => source.close());

const sp = { tenantId: TENANT, clientId: CLIENT, clientSecret: 'not-the-real-secret' };
const cert = { tenantId: TENANT, clientId: CLIENT };
const node = (o: object) => createClient({ tokenSource: source, ...o } as never);
const io = (o: object) => createRedis({ tokenSource: source, lazyConnect: true, ...o } as never);

/** [label, construct, code, option named, fix stated] */
type Row = [string, () => unknown, string, string, RegExp];
// prettier-ignore
const rows = (): Row[] => [
  // identity factories
  ['missing client id', () => servicePrincipalSecret({ ...sp, clientId: undefined } as never), 'INVALID_OPTION', '"clientId"', /must be a GUID \(the application's client id\)/],
  ['client id not a GUID', () => servicePrincipalSecret({ ...sp, clientId: 'my-app' }), 'INVALID_OPTION', '"clientId"', /such as 00000000-0000/],
  ['missing client secret', () => servicePrincipalSecret({ ...sp, clientSecret: '' }), 'INVALID_OPTION', '"clientSecret"', /the client secret value, not its id/],
  ['missing tenant id', () => servicePrincipalSecret({ ...sp, tenantId: undefined } as never), 'INVALID_OPTION', '"tenantId"', /a tenant id \(GUID\) or tenant domain name/],
  ['malformed tenant', () => servicePrincipalSecret({ ...sp, tenantId: 'contoso tenant' }), 'INVALID_OPTION', '"tenantId"', /such as contoso\.onmicrosoft\.com/],
  ['http authority host', () => servicePrincipalSecret({ ...sp, authorityHost: 'http://login.microsoftonline.com' }), 'INVALID_OPTION', '"authorityHost"', /an https URL such as https:\/\/login\.microsoftonline\.com/],
  ['secret and certificate both given (secret factory)', () => servicePrincipalSecret({ ...sp, certificatePath: certOnly } as never), 'INVALID_OPTION', '"certificatePath"', /servicePrincipalCertificate/],
  ['secret and certificate both given (certificate factory)', () => servicePrincipalCertificate({ ...cert, certificatePath: certOnly, clientSecret: 'x' } as never), 'INVALID_OPTION', '"clientSecret"', /expected one of .*"certificatePath"/],
  ['certificate path and PEM both given', () => servicePrincipalCertificate({ ...cert, certificatePath: certOnly, certificatePem: BEGIN_CERT } as never), 'INVALID_OPTION', '"certificatePath"', /give exactly one of .*; got both/],
  ['no certificate at all', () => servicePrincipalCertificate(cert as never), 'INVALID_OPTION', '"certificatePem"', /give exactly one of .*; got neither/],
  ['unreadable certificate', () => servicePrincipalCertificate({ ...cert, certificatePath: join(dir, 'missing.pem') }), 'INVALID_OPTION', '"certificatePath"', /must be a readable file; .* Check the path and its permissions/],
  ['certificate without its private key', () => servicePrincipalCertificate({ ...cert, certificatePath: certOnly }), 'INVALID_OPTION', '"certificatePath"', /the PEM must hold the certificate and its private key/],
  ['encrypted key without password', () => servicePrincipalCertificate({ ...cert, certificatePem: encryptedKey }), 'INVALID_OPTION', '"certificatePassword"', /encrypted private key but no/],
  ['two managed identity selectors', () => managedIdentity({ clientId: CLIENT, objectId: CLIENT } as never), 'INVALID_OPTION', '"objectId"', /give at most one of .*none = system-assigned/],
  ['malformed managed identity resource id', () => managedIdentity({ resourceId: 'my-identity' }), 'INVALID_OPTION', '"resourceId"', /such as \/subscriptions\/<sub>/],
  ['workload identity without client id', () => workloadIdentity({ tenantId: TENANT, tokenFilePath: certOnly }), 'CREDENTIAL_UNAVAILABLE', '"clientId"', /pass "clientId" or enable Azure Workload Identity/],
  ['interactive user with a bad tenant', () => interactiveUser({ tenantId: 'not a tenant', clientId: CLIENT }), 'INVALID_OPTION', '"tenantId"', /or "organizations"/],
  // token source: negative durations and ranges (the rest of its table is in options.test.ts)
  ['negative request timeout', () => new TokenSource({ credential, requestTimeoutMs: -1 }), 'INVALID_OPTION', '"requestTimeoutMs"', /must be a number of ms between/],
  ['negative retry delay', () => new TokenSource({ credential, retry: { initialDelayMs: -5 } }), 'INVALID_OPTION', '"retry.initialDelayMs"', /must be a number of ms between/],
  ['negative refresh floor', () => new TokenSource({ credential, minRefreshIntervalMs: -1 }), 'INVALID_OPTION', '"minRefreshIntervalMs"', /must be a number of ms between 1 and/],
  ['negative jitter ratio', () => new TokenSource({ credential, jitterRatio: -0.1 }), 'INVALID_OPTION', '"jitterRatio"', /must be a number between 0 and 0\.5/],
  ['refresh ratio above 1', () => new TokenSource({ credential, refreshRatio: 1.5 }), 'INVALID_OPTION', '"refreshRatio"', /between 0 and 1 \(exclusive\); got 1\.5/],
  // node-redis adapter
  ['node-redis without tokenSource', () => createClient({ socket: { host: AZURE } } as never), 'INVALID_OPTION', '"tokenSource"', /new TokenSource\(\{ credential \}\)/],
  ['node-redis with a password', () => node({ password: 'key' }), 'INVALID_OPTION', '"password"', /both from "tokenSource"/],
  ['node-redis URL with credentials', () => node({ url: `rediss://user:key@${AZURE}:6380` }), 'INVALID_OPTION', '"url"', /must not carry a username or password/],
  ['node-redis malformed URL', () => node({ url: 'rediss://contoso redis:6380' }), 'INVALID_OPTION', '"url"', /rediss:\/\/<host>:<port>/],
  ['node-redis plaintext to an Azure host', () => node({ socket: { host: AZURE, port: 6380, tls: false } }), 'INSECURE_CONNECTION', '"allowInsecureConnection', /Enable TLS/],
  ['node-redis redis:// URL to an Azure host', () => node({ url: `redis://${AZURE}:6379` }), 'INSECURE_CONNECTION', '"allowInsecureConnection', /use 6380 .* with TLS/],
  // ioredis adapter
  ['ioredis without tokenSource', () => createRedis({ host: AZURE } as never), 'INVALID_OPTION', '"tokenSource"', /must be a TokenSource/],
  ['ioredis with a password', () => io({ host: AZURE, password: 'key' }), 'INVALID_OPTION', '"username"/"password"', /they come from "tokenSource"/],
  ['ioredis negative blocking margin', () => io({ host: AZURE, blockingCommandSafetyMarginMs: -1 }), 'INVALID_OPTION', '"blockingCommandSafetyMarginMs"', /between 0 and 600000; got -1/],
  ['ioredis allowInsecureConnection not boolean', () => io({ host: AZURE, allowInsecureConnection: 'yes' }), 'INVALID_OPTION', '"allowInsecureConnection"', /must be true or false/],
  ['ioredis plaintext to an Azure host', () => io({ host: AZURE, port: 6379 }), 'INSECURE_CONNECTION', '"allowInsecureConnection', /Port 6379 is Azure's non-TLS port/],
  ['ioredis attach to a plaintext Azure client', () => attachEntraAuth(new Redis({ host: AZURE, lazyConnect: true }), source), 'INSECURE_CONNECTION', '"allowInsecureConnection', /Enable TLS/],
  ['ioredis attach without a source', () => attachEntraAuth(new Redis({ lazyConnect: true }), {} as never), 'INVALID_OPTION', '"tokenSource"', /must be a TokenSource/],
];

async function thrown(construct: () => unknown): Promise<unknown> {
  try {
    await construct();
  } catch (error) {
    return error;
  }
  return undefined;
}

describe('invalid configurations fail at construction, naming the option and the fix', () => {
  it('has at least 25 rows', () => {
    expect(rows().length).toBeGreaterThanOrEqual(25);
  });

  it.each(rows().map((row) => [row[0], row] as const))('%s', async (_label, row) => {
    const [, construct, code, option, fix] = row;
    vi.stubEnv('AZURE_CLIENT_ID', '');
    const error = await thrown(construct);
    vi.unstubAllEnvs();
    expect(isEntraRedisError(error), `${String(error)}`).toBe(true);
    expect(error).toMatchObject({ name: 'EntraRedisError', code, isRetryable: false });
    const { message } = error as Error;
    expect(message).toMatch(/^entra-redis/);
    expect(message).toContain(option);
    expect(message).toMatch(fix);
    expect(message).not.toContain('not-the-real-secret');
    expect(credential.calls, 'no token requested for an invalid configuration').toBe(0);
  });
});
