// Issue 19: the preload's configuration (environment only, checked at startup) and its host
// patterns; a bad value stops the process with one message naming the variable and the
// accepted values. Startup and exit run as real child processes; no Redis is involved.
import { spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { readConfig } from '../src/register/config.js';
import { AZURE_HOST_PATTERNS, hostMatches, parseHostPatterns } from '../src/register/hosts.js';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const TENANT = 'e7e7e7e7-0000-4000-8000-000000000001';
const CLIENT = '11111111-1111-4111-8111-000000000001';

/** Runs `node <preload> -e <code>` with exactly `env`; returns its exit code and output. */
function node(preload: string[], env: Record<string, string>, code = 'console.log("app ran")') {
  const run = spawnSync(process.execPath, [...preload, '-e', code], {
    cwd: ROOT,
    env: { PATH: process.env.PATH ?? '', ...env },
    encoding: 'utf8',
    timeout: 30_000,
  });
  return { status: run.status, stdout: run.stdout, stderr: run.stderr };
}

describe('host patterns', () => {
  it("matches Azure's host names in every cloud, any port, and nothing else by default", () => {
    for (const host of [
      'contoso.redis.cache.windows.net',
      'contoso.privatelink.redis.cache.windows.net',
      'contoso.westeurope.redis.azure.net',
      'contoso.westeurope.redisenterprise.cache.azure.net',
      'contoso.redis.cache.chinacloudapi.cn',
      'CONTOSO.redis.cache.usgovcloudapi.net.',
    ]) {
      expect(hostMatches(AZURE_HOST_PATTERNS, host, 6380), host).toBe(true);
    }
    for (const host of ['redis.cache.windows.net', 'localhost', '127.0.0.1', 'evil.com', '']) {
      expect(hostMatches(AZURE_HOST_PATTERNS, host, 6380), host).toBe(false);
    }
    expect(hostMatches(AZURE_HOST_PATTERNS, undefined, 6380)).toBe(false);
  });

  it('ENTRA_REDIS_HOSTS: host[:port], *. wildcards, IPv4 and [IPv6]', () => {
    const patterns = parseHostPatterns(' *.cache.contoso.internal, 10.0.0.5:6380,[::1]:7000 ,');
    expect(Array.isArray(patterns)).toBe(true);
    const p = patterns as Exclude<typeof patterns, { invalid: string }>;
    expect(p.map((x) => x.text)).toEqual([
      '*.cache.contoso.internal',
      '10.0.0.5:6380',
      '[::1]:7000',
    ]);
    expect(hostMatches(p, 'a.cache.contoso.internal', 1)).toBe(true);
    expect(hostMatches(p, 'a.b.cache.contoso.internal', 1)).toBe(true);
    expect(hostMatches(p, 'cache.contoso.internal', 1)).toBe(false);
    expect(hostMatches(p, 'xcache.contoso.internal', 1)).toBe(false);
    expect(hostMatches(p, '10.0.0.5', 6380)).toBe(true);
    expect(hostMatches(p, '10.0.0.5', 6379)).toBe(false);
    expect(hostMatches(p, '::1', 7000)).toBe(true);
    expect(hostMatches(p, '[::1]', 7000)).toBe(true);
    for (const bad of ['*', 'host:0', 'host:99999', 'a b', '*.', 'http://host', 'host:port']) {
      expect(parseHostPatterns(bad), bad).toEqual({ invalid: bad });
    }
  });
});

describe('configuration from the environment', () => {
  const base = { AZURE_TENANT_ID: TENANT, AZURE_CLIENT_ID: CLIENT };

  it('defaults: DefaultAzureCredential, info, the Azure patterns, the token source defaults', () => {
    const config = readConfig({});
    expect(config.identity).toEqual({ kind: 'default' });
    expect(config.log).toBe('info');
    expect(config.hosts).toEqual(AZURE_HOST_PATTERNS);
    expect(config.source).toEqual({});
  });

  it('each identity kind reads the variables the Azure SDK reads', () => {
    const file = join(tmpdir(), `entra-redis-register-${process.pid}.txt`);
    writeFileSync(file, 'x');
    expect(readConfig({ ENTRA_REDIS_CREDENTIAL: 'managed-identity' }).identity).toEqual({
      kind: 'managed-identity',
    });
    expect(
      readConfig({ ENTRA_REDIS_CREDENTIAL: 'managed-identity', AZURE_CLIENT_ID: CLIENT }).identity,
    ).toEqual({ kind: 'managed-identity', clientId: CLIENT });
    expect(
      readConfig({
        ...base,
        ENTRA_REDIS_CREDENTIAL: 'workload-identity',
        AZURE_FEDERATED_TOKEN_FILE: file,
        AZURE_AUTHORITY_HOST: 'https://login.microsoftonline.us',
      }).identity,
    ).toEqual({
      kind: 'workload-identity',
      tenantId: TENANT,
      clientId: CLIENT,
      tokenFilePath: file,
      authorityHost: 'https://login.microsoftonline.us',
    });
    expect(
      readConfig({ ...base, ENTRA_REDIS_CREDENTIAL: 'service-principal', AZURE_CLIENT_SECRET: 's' })
        .identity,
    ).toMatchObject({ kind: 'service-principal', clientSecret: 's' });
    expect(
      readConfig({
        ...base,
        ENTRA_REDIS_CREDENTIAL: 'service-principal',
        AZURE_CLIENT_CERTIFICATE_PATH: file,
        AZURE_CLIENT_SEND_CERTIFICATE_CHAIN: 'true',
      }).identity,
    ).toMatchObject({ certificatePath: file, sendCertificateChain: true });
  });

  it('token source settings: scope and the three timing variables, validated as the options', () => {
    expect(
      readConfig({
        ENTRA_REDIS_SCOPE: 'api://custom/.default',
        ENTRA_REDIS_REFRESH_RATIO: '0.5',
        ENTRA_REDIS_MIN_REMAINING_MS: '60000',
        ENTRA_REDIS_MIN_REFRESH_INTERVAL_MS: '100',
      }).source,
    ).toEqual({
      scopes: 'api://custom/.default',
      refreshRatio: 0.5,
      minRemainingMs: 60_000,
      minRefreshIntervalMs: 100,
    });
  });

  it.each([
    [
      { ENTRA_REDIS_CREDENTIAL: 'keyvault' },
      /ENTRA_REDIS_CREDENTIAL must be one of default, managed-identity, workload-identity, service-principal \(got "keyvault"\)/,
    ],
    [{ ENTRA_REDIS_LOG: 'loud' }, /ENTRA_REDIS_LOG must be one of silent, info, debug/],
    [
      { ENTRA_REDIS_HOSTS: 'good.example, bad host' },
      /ENTRA_REDIS_HOSTS must be comma-separated host\[:port\] patterns.*"bad host"/,
    ],
    [
      { ENTRA_REDIS_REFRESH_RATIO: '1.5' },
      /ENTRA_REDIS_REFRESH_RATIO=1.5 is not accepted: "refreshRatio" must be/,
    ],
    [{ ENTRA_REDIS_REFRESH_RATIO: 'three quarters' }, /ENTRA_REDIS_REFRESH_RATIO must be a number/],
    [{ ENTRA_REDIS_MIN_REMAINING_MS: '-1' }, /ENTRA_REDIS_MIN_REMAINING_MS=-1 is not accepted/],
    [
      { ENTRA_REDIS_MIN_REFRESH_INTERVAL_MS: '1e12' },
      /ENTRA_REDIS_MIN_REFRESH_INTERVAL_MS=1e12 is not accepted/,
    ],
    [
      { ENTRA_REDIS_CREDENTIAL: 'service-principal', ...base },
      /needs AZURE_CLIENT_SECRET .* or AZURE_CLIENT_CERTIFICATE_PATH/,
    ],
    [
      { ENTRA_REDIS_CREDENTIAL: 'service-principal', AZURE_CLIENT_ID: CLIENT },
      /needs AZURE_TENANT_ID/,
    ],
    [
      {
        ENTRA_REDIS_CREDENTIAL: 'workload-identity',
        ...base,
        AZURE_FEDERATED_TOKEN_FILE: '/nonexistent/token',
      },
      /AZURE_FEDERATED_TOKEN_FILE must be a readable file; \/nonexistent\/token is not \(ENOENT\)/,
    ],
    [
      { ENTRA_REDIS_CREDENTIAL: 'managed-identity', AZURE_CLIENT_ID: 'not-a-guid' },
      /AZURE_CLIENT_ID must be a GUID/,
    ],
    [{ AZURE_AUTHORITY_HOST: 'http://login.example' }, /AZURE_AUTHORITY_HOST must be an https URL/],
  ])('refuses %o naming the variable and what it accepts', (env, message) => {
    expect(() => readConfig(env)).toThrow(message);
  });

  it('never puts a secret in a message', () => {
    let error: unknown;
    try {
      readConfig({
        ...base,
        ENTRA_REDIS_CREDENTIAL: 'service-principal',
        AZURE_CLIENT_SECRET: 'sekrit',
        ENTRA_REDIS_LOG: 'x',
      });
    } catch (e) {
      error = e;
    }
    expect(String((error as Error).message)).not.toMatch(/sekrit/);
  });
});

describe('the preload at startup (child processes)', () => {
  it('a bad value stops the process before the application runs: one line, exit code 78', () => {
    for (const preload of [
      ['--import', 'entra-redis/register'],
      ['--require', 'entra-redis/register'],
    ]) {
      const run = node(preload, { ENTRA_REDIS_CREDENTIAL: 'keyvault' });
      expect(run.status, preload.join(' ')).toBe(78);
      expect(run.stdout).toBe('');
      expect(run.stderr.trim().split('\n')).toEqual([
        'entra-redis/register: ENTRA_REDIS_CREDENTIAL must be one of default, managed-identity, ' +
          'workload-identity, service-principal (got "keyvault"). To troubleshoot, see ' +
          'entra-redis/docs/troubleshooting.md#invalid_option.',
      ]);
    }
  });

  it('one startup line naming the identity and the host patterns, never a secret; silent says nothing', () => {
    const env = {
      ...{ AZURE_TENANT_ID: TENANT, AZURE_CLIENT_ID: CLIENT },
      ENTRA_REDIS_CREDENTIAL: 'service-principal',
      AZURE_CLIENT_SECRET: 'the-client-secret',
      ENTRA_REDIS_HOSTS: '*.cache.contoso.internal',
    };
    const run = node(['--import', 'entra-redis/register'], env);
    expect(run.status).toBe(0);
    expect(run.stdout).toBe('app ran\n');
    expect(run.stderr).toBe(
      'entra-redis: protecting Redis clients of *.redis.cache.windows.net, *.redis.azure.net, ' +
        '*.redisenterprise.cache.azure.net, *.redis.cache.chinacloudapi.cn, ' +
        '*.redis.cache.usgovcloudapi.net, *.cache.contoso.internal with service principal ' +
        `${CLIENT} (client secret)\n`,
    );
    expect(
      node(['--import', 'entra-redis/register'], { ...env, ENTRA_REDIS_LOG: 'silent' }).stderr,
    ).toBe('');
  });

  it('loading it twice (--import and --require, through NODE_OPTIONS too) is harmless: one line, the app runs', () => {
    const run = node(['--require', 'entra-redis/register', '--import', 'entra-redis/register'], {
      NODE_OPTIONS: '--require entra-redis/register',
    });
    expect(run.status).toBe(0);
    expect(run.stdout).toBe('app ran\n');
    expect(run.stderr.match(/protecting Redis clients/g)).toHaveLength(1);
    expect(run.stderr).not.toMatch(/Warning/);
  });

  it('its ESM build imports no client library and leaves @azure/identity to a chunk loaded at the first token request', () => {
    const built = readFileSync(join(ROOT, 'packages/entra-redis/dist/register/index.js'), 'utf8');
    const imports = [...built.matchAll(/^import .* from "([^"]+)";$/gm)].map((m) => m[1]);
    expect(imports.length).toBeGreaterThan(0);
    for (const name of ['@azure/identity', 'ioredis', 'redis', '@redis/client']) {
      expect(imports, name).not.toContain(name);
    }
    expect(built).toMatch(/import\("\.\.\/identity-[\w-]+\.js"\)/);
  });

  it('does not load a Redis client library, @azure/identity or anything else the app did not ask for', () => {
    const code =
      'const loaded = Object.keys(require.cache).filter((f) => /node_modules[\\\\/](ioredis|redis|@redis|@azure)[\\\\/]/.test(f));' +
      'console.log(JSON.stringify(loaded))';
    for (const preload of [
      ['--import', 'entra-redis/register'],
      ['--require', 'entra-redis/register'],
    ]) {
      const run = node(preload, {}, code);
      expect(run.status, run.stderr).toBe(0);
      expect(JSON.parse(run.stdout)).toEqual([]);
    }
  });
});
