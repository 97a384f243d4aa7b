import {
  ClientCertificateCredential,
  ClientSecretCredential,
  WorkloadIdentityCredential,
} from '@azure/identity';
import { startEmulator, type Emulator } from '@entra-redis/emulator';
import { Redis } from 'ioredis';
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createClient } from 'redis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { portRefuses } from './helpers/net.js';

const REDIS_SCOPE = 'https://redis.azure.com/.default';

describe('startEmulator', () => {
  let emulator: Emulator;
  let stateDir: string;

  beforeAll(async () => {
    stateDir = await mkdtemp(join(tmpdir(), 'emulator-test-'));
    emulator = await startEmulator({ stateDir, tokenLifetimeSec: 30 });
  });

  afterAll(async () => {
    await emulator?.close();
    await rm(stateDir, { recursive: true, force: true });
  });

  it('gives the settings a client process needs', () => {
    const env = emulator.env();
    for (const key of [
      'AZURE_AUTHORITY_HOST',
      'AZURE_TENANT_ID',
      'AZURE_CLIENT_ID',
      'AZURE_CLIENT_SECRET',
      'AZURE_CLIENT_CERTIFICATE_PATH',
      'IDENTITY_ENDPOINT',
      'IDENTITY_HEADER',
      'AZURE_POD_IDENTITY_AUTHORITY_HOST',
      'NODE_EXTRA_CA_CERTS',
      'REDIS_HOST',
      'REDIS_PORT',
      'REDIS_USERNAME',
      'ENTRA_REDIS_READER_OID',
      'ENTRA_REDIS_SYSTEM_ASSIGNED_OID',
      'ENTRA_REDIS_USER_ASSIGNED_CLIENT_ID',
      'ENTRA_REDIS_USER_OID',
    ]) {
      expect(env[key], key).toMatch(/\S/);
    }
    expect(env.REDIS_HOST).toBe('127.0.0.1');
    expect(env.REDIS_PORT).toBe(String(emulator.redis.port));
    expect(env.REDIS_USERNAME).toBe(emulator.servicePrincipal.oid);
  });

  it('serves a real credential whose token opens node-redis and ioredis over TLS', async () => {
    const credential = new ClientSecretCredential(
      emulator.tenantId,
      emulator.servicePrincipal.clientId,
      emulator.servicePrincipal.clientSecret,
      emulator.credentialOptions(),
    );
    const token = await credential.getToken(REDIS_SCOPE);
    expect(token?.token).toBeTruthy();

    const username = emulator.servicePrincipal.oid;
    const nodeRedis = createClient({
      username,
      password: token.token,
      socket: {
        host: emulator.redis.host,
        port: emulator.redis.port,
        tls: true,
        ca: emulator.caCertPem,
      },
    });
    await nodeRedis.connect();
    await nodeRedis.set('emulator:test', 'node-redis');
    expect(await nodeRedis.get('emulator:test')).toBe('node-redis');
    nodeRedis.destroy();

    const ioredis = new Redis({
      host: emulator.redis.host,
      port: emulator.redis.port,
      username,
      password: token.token,
      tls: { ca: emulator.caCertPem },
      lazyConnect: true,
      maxRetriesPerRequest: 0,
    });
    await ioredis.connect();
    expect(await ioredis.get('emulator:test')).toBe('node-redis');
    ioredis.disconnect();

    const stats = emulator.stats();
    expect(stats.identity.tokensIssued[username]).toBeGreaterThanOrEqual(1);
    expect(stats.redis.authOk).toBeGreaterThanOrEqual(2);
  });

  it('refuses a token of a principal without an access policy', async () => {
    const unassigned = emulator.principals.unassigned;
    expect(unassigned).toBeDefined();
    const principal = emulator.tenant.findByOid(unassigned!.oid);
    const { accessToken } = await emulator.tenant.mintAccessToken(principal!, {
      audience: 'https://redis.azure.com',
    });
    const client = createClient({
      username: unassigned!.oid,
      password: accessToken,
      socket: {
        host: emulator.redis.host,
        port: emulator.redis.port,
        tls: true,
        ca: emulator.caCertPem,
        reconnectStrategy: false,
      },
    });
    client.on('error', () => undefined);
    await expect(client.connect()).rejects.toThrow(/WRONGPASS/);
    client.destroy();
  });

  it('two emulators on one state directory keep their own client files; close removes them', async () => {
    const other = await startEmulator({ stateDir, tokenLifetimeSec: 30, redis: { plainPort: 0 } });
    expect(other.env().REDIS_PLAIN_PORT).toBe(String(other.redis.plainPort));
    expect(emulator.env().REDIS_PLAIN_PORT).toBeUndefined(); // plaintext off by default
    try {
      // Started second: had it rewritten the shared files, the first one's would fail.
      for (const e of [emulator, other]) {
        const env = e.env();
        const options = e.credentialOptions();
        const credentials = [
          new ClientCertificateCredential(
            e.tenantId,
            e.servicePrincipal.clientId,
            env.AZURE_CLIENT_CERTIFICATE_PATH!,
            options,
          ),
          new WorkloadIdentityCredential({
            tenantId: e.tenantId,
            clientId: e.servicePrincipal.clientId,
            tokenFilePath: env.ENTRA_REDIS_FEDERATED_TOKEN_FILE!,
            ...options,
          }),
        ];
        for (const credential of credentials) {
          const { token } = await credential.getToken(REDIS_SCOPE);
          const check = await e.tenant.verifyRedisAuth(e.servicePrincipal.oid, token);
          expect(check.ok).toBe(true);
        }
      }
    } finally {
      await other.close();
    }
    const env = other.env();
    expect(existsSync(env.AZURE_CLIENT_CERTIFICATE_PATH!)).toBe(false);
    expect(existsSync(env.ENTRA_REDIS_FEDERATED_TOKEN_FILE!)).toBe(false);
    expect(existsSync(emulator.env().AZURE_CLIENT_CERTIFICATE_PATH!)).toBe(true);
  });

  it('stops everything on close, idempotently', async () => {
    const own = await startEmulator({ stateDir, tokenLifetimeSec: 30 });
    const pid = own.redisServer.pid;
    const ports = [own.redis.port, new URL(own.authorityHost).port].map(Number);
    await Promise.all([own.close(), own.close()]);
    for (const port of ports) expect(await portRefuses(port)).toBe(true);
    expect(() => process.kill(pid!, 0)).toThrow();
  });
});
