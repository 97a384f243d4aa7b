import { afterEach, describe, expect, it, vi } from 'vitest';
import { TokenSource, isEntraRedisError, type TokenSourceOptions } from 'entra-redis';
import type { AccessToken, TokenCredential } from '@azure/identity';
import {
  FakeClock,
  OID,
  ScriptedCredential,
  deferred,
  flush,
  issueToken,
  makeJwt,
  networkError,
  trackTimers,
} from './fakes.js';
import { FanOut } from '../src/token/fan-out.js';

const sources: TokenSource[] = [];
afterEach(async () => {
  for (const s of sources.splice(0)) await s.close();
});

function create(
  clock: FakeClock,
  options: Partial<TokenSourceOptions> & Pick<TokenSourceOptions, 'credential'>,
) {
  const source = new TokenSource({ clock, random: () => 0, metrics: false, ...options });
  sources.push(source);
  return source;
}

describe('TokenSource: first acquisition and concurrency', () => {
  it('serves 100 concurrent callers with exactly one getToken call', async () => {
    const clock = new FakeClock();
    const gate = deferred<AccessToken>();
    const credential = new ScriptedCredential(() => gate.promise);
    const source = create(clock, { credential });
    const all = Promise.all(Array.from({ length: 100 }, () => source.getCredentials()));
    await flush();
    expect(credential.calls).toBe(1);
    const token = issueToken(clock.now(), 3_600_000);
    gate.resolve(token);
    const results = await all;
    expect(credential.calls).toBe(1);
    expect(new Set(results).size).toBe(1);
    expect(results[0]!.username).toBe(OID);
    expect(results[0]!.password).toBe(token.token);
    expect(source.current()).toBe(results[0]);
    expect(credential.signals[0]).toBeDefined();
  });

  it('rejects every waiter with the same error when the first request fails; a later call retries', async () => {
    const clock = new FakeClock();
    const gate = deferred<AccessToken>();
    let n = 0;
    const credential = new ScriptedCredential(() =>
      ++n === 1 ? gate.promise : issueToken(clock.now(), 60_000),
    );
    const source = create(clock, { credential });
    const waiters = Array.from({ length: 50 }, () =>
      source.getCredentials().then(
        () => 'ok',
        (e: unknown) => e,
      ),
    );
    await flush();
    gate.reject(
      Object.assign(new Error('invalid_client: AADSTS7000215: Invalid client secret provided.'), {
        name: 'AuthenticationError',
        statusCode: 400,
      }),
    );
    const errors = await Promise.all(waiters);
    expect(new Set(errors).size).toBe(1);
    const error = errors[0];
    expect(isEntraRedisError(error)).toBe(true);
    expect(error).toMatchObject({
      code: 'TOKEN_REQUEST_FAILED',
      isRetryable: false,
      statusCode: 400,
    });
    // A later call retries (after the floor between requests), long before the capped retry.
    const later = source.getCredentials();
    await clock.advance(1_000);
    await expect(later).resolves.toMatchObject({ username: OID });
    expect(credential.calls).toBe(2);
  });

  it('returns null or malformed tokens as failures, then recovers', async () => {
    const clock = new FakeClock();
    const answers: Array<AccessToken | null> = [
      null,
      { token: 'not-a-jwt', expiresOnTimestamp: clock.now() + 60_000 },
      { token: makeJwt({ exp: 2e9 }), expiresOnTimestamp: clock.now() + 60_000 },
    ];
    const credential = new ScriptedCredential(({ n }) =>
      n <= answers.length ? answers[n - 1]! : issueToken(clock.now(), 60_000),
    );
    const source = create(clock, { credential });
    const codes: string[] = [];
    source.on('refreshFailed', (e) => codes.push(e.error.code));
    source.start();
    await clock.advance(30_000);
    expect(codes).toEqual(['TOKEN_REQUEST_FAILED', 'TOKEN_MALFORMED', 'TOKEN_MALFORMED']);
    expect(source.current()?.username).toBe(OID);
  });
});

describe('TokenSource: refresh schedule', () => {
  it('refreshes at refreshRatio of a 60-minute token, never later than minRemainingMs', async () => {
    const clock = new FakeClock();
    const credential = new ScriptedCredential(() => issueToken(clock.now(), 3_600_000));
    const source = create(clock, { credential, minRemainingMs: 300_000, refreshRatio: 0.75 });
    const refreshed: number[] = [];
    source.on('refreshed', (e) => refreshed.push(e.nextRefreshAtMs));
    const t0 = clock.now();
    await source.getCredentials();
    expect(refreshed[0]).toBe(t0 + 2_700_000);
    await clock.advance(2_700_000 - 1);
    expect(credential.calls).toBe(1);
    await clock.advance(1);
    expect(credential.calls).toBe(2);
  });

  it('uses minRemainingMs when it comes first, and the ratio alone for tokens shorter than it', async () => {
    const clock = new FakeClock();
    let lifetimeMs = 600_000;
    const credential = new ScriptedCredential(() => issueToken(clock.now(), lifetimeMs));
    const source = create(clock, { credential, minRemainingMs: 300_000, refreshRatio: 0.75 });
    const next: number[] = [];
    source.on('refreshed', (e) => next.push(e.nextRefreshAtMs - clock.now()));
    await source.getCredentials();
    expect(next[0]).toBe(300_000); // min(0.75 * 10 min, 10 min - 5 min)
    lifetimeMs = 2_000;
    await clock.advance(300_000);
    expect(next[1]).toBe(1_500); // 2 s token: 0.75 * 2 s
  });

  it('maxTokenAgeMs refreshes a long-lived token that long after issue; earlier points still win', async () => {
    const clock = new FakeClock();
    let lifetimeMs = 3_600_000;
    const credential = new ScriptedCredential(() => issueToken(clock.now(), lifetimeMs));
    const source = create(clock, { credential, maxTokenAgeMs: 60_000 });
    const next: number[] = [];
    source.on('refreshed', (e) => next.push(e.nextRefreshAtMs - clock.now()));
    await source.getCredentials();
    expect(next[0]).toBe(60_000); // not 45 minutes (0.75 of the hour)
    await clock.advance(60_000 - 1);
    expect(credential.calls).toBe(1);
    lifetimeMs = 40_000;
    await clock.advance(1);
    expect(credential.calls).toBe(2);
    expect(next[1]).toBe(30_000); // a 40 s token: 0.75 * 40 s comes before 60 s

    for (const bad of [0, -1, Number.NaN, '60000']) {
      expect(() => new TokenSource({ credential, maxTokenAgeMs: bad as number })).toThrow(
        /"maxTokenAgeMs" must be a number of ms between 1 and/,
      );
    }
  });

  it('maxTokenAgeMs with a factory over MSAL-like caches: a fresh token every period', async () => {
    const clock = new FakeClock();
    const issuedAt: number[] = [];
    const source = create(clock, {
      credential: () => {
        let cached: AccessToken | undefined;
        return {
          getToken: async () => {
            if (cached && cached.expiresOnTimestamp - clock.now() > 300_000) return cached;
            issuedAt.push(clock.now());
            cached = issueToken(clock.now(), 3_600_000);
            return cached;
          },
        };
      },
      maxTokenAgeMs: 60_000,
    });
    const seen: string[] = [];
    source.onCredentials((c) => seen.push(c.password));
    await source.getCredentials();
    await clock.advance(5 * 61_000);
    // The cached answer at 60 s rebuilds the credential; the floor (1 s) then sends the request.
    expect(issuedAt.map((t) => t - issuedAt[0]!)).toEqual([
      0, 61_000, 122_000, 183_000, 244_000, 305_000,
    ]);
    expect(new Set(seen).size).toBe(6);
  });

  it('keeps jitter within [(1 - jitterRatio) * wait, wait]', async () => {
    for (const r of [0, 0.25, 0.5, 0.999]) {
      const clock = new FakeClock();
      const credential = new ScriptedCredential(() => issueToken(clock.now(), 3_600_000));
      const source = create(clock, { credential, jitterRatio: 0.1, random: () => r });
      let wait = 0;
      source.on('refreshed', (e) => (wait = e.nextRefreshAtMs - clock.now()));
      await source.getCredentials();
      expect(wait).toBeGreaterThanOrEqual(0.9 * 2_700_000);
      expect(wait).toBeLessThanOrEqual(2_700_000);
      expect(wait).toBe(Math.round(2_700_000 * (1 - 0.1 * r)));
    }
  });

  it('never requests more often than minRefreshIntervalMs, even for very short tokens', async () => {
    const clock = new FakeClock();
    const starts: number[] = [];
    const credential = new ScriptedCredential(() => {
      starts.push(clock.now());
      return issueToken(clock.now(), 1_000); // exp has 1 s resolution
    });
    const source = create(clock, { credential, minRefreshIntervalMs: 1_000 });
    source.start();
    await clock.advance(10_000);
    const gaps = starts.slice(1).map((t, i) => t - starts[i]!);
    expect(gaps.length).toBeGreaterThan(3);
    for (const gap of gaps) expect(gap).toBeGreaterThanOrEqual(1_000);
  });

  it('warns once when the floor puts the refresh in the last quarter of a short token', async () => {
    const clock = new FakeClock();
    clock.nowMs = 1_700_000_000_950; // whole-second exp: a "2-second" token lives 1.05 s
    const warnings: string[] = [];
    const credential = new ScriptedCredential(() => issueToken(clock.now(), 2_000));
    const source = create(clock, {
      credential,
      refreshRatio: 0.5,
      logger: { warn: (message) => warnings.push(message) },
    });
    await source.getCredentials();
    await clock.advance(5_000);
    expect(warnings.filter((w) => w.includes('minRefreshIntervalMs'))).toHaveLength(1);
    expect(warnings[0]).toMatch(/lower minRefreshIntervalMs below half the token lifetime/);

    const quiet: string[] = [];
    const clock2 = new FakeClock();
    clock2.nowMs = 1_700_000_000_950;
    const lowFloor = create(clock2, {
      credential: new ScriptedCredential(() => issueToken(clock2.now(), 2_000)),
      refreshRatio: 0.5,
      minRefreshIntervalMs: 200,
      logger: { warn: (message) => quiet.push(message) },
    });
    await lowFloor.getCredentials();
    await clock2.advance(5_000);
    expect(quiet).toEqual([]);
  });

  it('takes the earlier of expiresOnTimestamp and the JWT exp', async () => {
    const clock = new FakeClock();
    const exp = Math.floor(clock.now() / 1000) + 600;
    let reported = exp * 1000 + 300_000;
    const credential = new ScriptedCredential(() => ({
      token: makeJwt({ oid: OID, exp, iat: exp - 600, jti: String(reported) }),
      expiresOnTimestamp: reported,
    }));
    const source = create(clock, { credential });
    expect((await source.getCredentials()).expiresAtMs).toBe(exp * 1000);
    reported = exp * 1000 - 60_000;
    await clock.advance(300_000);
    expect(source.current()?.expiresAtMs).toBe(reported);
  });
});

describe('TokenSource: failures, outage and recovery', () => {
  it('serves the last token through an outage, fails fast after expiry, retries at a capped rate and recovers', async () => {
    const clock = new FakeClock();
    let down = false;
    let requestsWhileDown = 0;
    const credential = new ScriptedCredential(() => {
      if (down) {
        requestsWhileDown += 1;
        throw networkError('ECONNREFUSED');
      }
      return issueToken(clock.now(), 10_000);
    });
    const source = create(clock, { credential, random: Math.random, retry: { maxDelayMs: 4_000 } });
    const events: string[] = [];
    const expired: unknown[] = [];
    const recovered: Array<{ outageMs: number; attempts: number; wasExpired: boolean }> = [];
    const retryIns: number[] = [];
    source.on('refreshFailed', (e) => {
      events.push('refreshFailed');
      retryIns.push(e.retryInMs);
    });
    source.on('expired', (e) => {
      events.push('expired');
      expired.push(e.cause);
    });
    source.on('recovered', (e) => recovered.push(e));
    const first = await source.getCredentials();
    down = true;
    await clock.advance(first.expiresAtMs - clock.now() - 100);
    expect(source.current()).toBe(first); // still served while valid
    await clock.advance(200);
    expect(source.current()).toBeUndefined();
    expect(events.filter((e) => e === 'expired')).toHaveLength(1);
    expect(isEntraRedisError(expired[0])).toBe(true);
    // Fails fast (no clock advance needed), naming the cause.
    const error = await source.getCredentials().catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 'TOKEN_EXPIRED', isRetryable: true });
    expect((error as Error).message).toContain('ECONNREFUSED');
    expect((error as { cause: { code: string } }).cause.code).toBe('TOKEN_REQUEST_FAILED');
    // Outage of 60 s, six times the token lifetime.
    await clock.advance(60_000);
    expect(requestsWhileDown).toBeGreaterThan(60_000 / 4_000);
    expect(requestsWhileDown).toBeLessThanOrEqual(61); // floor: at most one per second
    for (const ms of retryIns) expect(ms).toBeLessThanOrEqual(4_000);
    for (const ms of retryIns) expect(ms).toBeGreaterThanOrEqual(0);
    down = false;
    const backAt = clock.now();
    let recoveredAt = 0;
    source.once('refreshed', () => (recoveredAt = clock.now()));
    await clock.advance(5_000);
    expect(recoveredAt).toBeGreaterThan(0);
    expect(recoveredAt - backAt).toBeLessThanOrEqual(4_000);
    expect(recovered).toHaveLength(1);
    expect(recovered[0]!.attempts).toBe(requestsWhileDown);
    expect(recovered[0]!.wasExpired).toBe(true);
    expect(recovered[0]!.outageMs).toBeGreaterThan(60_000);
    await expect(source.getCredentials()).resolves.toMatchObject({ username: OID });
  });

  it('retries non-transient errors forever at the capped rate', async () => {
    const clock = new FakeClock();
    const credential = new ScriptedCredential(() => {
      throw Object.assign(new Error('unauthorized_client'), {
        name: 'AuthenticationError',
        statusCode: 401,
      });
    });
    const source = create(clock, {
      credential,
      random: Math.random,
      retry: { maxDelayMs: 10_000 },
    });
    const delays: number[] = [];
    source.on('refreshFailed', (e) => delays.push(e.retryInMs));
    source.start();
    await clock.advance(600_000);
    expect(delays.length).toBeGreaterThanOrEqual(60);
    expect(delays.length).toBeLessThanOrEqual(76);
    for (const d of delays) {
      expect(d).toBeGreaterThanOrEqual(8_000);
      expect(d).toBeLessThanOrEqual(10_000);
    }
    expect(clock.pendingTimers).toBe(1);
  });

  it('honours Retry-After on 429 (bounded by maxRetryAfterMs)', async () => {
    const clock = new FakeClock();
    let retryAfter = '7';
    const credential = new ScriptedCredential(() => {
      throw Object.assign(new Error('Too Many Requests'), {
        statusCode: 429,
        headers: { 'Retry-After': retryAfter },
      });
    });
    const source = create(clock, { credential, retry: { maxRetryAfterMs: 30_000 } });
    const delays: number[] = [];
    source.on('refreshFailed', (e) => delays.push(e.retryInMs));
    source.start();
    await flush();
    retryAfter = '3600';
    await clock.advance(7_000);
    expect(delays).toEqual([7_000, 30_000]);
  });

  it('times a hanging request out, aborts its signal, and retries', async () => {
    const clock = new FakeClock();
    const credential = new ScriptedCredential(({ n }) =>
      n === 1 ? new Promise<AccessToken>(() => {}) : issueToken(clock.now(), 60_000),
    );
    const source = create(clock, { credential, requestTimeoutMs: 5_000 });
    const pending = source.getCredentials().catch((e: unknown) => e);
    await clock.advance(5_000);
    expect(await pending).toMatchObject({ code: 'TOKEN_REQUEST_TIMEOUT', isRetryable: true });
    expect(credential.signals[0]!.aborted).toBe(true);
    await clock.advance(1_000);
    expect(source.current()?.username).toBe(OID);
  });

  it('never lets an abandoned older answer overwrite a newer token', async () => {
    const clock = new FakeClock();
    const late = deferred<AccessToken>();
    const credential = new ScriptedCredential(({ n }) =>
      n === 1 ? late.promise : issueToken(clock.now(), 60_000),
    );
    const source = create(clock, { credential, requestTimeoutMs: 2_000 });
    source.start();
    await clock.advance(3_000);
    const newer = source.current();
    expect(newer).toBeDefined();
    late.resolve(issueToken(clock.now(), 3_600_000));
    await clock.advance(10);
    expect(source.current()).toBe(newer);
  });
});

describe('TokenSource: credential caches (MSAL returns its cached token)', () => {
  /** Simulates MSAL: a cached token is returned while more than 5 minutes remain. */
  function msalLike(
    clock: FakeClock,
    server: { issued: number },
    cache: { token?: AccessToken } = {},
  ): TokenCredential {
    return {
      getToken: async () => {
        const cached = cache.token;
        if (cached && cached.expiresOnTimestamp - clock.now() > 300_000) return cached;
        server.issued += 1;
        cache.token = issueToken(clock.now(), 3_600_000);
        return cache.token;
      },
    };
  }

  it('with one credential instance: asks again inside the cache window, no tight loop', async () => {
    const clock = new FakeClock();
    const server = { issued: 0 };
    const inner = msalLike(clock, server);
    const credential = new ScriptedCredential(({ scopes, options }) =>
      inner.getToken(scopes, options),
    );
    const source = create(clock, { credential });
    const seen: string[] = [];
    source.onCredentials((c) => seen.push(c.password));
    const first = await source.getCredentials();
    await clock.advance(2_700_000); // the 75% point: MSAL answers from its cache
    expect(credential.calls).toBe(2);
    expect(server.issued).toBe(1);
    expect(source.current()).toBe(first);
    expect(clock.dueTimes[0]).toBe(first.expiresAtMs - 300_000 + 2_000);
    await clock.advance(first.expiresAtMs - 300_000 - clock.now()); // no call before the window
    expect(credential.calls).toBe(2);
    await clock.advance(2_000);
    expect(credential.calls).toBe(3);
    expect(server.issued).toBe(2);
    expect(seen).toHaveLength(2); // one notification per new token, none for the cached one
    expect(new Set(seen).size).toBe(2);
    expect(source.current()!.expiresAtMs - clock.now()).toBeGreaterThan(3_500_000);
  });

  it('with a factory: builds a fresh credential (empty cache) and gets a new token at once', async () => {
    const clock = new FakeClock();
    const server = { issued: 0 };
    let built = 0;
    const source = create(clock, {
      credential: () => {
        built += 1;
        return msalLike(clock, server);
      },
    });
    const first = await source.getCredentials();
    await clock.advance(2_700_000 + 1_000);
    expect(built).toBe(2);
    expect(server.issued).toBe(2);
    expect(source.current()!.issuedAtMs).toBeGreaterThan(first.issuedAtMs);
  });

  it('with a factory: a new credential every 32 tokens (@azure/identity keeps state per request); one credential object is kept', async () => {
    const clock = new FakeClock();
    const built: ScriptedCredential[] = [];
    const source = create(clock, {
      credential: () => {
        const credential = new ScriptedCredential(() => issueToken(clock.now(), 60_000));
        built.push(credential);
        return credential;
      },
    });
    await source.getCredentials();
    for (let i = 1; i < 100; i++) await clock.advance(45_000);
    expect(built.map((c) => c.calls)).toEqual([32, 32, 32, 4]);

    const single = new ScriptedCredential(() => issueToken(clock.now(), 60_000));
    const kept = create(clock, { credential: single });
    await kept.getCredentials();
    for (let i = 1; i < 100; i++) await clock.advance(45_000);
    expect(single.calls).toBe(100);
  });

  it('with a factory over a process-wide cache (managed identity): falls back to the cache window', async () => {
    const clock = new FakeClock();
    const server = { issued: 0 };
    const shared = {};
    let built = 0;
    const source = create(clock, {
      credential: () => {
        built += 1;
        return msalLike(clock, server, shared);
      },
    });
    const first = await source.getCredentials();
    await clock.advance(2_700_000 + 1_000);
    expect(built).toBe(2);
    expect(server.issued).toBe(1);
    expect(clock.dueTimes[0]).toBe(first.expiresAtMs - 298_000);
    await clock.advance(first.expiresAtMs - 298_000 - clock.now());
    expect(server.issued).toBe(2);
    expect(source.current()!.expiresAtMs).toBeGreaterThan(first.expiresAtMs);
  });
});

describe('TokenSource: listeners and lifecycle', () => {
  it('does not leak listeners over 1000 subscribe/unsubscribe cycles', async () => {
    const clock = new FakeClock();
    const credential = new ScriptedCredential(() => issueToken(clock.now(), 60_000));
    const source = create(clock, { credential });
    const keep = vi.fn();
    const offKeep = source.onCredentials(keep);
    for (let i = 0; i < 1000; i++) {
      const off = source.onCredentials(() => {});
      const onRefreshed = (): void => {};
      source.on('refreshed', onRefreshed);
      off();
      off(); // idempotent: must not remove anyone else
      source.off('refreshed', onRefreshed);
    }
    expect(source.listenerCount('credentials')).toBe(1);
    expect(source.listenerCount('refreshed')).toBe(0);
    await clock.advance(100_000);
    expect(keep).toHaveBeenCalledTimes(credential.calls);
    offKeep();
    expect(source.listenerCount('credentials')).toBe(0);
  });

  it('isolates listeners and loggers that throw', async () => {
    const clock = new FakeClock();
    const credential = new ScriptedCredential(() => issueToken(clock.now(), 60_000));
    const errors: string[] = [];
    const source = create(clock, {
      credential,
      logger: {
        info: () => {
          throw new Error('logger down');
        },
        error: (message) => errors.push(message),
      },
    });
    const good = vi.fn();
    source.on('refreshed', () => {
      throw new Error('bad listener');
    });
    source.onCredentials(() => {
      throw new Error('bad subscriber');
    });
    source.onCredentials(async () => {
      throw new Error('bad async subscriber');
    });
    source.onCredentials(good);
    await expect(source.getCredentials()).resolves.toBeDefined();
    await flush();
    expect(good).toHaveBeenCalledTimes(1);
    expect(errors.length).toBe(3);
    await clock.advance(60_000);
    expect(good).toHaveBeenCalledTimes(2);
  });

  it('close during a pending request: waiters reject SOURCE_CLOSED, signal aborted, nothing left', async () => {
    const clock = new FakeClock();
    const credential = new ScriptedCredential(() => new Promise<AccessToken>(() => {}));
    const source = create(clock, { credential });
    const waiters = [source.getCredentials(), source.getCredentials()].map((p) =>
      p.catch((e: unknown) => e),
    );
    await flush();
    expect(clock.pendingTimers).toBe(1); // the request timeout
    await source.close();
    await source.close(); // idempotent
    for (const e of await Promise.all(waiters)) expect(e).toMatchObject({ code: 'SOURCE_CLOSED' });
    expect(credential.signals[0]!.aborted).toBe(true);
    expect(clock.pendingTimers).toBe(0);
    await expect(source.getCredentials()).rejects.toMatchObject({ code: 'SOURCE_CLOSED' });
    expect(source.current()).toBeUndefined();
    expect(source.listenerCount('credentials')).toBe(0);
  });

  it('leaves no real timer behind after close (system clock, Symbol.asyncDispose)', async () => {
    // Our timers are unref'ed (getActiveResourcesInfo() does not list them) and taken when the
    // library loaded (a spy on globalThis.setTimeout would not see them): track them instead.
    const timers = trackTimers();
    try {
      const gate = deferred<AccessToken>();
      const credential = new ScriptedCredential(({ n }) =>
        n === 1 ? issueToken(Date.now(), 3_600_000) : gate.promise,
      );
      {
        await using source = new TokenSource({ credential, metrics: false });
        await source.getCredentials();
        await flush();
        expect(timers.live()).toHaveLength(2); // refresh + expiry timers
        for (const t of timers.live()) expect(t.hasRef()).toBe(false);
      }
      await flush();
      expect(timers.live()).toHaveLength(0);
    } finally {
      timers.stop();
    }
  });

  it('close with a request in flight on the system clock leaves no timer', async () => {
    const timers = trackTimers();
    try {
      const credential = new ScriptedCredential(() => new Promise<AccessToken>(() => {}));
      const source = new TokenSource({ credential, metrics: false });
      const waiter = source.getCredentials().catch((e: unknown) => e);
      await flush();
      expect(timers.live()).toHaveLength(1); // the request timeout
      await source.close();
      expect(await waiter).toMatchObject({ code: 'SOURCE_CLOSED' });
      await flush();
      expect(timers.live()).toHaveLength(0);
    } finally {
      timers.stop();
    }
  });
});

describe('TokenSource: paced re-authentication fan-out', () => {
  /** A source whose next token arrives with `rotate()`; `seen[i]` lists listener i's tokens. */
  async function paced(maxConcurrentReauth?: number, lifetimeMs = 3_600_000) {
    const clock = new FakeClock();
    const credential = new ScriptedCredential(() => issueToken(clock.now(), lifetimeMs));
    const errors: string[] = [];
    const source = create(clock, {
      credential,
      minRefreshIntervalMs: 10, // short test tokens: refresh at the ratio, not at the 1 s floor
      ...(maxConcurrentReauth === undefined ? {} : { maxConcurrentReauth }),
      logger: { error: (message) => errors.push(message) },
    });
    await source.getCredentials();
    const rotate = async (): Promise<string> => {
      const before = source.current()!.password;
      // Small steps until the refresh brings a new token (well under the 2 s a re-AUTH may hold
      // its place, so no slot times out within the step that brought the token).
      const step = Math.max(1, Math.floor(lifetimeMs / 10_000));
      for (let i = 0; i < 20_000 && source.current()?.password === before; i++) {
        await clock.advance(step);
      }
      return source.current()!.password;
    };
    return { clock, source, rotate, errors };
  }

  it('keeps at most maxConcurrentReauth re-AUTHs pending; each answer lets the next one go', async () => {
    const { source, rotate } = await paced(8);
    const answers: Array<ReturnType<typeof deferred<void>>> = [];
    const called: number[] = [];
    for (let i = 0; i < 100; i++) {
      source.onCredentials(() => {
        called.push(i);
        const answer = deferred<void>();
        answers.push(answer);
        return answer.promise;
      });
    }
    await rotate();
    expect(called).toEqual([0, 1, 2, 3, 4, 5, 6, 7]);
    answers[3]!.resolve();
    answers[0]!.reject(new Error('refused')); // a refused re-AUTH frees its place too
    await flush();
    expect(called).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    for (let i = 0; i < 100; i++) {
      answers[i]?.resolve();
      await flush();
    }
    expect(called).toEqual(Array.from({ length: 100 }, (_, i) => i));
  });

  it('calls listeners that return nothing at once, in subscription order', async () => {
    const { source, rotate } = await paced(2);
    const called: number[] = [];
    for (let i = 0; i < 50; i++) source.onCredentials(() => void called.push(i));
    await rotate();
    expect(called).toEqual(Array.from({ length: 50 }, (_, i) => i));
  });

  it('an unanswered re-AUTH holds its place for 2 s at most', async () => {
    const { clock, source, rotate } = await paced(1);
    const called: number[] = [];
    for (let i = 0; i < 3; i++) {
      source.onCredentials(() => {
        called.push(i);
        return new Promise(() => {}); // a connection that never answers
      });
    }
    await rotate();
    expect(called).toEqual([0]);
    await clock.advance(1_999);
    expect(called).toEqual([0]);
    await clock.advance(1);
    expect(called).toEqual([0, 1]);
    await clock.advance(2_000);
    expect(called).toEqual([0, 1, 2]);
    await clock.advance(2_000);
    expect(clock.pendingTimers).toBe(2); // the refresh and expiry timers, no slot timer left
  });

  it("stops pacing at a quarter of the old token's remaining life (30 s at most); short-lived tokens are not paced", async () => {
    // 1-hour tokens: the old one has minutes left, so 30 s; 20-second tokens: about 1.6 s;
    // 4-second tokens: about 0.3 s, under a second: no pacing at all.
    const pacedFor: number[] = [];
    for (const lifetimeMs of [3_600_000, 20_000, 4_000]) {
      const { clock, source, rotate } = await paced(4, lifetimeMs);
      const oldExpiresAtMs = source.current()!.expiresAtMs;
      let called = 0;
      for (let i = 0; i < 100; i++) {
        source.onCredentials(() => {
          called++;
          return new Promise(() => {}); // a partition: no connection answers
        });
      }
      await rotate();
      const startMs = clock.now();
      const deadlineMs = Math.min(30_000, (oldExpiresAtMs - startMs) / 4);
      if (deadlineMs < 1_000) {
        expect(called, `${lifetimeMs}`).toBe(100);
        continue;
      }
      pacedFor.push(lifetimeMs);
      expect(called).toBe(4);
      await clock.advance(deadlineMs - 1 - (clock.now() - startMs));
      expect(called, `${lifetimeMs}`).toBeLessThan(100);
      await clock.advance(1);
      expect(called, `${lifetimeMs}`).toBe(100);
    }
    expect(pacedFor).toEqual([3_600_000, 20_000]);
  });

  it('a newer token starts its own fan-out; unsubscribed listeners and a closed source are skipped', async () => {
    // 20-second tokens: the first fan-out reaches its deadline (about 1.6 s) long before the
    // next token; nobody answers until told to.
    const { source, rotate } = await paced(1, 20_000);
    const seen: string[][] = [[], [], [], []];
    const answers: Array<ReturnType<typeof deferred<void>>> = [];
    const offs = seen.map((tokens) =>
      source.onCredentials((c) => {
        tokens.push(c.password);
        const answer = deferred<void>();
        answers.push(answer);
        return answer.promise;
      }),
    );
    const first = await rotate();
    expect(seen.map((t) => t.length)).toEqual([1, 0, 0, 0]);
    const second = await rotate();
    expect(seen).toEqual([[first, second], [first], [first], [first]]);
    answers[0]!.resolve(); // an answer to the first fan-out does not pace the second
    await flush();
    expect(seen.map((t) => t.length)).toEqual([2, 1, 1, 1]);
    offs[1]!();
    answers[4]!.resolve(); // listener 0's answer to the second token: listener 1 left, 2 goes
    await flush();
    expect(seen.map((t) => t.length)).toEqual([2, 1, 2, 1]);
    await source.close();
    answers[5]!.resolve();
    await flush();
    expect(seen[3]).toEqual([first]);
  });

  it('a newer token within the pacing takes over the queue: nobody gets the older one after it', async () => {
    const clock = new FakeClock();
    const fanOut = new FanOut(1, clock, () => {});
    const seen: string[][] = [[], [], []];
    const answers: Array<ReturnType<typeof deferred<void>>> = [];
    const listeners = seen.map((tokens) => ({
      receiveCredentials: (c: { password: string }) => {
        tokens.push(c.password);
        const answer = deferred<void>();
        answers.push(answer);
        return answer.promise;
      },
    }));
    const token = (password: string) => ({ password }) as never;
    fanOut.deliver(listeners, token('A'), () => true, clock.now() + 60_000);
    fanOut.deliver(listeners, token('B'), () => true, clock.now() + 60_000);
    answers[0]!.resolve(); // listener 0's answer to A
    await flush();
    expect(seen).toEqual([['A', 'B'], [], []]);
    answers[1]!.resolve(); // listener 0's answer to B
    await flush();
    expect(seen).toEqual([['A', 'B'], ['B'], []]);
    fanOut.cancel();
    answers[2]!.resolve();
    await flush();
    expect(seen[2]).toEqual([]);
    expect(clock.pendingTimers).toBe(0);
  });

  it('stopping a fan-out leaves no timer behind, even for re-AUTHs that never answer', async () => {
    const clock = new FakeClock();
    const fanOut = new FanOut(2, clock, () => {});
    const hung = { receiveCredentials: () => new Promise(() => {}) };
    fanOut.deliver([hung, hung, hung], { password: 'A' } as never, () => true, undefined);
    expect(clock.pendingTimers).toBe(2); // one watchdog for both places, and the deadline
    fanOut.deliver([hung, hung, hung], { password: 'B' } as never, () => true, undefined);
    expect(clock.pendingTimers).toBe(2); // the first fan-out's timers went with it
    fanOut.cancel();
    expect(clock.pendingTimers).toBe(0);
  });

  it('starts with 32 in flight by default; Infinity sends every AUTH at once; anything else is refused', async () => {
    const pending = async (max?: number): Promise<number> => {
      const { source, rotate } = await paced(max);
      let called = 0;
      for (let i = 0; i < 100; i++) {
        source.onCredentials(() => {
          called++;
          return new Promise(() => {});
        });
      }
      await rotate();
      return called;
    };
    expect(await pending()).toBe(32);
    expect(await pending(Infinity)).toBe(100);
    const credential = new ScriptedCredential(() => issueToken(Date.now(), 60_000));
    for (const bad of [0, -1, 1.5, NaN, '8', null]) {
      let error: unknown;
      try {
        new TokenSource({ credential, maxConcurrentReauth: bad as number });
      } catch (e) {
        error = e;
      }
      expect(isEntraRedisError(error) && error.code, String(bad)).toBe('INVALID_OPTION');
      expect((error as Error).message).toContain('maxConcurrentReauth');
    }
  });
});
