// The built `entra-redis` CLI with the identity flows other than a client secret: a certificate,
// managed identities (system- and user-assigned), workload identity and an interactive user
// signing in through a scripted $BROWSER. Build first: `cd /work/main && npm run build --silent`.
import { startEmulator, type Emulator } from '@entra-redis/emulator';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli, withoutIdentity, type CliResult } from './cli-helpers.js';
import { waitFor } from './helpers/emulator.js';

// The `entra-redis` command as npm linked it at install time (it runs the build).
const CLI = fileURLToPath(new URL('../../../node_modules/.bin/entra-redis', import.meta.url));
const BROWSER_SCRIPT = fileURLToPath(new URL('./fixtures/browser.mjs', import.meta.url));
const JWT = /eyJ[A-Za-z0-9_-]{2,}\.[A-Za-z0-9_-]{2,}\.[A-Za-z0-9_-]+/;

interface Report {
  ok: boolean;
  stages: { name: string; ok: boolean; detail?: string }[];
}

let emulator: Emulator;
let stateDir: string;

/** The emulator's settings without the ones that would pick another flow (see `managed`). */
function baseEnv(): Record<string, string> {
  return withoutIdentity(emulator.env());
}

function run(args: string[], env: Record<string, string>): Promise<CliResult> {
  return runCli(CLI, args, env, 30_000);
}

/** Runs `check --json` and returns the report; every stage must have passed. */
async function checkPasses(args: string[], env: Record<string, string>): Promise<Report> {
  const target = ['--host', emulator.redis.host, '--port', String(emulator.redis.port)];
  const result = await run(['check', ...target, '--json', ...args], env);
  expect(result.stdout + result.stderr).not.toMatch(JWT);
  const report = JSON.parse(result.stdout) as Report;
  expect(report.stages.filter((s) => !s.ok).map((s) => s.name)).toEqual([]);
  expect(result.code).toBe(0);
  return report;
}

function tokenDetail(report: Report): string {
  return report.stages.find((s) => s.name === 'token')?.detail ?? '';
}

beforeAll(async () => {
  if (!existsSync(CLI)) {
    throw new Error(`${CLI} is missing: install the workspace first (npm ci)`);
  }
  stateDir = await mkdtemp(join(tmpdir(), 'entra-redis-cli-id-'));
  emulator = await startEmulator({ stateDir });
});

afterAll(async () => {
  await emulator?.close();
  if (stateDir) await rm(stateDir, { recursive: true, force: true });
});

describe('entra-redis check and token with each identity flow', () => {
  it('service principal with a certificate (--certificate PATH): every stage passes', async () => {
    const { servicePrincipal } = emulator;
    const report = await checkPasses(
      [
        '--auth',
        'service-principal',
        '--tenant-id',
        emulator.tenantId,
        '--client-id',
        servicePrincipal.clientId,
        '--certificate',
        servicePrincipal.certificatePath,
      ],
      baseEnv(),
    );
    expect(tokenDetail(report)).toContain(servicePrincipal.oid);
  });

  it('managed identity: system-assigned by default, user-assigned with --client-id', async () => {
    const { systemAssigned, userAssigned } = emulator.principals;
    const system = await checkPasses(['--auth', 'managed-identity'], baseEnv());
    expect(tokenDetail(system)).toContain(systemAssigned!.oid);

    const user = await run(
      ['token', '--json', '--auth', 'managed-identity', '--client-id', userAssigned!.clientId!],
      baseEnv(),
    );
    expect(user.code).toBe(0);
    expect(JSON.parse(user.stdout)).toMatchObject({ claims: { oid: userAssigned!.oid } });
  });

  it('managed identity with AZURE_FEDERATED_TOKEN_FILE set: @azure/identity uses workload identity', async () => {
    // ManagedIdentityCredential exchanges the federated token for AZURE_CLIENT_ID (the AKS
    // workload identity path) instead of calling the managed identity endpoint: the token is
    // the app's. The CLI guide (docs/cli.md) says so.
    const env = {
      ...baseEnv(),
      AZURE_CLIENT_ID: emulator.servicePrincipal.clientId,
      AZURE_FEDERATED_TOKEN_FILE: emulator.env().ENTRA_REDIS_FEDERATED_TOKEN_FILE!,
    };
    const result = await run(['token', '--json', '--auth', 'managed-identity'], env);
    expect(result.code).toBe(0);
    expect(JSON.parse(result.stdout)).toMatchObject({
      claims: { oid: emulator.servicePrincipal.oid },
    });
  });

  it('workload identity (--auth workload-identity, --token-file): every stage passes as the app', async () => {
    const report = await checkPasses(
      [
        '--auth',
        'workload-identity',
        '--tenant-id',
        emulator.tenantId,
        '--client-id',
        emulator.servicePrincipal.clientId,
        '--token-file',
        emulator.env().ENTRA_REDIS_FEDERATED_TOKEN_FILE!,
      ],
      baseEnv(),
    );
    expect(tokenDetail(report)).toContain(emulator.servicePrincipal.oid);
    // The same from the variables the Azure Workload Identity webhook sets in a pod.
    const fromEnv = await checkPasses(['--auth', 'workload-identity'], {
      ...baseEnv(),
      AZURE_CLIENT_ID: emulator.servicePrincipal.clientId,
      AZURE_FEDERATED_TOKEN_FILE: emulator.env().ENTRA_REDIS_FEDERATED_TOKEN_FILE!,
    });
    expect(tokenDetail(fromEnv)).toContain(emulator.servicePrincipal.oid);
  });

  it('interactive user: signs in through $BROWSER (PKCE), AUTH and the round trip pass', async () => {
    const user = emulator.tenant.config.users[0]!;
    const browserLog = join(stateDir, 'browser.log');
    const report = await checkPasses(
      [
        '--auth',
        'interactive',
        '--tenant-id',
        emulator.tenantId,
        '--client-id',
        emulator.tenant.config.publicClientId,
      ],
      {
        ...baseEnv(),
        // xdg-open (bundled with the `open` package) runs `$BROWSER <url>` without a desktop.
        BROWSER: `${process.execPath} ${BROWSER_SCRIPT}`,
        ENTRA_REDIS_TEST_BROWSER_CA: emulator.caCertPath,
        ENTRA_REDIS_TEST_BROWSER_LOG: browserLog,
      },
    );
    expect(tokenDetail(report)).toContain(user.oid);
    // The script logs once msal's loopback server has answered it, which can be after the CLI
    // finished; it gives up after 20 s (see fixtures/browser.mjs).
    await waitFor(() => existsSync(browserLog), 20_000, 'the browser script logged');
    const lines = (await readFile(browserLog, 'utf8')).trim().split('\n');
    expect(lines.map((l) => JSON.parse(l) as { ok: boolean })).toEqual([
      expect.objectContaining({ ok: true }),
    ]);
  });
});
