// Helpers for the tests that CI runs on every Node line with the @azure/identity and msal-node
// installed for it (issue 25): which versions are loaded, and what an error looks like.
import { createRequire } from 'node:module';
import { withExactEnv } from '../../../emulator/test/helpers/env.js';

const require = createRequire(import.meta.url);

/** The versions this process loads: @azure/identity, the msal-node it resolves, that one's msal-common. */
export function msalVersions(): {
  node: string;
  identity: string;
  msalNode: string;
  msalCommon: string;
} {
  const identityPath = require.resolve('@azure/identity/package.json');
  const msalNodePath = createRequire(identityPath).resolve('@azure/msal-node/package.json');
  const version = (path: string) => (require(path) as { version: string }).version;
  return {
    node: process.version,
    identity: version(identityPath),
    msalNode: version(msalNodePath),
    msalCommon: version(createRequire(msalNodePath).resolve('@azure/msal-common/package.json')),
  };
}

/** `Node v24.22.3, @azure/identity 4.14.1, msal-node 7.2.4`, for test names and log lines. */
export function msalLine(): string {
  const v = msalVersions();
  return `Node ${v.node}, @azure/identity ${v.identity}, msal-node ${v.msalNode}`;
}

/** One line per error in a cause chain: name, code/errorCode, status and the message's start. */
export function describeError(error: unknown): string {
  const parts: string[] = [];
  let current: unknown = error;
  for (let depth = 0; depth < 4 && typeof current === 'object' && current !== null; depth++) {
    const e = current as Record<string, unknown>;
    const fields = [
      typeof e.name === 'string' ? e.name : '?',
      ...['code', 'errorCode', 'statusCode', 'status']
        .filter((k) => typeof e[k] === 'string' || typeof e[k] === 'number')
        .map((k) => `${k}=${String(e[k])}`),
    ];
    const message = typeof e.message === 'string' ? e.message.split('\n')[0]!.slice(0, 90) : '';
    parts.push(`${fields.join(' ')} "${message}"`);
    current = e.cause;
  }
  return parts.join(' <- ');
}

/** Variables that select a credential's flow; each use sets exactly the ones it needs. */
const AZURE_VARS = [
  'AZURE_TENANT_ID',
  'AZURE_CLIENT_ID',
  'AZURE_CLIENT_SECRET',
  'AZURE_AUTHORITY_HOST',
  'AZURE_FEDERATED_TOKEN_FILE',
  'IDENTITY_ENDPOINT',
  'IDENTITY_HEADER',
  'IDENTITY_SERVER_THUMBPRINT',
  'IMDS_ENDPOINT',
  'MSI_ENDPOINT',
  'MSI_SECRET',
  'AZURE_POD_IDENTITY_AUTHORITY_HOST',
];

/** Runs `fn` with exactly `vars` among the Azure identity variables (others unset), then restores. */
export function withAzureEnv<T>(vars: Record<string, string>, fn: () => Promise<T>): Promise<T> {
  return withExactEnv(AZURE_VARS, vars, fn);
}

/** Whether `version` (x.y.z) is at least `min`. */
function atLeast(version: string, min: string): boolean {
  const a = version.split('.').map(Number);
  const b = min.split('.').map(Number);
  for (let i = 0; i < 3; i++) if ((a[i] ?? 0) !== (b[i] ?? 0)) return (a[i] ?? 0) > (b[i] ?? 0);
  return true;
}

/**
 * msal-common reads `Retry-After` whatever its case from 16.15.0 on (msal-node 7.1.2 and later);
 * before, only `headers['Retry-After']`, which @azure/identity hands lower-case: every 429 was
 * throttled for msal's default 60 s.
 */
export function msalHonoursRetryAfter(): boolean {
  return atLeast(msalVersions().msalCommon, '16.15.0');
}
