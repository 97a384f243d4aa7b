// Which msal the real @azure/identity loads: CI runs the emulator's tests on Node 20 with
// @azure/identity 4.13 (msal-node 5) and on Node 22 and 24 with 4.14 (msal-node 7), issue 25.
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);

/** Versions of @azure/identity, the msal-node it resolves, and that msal-node's msal-common. */
export function msalVersions(): { identity: string; msalNode: string; msalCommon: string } {
  const identityPath = require.resolve('@azure/identity/package.json');
  const msalNodePath = createRequire(identityPath).resolve('@azure/msal-node/package.json');
  const version = (path: string) => (require(path) as { version: string }).version;
  return {
    identity: version(identityPath),
    msalNode: version(msalNodePath),
    msalCommon: version(createRequire(msalNodePath).resolve('@azure/msal-common/package.json')),
  };
}

/** Whether `version` (x.y.z) is at least `min`. */
export function atLeast(version: string, min: string): boolean {
  const a = version.split('.').map(Number);
  const b = min.split('.').map(Number);
  for (let i = 0; i < 3; i++) if ((a[i] ?? 0) !== (b[i] ?? 0)) return (a[i] ?? 0) > (b[i] ?? 0);
  return true;
}

/**
 * msal-common reads `Retry-After` whatever its case from 16.15.0 on (msal-node 7.1.2 and later);
 * before, it looked up `headers['Retry-After']` only, which @azure/identity hands lower-case,
 * so every 429 was throttled for the default 60 s.
 */
export function msalHonoursRetryAfter(): boolean {
  return atLeast(msalVersions().msalCommon, '16.15.0');
}
