// `entra-redis check`: DNS, TCP, TLS, token, AUTH, PING and a SET/GET/DEL round trip, each
// timed and, when it fails, explained.

import { randomBytes } from 'node:crypto';
import type tls from 'node:tls';
import { acquireToken, explainTokenFailure, type Acquired } from './acquire.js';
import type { ResolvedAuth } from './auth-options.js';
import { describeSummary, formatDuration } from './claims.js';
import {
  dnsFailure,
  firstLine,
  noperm,
  redact,
  tcpFailure,
  tlsFailure,
  wrongpass,
  type Finding,
  type Target,
} from './diagnose.js';
import {
  answersPlaintextRedis,
  connectTcp,
  describeTls,
  handshakeTls,
  resolveHost,
} from './network.js';
import type { Reporter, StageResult } from './report.js';
import { RespConnection, type RespReply } from './resp.js';

/** Everything `check` needs, validated. */
export interface CheckSettings {
  readonly target: Target;
  readonly auth: ResolvedAuth;
  readonly ca: string[] | undefined;
  readonly readOnly: boolean;
  readonly username?: string;
}

/** The result `--json` prints. */
export interface CheckReport {
  readonly host: string;
  readonly port: number;
  readonly ok: boolean;
  readonly stages: StageResult[];
}

type Outcome = { ok: true; detail: string } | { ok: false; finding: Finding };

const LABELS: Record<string, string> = {
  dns: 'DNS lookup',
  tcp: 'TCP connect',
  tls: 'TLS handshake',
  token: 'Token',
  auth: 'AUTH',
  ping: 'PING',
  roundtrip: 'SET/GET/DEL',
};

/** A token whose nbf/iat lie more than this ahead of the local clock gets a warning. */
const SKEW_WARNING_SEC = 5;

const pass = (detail: string): Outcome => ({ ok: true, detail });
const fail = (finding: Finding): Outcome => ({ ok: false, finding });

/** Runs every stage (stopping the Redis side at the first failure) and reports each. */
export async function runCheck(s: CheckSettings, reporter: Reporter): Promise<CheckReport> {
  const stages: StageResult[] = [];
  const record = (r: StageResult) => {
    stages.push(r);
    reporter.end(LABELS[r.name] ?? r.name, r);
  };
  const run = async (name: string, fn: () => Promise<Outcome>): Promise<boolean> => {
    reporter.begin(LABELS[name] ?? name);
    const started = performance.now();
    let outcome: Outcome;
    try {
      outcome = await fn();
    } catch (error) {
      outcome = fail({ detail: firstLine(error, s.auth.secrets) });
    }
    const ms = Math.round(performance.now() - started);
    record(
      outcome.ok
        ? { name, ok: true, ms, detail: outcome.detail }
        : { name, ok: false, ms, ...outcome.finding },
    );
    return outcome.ok;
  };
  const skip = (name: string, detail: string, ok = false) =>
    record({ name, ok, skipped: true, ms: 0, detail });

  const { target: t } = s;
  let addresses: string[] = [];
  let socket: tls.TLSSocket | undefined;
  let conn: RespConnection | undefined;
  let acquired: Acquired | undefined;
  let tcpSocket: Awaited<ReturnType<typeof connectTcp>> | undefined;
  try {
    const dnsOk = await run('dns', async () => {
      try {
        addresses = await resolveHost(t.host, s.auth.timeoutMs);
        return pass(addresses.join(', '));
      } catch (error) {
        return fail(dnsFailure(error, t));
      }
    });
    const address = addresses[0] ?? t.host;
    const tcpOk =
      dnsOk &&
      (await run('tcp', async () => {
        try {
          tcpSocket = await connectTcp(address, t.port, s.auth.timeoutMs);
          return pass(`connected to ${address}:${t.port}`);
        } catch (error) {
          return fail(tcpFailure(error, t));
        }
      }));
    if (!dnsOk) skip('tcp', 'not run: DNS lookup failed');
    const tlsOk =
      tcpOk &&
      tcpSocket !== undefined &&
      (await run('tls', async () => {
        try {
          socket = await handshakeTls(tcpSocket!, t.host, s.ca, s.auth.timeoutMs);
          return pass(describeTls(socket));
        } catch (error) {
          const plain = await answersPlaintextRedis(
            address,
            t.port,
            Math.min(2000, s.auth.timeoutMs),
          );
          return fail(tlsFailure(error, t, plain));
        }
      }));
    if (!tcpOk) skip('tls', 'not run: no TCP connection');

    const tokenOk = await run('token', async () => {
      try {
        acquired = await acquireToken(s.auth, s.username);
      } catch (error) {
        return fail(await explainTokenFailure(error, s.auth));
      }
      const sm = acquired.summary;
      const ahead = Math.max(sm.nbf ?? 0, sm.iat ?? 0) - Date.now() / 1000;
      const skew =
        ahead > SKEW_WARNING_SEC
          ? `; WARNING: nbf/iat ${formatDuration(ahead)} ahead of the local clock`
          : '';
      return pass(`${describeSummary(sm)}${skew}`);
    });

    if (!tlsOk || !tokenOk || !socket || !acquired) {
      const why = !tlsOk ? 'no TLS connection' : 'no token';
      for (const name of ['auth', 'ping', 'roundtrip']) skip(name, `not run: ${why}`);
    } else {
      conn = new RespConnection(socket);
      const c = conn;
      const a = acquired;
      const authOk = await run('auth', async () => {
        const reply = await c.send(['AUTH', a.username, a.token], s.auth.timeoutMs);
        if (reply.kind === 'error') {
          if (/^WRONGPASS/i.test(reply.message)) {
            return fail(wrongpass(reply.message, a.summary, a.username, Date.now(), t));
          }
          return fail(authError(reply.message));
        }
        return pass(`authenticated as ${a.username}`);
      });
      const pingOk =
        authOk &&
        (await run('ping', async () => {
          const reply = await c.send(['PING'], s.auth.timeoutMs);
          return replyOutcome(reply, 'PING', a.summary.oid) ?? pass('PONG');
        }));
      if (!authOk) skip('ping', 'not run: AUTH failed');
      if (!pingOk) skip('roundtrip', `not run: ${authOk ? 'PING' : 'AUTH'} failed`);
      else if (s.readOnly) skip('roundtrip', 'skipped: --read-only', true);
      else await run('roundtrip', () => roundTrip(c, s.auth.timeoutMs, a.summary.oid));
    }
  } finally {
    reporter.close();
    conn?.close();
    socket?.destroy();
    tcpSocket?.destroy();
  }
  return { host: t.host, port: t.port, ok: stages.every((r) => r.ok), stages };
}

function authError(message: string): Finding {
  const detail = redact(message);
  if (/without any password configured|no password is set/i.test(message)) {
    return {
      detail,
      diagnosis:
        'this server has no authentication configured: it is not an Entra-enabled Azure cache',
      fix: 'check --host/--port, and enable Microsoft Entra authentication on the cache',
    };
  }
  return { detail, diagnosis: 'the server refused AUTH' };
}

function replyOutcome(reply: RespReply, command: string, oid?: string): Outcome | undefined {
  if (reply.kind !== 'error') return undefined;
  if (/^NOPERM/i.test(reply.message)) return fail(noperm(reply.message, command, oid));
  return fail({ detail: redact(reply.message), diagnosis: `${command} failed` });
}

async function roundTrip(c: RespConnection, timeoutMs: number, oid?: string): Promise<Outcome> {
  const key = `entra-redis:check:${randomBytes(8).toString('hex')}`;
  const value = randomBytes(8).toString('hex');
  const set = await c.send(['SET', key, value, 'PX', '60000', 'NX'], timeoutMs);
  const setFailed = replyOutcome(set, 'SET', oid);
  if (setFailed) return setFailed;
  const get = await c.send(['GET', key], timeoutMs);
  const getFailed = replyOutcome(get, 'GET', oid);
  if (getFailed) return getFailed;
  const del = await c.send(['DEL', key], timeoutMs);
  const delFailed = replyOutcome(del, 'DEL', oid);
  if (delFailed) return delFailed;
  if (get.kind !== 'bulk' || get.value !== value) {
    return fail({
      detail: `GET ${key} did not return the value just SET`,
      diagnosis: 'data mismatch',
    });
  }
  return pass(`SET, GET and DEL of temporary key ${key}`);
}
