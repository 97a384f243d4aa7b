// The preload's one state per process: its configuration, its log, and the token source that
// every protected client shares (made at the first protected client, never before).
import type { TokenCredential } from '@azure/identity';
import type { TokenCredentialFactory, TokenSourceLogger } from '../token/options.js';
import { TokenSource } from '../token/token-source.js';
import type { IdentitySettings, LogLevel, RegisterConfig } from './config.js';

/**
 * A credential factory whose credentials load the identity code (and @azure/identity) at
 * their first token request. Each call of the factory makes a credential of its own, so the
 * source can still replace a credential after a failure.
 */
function deferredIdentity(settings: IdentitySettings): TokenCredentialFactory {
  let loading: Promise<TokenCredentialFactory> | undefined;
  const load = (): Promise<TokenCredentialFactory> =>
    (loading ??= import('./identity.js').then(
      (identity) => identity.identityFactory(settings),
      (error: unknown) => {
        loading = undefined; // try again at the next request
        throw error;
      },
    ));
  return () => {
    let credential: Promise<TokenCredential> | undefined;
    return {
      async getToken(scopes, options) {
        credential ??= load().then((make) => make());
        return (await credential).getToken(scopes, options);
      },
    };
  };
}

/** Where the preload's lines go: stderr, each prefixed, never a secret. */
export class RegisterLog {
  constructor(readonly level: LogLevel) {}

  info(message: string): void {
    if (this.level !== 'silent') process.stderr.write(`entra-redis: ${message}\n`);
  }

  debug(message: string): void {
    if (this.level === 'debug') process.stderr.write(`entra-redis: ${message}\n`);
  }

  /** The token source's log: warnings and errors at `info`, everything at `debug`. */
  sourceLogger(): TokenSourceLogger {
    const line = (message: string, fields?: Record<string, unknown>): string => {
      const details = fields && Object.keys(fields).length > 0 ? ` ${JSON.stringify(fields)}` : '';
      return `token source: ${message.replace(/^entra-redis: /, '')}${details}`;
    };
    return {
      debug: (message, fields) => this.debug(line(message, fields)),
      info: (message, fields) => this.debug(line(message, fields)),
      warn: (message, fields) => this.info(line(message, fields)),
      error: (message, fields) => this.info(line(message, fields)),
    };
  }
}

/** The preload's state, shared by every patched copy of every client library. */
export class RegisterRuntime {
  readonly log: RegisterLog;
  #source: TokenSource | undefined;

  constructor(readonly config: RegisterConfig) {
    this.log = new RegisterLog(config.log);
  }

  /** The one token source of the process (made on first use). */
  source(): TokenSource {
    this.#source ??= new TokenSource({
      credential: deferredIdentity(this.config.identity),
      ...this.config.source,
      name: 'register',
      logger: this.log.sourceLogger(),
    });
    return this.#source;
  }
}
