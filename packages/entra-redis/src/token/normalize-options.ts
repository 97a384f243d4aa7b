import type { TokenCredential } from '@azure/identity';
import type { RetrySettings } from '../lib/backoff.js';
import { systemClock, type TokenSourceClock } from '../lib/clock.js';
import { MAX_TIMER_MS, OptionValidator } from '../lib/validate.js';
import {
  TOKEN_SOURCE_DEFAULTS,
  type TokenCredentialFactory,
  type TokenSourceLogger,
} from './options.js';

/** The one internal shape the source works with. */
export interface NormalizedTokenSourceOptions {
  readonly credential: TokenCredential | undefined;
  readonly factory: TokenCredentialFactory | undefined;
  readonly scopes: string[];
  readonly username: string | undefined;
  readonly refreshRatio: number;
  readonly minRemainingMs: number;
  readonly maxTokenAgeMs: number | undefined;
  readonly jitterRatio: number;
  readonly minRefreshIntervalMs: number;
  readonly maxConcurrentReauth: number;
  readonly requestTimeoutMs: number;
  readonly credentialCacheWindowMs: number;
  readonly retry: RetrySettings;
  readonly logger: Required<TokenSourceLogger>;
  readonly metrics: boolean;
  readonly name: string;
  readonly clock: TokenSourceClock;
  readonly random: () => number;
}

const KNOWN = [
  'credential',
  'scopes',
  'username',
  'refreshRatio',
  'minRemainingMs',
  'maxTokenAgeMs',
  'jitterRatio',
  'minRefreshIntervalMs',
  'maxConcurrentReauth',
  'requestTimeoutMs',
  'credentialCacheWindowMs',
  'retry',
  'logger',
  'metrics',
  'name',
  'clock',
  'random',
] as const;
const RETRY_KNOWN = ['initialDelayMs', 'maxDelayMs', 'multiplier', 'maxRetryAfterMs'] as const;
const LOGGER_LEVELS = ['debug', 'info', 'warn', 'error'] as const;
const noop = (): void => {};

function ms(v: OptionValidator, name: string, value: unknown, min: number): number {
  return v.number(
    name,
    value,
    min,
    MAX_TIMER_MS,
    `a number of ms between ${min} and ${MAX_TIMER_MS}`,
  );
}

/** Validates and normalises {@link TokenSourceOptions}; throws `INVALID_OPTION`. */
export function normalizeTokenSourceOptions(input: unknown): NormalizedTokenSourceOptions {
  const v = new OptionValidator('entra-redis TokenSource');
  const o = v.object('options', input);
  v.knownKeys('', o, KNOWN);
  const d = TOKEN_SOURCE_DEFAULTS;

  let credential: TokenCredential | undefined;
  let factory: TokenCredentialFactory | undefined;
  const c = o.credential;
  if (typeof c === 'function') factory = c as TokenCredentialFactory;
  else if (
    typeof c === 'object' &&
    c !== null &&
    typeof (c as TokenCredential).getToken === 'function'
  ) {
    credential = c as TokenCredential;
  } else {
    v.fail(
      'credential',
      'a TokenCredential (an object with getToken(), e.g. new DefaultAzureCredential()) or a ' +
        'factory such as servicePrincipalSecret({...}) from entra-redis',
      c,
    );
  }

  let scopes: string[] = [d.scopes];
  if (o.scopes !== undefined) {
    const raw = typeof o.scopes === 'string' ? [o.scopes] : o.scopes;
    if (
      !Array.isArray(raw) ||
      raw.length === 0 ||
      raw.some((s) => typeof s !== 'string' || !s.trim())
    ) {
      v.fail(
        'scopes',
        `a non-empty string or array of non-empty strings (default "${d.scopes}")`,
        o.scopes,
      );
    }
    scopes = [...(raw as string[])];
  }

  let username: string | undefined;
  if (o.username !== undefined) {
    username = v.nonEmptyString(
      'username',
      o.username,
      'a non-empty string without spaces (or omit it to use the token\'s "oid")',
    );
    if (/\s/.test(username))
      v.fail(
        'username',
        'a non-empty string without spaces (or omit it to use the token\'s "oid")',
        o.username,
      );
  }

  const refreshRatio =
    o.refreshRatio === undefined
      ? d.refreshRatio
      : v.number(
          'refreshRatio',
          o.refreshRatio,
          0,
          1,
          'a number between 0 and 1 (exclusive)',
          true,
        );
  const jitterRatio =
    o.jitterRatio === undefined
      ? d.jitterRatio
      : v.number('jitterRatio', o.jitterRatio, 0, 0.5, 'a number between 0 and 0.5 (inclusive)');
  const minRemainingMs =
    o.minRemainingMs === undefined
      ? d.minRemainingMs
      : ms(v, 'minRemainingMs', o.minRemainingMs, 0);
  const maxTokenAgeMs =
    o.maxTokenAgeMs === undefined ? undefined : ms(v, 'maxTokenAgeMs', o.maxTokenAgeMs, 1);
  const minRefreshIntervalMs =
    o.minRefreshIntervalMs === undefined
      ? d.minRefreshIntervalMs
      : ms(v, 'minRefreshIntervalMs', o.minRefreshIntervalMs, 1);
  let maxConcurrentReauth: number = d.maxConcurrentReauth;
  if (o.maxConcurrentReauth === Infinity) maxConcurrentReauth = Infinity;
  else if (o.maxConcurrentReauth !== undefined) {
    const wanted = 'a whole number of connections, at least 1 (or Infinity)';
    maxConcurrentReauth = v.number('maxConcurrentReauth', o.maxConcurrentReauth, 1, 1e6, wanted);
    if (!Number.isInteger(maxConcurrentReauth)) {
      v.fail('maxConcurrentReauth', wanted, maxConcurrentReauth, true);
    }
  }
  const requestTimeoutMs =
    o.requestTimeoutMs === undefined
      ? d.requestTimeoutMs
      : ms(v, 'requestTimeoutMs', o.requestTimeoutMs, 1);
  const credentialCacheWindowMs =
    o.credentialCacheWindowMs === undefined
      ? d.credentialCacheWindowMs
      : ms(v, 'credentialCacheWindowMs', o.credentialCacheWindowMs, 0);

  const r = o.retry === undefined ? {} : v.object('retry', o.retry);
  v.knownKeys('retry', r, RETRY_KNOWN);
  const initialDelayMs =
    r.initialDelayMs === undefined
      ? d.retry.initialDelayMs
      : ms(v, 'retry.initialDelayMs', r.initialDelayMs, 1);
  const maxDelayMs =
    r.maxDelayMs === undefined
      ? Math.max(d.retry.maxDelayMs, initialDelayMs)
      : ms(v, 'retry.maxDelayMs', r.maxDelayMs, 1);
  if (maxDelayMs < initialDelayMs) {
    v.fail(
      'retry.maxDelayMs',
      `at least "retry.initialDelayMs" (${initialDelayMs})`,
      maxDelayMs,
      true,
    );
  }
  const multiplier =
    r.multiplier === undefined
      ? d.retry.multiplier
      : v.number('retry.multiplier', r.multiplier, 1, 100, 'a number between 1 and 100');
  const maxRetryAfterMs =
    r.maxRetryAfterMs === undefined
      ? d.retry.maxRetryAfterMs
      : ms(v, 'retry.maxRetryAfterMs', r.maxRetryAfterMs, 0);

  const logger: Required<TokenSourceLogger> = { debug: noop, info: noop, warn: noop, error: noop };
  if (o.logger !== undefined) {
    const l = v.object('logger', o.logger);
    for (const level of LOGGER_LEVELS) {
      const fn = l[level];
      if (fn === undefined) continue;
      v.func(`logger.${level}`, fn, 'a function (message, fields) => void');
      logger[level] = (message, fields) =>
        (fn as (m: string, f?: Record<string, unknown>) => void).call(l, message, fields);
    }
  }

  const metrics = o.metrics === undefined ? d.metrics : v.boolean('metrics', o.metrics);
  const name = o.name === undefined ? d.name : v.nonEmptyString('name', o.name);
  let clock = systemClock;
  if (o.clock !== undefined) {
    const k = v.object('clock', o.clock);
    for (const m of ['now', 'setTimeout', 'clearTimeout']) v.func(`clock.${m}`, k[m]);
    clock = k as unknown as TokenSourceClock;
  }
  const random = o.random === undefined ? Math.random : v.func<() => number>('random', o.random);

  return {
    credential,
    factory,
    scopes,
    username,
    refreshRatio,
    minRemainingMs,
    maxTokenAgeMs,
    jitterRatio,
    minRefreshIntervalMs,
    maxConcurrentReauth,
    requestTimeoutMs,
    credentialCacheWindowMs,
    retry: { initialDelayMs, maxDelayMs, multiplier, maxRetryAfterMs },
    logger,
    metrics,
    name,
    clock,
    random,
  };
}
