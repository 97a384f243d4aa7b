// `check --watch`: after the stages pass, keep every connection open, PING each every few
// seconds, and re-AUTH each in place whenever the token source delivers a new token. The rules
// of when to refresh stay in the core's TokenSource; this only watches what happens.

import type { RedisCredentials, TokenSourceEvents } from '../index.js';
import type { ResolvedAuth } from './auth-options.js';
import { decodeClaims, summarizeClaims } from './claims.js';
import type { CheckSession } from './check.js';
import type { LiveNode } from './cluster-nodes.js';
import { tokenFailure } from './diagnose-token.js';
import { redact, type Finding, type Target } from './diagnose.js';
import { describeMs } from './durations.js';
import { authReplyFinding, replyFinding } from './redis-stages.js';

/** One thing the watch saw; what the human view prints, and `--json` lists. Never a token. */
export type WatchEvent =
  | {
      readonly at: string;
      readonly kind: 'refresh';
      readonly expiresAt: string;
      readonly lifetimeSec: number;
    }
  | {
      readonly at: string;
      readonly kind: 'reauth';
      readonly endpoint: string;
      readonly authMs: number;
      readonly pingMs: number;
    }
  | ({
      readonly at: string;
      readonly kind: 'failure';
      readonly what: 'token' | 'reauth' | 'ping' | 'connection';
      readonly endpoint?: string;
    } & Finding);

/** Counts of a watch: new tokens, successful re-AUTHs and PINGs, failures. */
export interface WatchCounts {
  refreshes: number;
  reauths: number;
  pings: number;
  failures: number;
}

/** Why the watch ended. */
export type WatchEnd = 'duration' | 'interrupted' | 'connections-lost';

/** The `watch` object of `--json`. */
export interface WatchSummary extends WatchCounts {
  readonly endedBy: WatchEnd;
  /** How long the watch ran, in ms. */
  readonly durationMs: number;
  readonly events: WatchEvent[];
}

/** Settings of a watch. */
export interface WatchSettings {
  readonly durationMs: number;
  readonly pingEveryMs: number;
  /** Timeout of each command, in ms. */
  readonly timeoutMs: number;
  readonly target: Target;
  readonly auth: ResolvedAuth;
}

/** Where the watch shows what it sees. */
export interface WatchView {
  event(e: WatchEvent): void;
  /** Progress, about once a second (a TTY status line). */
  progress(counts: WatchCounts, leftMs: number): void;
  /** Stops any status line. Idempotent. */
  close(): void;
}

const STATUS_EVERY_MS = 1_000;

/**
 * Watches `session` for `s.durationMs`, or until `signal` aborts (Ctrl-C) or every connection
 * is gone. Resolves with the summary; never rejects. Clears every timer and listener it made;
 * the caller closes the session.
 */
export async function runWatch(
  session: CheckSession,
  s: WatchSettings,
  view: WatchView,
  signal: AbortSignal,
): Promise<WatchSummary> {
  const counts: WatchCounts = { refreshes: 0, reauths: 0, pings: 0, failures: 0 };
  const events: WatchEvent[] = [];
  const startedMs = Date.now();
  const alive = new Set<LiveNode>(session.nodes);
  const pinging = new Set<LiveNode>();
  let stopping = false;
  let finish: (why: WatchEnd) => void = () => {};
  const ended = new Promise<WatchEnd>((resolve) => (finish = resolve));
  const at = () => new Date().toISOString();
  const emit = (e: WatchEvent) => {
    events.push(e);
    if (e.kind === 'failure') counts.failures += 1;
    view.event(e);
  };
  type What = 'token' | 'reauth' | 'ping' | 'connection';
  const failureEvent = (what: What, f: Finding, node?: LiveNode): WatchEvent => ({
    at: at(),
    kind: 'failure',
    what,
    ...(node ? { endpoint: node.endpoint } : {}),
    ...f,
  });
  const failure = (what: What, f: Finding, node?: LiveNode) => emit(failureEvent(what, f, node));

  for (const node of session.nodes) {
    node.conn.onClose((error) => {
      if (stopping) return;
      alive.delete(node);
      failure('connection', connectionLost(node, error), node);
      if (alive.size === 0) finish('connections-lost');
    });
  }

  /** PINGs `node`: its round trip in ms, or the failure to report. */
  const pingNode = async (node: LiveNode): Promise<number | WatchEvent> => {
    const started = performance.now();
    const reply = await node.conn.send(['PING'], s.timeoutMs);
    const f = replyFinding(reply, 'PING');
    if (f) return failureEvent('ping', f, node);
    counts.pings += 1;
    return Math.round(performance.now() - started);
  };

  /** Re-AUTHs `node` in place, then PINGs it: the event to report. */
  const reauthNode = async (node: LiveNode, c: RedisCredentials): Promise<WatchEvent> => {
    const started = performance.now();
    const reply = await node.conn.send(['AUTH', c.username, c.password], s.timeoutMs);
    const authMs = Math.round(performance.now() - started);
    const summary = summarizeClaims(decodeClaims(c.password), Date.now());
    const f = authReplyFinding(reply, { summary, username: c.username }, s.target);
    if (f) return failureEvent('reauth', f, node);
    node.tokenExpiresAtMs = c.expiresAtMs;
    counts.reauths += 1;
    const pingMs = await pingNode(node);
    if (typeof pingMs !== 'number') return pingMs;
    return { at: at(), kind: 'reauth', endpoint: node.endpoint, authMs, pingMs };
  };

  let inflight = Promise.resolve();
  const onToken = (c: RedisCredentials): Promise<void> => {
    if (stopping) return Promise.resolve();
    counts.refreshes += 1;
    emit({
      at: at(),
      kind: 'refresh',
      expiresAt: new Date(c.expiresAtMs).toISOString(),
      lifetimeSec: Math.round((c.expiresAtMs - c.issuedAtMs) / 1000),
    });
    // Reported in node order once all answered; a connection that fails mid-way is reported
    // by its onClose listener.
    const done = Promise.all([...alive].map((n) => reauthNode(n, c).catch(() => undefined))).then(
      (results) => {
        for (const e of results) if (e) emit(e);
      },
    );
    inflight = inflight.then(() => done);
    return done;
  };
  const onFailed = (e: TokenSourceEvents['refreshFailed']) => {
    const f = tokenFailure(e.error, s.auth);
    failure('token', { ...f, detail: `${f.detail} (next attempt in ${describeMs(e.retryInMs)})` });
  };
  const onExpired = (e: TokenSourceEvents['expired']) =>
    failure('token', {
      detail: `the token expired at ${new Date(e.expiredAtMs).toISOString()} and no fresh one arrived`,
      diagnosis: 'every token request since the last success failed (see above)',
      fix: 'fix the token failure above; the server closes connections whose token expired',
    });

  const off = session.source.onCredentials(onToken);
  // A token that arrived while the stages ran (very short tokens, or many nodes) reached no
  // listener: the connections still hold the older one. Re-AUTH them now.
  const current = session.source.current();
  if (current && session.nodes.some((n) => n.tokenExpiresAtMs < current.expiresAtMs)) {
    void onToken(current);
  }
  session.source.on('refreshFailed', onFailed).on('expired', onExpired);
  const pingTimer = setInterval(() => {
    for (const node of alive) {
      if (pinging.has(node)) continue;
      pinging.add(node);
      void pingNode(node)
        .then((r) => typeof r === 'number' || emit(r))
        .catch(() => {})
        .finally(() => pinging.delete(node));
    }
  }, s.pingEveryMs);
  pingTimer.unref();
  const statusTimer = setInterval(
    () => view.progress(counts, startedMs + s.durationMs - Date.now()),
    STATUS_EVERY_MS,
  );
  statusTimer.unref();
  const endTimer = setTimeout(() => finish('duration'), s.durationMs);
  const onAbort = () => finish('interrupted');
  signal.addEventListener('abort', onAbort, { once: true });
  if (signal.aborted) finish('interrupted');

  const endedBy = await ended;
  stopping = true;
  clearInterval(pingTimer);
  clearInterval(statusTimer);
  clearTimeout(endTimer);
  signal.removeEventListener('abort', onAbort);
  off();
  session.source.off('refreshFailed', onFailed).off('expired', onExpired);
  // Let a re-AUTH under way finish (each command has its own timeout), then report.
  await inflight;
  view.close();
  return { ...counts, endedBy, durationMs: Date.now() - startedMs, events };
}

/** Why a watched connection ended. */
function connectionLost(node: LiveNode, error: Error): Finding {
  const detail = redact(error.message);
  if (Date.now() >= node.tokenExpiresAtMs - 1_000) {
    return {
      detail,
      diagnosis:
        'the token this connection authenticated with expired without a successful re-AUTH, so ' +
        'the server closed the connection (as Azure does)',
      fix: 'see the re-AUTH or token failures above',
    };
  }
  return {
    detail,
    diagnosis:
      'the connection ended before its token expired: the server, a failover, maintenance or the ' +
      'network closed it',
    fix:
      'clients reconnect and authenticate with the current token; if this repeats, check the ' +
      "network path and the cache's health (Azure portal: Resource health)",
  };
}
