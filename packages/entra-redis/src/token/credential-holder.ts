// The credential a token source asks for tokens, and when it builds a fresh one from a factory.
import type { TokenCredential } from '@azure/identity';
import { EntraRedisError } from '../errors.js';
import { summarizeError } from '../lib/redact.js';
import type { TokenCredentialFactory } from './options.js';

/**
 * A credential built from a factory is replaced after this many tokens. @azure/identity's MSAL
 * network client keeps an AbortController for every token request it ever sent (about 3 KB
 * each, never released: Azure/azure-sdk-for-js#26161); a fresh credential starts empty, so a
 * process that runs for years holds at most this many. The cost: one more authority metadata
 * request (or managed identity probe) every 32 tokens, a day and a half with hourly tokens.
 */
const TOKENS_PER_CREDENTIAL = 32;

/**
 * Holds the credential of a token source: the one given, or one built from the factory, and
 * rebuilt (a fresh MSAL cache and throttling state) after {@link TOKENS_PER_CREDENTIAL} tokens
 * or when the source asks for it.
 */
export class CredentialHolder {
  readonly #factory: TokenCredentialFactory | undefined;
  readonly #built: () => void;
  #credential: TokenCredential | undefined;
  #rebuild = false;
  #tokens = 0;

  /** `built` is told each time a credential is built from the factory (a debug log line). */
  constructor(
    credential: TokenCredential | undefined,
    factory: TokenCredentialFactory | undefined,
    built: () => void,
  ) {
    this.#credential = credential;
    this.#factory = factory;
    this.#built = built;
  }

  /** Whether the credential comes from a factory (and so can be rebuilt). */
  get fromFactory(): boolean {
    return this.#factory !== undefined;
  }

  /** Whether the next request builds a fresh credential. */
  get rebuilding(): boolean {
    return this.#rebuild;
  }

  /** The credential to ask now; builds one from the factory if there is none or it is due. */
  get(): TokenCredential {
    const factory = this.#factory;
    if (factory && (this.#credential === undefined || this.#rebuild)) {
      let built: unknown;
      try {
        built = factory();
      } catch (error) {
        throw new EntraRedisError(
          'CREDENTIAL_UNAVAILABLE',
          `entra-redis: the credential factory threw: ${summarizeError(error)}`,
          { cause: error },
        );
      }
      if (typeof (built as TokenCredential | null)?.getToken !== 'function') {
        throw new EntraRedisError(
          'CREDENTIAL_UNAVAILABLE',
          'entra-redis: the credential factory must return a TokenCredential (an object with getToken())',
        );
      }
      this.#credential = built as TokenCredential;
      this.#rebuild = false;
      this.#tokens = 0;
      this.#built();
    }
    return this.#credential as TokenCredential;
  }

  /** A new token came from the current credential. */
  issued(): void {
    this.#tokens += 1;
    if (this.#tokens >= TOKENS_PER_CREDENTIAL) this.rebuild();
  }

  /** The next request uses a fresh credential, if a factory can build one. */
  rebuild(): void {
    if (this.#factory) this.#rebuild = true;
  }

  /** Drops the credential (the source closed). */
  clear(): void {
    this.#credential = undefined;
  }
}
