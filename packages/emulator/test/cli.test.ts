import { ClientSecretCredential } from '@azure/identity';
import { trustEmulatorCa } from '@entra-redis/emulator';
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createClient } from 'redis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { portRefuses } from './helpers/net.js';
import { alive, childrenOf } from './helpers/process.js';

// The `entra-redis-emulator` command as npm linked it at install time (it runs the build, which
// npm test makes first), run through its shebang as npx would run it.
const bin = fileURLToPath(
  new URL('../../../node_modules/.bin/entra-redis-emulator', import.meta.url),
);

function parseEnv(text: string): Record<string, string> {
  return Object.fromEntries(
    text
      .split('\n')
      .filter(Boolean)
      .map((line) => [line.slice(0, line.indexOf('=')), line.slice(line.indexOf('=') + 1)]),
  );
}

describe('entra-redis-emulator CLI', () => {
  let dir: string;
  let child: ChildProcess;
  let stdout = '';
  let exit: Promise<number | null>;

  beforeAll(async () => {
    if (!existsSync(bin))
      throw new Error(`${bin} is missing: install the workspace first (npm ci)`);
    dir = await mkdtemp(join(tmpdir(), 'emulator-cli-'));
    // `--env-file` right after the script name: the shebang's `node --` keeps Node 20 from
    // taking it as its own option.
    child = spawn(
      bin,
      [
        '--env-file',
        join(dir, 'emulator.env'),
        '--state-dir',
        join(dir, 'state'),
        '--token-lifetime',
        '60',
      ],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    child.stdout!.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    exit = new Promise((resolve) => child.once('exit', (code) => resolve(code)));
    const deadline = Date.now() + 20_000;
    while (!existsSync(join(dir, 'emulator.env'))) {
      if (Date.now() > deadline || child.exitCode !== null)
        throw new Error('the emulator did not get ready');
      await new Promise((r) => setTimeout(r, 50));
    }
  });

  afterAll(async () => {
    if (child && child.exitCode === null) child.kill('SIGKILL');
    await rm(dir, { recursive: true, force: true });
  });

  it('writes the client settings once ready (mode 0600), the same lines as on stdout', async () => {
    const file = join(dir, 'emulator.env');
    expect(statSync(file).mode & 0o777).toBe(0o600);
    const env = parseEnv(readFileSync(file, 'utf8'));
    await expect.poll(() => parseEnv(stdout)).toEqual(env);
    expect(Object.keys(env)).toEqual(
      expect.arrayContaining([
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
      ]),
    );
  });

  it('a process with exactly those variables gets each identity from the real credentials', async () => {
    const env = parseEnv(readFileSync(join(dir, 'emulator.env'), 'utf8'));
    const script = `
      import { ClientSecretCredential, DefaultAzureCredential, ManagedIdentityCredential } from '@azure/identity';
      const e = process.env;
      const options = { authorityHost: e.AZURE_AUTHORITY_HOST, disableInstanceDiscovery: true };
      const oid = async (credential) => {
        const { token } = await credential.getToken('https://redis.azure.com/.default');
        return JSON.parse(Buffer.from(token.split('.')[1], 'base64url')).oid;
      };
      console.log(JSON.stringify({
        default: await oid(new DefaultAzureCredential({ disableInstanceDiscovery: true })),
        system: await oid(new ManagedIdentityCredential()),
        user: await oid(new ManagedIdentityCredential({ clientId: e.ENTRA_REDIS_USER_ASSIGNED_CLIENT_ID })),
        reader: await oid(new ClientSecretCredential(e.AZURE_TENANT_ID, e.ENTRA_REDIS_READER_CLIENT_ID, e.ENTRA_REDIS_READER_CLIENT_SECRET, options)),
      }));`;
    const child = spawn(process.execPath, ['--input-type=module', '-e', script], {
      cwd: fileURLToPath(new URL('../../..', import.meta.url)), // resolves @azure/identity
      env: { PATH: process.env.PATH ?? '/usr/bin:/bin', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    let err = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    const code = await new Promise((resolve) => child.once('close', resolve));
    expect(code, err).toBe(0);
    expect(JSON.parse(out)).toEqual({
      default: env.REDIS_USERNAME,
      system: env.ENTRA_REDIS_SYSTEM_ASSIGNED_OID,
      user: env.ENTRA_REDIS_USER_ASSIGNED_OID,
      reader: env.ENTRA_REDIS_READER_OID,
    });
  });

  it('serves a client configured only from those settings, and stops cleanly on SIGTERM', async () => {
    const env = parseEnv(readFileSync(join(dir, 'emulator.env'), 'utf8'));
    const ca = readFileSync(env.NODE_EXTRA_CA_CERTS!, 'utf8');
    const credential = new ClientSecretCredential(
      env.AZURE_TENANT_ID!,
      env.AZURE_CLIENT_ID!,
      env.AZURE_CLIENT_SECRET!,
      {
        authorityHost: env.AZURE_AUTHORITY_HOST!,
        disableInstanceDiscovery: true,
        ...trustEmulatorCa(ca),
      },
    );
    const { token } = await credential.getToken('https://redis.azure.com/.default');
    const client = createClient({
      username: env.REDIS_USERNAME!,
      password: token,
      socket: { host: env.REDIS_HOST!, port: Number(env.REDIS_PORT), tls: true, ca },
    });
    await client.connect();
    expect(await client.ping()).toBe('PONG');
    client.destroy();

    child.kill('SIGTERM');
    expect(await exit).toBe(0);
    expect(await portRefuses(Number(env.REDIS_PORT))).toBe(true);
    expect(await portRefuses(Number(new URL(env.AZURE_AUTHORITY_HOST!).port))).toBe(true);
    expect(existsSync(join(dir, 'emulator.env')), 'the env file, removed on stop').toBe(false);
  });
});

describe('entra-redis-emulator CLI stopped while starting', () => {
  it('SIGTERM before it is ready stops the redis-server it started; a stale env file is gone at once', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'emulator-cli-early-'));
    const envFile = join(dir, 'emulator.env');
    writeFileSync(envFile, 'REDIS_PORT=1\n'); // left by an earlier run
    const child = spawn(bin, ['--env-file', envFile, '--state-dir', join(dir, 'state')], {
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let redis: number[] = [];
    try {
      const exit = new Promise<number | null>((resolve) => child.once('exit', resolve));
      await expect
        .poll(
          () => {
            redis = childrenOf(child.pid!);
            return !existsSync(envFile) && redis.length > 0;
          },
          { timeout: 20_000, interval: 10 },
        )
        .toBe(true);
      child.kill('SIGTERM');
      expect(await exit).toBe(0);
      expect(redis.filter(alive), 'redis-server children left running').toEqual([]);
      expect(existsSync(envFile)).toBe(false);
    } finally {
      // A failed assertion must not leave the emulator or its redis-server running.
      for (const pid of [child.pid, ...redis]) if (pid && alive(pid)) process.kill(pid, 'SIGKILL');
      await rm(dir, { recursive: true, force: true });
    }
  });
});
