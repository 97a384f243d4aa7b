// node-redis's async credentials provider over a token source.
import type { TokenSource } from '../token/token-source.js';

/** node-redis's async credentials provider: read on every (re)connect. */
export interface EntraCredentialsProvider {
  readonly type: 'async-credentials-provider';
  credentials(): Promise<{ username: string; password: string }>;
}

/** A global symbol: a provider made by another copy of the library is recognised too. */
const SOURCE = Symbol.for('entra-redis.node-redis.provider-source');

/** One class, so a provider holds no closure. */
class Provider implements EntraCredentialsProvider {
  readonly type = 'async-credentials-provider' as const;
  readonly [SOURCE]: TokenSource;

  constructor(source: TokenSource) {
    this[SOURCE] = source;
  }

  async credentials(): Promise<{ username: string; password: string }> {
    const { username, password } = await this[SOURCE].getCredentials();
    return { username, password };
  }
}

/**
 * A node-redis credentials provider that hands every (re)connect the token source's current
 * credentials, so a reconnect never sends an expired token. It holds no subscription, so it
 * cannot leak listeners however often the client reconnects, and no state: every call with the
 * same token source returns the same provider, which any number of clients may share.
 *
 * @example
 * ```ts
 * const client = createClient({ url, credentialsProvider: entraCredentialsProvider(tokenSource) });
 * ```
 */
export function entraCredentialsProvider(tokenSource: TokenSource): EntraCredentialsProvider {
  let provider = PROVIDERS.get(tokenSource);
  if (!provider) PROVIDERS.set(tokenSource, (provider = new Provider(tokenSource)));
  return provider;
}

/** One provider per token source (it holds no state of its own), however many clients. */
const PROVIDERS = new WeakMap<TokenSource, Provider>();

/**
 * Whether `provider` is one {@link entraCredentialsProvider} made for `source`: a handshake
 * then authenticates with the token current at its 'connect' event (node-redis asks the
 * provider in the same tick), so that token need not be sent again.
 */
export function isEntraProvider(provider: unknown, source: TokenSource): boolean {
  return (provider as { [SOURCE]?: unknown } | undefined)?.[SOURCE] === source;
}
