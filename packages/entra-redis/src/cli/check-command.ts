// The `check` command: flags (or prompts on a terminal) → settings → the stages → the optional
// watch → output and exit code (0 all passed, 1 something failed, 2 bad input).

import { resolveAuth, usageError, type AuthFlags } from './auth-options.js';
import { runCheck, type CheckReport, type CheckSession } from './check.js';
import { describeMs, parseDuration } from './durations.js';
import { defaultPort, hostKind, serviceName } from './hosts.js';
import { loadCa } from './network.js';
import {
  canPrompt,
  equivalentCommand,
  hasIdentityFlags,
  promptIdentity,
  promptTarget,
} from './prompts.js';
import { createTextReporter, SILENT_REPORTER } from './report.js';
import { runWatch, type WatchSettings, type WatchSummary } from './watch.js';
import { createWatchView, SILENT_WATCH_VIEW, watchSummaryText } from './watch-view.js';

/** Raw `check` options as commander parses them. */
export interface CheckFlags extends AuthFlags {
  host?: string;
  port?: string;
  ca?: string;
  json?: boolean;
  readOnly?: boolean;
  username?: string;
  watch?: string;
  refreshEvery?: string;
}

/** How often a watched connection is PINGed, in ms. */
export const PING_EVERY_MS = 5_000;
const MAX_WATCH_MS = 7 * 24 * 3_600_000;

function parsePort(raw: string): number {
  const port = Number(raw);
  if (!/^\d+$/.test(raw.trim()) || port < 1 || port > 65535) {
    throw usageError(`--port must be a TCP port number between 1 and 65535 (got "${raw}")`);
  }
  return port;
}

function parseWatch(flags: CheckFlags): { watchMs?: number; refreshEveryMs?: number } {
  const watchMs =
    flags.watch === undefined
      ? undefined
      : parseDuration('--watch', flags.watch, { minMs: 1_000, maxMs: MAX_WATCH_MS });
  if (flags.refreshEvery === undefined) return watchMs === undefined ? {} : { watchMs };
  if (watchMs === undefined) {
    throw usageError(
      '--refresh-every applies to --watch; add --watch <duration> (e.g. --watch 5m)',
    );
  }
  const refreshEveryMs = parseDuration('--refresh-every', flags.refreshEvery, {
    minMs: 1_000,
    maxMs: 24 * 3_600_000,
  });
  if (refreshEveryMs >= watchMs) {
    throw usageError(
      `--refresh-every (${describeMs(refreshEveryMs)}) must be shorter than --watch ` +
        `(${describeMs(watchMs)}), or no new token would arrive during the watch`,
    );
  }
  return { watchMs, refreshEveryMs };
}

/** Fills in what a terminal user did not pass (host, identity); says how to skip the prompts. */
async function withPrompts(flags: CheckFlags): Promise<CheckFlags> {
  const interactive = canPrompt(flags.json === true);
  if (flags.host === undefined && !interactive) {
    throw usageError(
      '--host <name> is required: the cache host, e.g. --host contoso.redis.cache.windows.net ' +
        '(on a terminal, run without it to be asked)',
    );
  }
  let answered = flags;
  if (flags.host === undefined) answered = { ...answered, ...(await promptTarget()) };
  if (interactive && !hasIdentityFlags(flags)) {
    answered = { ...answered, ...(await promptIdentity()) };
  }
  if (answered !== flags) {
    const target = { host: answered.host!, port: answered.port };
    process.stdout.write(`Same check without prompts: ${equivalentCommand(target, answered)}\n\n`);
  }
  return answered;
}

/** Runs `check`; returns the exit code. Throws `INVALID_OPTION` for bad input (exit 2). */
export async function check(raw: CheckFlags): Promise<number> {
  const flags = await withPrompts(raw);
  const host = flags.host!.trim();
  if (host === '' || /[\s/:]/.test(host)) {
    throw usageError(
      `--host must be a host name such as contoso.redis.cache.windows.net (got "${flags.host}")`,
    );
  }
  const kind = hostKind(host);
  const port = flags.port === undefined ? defaultPort(kind) : parsePort(flags.port);
  const auth = resolveAuth(flags);
  const ca = loadCa(flags.ca);
  if (flags.username !== undefined && flags.username.trim() === '') {
    throw usageError("--username must not be empty (default: the token's oid claim)");
  }
  const { watchMs, refreshEveryMs } = parseWatch(flags);
  const json = flags.json === true;
  const out = process.stdout;
  if (!json) {
    const assumed =
      flags.port === undefined && kind === 'other' ? '; port 6380 assumed, use --port' : '';
    out.write(
      `entra-redis check ${host}:${port} (${serviceName(kind)}${assumed}), --auth ${auth.kind}\n`,
    );
  }
  const target = { host, port, kind };
  const { report, session } = await runCheck(
    {
      target,
      auth,
      ca,
      readOnly: flags.readOnly === true,
      ...(flags.username !== undefined ? { username: flags.username.trim() } : {}),
      keepOpen: watchMs !== undefined,
      ...(refreshEveryMs !== undefined ? { maxTokenAgeMs: refreshEveryMs } : {}),
    },
    json ? SILENT_REPORTER : createTextReporter(out),
  );
  if (!json) {
    const failed = report.stages.filter((r) => !r.ok && !r.skipped).length;
    out.write(
      report.ok ? 'All checks passed.\n' : `${failed} check(s) failed; see the diagnosis above.\n`,
    );
    if (watchMs !== undefined && !report.ok) out.write('The watch did not start.\n');
  }
  let watch: WatchSummary | undefined;
  if (session && watchMs !== undefined) {
    const settings = {
      durationMs: watchMs,
      pingEveryMs: PING_EVERY_MS,
      timeoutMs: auth.timeoutMs,
      target,
      auth,
    };
    watch = await watchSession(session, settings, json, refreshEveryMs);
  }
  const ok = report.ok && (watch === undefined || watch.failures === 0);
  if (json) {
    const body: CheckReport & { watch?: WatchSummary } = {
      ...report,
      ok,
      ...(watch ? { watch } : {}),
    };
    out.write(`${JSON.stringify(body, null, 2)}\n`);
  }
  return ok ? 0 : 1;
}

/**
 * Runs the watch until its duration ends or Ctrl-C (SIGINT, or SIGTERM): the first ends it with
 * the summary, a second one exits at once (130). Closes the session whatever happens.
 */
async function watchSession(
  session: CheckSession,
  settings: WatchSettings,
  json: boolean,
  refreshEveryMs: number | undefined,
): Promise<WatchSummary> {
  const out = process.stdout;
  if (!json) {
    const n = session.nodes.length;
    const sooner =
      refreshEveryMs === undefined
        ? 'tokens are refreshed at about three quarters of their life'
        : `fresh tokens requested every ${describeMs(refreshEveryMs)}`;
    out.write(
      `\nWatching ${n === 1 ? 'the connection' : `${n} connections`} for ${describeMs(settings.durationMs)}: ` +
        `PING every ${describeMs(settings.pingEveryMs)}, re-AUTH in place on every new token ` +
        `(${sooner}). Ctrl-C ends the watch.\n`,
    );
  }
  const controller = new AbortController();
  const onSignal = () => {
    if (controller.signal.aborted) process.exit(130);
    controller.abort();
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  try {
    const view = json ? SILENT_WATCH_VIEW : createWatchView(out);
    const summary = await runWatch(session, settings, view, controller.signal);
    if (!json) out.write(watchSummaryText(summary, session.nodes.length, refreshEveryMs));
    return summary;
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    await session.close();
  }
}
