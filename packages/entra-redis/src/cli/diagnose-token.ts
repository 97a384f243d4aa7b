// Why a token request failed: AADSTS codes, an untrusted or unreachable authority, a missing
// credential.

import { aadstsHint } from './aadsts.js';
import { errorFacts, firstLine, redact, UNKNOWN_CA, type Finding } from './diagnose.js';

const AADSTS_PATTERN =
  /AADSTS(\d{4,8}):?\s*([^\n]*?)(?=\s*(?:Trace ID|Correlation ID|Timestamp|…|$))/m;

/** What a direct TLS connection to the authority host found: 'ok' or an error code. */
export type AuthorityProbe = string | undefined;

/** A failed token request. `probe`: a direct TLS connection to the authority, if one was tried. */
export function tokenFailure(
  error: unknown,
  ctx: { kind: string; secrets: readonly string[]; scope: string; authorityHost?: string },
  probe?: AuthorityProbe,
): Finding {
  const { codes, text, texts } = errorFacts(error);
  const detail = firstLine(error, ctx.secrets);
  // Innermost message first: outer ones carry truncated copies.
  const aadsts = texts
    .reverse()
    .map((t) => AADSTS_PATTERN.exec(t))
    .find((m) => m !== null);
  if (aadsts?.[1]) {
    const hint = aadstsHint(aadsts[1]);
    const description = redact(aadsts[2] ?? '', ctx.secrets).slice(0, 240);
    return {
      detail: `AADSTS${aadsts[1]}: ${description}`.trim(),
      diagnosis: `the identity endpoint refused the request: AADSTS${aadsts[1]} (${hint.meaning})`,
      fix: hint.fix,
    };
  }
  const authority = ctx.authorityHost ?? 'the authority';
  if (
    (probe !== undefined && UNKNOWN_CA.has(probe)) ||
    [...codes].some((c) => UNKNOWN_CA.has(c)) ||
    /self[- ]signed|issuer certificate/i.test(text)
  ) {
    return {
      detail,
      diagnosis: `the TLS certificate of the identity endpoint (${authority}) is not trusted by this machine${probe ? ` (${probe})` : ''}`,
      fix: 'trust its CA with NODE_EXTRA_CA_CERTS=<pem file> (a TLS-inspecting proxy needs its CA there too); --ca applies to the Redis connection only',
    };
  }
  if (probe !== undefined && probe !== 'ok') {
    return {
      detail,
      diagnosis: `the identity endpoint (${authority}) cannot be reached (${probe})`,
      fix: 'check --authority-host (or AZURE_AUTHORITY_HOST), the network and proxy settings',
    };
  }
  if (/endpoints_resolution_error|openid-configuration/i.test(text)) {
    return {
      detail,
      diagnosis: `the authority (${authority}) did not serve OpenID metadata for this tenant`,
      fix: 'check --tenant-id and --authority-host',
    };
  }
  if (codes.has('CredentialUnavailableError') || codes.has('CREDENTIAL_UNAVAILABLE')) {
    const fix =
      ctx.kind === 'managed-identity'
        ? 'run this on an Azure host with a managed identity assigned (and --client-id for a user-assigned one)'
        : ctx.kind === 'default'
          ? 'sign in with `az login`, set AZURE_CLIENT_ID/AZURE_TENANT_ID/AZURE_CLIENT_SECRET, or pick an identity with --auth'
          : 'check the identity options';
    return { detail, diagnosis: 'no credential of this kind is available here', fix };
  }
  if (codes.has('TOKEN_REQUEST_TIMEOUT')) {
    return {
      detail,
      diagnosis: 'the identity endpoint did not answer in time',
      fix: 'check the network path to the authority (--authority-host) or raise --timeout',
    };
  }
  if (/ECONNREFUSED|ENOTFOUND|EAI_AGAIN|ETIMEDOUT|ECONNRESET/.test(text)) {
    return {
      detail,
      diagnosis: 'the identity endpoint could not be reached',
      fix: 'check the network, proxy settings and --authority-host',
    };
  }
  if (codes.has('TOKEN_MALFORMED')) {
    return {
      detail,
      diagnosis: 'the credential returned something that is not a usable Entra ID access token',
      fix: `check --scope (now "${ctx.scope}"): it should be https://redis.azure.com/.default`,
    };
  }
  return { detail, diagnosis: 'the token request failed' };
}

/** Whether a token failure is worth a direct TLS probe of the authority host. */
export function needsAuthorityProbe(error: unknown): boolean {
  const { text } = errorFacts(error);
  return (
    !/AADSTS\d/.test(text) &&
    /endpoints_resolution_error|network|certificate|ECONN|ENOTFOUND|EAI_AGAIN|ETIMEDOUT|fetch failed|socket/i.test(
      text,
    )
  );
}
