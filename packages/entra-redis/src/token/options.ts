import type { TokenCredential } from '@azure/identity';
import type { TokenSourceClock } from '../lib/clock.js';

/**
 * A function that builds a fresh `TokenCredential`. Given one, a {@link TokenSource} builds a
 * new credential after a failure and when a credential hands back its cached token, which
 * empties MSAL's throttling and token caches, and after every 32 tokens, which releases what
 * @azure/identity keeps per token request (see docs/identities.md). The factories of entra-redis
 * (`servicePrincipalSecret`, …) return one.
 *
 * @example
 * ```ts
 * const factory: TokenCredentialFactory = () => new ClientSecretCredential(tenant, app, secret);
 * new TokenSource({ credential: factory });
 * ```
 */
export type TokenCredentialFactory = () => TokenCredential;

/**
 * Where a token source writes what it does. Every member is optional; fields never hold a token.
 *
 * @example
 * ```ts
 * const logger: TokenSourceLogger = { warn: (msg, fields) => pino.warn(fields, msg) };
 * ```
 */
export interface TokenSourceLogger {
  debug?(message: string, fields?: Record<string, unknown>): void;
  info?(message: string, fields?: Record<string, unknown>): void;
  warn?(message: string, fields?: Record<string, unknown>): void;
  error?(message: string, fields?: Record<string, unknown>): void;
}

/**
 * Retry settings after a failed token request.
 *
 * @example
 * ```ts
 * new TokenSource({ credential, retry: { maxDelayMs: 30_000 } });
 * ```
 */
export interface TokenSourceRetryOptions {
  /** Ceiling of the first retry delay, in ms (full jitter: the delay is random below it). @default 500 */
  readonly initialDelayMs?: number;
  /**
   * Cap of every retry delay, in ms. Non-transient failures (bad secret, unknown client) retry
   * at this rate forever while the source is open, since a secret may get fixed or rotated.
   * @default 5000
   */
  readonly maxDelayMs?: number;
  /** Growth factor of the delay ceiling per consecutive failure (≥ 1). @default 2 */
  readonly multiplier?: number;
  /** Largest server `Retry-After` honoured, in ms; longer requests are cut to this. @default 60000 */
  readonly maxRetryAfterMs?: number;
}

/**
 * Options of {@link TokenSource}. Validated once, at construction; defaults in
 * {@link TOKEN_SOURCE_DEFAULTS}.
 *
 * @example
 * ```ts
 * const source = new TokenSource({
 *   credential: servicePrincipalSecret({ tenantId, clientId, clientSecret }),
 *   refreshRatio: 0.75,
 * });
 * ```
 */
export interface TokenSourceOptions {
  /**
   * The identity: any `TokenCredential` (e.g. `new DefaultAzureCredential()`), or a
   * {@link TokenCredentialFactory} the source calls to build a fresh credential (preferred).
   */
  readonly credential: TokenCredential | TokenCredentialFactory;
  /** Scope(s) requested. @default 'https://redis.azure.com/.default' */
  readonly scopes?: string | readonly string[];
  /** Redis username; overrides the token's `oid` claim. @default the token's `oid` */
  readonly username?: string;
  /**
   * Fraction (0–1, exclusive) of a token's lifetime after which it is refreshed.
   * @default 0.75
   */
  readonly refreshRatio?: number;
  /**
   * Refresh no later than this long before expiry, in ms (Azure advises ≥ 3 minutes). Applies
   * only to tokens that live longer than this; shorter tokens follow `refreshRatio` alone.
   * @default 300000 (5 minutes)
   */
  readonly minRemainingMs?: number;
  /**
   * Refresh each token at the latest this long after it was issued, in ms, however long it
   * lives. Real Entra tokens live 60–90 minutes (managed identity tokens up to 24 hours), so
   * `refreshRatio` and `minRemainingMs` refresh them tens of minutes in; this cap exercises
   * re-authentication sooner (`entra-redis check --watch 5m --refresh-every 1m` uses it).
   * Jitter and `minRefreshIntervalMs` still apply. A credential that hands back the token it
   * already has is rebuilt from its factory once and then asked again inside its cache window
   * (see `credentialCacheWindowMs`): identities whose endpoint caches tokens (managed identity,
   * the Azure CLI) may not deliver a fresh token sooner than that.
   * @default undefined (no cap)
   */
  readonly maxTokenAgeMs?: number;
  /**
   * Jitter, as a ratio (0–0.5) of the wait until the refresh point: the refresh happens at a
   * uniformly random moment in `[(1 - jitterRatio) * wait, wait]` after the token arrived, so a
   * fleet does not refresh in lockstep. Jitter only ever makes a refresh earlier.
   * @default 0.1
   */
  readonly jitterRatio?: number;
  /**
   * Floor between the starts of two token requests, in ms (≥ 1): no tight loop, ever. Real
   * tokens live an hour and never meet it; with test tokens of a few seconds, keep it below half
   * their lifetime (a 2-second token whose whole-second `exp` leaves 1.05 s would otherwise be
   * renewed 50 ms before it expires; the source logs a warning once when that happens).
   * @default 1000
   */
  readonly minRefreshIntervalMs?: number;
  /**
   * At a new token, the most connections' re-AUTHs that may be pending at once (≥ 1). The
   * fan-out starts with 32 in flight (or this, if lower); each answer that comes back about as
   * fast as the fastest one widens the window by one (so it doubles per window's worth of fast
   * answers) up to this ceiling, and answers that slow down (AUTHs queueing at the server,
   * where your commands would wait behind them) halve it, not below 8. The next connection is
   * re-authenticated as one is answered (or after 2 s without an answer); at a quarter of the
   * old token's remaining life (30 s at most) the rest go at once, and a token replaced with
   * under 4 s left (test tokens) is not paced at all. A rotation over thousands of connections
   * then never blocks the event loop for the whole fan-out or queues thousands of AUTHs ahead
   * of your commands, and still takes only a few round trips when the server keeps up.
   * `Infinity` sends every AUTH at once; `1` re-authenticates one connection at a time.
   * @default 256
   */
  readonly maxConcurrentReauth?: number;
  /**
   * Each `getToken` call is aborted (via `AbortSignal`) and abandoned after this long, in ms.
   * @default 20000
   */
  readonly requestTimeoutMs?: number;
  /**
   * How long before expiry a credential's own cache starts handing out fresh tokens, in ms
   * (MSAL: 5 minutes). When a credential returns the token the source already has, the next
   * request is made once this window is reached (or at once, with a new credential from a
   * factory).
   * @default 300000
   */
  readonly credentialCacheWindowMs?: number;
  /** Retry settings after failures. */
  readonly retry?: TokenSourceRetryOptions;
  /** Logger; messages and fields never hold a token. @default none */
  readonly logger?: TokenSourceLogger;
  /**
   * Record OpenTelemetry metrics (time-to-expiry gauge in s, refresh and failure counters)
   * when `@opentelemetry/api` is installed; costs nothing without a registered MeterProvider.
   * @default true
   */
  readonly metrics?: boolean;
  /** Name in log fields and metric attributes. @default 'default' */
  readonly name?: string;
  /**
   * Time and timers; for tests that drive the source with fake time. By default, the real
   * clock: `Date.now` and unref'ed timers as they were when the library loaded, so fake timers
   * installed afterwards (sinon, Jest, `vi.useFakeTimers()`) do not stop refreshes and retries
   * while the cache's clock runs on. The adapters' own deadlines always use that real clock.
   * @default the real clock taken at load
   */
  readonly clock?: TokenSourceClock;
  /** Random numbers in [0, 1) for jitter; for tests. @default Math.random */
  readonly random?: () => number;
}

/**
 * Default values of {@link TokenSourceOptions}.
 *
 * @example
 * ```ts
 * TOKEN_SOURCE_DEFAULTS.refreshRatio; // 0.75
 * ```
 */
export const TOKEN_SOURCE_DEFAULTS = Object.freeze({
  scopes: 'https://redis.azure.com/.default',
  refreshRatio: 0.75,
  minRemainingMs: 300_000,
  jitterRatio: 0.1,
  minRefreshIntervalMs: 1_000,
  maxConcurrentReauth: 256,
  requestTimeoutMs: 20_000,
  credentialCacheWindowMs: 300_000,
  retry: Object.freeze({
    initialDelayMs: 500,
    maxDelayMs: 5_000,
    multiplier: 2,
    maxRetryAfterMs: 60_000,
  }),
  metrics: true,
  name: 'default',
});
