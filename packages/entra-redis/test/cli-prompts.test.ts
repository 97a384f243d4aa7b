// `entra-redis check` on a terminal (a real pseudo-terminal) without identity options: it asks
// for the cache and the identity, the secret without echo, and then gives the same result as the
// flags it prints. Ctrl-C at a prompt cancels; Ctrl-C during --watch ends it with the summary.
// Build first: `npm run build`.
import { startEmulator, type Emulator } from '@entra-redis/emulator';
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli, withoutIdentity } from './cli-helpers.js';
import { KEY, startInPty, type PtyRun } from './cli-pty.js';

const CLI = fileURLToPath(new URL('../../../node_modules/.bin/entra-redis', import.meta.url));
const JWT = /eyJ[A-Za-z0-9_-]{2,}\.[A-Za-z0-9_-]{2,}\.[A-Za-z0-9_-]+/;
const LIFETIME_SEC = 8;
/** How long one prompt or stage may take to show on a loaded machine. */
const STEP_MS = 20_000;

let emulator: Emulator;
let stateDir: string;

/** The emulator's settings without the ones that would answer the prompts for the user. */
function promptEnv(): Record<string, string> {
  return withoutIdentity(emulator.env(), ['AZURE_TENANT_ID']);
}

/** Answers the prompt matching `question` (shown after `from`) with `answer` and Enter. */
async function answer(run: PtyRun, question: RegExp, answer: string): Promise<void> {
  const from = run.text().length;
  await run.waitFor(question, STEP_MS, Math.max(0, from - 400));
  await run.type(answer + KEY.enter);
}

/**
 * The stage lines of a `check` run, comparable across runs: status, label and detail, without
 * timings, expiry times or the random key.
 */
function stageLines(output: string): string[] {
  return output
    .split('\n')
    .map((line) => /^ {2}(PASS|FAIL|SKIP) {2}(.{15}) +(?:\d+ ms)? {2}(.*)$/.exec(line.trimEnd()))
    .filter((m): m is RegExpExecArray => m !== null)
    .map(([, status, label, detail]) =>
      `${status} ${label!.trim()} ${detail}`
        .replace(/expires \S+ \(in [^)]+\)/, 'expires …')
        .replace(/entra-redis:check:[0-9a-f]+/, 'entra-redis:check:…'),
    );
}

beforeAll(async () => {
  if (!existsSync(CLI)) throw new Error(`${CLI} is missing: install the workspace first (npm ci)`);
  stateDir = await mkdtemp(join(tmpdir(), 'entra-redis-cli-pty-'));
  emulator = await startEmulator({ stateDir, tokenLifetimeSec: LIFETIME_SEC });
});

afterAll(async () => {
  await emulator?.close();
  if (stateDir) await rm(stateDir, { recursive: true, force: true });
});

describe('entra-redis check on a terminal', () => {
  it('asks for the cache and a service principal (secret without echo); same result as the flags', async () => {
    const sp = emulator.servicePrincipal;
    const host = emulator.redis.host;
    const port = String(emulator.redis.port);
    const run = startInPty(CLI, ['check'], promptEnv());
    try {
      await answer(run, /Cache host name/, host);
      await answer(run, /Port:/, port);
      await run.waitFor(/Which identity should connect to the cache\?/, STEP_MS);
      await run.type(KEY.down + KEY.down); // Default → Managed identity → secret
      await run.waitFor(/❯ Service principal with a client secret/, STEP_MS);
      await run.type(KEY.enter);
      await answer(run, /Tenant \(directory\) id:/, emulator.tenantId);
      await answer(run, /Application \(client\) id:/, sp.clientId);
      await answer(run, /Client secret \(not shown as you type\):/, sp.clientSecret);
      await run.waitFor(/All checks passed\./, STEP_MS);
      expect(await run.done).toBe(0);
    } finally {
      run.kill();
    }
    const screen = run.text();
    // Typed without echo: the secret never reached the terminal.
    expect(run.raw()).not.toContain(sp.clientSecret);
    expect(run.raw()).not.toMatch(JWT);
    const flags = [
      '--host',
      host,
      '--port',
      port,
      '--auth',
      'service-principal',
      '--tenant-id',
      emulator.tenantId,
      '--client-id',
      sp.clientId,
    ];
    expect(screen).toContain(
      `Same check without prompts: entra-redis check ${flags.join(' ')} --secret-env <VAR>`,
    );
    const byFlags = await runCli(CLI, ['check', ...flags, '--secret-env', 'CHECK_SECRET'], {
      ...promptEnv(),
      CHECK_SECRET: sp.clientSecret,
    });
    expect(byFlags.code).toBe(0);
    const prompted = stageLines(screen);
    expect(prompted).toHaveLength(8);
    expect(prompted).toEqual(stageLines(byFlags.stdout));
    expect(prompted.join('\n')).toContain(`oid=${sp.oid}`);
  }, 120_000);

  it('workload identity through the prompts matches --auth workload-identity', async () => {
    const target = ['--host', emulator.redis.host, '--port', String(emulator.redis.port)];
    const tokenFile = emulator.env().ENTRA_REDIS_FEDERATED_TOKEN_FILE!;
    const clientId = emulator.servicePrincipal.clientId;
    const run = startInPty(CLI, ['check', ...target], promptEnv());
    try {
      await run.waitFor(/Which identity should connect to the cache\?/, STEP_MS);
      await run.type(KEY.down.repeat(4));
      await run.waitFor(/❯ Workload identity/, STEP_MS);
      await run.type(KEY.enter);
      await answer(run, /Tenant \(directory\) id:/, emulator.tenantId);
      await answer(run, /Application \(client\) id:/, clientId);
      await answer(run, /Federated token file:/, tokenFile);
      await run.waitFor(/All checks passed\./, STEP_MS);
      expect(await run.done).toBe(0);
    } finally {
      run.kill();
    }
    const flags = [
      '--auth',
      'workload-identity',
      '--tenant-id',
      emulator.tenantId,
      '--client-id',
      clientId,
      '--token-file',
      tokenFile,
    ];
    expect(run.text()).toContain(
      `Same check without prompts: entra-redis check ${[...target, ...flags].join(' ')}\n`,
    );
    const byFlags = await runCli(CLI, ['check', ...target, ...flags], promptEnv());
    expect(byFlags.code).toBe(0);
    expect(stageLines(run.text())).toEqual(stageLines(byFlags.stdout));
  }, 120_000);

  it('Ctrl-C at a prompt cancels (exit 130) without running anything', async () => {
    const before = emulator.stats().redis.connectionsTotal;
    const run = startInPty(CLI, ['check', '--host', emulator.redis.host], promptEnv());
    try {
      await run.waitFor(/Which identity should connect to the cache\?/, STEP_MS);
      await run.type(KEY.ctrlC);
      expect(await run.done).toBe(130);
    } finally {
      run.kill();
    }
    expect(run.text()).toContain('entra-redis: cancelled');
    expect(emulator.stats().redis.connectionsTotal).toBe(before);
  }, 60_000);

  it('Ctrl-C during --watch ends it with the summary and exit 0; the connection is closed', async () => {
    const before = emulator.stats().redis;
    const args = ['check', '--host', emulator.redis.host, '--port', String(emulator.redis.port)];
    // --auth given: no prompts. The emulator's settings pick its service principal.
    const run = startInPty(CLI, [...args, '--auth', 'default', '--watch', '5m'], emulator.env());
    try {
      await run.waitFor(
        /re-AUTH +\S+ +AUTH \d+ ms, PING \d+ ms/,
        2 * LIFETIME_SEC * 1000 + STEP_MS,
      );
      await run.type(KEY.ctrlC);
      expect(await run.done).toBe(0);
    } finally {
      run.kill();
    }
    expect(run.text()).toMatch(
      /Watch interrupted \(Ctrl-C\) after .* \(1 connection\): [1-9]\d* new tokens?, [1-9]\d* re-AUTHs?, \d+ PINGs?, 0 failures\.\nNo failures: every connection was re-authenticated in place\./,
    );
    await expect
      .poll(() => emulator.stats().redis.connectionsOpen, { timeout: 5_000 })
      .toBe(before.connectionsOpen);
  }, 120_000);
});
