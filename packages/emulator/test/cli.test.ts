import { ClientSecretCredential } from '@azure/identity';
import { trustEmulatorCa } from '@entra-redis/emulator';
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readFileSync, statSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createClient } from 'redis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { portRefuses } from './helpers/net.js';

// The built `entra-redis-emulator` bin (npm test builds first), run through its shebang as npx
// would run it.
const bin = fileURLToPath(new URL('../dist/cli.js', import.meta.url));

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
    if (!existsSync(bin)) throw new Error(`${bin} is missing: run \`npm run build\` first`);
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
  });
});
