// `entra-redis check --watch` (the built CLI, a child process) against the emulator's single node
// with 8-second tokens: re-AUTH in place on every new token, one connection for the whole watch,
// --refresh-every with long-lived tokens, a re-AUTH the front end refuses, Ctrl-C, and nothing
// left open afterwards. Build first: `npm run build`.
import { startEmulator, type Emulator } from '@entra-redis/emulator';
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { servicePrincipalSecret } from '../src/index.js';
import { runCheck } from '../src/cli/check.js';
import { SILENT_REPORTER } from '../src/cli/report.js';
import { runWatch } from '../src/cli/watch.js';
import { SILENT_WATCH_VIEW } from '../src/cli/watch-view.js';
import { runCli, startCli, type CliResult, type WatchJson } from './cli-helpers.js';
import { flush, trackTimers } from './fakes.js';

const CLI = fileURLToPath(new URL('../../../node_modules/.bin/entra-redis', import.meta.url));
const JWT = /eyJ[A-Za-z0-9_-]{2,}\.[A-Za-z0-9_-]{2,}\.[A-Za-z0-9_-]+/;

const LIFETIME_SEC = 8;
const WATCH_SEC = 30;
/**
 * New tokens a watch must see at least: the token source refreshes at 3/4 of a token's life
 * (jitter only makes it sooner); a second per refresh covers the token request and the re-AUTH
 * on a loaded machine.
 */
const MIN_REFRESHES = Math.floor(WATCH_SEC / (LIFETIME_SEC * 0.75 + 1));
/** Time a run may take beyond its watch: start-up, the stages, the end. */
const RUN_SLACK_MS = 30_000;

interface Report {
  ok: boolean;
  stages: { name: string; ok: boolean; detail?: string }[];
  watch?: WatchJson;
}

let emulator: Emulator;
let stateDir: string;
let target: string[];
const outputs: string[] = [];

function keep(result: CliResult): CliResult {
  outputs.push(result.stdout, result.stderr);
  return result;
}

beforeAll(async () => {
  if (!existsSync(CLI)) throw new Error(`${CLI} is missing: install the workspace first (npm ci)`);
  stateDir = await mkdtemp(join(tmpdir(), 'entra-redis-cli-watch-'));
  emulator = await startEmulator({ stateDir, tokenLifetimeSec: LIFETIME_SEC });
  target = ['--host', emulator.redis.host, '--port', String(emulator.redis.port)];
});

afterAll(async () => {
  await emulator?.close();
  if (stateDir) await rm(stateDir, { recursive: true, force: true });
});

describe('entra-redis check --watch', () => {
  it(
    `re-AUTHs the one connection in place on every new token for ${WATCH_SEC}s; no eviction`,
    async () => {
      const before = emulator.stats().redis;
      const result = keep(
        await runCli(
          CLI,
          ['check', ...target, '--json', '--watch', `${WATCH_SEC}s`],
          emulator.env(),
          WATCH_SEC * 1000 + RUN_SLACK_MS,
        ),
      );
      const after = emulator.stats().redis;
      expect(result.stderr).toBe('');
      expect(result.code).toBe(0);
      const report = JSON.parse(result.stdout) as Report;
      expect(report.ok).toBe(true);
      const w = report.watch!;
      expect(w).toMatchObject({ endedBy: 'duration', failures: 0 });
      expect(w.durationMs).toBeGreaterThanOrEqual(WATCH_SEC * 1000);
      expect(w.refreshes).toBeGreaterThanOrEqual(MIN_REFRESHES);
      expect(w.reauths).toBe(w.refreshes);
      // Each new token, then the re-AUTH of the connection and a PING after it.
      const endpoint = `${emulator.redis.host}:${emulator.redis.port}`;
      expect(w.events).toHaveLength(2 * w.refreshes);
      w.events.forEach((e, i) => {
        if (i % 2 === 0) {
          expect(e).toMatchObject({ kind: 'refresh' });
          expect(e.lifetimeSec).toBeLessThanOrEqual(LIFETIME_SEC);
        } else {
          expect(e).toMatchObject({ kind: 'reauth', endpoint });
          expect(e.authMs).toBeGreaterThanOrEqual(0);
          expect(e.pingMs).toBeGreaterThanOrEqual(0);
        }
      });
      expect(w.pings).toBeGreaterThanOrEqual(w.refreshes + Math.floor(WATCH_SEC / 5) - 1);
      // The front end: one connection for the stages and the whole watch, re-authenticated in
      // place each time, never evicted.
      expect(after.connectionsTotal - before.connectionsTotal).toBe(1);
      expect(after.authOk - before.authOk).toBe(1);
      expect(after.reauthOk - before.reauthOk).toBe(w.reauths);
      expect(after.reauthFailed - before.reauthFailed).toBe(0);
      expect(after.evictions - before.evictions).toBe(0);
    },
    WATCH_SEC * 1000 + 2 * RUN_SLACK_MS,
  );

  it(
    '--refresh-every asks for fresh tokens long before a long-lived token needs it',
    async () => {
      const watchSec = 16;
      const everySec = 2;
      emulator.tenant.tokenLifetimeSec = 600;
      try {
        const before = emulator.stats().redis;
        const result = keep(
          await runCli(
            CLI,
            [
              'check',
              ...target,
              '--json',
              '--watch',
              `${watchSec}s`,
              '--refresh-every',
              `${everySec}s`,
            ],
            emulator.env(),
            watchSec * 1000 + RUN_SLACK_MS,
          ),
        );
        const after = emulator.stats().redis;
        expect(result.code).toBe(0);
        const w = (JSON.parse(result.stdout) as Report).watch!;
        // A credential asked again within its cache window hands back its cached token once; the
        // token source then builds a fresh one (one more second: the request floor).
        expect(w.refreshes).toBeGreaterThanOrEqual(Math.floor(watchSec / (everySec + 2)));
        expect(w.failures).toBe(0);
        for (const e of w.events.filter((x) => x.kind === 'refresh')) {
          expect(e.lifetimeSec).toBeGreaterThan(590);
        }
        expect(after.reauthOk - before.reauthOk).toBe(w.refreshes);
        expect(after.connectionsTotal - before.connectionsTotal).toBe(1);
      } finally {
        emulator.tenant.tokenLifetimeSec = LIFETIME_SEC;
      }
    },
    16_000 + 2 * RUN_SLACK_MS,
  );

  it('a re-AUTH the front end refuses (access policy removed mid-watch): exit 1 with the diagnosis', async () => {
    const principal = emulator.tenant.config.servicePrincipals[0]!;
    const policy = principal.accessPolicy;
    const before = emulator.stats().redis;
    const run = startCli(CLI, ['check', ...target, '--watch', '120s'], emulator.env());
    let removedAt = 0;
    try {
      await run.waitFor(/re-AUTH +\S+ +AUTH \d+ ms, PING \d+ ms/, 2 * LIFETIME_SEC * 1000);
      delete principal.accessPolicy;
      removedAt = Date.now();
      const result = keep(await run.done);
      // The next refresh is refused; the old token then expires and the server closes the
      // connection: at most two token lifetimes after the removal.
      expect(Date.now() - removedAt).toBeLessThan(2 * LIFETIME_SEC * 1000 + 10_000);
      expect(result.code).toBe(1);
      const out = result.stdout;
      expect(out).toMatch(/FAIL re-AUTH +\S+ +WRONGPASS invalid username-password pair/);
      expect(out).toContain(
        `diagnosis: no data access policy assignment for oid ${principal.oid} on this cache`,
      );
      expect(out).toContain(`fix: assign a data access policy to oid ${principal.oid}`);
      expect(out).toMatch(
        /FAIL connection .*\n +diagnosis: the token this connection authenticated with expired without a successful re-AUTH/,
      );
      expect(out).toMatch(/Watch stopped after .*, every connection closed \(1 connection\): /);
      expect(out).toMatch(/\d+ failure\(s\) during the watch; see the diagnosis above\./);
      const after = emulator.stats().redis;
      expect(after.reauthFailed - before.reauthFailed).toBeGreaterThanOrEqual(1);
      expect(after.evictions - before.evictions).toBe(1);
    } finally {
      principal.accessPolicy = policy;
      run.child.kill('SIGKILL');
    }
  }, 120_000);

  it('SIGINT ends the watch at once with the summary, exit 0, and the connection closed', async () => {
    const before = emulator.stats().redis;
    const run = startCli(CLI, ['check', ...target, '--watch', '120s'], emulator.env());
    try {
      await run.waitFor(/re-AUTH +\S+ +AUTH \d+ ms/, 2 * LIFETIME_SEC * 1000);
      const sentAt = Date.now();
      run.child.kill('SIGINT');
      const result = keep(await run.done);
      expect(Date.now() - sentAt).toBeLessThan(10_000);
      expect(result.code).toBe(0);
      expect(result.stdout).toMatch(
        /Watch interrupted \(Ctrl-C\) after .* \(1 connection\): [1-9]\d* new tokens?, [1-9]\d* re-AUTHs?, \d+ PINGs?, 0 failures\./,
      );
      await expect
        .poll(() => emulator.stats().redis.connectionsOpen, { timeout: 5_000 })
        .toBe(before.connectionsOpen);
    } finally {
      run.child.kill('SIGKILL');
    }
  }, 60_000);

  it('leaves no timer running and no connection open once the watch ends (in process)', async () => {
    const timers = trackTimers();
    const before = emulator.stats().redis;
    try {
      const sp = emulator.servicePrincipal;
      const auth = {
        kind: 'service-principal',
        credential: servicePrincipalSecret({
          tenantId: emulator.tenantId,
          clientId: sp.clientId,
          clientSecret: sp.clientSecret,
          ...emulator.credentialOptions(),
        }),
        scope: 'https://redis.azure.com/.default',
        timeoutMs: 10_000,
        tokenTimeoutMs: 10_000,
        secrets: [sp.clientSecret],
      };
      const t = { host: emulator.redis.host, port: emulator.redis.port, kind: 'other' as const };
      const { report, session } = await runCheck(
        { target: t, auth, ca: [emulator.caCertPem], readOnly: false, keepOpen: true },
        SILENT_REPORTER,
      );
      expect(report.ok).toBe(true);
      const stop = new AbortController();
      // Odd durations, to tell the watch's timers from those of the emulator in this process.
      const settings = { durationMs: 60_013, pingEveryMs: 217, timeoutMs: 9_973, target: t, auth };
      const watching = runWatch(session!, settings, SILENT_WATCH_VIEW, stop.signal);
      await expect
        .poll(() => emulator.stats().redis.reauthOk - before.reauthOk, {
          timeout: 2 * LIFETIME_SEC * 1000,
        })
        .toBeGreaterThanOrEqual(1);
      stop.abort();
      const summary = await watching;
      await session!.close();
      expect(summary).toMatchObject({ endedBy: 'interrupted', failures: 0 });
      await expect
        .poll(() => emulator.stats().redis.connectionsOpen, { timeout: 5_000 })
        .toBe(before.connectionsOpen);
      await flush();
      const periods = [settings.durationMs, settings.pingEveryMs, settings.timeoutMs, 1_000];
      const ours = (timer: { hasRef(): boolean }) =>
        periods.includes((timer as unknown as { _idleTimeout: number })._idleTimeout);
      expect(timers.live().filter((timer) => timer.hasRef() || ours(timer))).toEqual([]);
    } finally {
      timers.stop();
    }
  }, 60_000);
});

describe('no token or secret in any output', () => {
  it('has no JWT and no client secret in anything printed above', () => {
    expect(outputs.length).toBeGreaterThanOrEqual(8);
    const all = outputs.join('\n');
    expect(all).not.toMatch(JWT);
    for (const sp of emulator.tenant.config.servicePrincipals) {
      if (sp.secret) expect(all).not.toContain(sp.secret);
    }
  });
});
