// `entra-redis token`: acquire one token and print its decoded claims; the raw token only
// with --raw (and a warning on stderr).

import { acquireToken, explainTokenFailure } from './acquire.js';
import type { ResolvedAuth } from './auth-options.js';
import { formatDuration, type TokenSummary } from './claims.js';

/** Output settings of `token`. */
export interface TokenCommandSettings {
  readonly auth: ResolvedAuth;
  readonly json: boolean;
  readonly raw: boolean;
}

const RAW_WARNING =
  'entra-redis: WARNING: the line on stdout is a bearer access token. Anyone who reads it can ' +
  'use the cache until it expires: do not log it, paste it or commit it.\n';

function epoch(sec: number | undefined): string {
  return sec === undefined ? '(none)' : `${new Date(sec * 1000).toISOString()} (${sec})`;
}

function text(t: TokenSummary): string {
  const aud = t.aud === undefined ? '(none)' : typeof t.aud === 'string' ? t.aud : t.aud.join(', ');
  const left =
    t.timeLeftSec === undefined
      ? '(unknown)'
      : t.timeLeftSec >= 0
        ? formatDuration(t.timeLeftSec)
        : `expired ${formatDuration(-t.timeLeftSec)} ago`;
  const rows: [string, string][] = [
    ['oid', t.oid ?? '(none)'],
    ['tid', t.tid ?? '(none)'],
    ['aud', aud],
    ['appid', t.appid ?? '(none)'],
    ['azp', t.azp ?? '(none)'],
    ['iss', t.iss ?? '(none)'],
    ...(t.upn ? ([['upn', t.upn]] as [string, string][]) : []),
    ...(t.idtyp ? ([['idtyp', t.idtyp]] as [string, string][]) : []),
    ['iat', epoch(t.iat)],
    ['nbf', epoch(t.nbf)],
    ['exp', epoch(t.exp)],
    ['time left', left],
  ];
  return rows.map(([k, v]) => `${k.padEnd(10)} ${v}`).join('\n') + '\n';
}

/** Runs `token`; returns the exit code (0 ok, 1 the token request failed). */
export async function runToken(s: TokenCommandSettings): Promise<number> {
  let acquired;
  try {
    acquired = await acquireToken(s.auth);
  } catch (error) {
    const f = await explainTokenFailure(error, s.auth);
    if (s.json) {
      process.stdout.write(`${JSON.stringify({ ok: false, ...f })}\n`);
    } else {
      process.stderr.write(
        `entra-redis token: ${f.detail}\n` +
          (f.diagnosis ? `  diagnosis: ${f.diagnosis}\n` : '') +
          (f.fix ? `  fix: ${f.fix}\n` : ''),
      );
    }
    return 1;
  }
  const { summary } = acquired;
  if (s.raw) process.stderr.write(RAW_WARNING);
  if (s.json) {
    const body = { ok: true, username: acquired.username, claims: summary };
    const out = s.raw ? { ...body, token: acquired.token } : body;
    process.stdout.write(`${JSON.stringify(out, null, 2)}\n`);
  } else if (s.raw) {
    process.stdout.write(`${acquired.token}\n`);
  } else {
    process.stdout.write(text(summary));
  }
  return 0;
}
