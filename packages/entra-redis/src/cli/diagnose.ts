// Known failures of each stage, explained: what went wrong and what to do.

import { isRedisAudience, formatDuration, type TokenSummary } from './claims.js';
import { tlsPortAdvice, type HostKind } from './hosts.js';

/** What a failed stage reports besides its name. */
export interface Finding {
  readonly detail: string;
  readonly diagnosis?: string;
  readonly fix?: string;
}

/** Where `check` connects. */
export interface Target {
  readonly host: string;
  readonly port: number;
  readonly kind: HostKind;
}

const JWT = /eyJ[A-Za-z0-9_-]{2,}\.[A-Za-z0-9_-]{2,}\.[A-Za-z0-9_-]*/g;

/** Removes JWTs and the given secrets from `text`. */
export function redact(text: string, secrets: readonly string[] = []): string {
  let out = text.replace(JWT, '[REDACTED]');
  for (const s of secrets) if (s.length >= 4) out = out.split(s).join('[REDACTED]');
  return out;
}

/** Error codes and message text found along an error's `cause` / `errors` chain. */
export function errorFacts(error: unknown): {
  codes: Set<string>;
  text: string;
  texts: string[];
} {
  const codes = new Set<string>();
  const texts: string[] = [];
  const seen = new Set<unknown>();
  const visit = (e: unknown, depth: number): void => {
    if (typeof e !== 'object' || e === null || seen.has(e) || depth > 8) return;
    seen.add(e);
    const bag = e as Record<string, unknown>;
    for (const key of ['code', 'errorCode', 'name']) {
      if (typeof bag[key] === 'string') codes.add(bag[key] as string);
    }
    if (typeof bag.message === 'string') texts.push(bag.message);
    const response = bag.errorResponse as Record<string, unknown> | undefined;
    if (response && typeof response.errorDescription === 'string') {
      texts.push(response.errorDescription);
    }
    visit(bag.cause, depth + 1);
    if (Array.isArray(bag.errors)) for (const inner of bag.errors) visit(inner, depth + 1);
  };
  visit(error, 0);
  return { codes, text: texts.join('\n'), texts };
}

/** The first line of an error's message, redacted and bounded. */
export function firstLine(error: unknown, secrets: readonly string[] = []): string {
  const message =
    typeof error === 'object' && error !== null && 'message' in error
      ? String((error as { message: unknown }).message)
      : String(error);
  const line = message.split('\n').find((l) => l.trim() !== '') ?? '';
  // The core's retry advice does not apply to a one-shot CLI request.
  const clean = redact(line.trim(), secrets).replace(/; (this looks permanent|retrying).*$/, '');
  return clean.length > 300 ? `${clean.slice(0, 299)}…` : clean;
}

/** A DNS lookup failure. */
export function dnsFailure(error: unknown, t: Target): Finding {
  const { codes } = errorFacts(error);
  if (codes.has('ENOTFOUND')) {
    return {
      detail: `${t.host} does not resolve (ENOTFOUND)`,
      diagnosis: 'the host name does not exist in DNS, or this network cannot see it',
      fix:
        'check the spelling (<name>.redis.cache.windows.net or <name>.<region>.redis.azure.net); ' +
        'with Private Link, this machine needs the private DNS zone (privatelink.redis.cache.windows.net) linked to its network',
    };
  }
  return {
    detail: firstLine(error),
    diagnosis: 'DNS lookup failed (no answer from the DNS server)',
    fix: 'check the network and DNS settings of this machine, then retry',
  };
}

/** A TCP connection failure. */
export function tcpFailure(error: unknown, t: Target): Finding {
  const { codes } = errorFacts(error);
  const where = `${t.host}:${t.port}`;
  if (codes.has('ECONNREFUSED')) {
    return {
      detail: `connection refused by ${where} (ECONNREFUSED)`,
      diagnosis: `nothing accepts connections on port ${t.port} of that address`,
      fix: `check the port: use ${tlsPortAdvice(t.kind)}; Entra ID authentication works over TLS only`,
    };
  }
  if (codes.has('ETIMEDOUT') || codes.has('EHOSTUNREACH') || codes.has('ENETUNREACH')) {
    return {
      detail: `no connection to ${where} (${[...codes].find((c) => c.startsWith('E')) ?? 'timeout'})`,
      diagnosis: 'the connection attempt got no answer: a firewall, network rule or route drops it',
      fix:
        "check the cache's firewall rules and public network access (or Private Endpoint), " +
        `and that outbound traffic to port ${t.port} is allowed from here`,
    };
  }
  return { detail: firstLine(error), diagnosis: 'the TCP connection failed' };
}

/** Certificate verification errors that mean: the issuing CA is not trusted. */
export const UNKNOWN_CA = new Set([
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'SELF_SIGNED_CERT_IN_CHAIN',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'UNABLE_TO_GET_ISSUER_CERT',
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'CERT_UNTRUSTED',
]);
const NOT_TLS = new Set([
  'ERR_SSL_WRONG_VERSION_NUMBER',
  'ERR_SSL_PACKET_LENGTH_TOO_LONG',
  'ERR_SSL_HTTP_REQUEST',
  'ECONNRESET',
  'ETIMEDOUT',
  'EPIPE',
]);

/** A TLS handshake failure. `plaintextRedis`: a plaintext PING on the port got a Redis reply. */
export function tlsFailure(error: unknown, t: Target, plaintextRedis: boolean): Finding {
  const { codes, text } = errorFacts(error);
  const detail = firstLine(error);
  const has = (set: Set<string>) => [...codes].some((c) => set.has(c));
  if (has(UNKNOWN_CA)) {
    return {
      detail,
      diagnosis:
        "the server's certificate is not signed by a CA this machine trusts (self-signed, a " +
        'private CA, or a TLS-inspecting proxy)',
      fix: 'pass the CA certificate with --ca <pem file> (or NODE_EXTRA_CA_CERTS); certificate verification stays on',
    };
  }
  if (codes.has('ERR_TLS_CERT_ALTNAME_INVALID')) {
    return {
      detail,
      diagnosis: `the server's certificate is not valid for the name "${t.host}" (hostname mismatch)`,
      fix:
        "connect with the cache's own host name (e.g. <name>.redis.cache.windows.net), not an IP " +
        'address or an alias; with Private Link that name resolves to the private endpoint',
    };
  }
  if (codes.has('CERT_HAS_EXPIRED') || codes.has('CERT_NOT_YET_VALID')) {
    return {
      detail,
      diagnosis: "the server's certificate is outside its validity period for this machine's clock",
      fix: "check this machine's date and time (NTP)",
    };
  }
  if (plaintextRedis || has(NOT_TLS) || /wrong version number|before secure TLS/i.test(text)) {
    return {
      detail,
      diagnosis: plaintextRedis
        ? `port ${t.port} speaks plaintext Redis, not TLS (it answered a plaintext PING)`
        : `port ${t.port} did not complete a TLS handshake: it is probably a plaintext (non-TLS) port or another protocol`,
      fix: `connect to ${tlsPortAdvice(t.kind)}: Entra ID authentication is TLS only, and a token must never cross the network in clear`,
    };
  }
  if (/protocol version|unsupported protocol/i.test(text)) {
    return {
      detail,
      diagnosis: 'no TLS version in common with the server',
      fix: 'Azure requires TLS 1.2 or later; update Node.js / OpenSSL settings',
    };
  }
  return { detail, diagnosis: 'the TLS handshake failed' };
}

/** What to run so that `oid` may use the cache. */
export function assignPolicyFix(oid: string, t: Target): string {
  // The cache's name is the first label of its Azure host name; an IP address or a local
  // name (a tunnel, the emulator) does not tell it.
  const name = (t.kind !== 'other' && t.host.split('.')[0]) || '<cache-name>';
  const cache =
    `az redis access-policy-assignment create --name ${name} --resource-group <rg> ` +
    `--access-policy-assignment-name <assignment> --policy-name "Data Contributor" ` +
    `--object-id ${oid} --object-id-alias <alias>` +
    ' (portal: the cache > Settings > Data Access Configuration > Add > New Redis User)';
  const managed =
    `az redisenterprise database access-policy-assignment create --cluster-name ${name} ` +
    `--resource-group <rg> --database-name default --access-policy-assignment-name <assignment> ` +
    `--access-policy-name default --object-id ${oid}` +
    ' (portal: the cache > Settings > Authentication > Microsoft Entra)';
  if (t.kind === 'cache') return cache;
  if (t.kind === 'managed') return managed;
  return `Azure Cache for Redis: ${cache}; Azure Managed Redis: ${managed}`;
}

/** Explains `WRONGPASS` from the token the AUTH sent. */
export function wrongpass(
  message: string,
  token: TokenSummary,
  username: string,
  nowMs: number,
  t: Target,
): Finding {
  const detail = redact(message);
  const nowSec = nowMs / 1000;
  if (!isRedisAudience(token.aud)) {
    return {
      detail,
      diagnosis: `wrong audience: the token is for "${String(token.aud)}", not Azure Cache for Redis (https://redis.azure.com)`,
      fix: 'request --scope https://redis.azure.com/.default (the default)',
    };
  }
  if (token.oid !== undefined && username !== token.oid) {
    return {
      detail,
      diagnosis: `the username "${username}" is not the token's object id (oid ${token.oid})`,
      fix: `use the oid as the Redis username (drop --username, or pass --username ${token.oid})`,
    };
  }
  const ahead = Math.max(token.nbf ?? 0, token.iat ?? 0) - nowSec;
  if (ahead > 0) {
    return {
      detail,
      diagnosis:
        `token not yet valid: its nbf/iat lie ${formatDuration(ahead)} ahead of this machine's clock ` +
        '(clock skew between this machine, the identity platform and the cache)',
      fix: "synchronise this machine's clock (NTP, e.g. `chronyc makestep` / `w32tm /resync`) and retry",
    };
  }
  if (token.exp !== undefined && token.exp <= nowSec) {
    return {
      detail,
      diagnosis: 'the token had expired when it was sent (or the clocks disagree)',
      fix: "check this machine's clock (NTP) and retry",
    };
  }
  return {
    detail,
    diagnosis:
      `no data access policy assignment for oid ${token.oid ?? '(none)'} on this cache ` +
      '(or Microsoft Entra authentication is not enabled on it, or the token is from another tenant)',
    fix: `assign a data access policy to oid ${token.oid ?? '<oid>'}: ${assignPolicyFix(token.oid ?? '<oid>', t)}`,
  };
}

/** Explains `NOPERM` on a command. */
export function noperm(message: string, command: string, oid: string | undefined): Finding {
  return {
    detail: redact(message),
    diagnosis: `the access policy of oid ${oid ?? '(unknown)'} does not allow ${command}`,
    fix:
      'assign "Data Contributor" or "Data Owner", or a custom access policy that allows the ' +
      'commands your application runs; or run `check --read-only` to test a read-only identity',
  };
}
