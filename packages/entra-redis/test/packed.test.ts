// Issue 21: the packages as users get them. Both are packed (npm pack), installed from their
// tarballs with their peers from the registry into a project outside the workspace, and there
// an ESM script, a CommonJS script, the zero-code preload and `tsc --noEmit` on a TypeScript
// file using the public types each run; the scripts authenticate against the emulator.
import { execFile } from 'node:child_process';
import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestEmulator, type TestEmulator } from './helpers/emulator.js';

const run = promisify(execFile);
const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const NPM = process.platform === 'win32' ? 'npm.cmd' : 'npm';
/** Packing, and an install from the registry (warm cache: seconds; cold: up to a minute or two). */
const INSTALL_TIMEOUT_MS = 240_000;

let env: TestEmulator;
let project: string;

const ESM = `
import { servicePrincipalSecret, TokenSource, isEntraRedisError } from 'entra-redis';
import { createRedis } from 'entra-redis/ioredis';
import { createClient } from 'entra-redis/node-redis';
const e = process.env;
const tokenSource = new TokenSource({
  credential: servicePrincipalSecret({
    tenantId: e.AZURE_TENANT_ID, clientId: e.AZURE_CLIENT_ID, clientSecret: e.AZURE_CLIENT_SECRET,
    authorityHost: e.AZURE_AUTHORITY_HOST, disableInstanceDiscovery: true,
  }),
});
const tls = { host: e.REDIS_HOST, port: Number(e.REDIS_PORT) };
const io = await createRedis({ ...tls, tls: {}, tokenSource });
const node = createClient({ socket: { ...tls, tls: true }, tokenSource });
await node.connect();
await io.set('packed:esm', 'io');
console.log(JSON.stringify({ io: await io.get('packed:esm'), node: await node.ping(), isEntraRedisError: isEntraRedisError(new Error()) }));
await Promise.all([io.quit(), node.quit()]);
await tokenSource.close();
`;

const CJS = `
const { servicePrincipalSecret, TokenSource } = require('entra-redis');
const { createRedis } = require('entra-redis/ioredis');
const { createClient } = require('entra-redis/node-redis');
(async () => {
  const e = process.env;
  const tokenSource = new TokenSource({
    credential: servicePrincipalSecret({
      tenantId: e.AZURE_TENANT_ID, clientId: e.AZURE_CLIENT_ID, clientSecret: e.AZURE_CLIENT_SECRET,
      authorityHost: e.AZURE_AUTHORITY_HOST, disableInstanceDiscovery: true,
    }),
  });
  const io = await createRedis({ host: e.REDIS_HOST, port: Number(e.REDIS_PORT), tls: {}, tokenSource });
  const node = createClient({ socket: { host: e.REDIS_HOST, port: Number(e.REDIS_PORT), tls: true }, tokenSource });
  await node.connect();
  console.log(JSON.stringify({ io: await io.ping(), node: await node.ping() }));
  await Promise.all([io.quit(), node.quit()]);
  await tokenSource.close();
})();
`;

/** An application with no Entra ID code, run under the preload. */
const PRELOADED = `
import Redis from 'ioredis';
const redis = new Redis({ host: process.env.REDIS_HOST, port: Number(process.env.REDIS_PORT), tls: {} });
console.log(JSON.stringify({ preload: await redis.ping() }));
await redis.quit();
`;

const TYPES = `
import { EntraRedisError, TokenSource, managedIdentity, type RedisCredentials, type TokenSourceOptions } from 'entra-redis';
import { createRedis, attachEntraAuth, type CreateRedisOptions } from 'entra-redis/ioredis';
import { createClient, createCluster, type CreateClientOptions } from 'entra-redis/node-redis';
import { startEmulator, type Emulator } from '@entra-redis/emulator';
import { Redis } from 'ioredis';

const options: TokenSourceOptions = { credential: managedIdentity(), refreshRatio: 0.75 };
const source = new TokenSource(options);
const io: CreateRedisOptions = { host: 'contoso.redis.cache.windows.net', port: 6380, tokenSource: source };
const node: CreateClientOptions = { socket: { host: 'contoso.redis.cache.windows.net', port: 6380 }, tokenSource: source };
export async function check(emulator: Emulator): Promise<string> {
  const redis: Redis = await createRedis(io);
  const client = createClient(node);
  const cluster = createCluster({ rootNodes: [{ socket: { host: 'h', port: 10000 } }], tokenSource: source });
  const detach: () => void = attachEntraAuth(new Redis({ lazyConnect: true }), source);
  const credentials: RedisCredentials = await source.getCredentials();
  const error = new EntraRedisError('TOKEN_EXPIRED', 'x');
  void [client, cluster, detach, startEmulator, emulator.redis.port];
  return \`\${credentials.username} \${error.code} \${redis.status}\`;
}
`;

beforeAll(async () => {
  env = await startTestEmulator({ tokenLifetimeSec: 60 });
  project = await mkdtemp(join(tmpdir(), 'entra-redis-packed-'));
  for (const pkg of ['packages/entra-redis', 'packages/emulator']) {
    await run(NPM, ['pack', '--pack-destination', project], {
      cwd: join(ROOT, pkg),
      timeout: INSTALL_TIMEOUT_MS,
    });
  }
  const tarballs = (await readdir(project)).filter((f) => f.endsWith('.tgz'));
  await writeFile(
    join(project, 'package.json'),
    JSON.stringify({ name: 'packed-consumer', private: true, version: '1.0.0' }),
  );
  await writeFile(join(project, 'esm.mjs'), ESM);
  await writeFile(join(project, 'cjs.cjs'), CJS);
  await writeFile(join(project, 'preloaded.mjs'), PRELOADED);
  await writeFile(join(project, 'check.ts'), TYPES);
  // ioredis's own declarations import an untyped module; the user's usual shim. Our packages'
  // declarations are checked (skipLibCheck off).
  await writeFile(join(project, 'shims.d.ts'), "declare module 'redis-errors';\n");
  await writeFile(
    join(project, 'tsconfig.json'),
    JSON.stringify({
      compilerOptions: {
        strict: true,
        module: 'nodenext',
        moduleResolution: 'nodenext',
        target: 'es2022',
        noEmit: true,
        skipLibCheck: false,
        types: ['node'],
      },
      files: ['check.ts', 'shims.d.ts'],
    }),
  );
  // The tarballs and their peers, from the registry, as a user installs them.
  await run(
    NPM,
    [
      'install',
      '--no-audit',
      '--no-fund',
      ...tarballs.map((t) => `./${t}`),
      '@azure/identity@^4',
      'ioredis@^6',
      'redis@^6',
      'typescript@~5.9',
      '@types/node@^20',
    ],
    { cwd: project, timeout: INSTALL_TIMEOUT_MS },
  );
}, INSTALL_TIMEOUT_MS * 2);

afterAll(async () => {
  if (project) await rm(project, { recursive: true, force: true });
  await env?.close();
});

/** Runs node in the project with exactly the emulator's settings (plus PATH). */
async function node(args: string[]): Promise<unknown> {
  const { stdout } = await run(process.execPath, args, {
    cwd: project,
    env: { PATH: process.env.PATH ?? '', ...env.emulator.env(), ENTRA_REDIS_LOG: 'silent' },
    timeout: 60_000,
  });
  return JSON.parse(stdout.trim().split('\n').pop() ?? '');
}

describe('the packages installed from their tarballs, outside the workspace', () => {
  it('an ESM script authenticates both clients against the emulator', async () => {
    expect(await node(['esm.mjs'])).toEqual({ io: 'io', node: 'PONG', isEntraRedisError: false });
  });

  it('a CommonJS script does too', async () => {
    expect(await node(['cjs.cjs'])).toEqual({ io: 'PONG', node: 'PONG' });
  });

  it('the zero-code preload protects an application with no Entra ID code', async () => {
    expect(await node(['--import', 'entra-redis/register', 'preloaded.mjs'])).toEqual({
      preload: 'PONG',
    });
  });

  it('tsc --noEmit accepts a TypeScript file using the public types (nodenext, strict)', async () => {
    const tsc = join(project, 'node_modules', 'typescript', 'bin', 'tsc');
    const result = await run(process.execPath, [tsc, '-p', '.'], { cwd: project }).then(
      () => ({ ok: true, output: '' }),
      (error: { stdout?: string }) => ({ ok: false, output: String(error.stdout) }),
    );
    expect(result.output).toBe('');
    expect(result.ok).toBe(true);
  }, 120_000); // a full strict check of the packages' and both clients' types: 24-28 s on a busy 2-core machine
});
