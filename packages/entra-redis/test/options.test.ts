import { describe, expect, it } from 'vitest';
import { TOKEN_SOURCE_DEFAULTS, TokenSource, isEntraRedisError } from 'entra-redis';
import { ScriptedCredential } from './fakes.js';

const credential = new ScriptedCredential(() => null);

const invalid: Array<[string, unknown, string]> = [
  ['options not an object', 'oops', '"options" must be an object; got string'],
  ['credential missing', {}, '"credential" must be a TokenCredential'],
  ['credential without getToken', { credential: {} }, '"credential" must be a TokenCredential'],
  [
    'refreshRatio as string',
    { credential, refreshRatio: '0.5' },
    '"refreshRatio" must be a number between 0 and 1 (exclusive); got string',
  ],
  [
    'refreshRatio 1',
    { credential, refreshRatio: 1 },
    '"refreshRatio" must be a number between 0 and 1 (exclusive); got 1',
  ],
  ['refreshRatio 0', { credential, refreshRatio: 0 }, 'got 0'],
  ['refreshRatio NaN', { credential, refreshRatio: Number.NaN }, 'got NaN'],
  [
    'percent instead of ratio',
    { credential, refreshRatio: 75 },
    'between 0 and 1 (exclusive); got 75',
  ],
  [
    'negative minRemainingMs',
    { credential, minRemainingMs: -1 },
    '"minRemainingMs" must be a number of ms between 0 and',
  ],
  [
    'jitterRatio too large',
    { credential, jitterRatio: 0.9 },
    '"jitterRatio" must be a number between 0 and 0.5',
  ],
  [
    'floor of zero',
    { credential, minRefreshIntervalMs: 0 },
    '"minRefreshIntervalMs" must be a number of ms between 1 and',
  ],
  [
    'timeout Infinity',
    { credential, requestTimeoutMs: Infinity },
    '"requestTimeoutMs" must be a number of ms',
  ],
  [
    'timeout beyond timer range',
    { credential, requestTimeoutMs: 2 ** 32 },
    '"requestTimeoutMs" must be a number of ms',
  ],
  [
    'empty scopes array',
    { credential, scopes: [] },
    '"scopes" must be a non-empty string or array',
  ],
  ['blank scope', { credential, scopes: ['  '] }, '"scopes" must be a non-empty string or array'],
  [
    'username with space',
    { credential, username: 'a b' },
    '"username" must be a non-empty string without spaces',
  ],
  ['retry not an object', { credential, retry: 5 }, '"retry" must be an object; got number'],
  [
    'retry cap below initial',
    { credential, retry: { initialDelayMs: 2000, maxDelayMs: 1000 } },
    '"retry.maxDelayMs" must be at least "retry.initialDelayMs"',
  ],
  [
    'multiplier below 1',
    { credential, retry: { multiplier: 0.5 } },
    '"retry.multiplier" must be a number between 1 and 100',
  ],
  ['unknown retry key', { credential, retry: { maxDelay: 1 } }, 'unknown option "retry.maxDelay"'],
  ['typo in option name', { credential, refreshratio: 0.5 }, 'unknown option "refreshratio"'],
  [
    'logger member not a function',
    { credential, logger: { warn: 'yes' } },
    '"logger.warn" must be a function',
  ],
  [
    'metrics not boolean',
    { credential, metrics: 'on' },
    '"metrics" must be true or false; got string',
  ],
  [
    'clock incomplete',
    { credential, clock: { now: () => 0 } },
    '"clock.setTimeout" must be a function',
  ],
];

describe('TokenSource option validation', () => {
  it.each(invalid)('rejects %s', (_label, options, fragment) => {
    let error: unknown;
    try {
      new TokenSource(options as never);
    } catch (e) {
      error = e;
    }
    expect(isEntraRedisError(error)).toBe(true);
    expect(error).toMatchObject({ code: 'INVALID_OPTION', isRetryable: false });
    expect((error as Error).message).toContain(fragment);
    expect((error as Error).message).toMatch(/^entra-redis TokenSource: /);
  });

  it('has ≥ 15 invalid configurations in the table', () => {
    expect(invalid.length).toBeGreaterThanOrEqual(15);
  });

  it('never echoes a string value (it may be a secret)', () => {
    const secret = 'super-secret-value-123';
    for (const options of [
      { credential: secret },
      { credential, username: `${secret} x` },
      { credential, scopes: [secret, ''] },
    ]) {
      expect(() => new TokenSource(options as never)).toThrow(/got (string|array)/);
      try {
        new TokenSource(options as never);
      } catch (e) {
        expect(String((e as Error).message)).not.toContain(secret);
      }
    }
  });

  it('accepts a factory, defaults, and documents the defaults in one constant', async () => {
    expect(TOKEN_SOURCE_DEFAULTS).toMatchObject({
      scopes: 'https://redis.azure.com/.default',
      refreshRatio: 0.75,
      minRemainingMs: 300_000,
      minRefreshIntervalMs: 1_000,
    });
    expect(TOKEN_SOURCE_DEFAULTS.minRemainingMs).toBeGreaterThanOrEqual(180_000);
    expect(Object.isFrozen(TOKEN_SOURCE_DEFAULTS)).toBe(true);
    const source = new TokenSource({ credential: () => credential, metrics: false });
    await source.close();
  });

  it('requests the default Redis scope', async () => {
    const spy = new ScriptedCredential(() => null);
    const source = new TokenSource({ credential: spy, metrics: false });
    await source.getCredentials().catch(() => {});
    await source.close();
    expect(spy.calls).toBe(1);
  });
});
