import {
  InteractiveBrowserCredential,
  type InteractiveBrowserCredentialNodeOptions,
  type TokenCredential,
} from '@azure/identity';
import { OptionValidator } from '../lib/validate.js';
import { checkAuthority } from './common.js';

/**
 * A signed-in user (authorization code flow with PKCE, through the system browser). Other
 * `InteractiveBrowserCredentialNodeOptions` (`browserCustomizationOptions`,
 * `tokenCachePersistenceOptions`, `authenticationRecord`, …) are passed through.
 *
 * @example
 * ```ts
 * const options: InteractiveUserOptions = { tenantId, clientId, redirectUri: 'http://localhost:8400' };
 * ```
 */
export interface InteractiveUserOptions extends InteractiveBrowserCredentialNodeOptions {
  /** Tenant id or domain, or `organizations` / `common` / `consumers`. */
  readonly tenantId: string;
  /** Application (client) id of a public client app registration, a GUID. */
  readonly clientId: string;
  /**
   * Authority host, an https URL: a sovereign cloud (e.g. `https://login.microsoftonline.us`) or
   * the emulator. @default 'https://login.microsoftonline.com' (or AZURE_AUTHORITY_HOST)
   */
  readonly authorityHost?: string;
  /**
   * Redirect URI registered for the app (an http(s) URL); validated, then passed through. Note:
   * on Node.js, @azure/identity 4.x ignores it: MSAL always listens on
   * `http://localhost:<random free port>`, so register `http://localhost` for the app (Entra
   * ignores the port of a loopback redirect URI).
   * @default http://localhost (with a random port)
   */
  readonly redirectUri?: string;
  /** Pre-fills the sign-in name. */
  readonly loginHint?: string;
}

/**
 * An interactive user over @azure/identity's `InteractiveBrowserCredential`. Returns ONE
 * credential, not a factory: a fresh credential would forget the signed-in account and prompt
 * again, so MSAL's throttling cache (up to 60 s after a 429/5xx) applies to this flow.
 *
 * @example
 * ```ts
 * const source = new TokenSource({ credential: interactiveUser({ tenantId, clientId }) });
 * ```
 */
export function interactiveUser(options: InteractiveUserOptions): TokenCredential {
  const v = new OptionValidator('entra-redis interactiveUser');
  const o = v.object('options', options);
  v.tenant('tenantId', o.tenantId, ['organizations', 'common', 'consumers']);
  v.guid('clientId', o.clientId, "the public client application's id");
  if (o.redirectUri !== undefined) {
    const uri = v.nonEmptyString(
      'redirectUri',
      o.redirectUri,
      'an http(s) URL registered as redirect URI',
    );
    if (!/^https?:\/\/[^\s]+$/i.test(uri)) {
      v.fail(
        'redirectUri',
        'an http(s) URL registered as redirect URI, e.g. http://localhost:8400',
        'string',
      );
    }
  }
  if (o.loginHint !== undefined) v.nonEmptyString('loginHint', o.loginHint);
  checkAuthority(v, o);
  return new InteractiveBrowserCredential({ ...options });
}
