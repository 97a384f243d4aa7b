// Tokens through the core's TokenSource (the same path an application takes): one for `check` and
// `token`, or a source kept open for `check --watch`.

import { TokenSource } from '../index.js';
import type { ResolvedAuth } from './auth-options.js';
import { decodeClaims, summarizeClaims, type TokenSummary } from './claims.js';
import { needsAuthorityProbe, tokenFailure } from './diagnose-token.js';
import type { Finding } from './diagnose.js';
import { probeTls } from './network.js';

/** An acquired token. `token` is the secret: never print it (except `token --raw`). */
export interface Acquired {
  readonly token: string;
  readonly username: string;
  readonly summary: TokenSummary;
}

/**
 * A token source for `auth`, as an application would make it. `maxTokenAgeMs` (from
 * `--refresh-every`) asks for fresh tokens sooner than the lifetime would.
 */
export function openTokenSource(
  auth: ResolvedAuth,
  options: { username?: string | undefined; maxTokenAgeMs?: number | undefined } = {},
): TokenSource {
  return new TokenSource({
    credential: auth.credential,
    scopes: auth.scope,
    requestTimeoutMs: auth.tokenTimeoutMs,
    metrics: false,
    name: 'entra-redis-cli',
    ...(options.username !== undefined ? { username: options.username } : {}),
    ...(options.maxTokenAgeMs !== undefined ? { maxTokenAgeMs: options.maxTokenAgeMs } : {}),
  });
}

/** The source's current token, described; rejects with the core's classified error. */
export async function currentToken(source: TokenSource): Promise<Acquired> {
  const credentials = await source.getCredentials();
  const token = credentials.password;
  return {
    token,
    username: credentials.username,
    summary: summarizeClaims(decodeClaims(token), Date.now()),
  };
}

/** Requests one token for `auth.scope`; rejects with the core's classified error. */
export async function acquireToken(auth: ResolvedAuth, username?: string): Promise<Acquired> {
  const source = openTokenSource(auth, { username });
  try {
    return await currentToken(source);
  } finally {
    await source.close();
  }
}

/** Explains a failed token request; probes the authority's TLS when the error hides the cause. */
export async function explainTokenFailure(error: unknown, auth: ResolvedAuth): Promise<Finding> {
  const authority = auth.authorityHost ?? 'https://login.microsoftonline.com';
  const probe =
    auth.kind !== 'managed-identity' && needsAuthorityProbe(error)
      ? await probeTls(authority, Math.min(auth.timeoutMs, 5000))
      : undefined;
  return tokenFailure(error, { ...auth, authorityHost: authority }, probe);
}
