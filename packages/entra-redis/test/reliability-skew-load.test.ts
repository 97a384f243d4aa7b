// The rest of issue #9's fault matrix, for node-redis and ioredis at once: clock skew (token
// nbf in the future; local clock ahead), one connection's re-AUTH refused while the others
// succeed, and thousands of commands in flight during a rotation.
import { isEntraRedisError, type TokenSourceClock } from 'entra-redis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sleep, startTestEmulator, waitFor, type TestEmulator } from './helpers/emulator.js';
import {
  LIFETIME_SEC,
  SOURCE_OPTIONS,
  nextRefresh,
  startPair,
  waitForRecovery,
} from './reliability-fixture.js';

let env: TestEmulator;
beforeAll(async () => {
  env = await startTestEmulator({ tokenLifetimeSec: LIFETIME_SEC });
});
afterAll(() => env?.close());

const redisStats = () => env.emulator.stats().redis;
/** A rotation's re-AUTHs run before the previous token expires: this long after the refresh. */
const REAUTHS_WITHIN_MS = (1 - SOURCE_OPTIONS.refreshRatio!) * LIFETIME_SEC * 1_000;

/** The system clock shifted by `offsetMs` (timers unchanged: only the reading is off). */
function shiftedClock(offsetMs: number): TokenSourceClock {
  return {
    now: () => Date.now() + offsetMs,
    setTimeout: (fn, ms) => setTimeout(fn, ms).unref(),
    clearTimeout: (handle) => clearTimeout(handle as NodeJS.Timeout),
  };
}

describe('clock skew', () => {
  it('token nbf slightly in the future: re-AUTH is refused, nothing fails, the next token is used', async () => {
    const source = env.tokenSource(SOURCE_OPTIONS);
    const errors: unknown[] = [];
    const pair = await startPair(env, source, 'nbf', errors);
    try {
      const before = redisStats();
      const { expiresAtMs } = await source.getCredentials();
      const skew = env.emulator.identity.faults.inject({
        kind: 'clock-skew',
        nbfOffsetSec: 2,
        durationMs: expiresAtMs - Date.now() - 2_500,
      });
      await waitFor(() => skew.ended, 15_000, 'the skew to end');
      await nextRefresh(source);
      await nextRefresh(source);
      await sleep(500);
      const after = redisStats();
      expect(skew.affected).toBeGreaterThan(0);
      for (const probe of pair.probes) expect(probe.failures, probe.name).toEqual([]);
      expect(after.authFailed - before.authFailed).toBe(0);
      // The server refuses the not-yet-valid token on the live connections (reported, each keeps
      // its previous token); the next refresh, after nbf, re-authenticates them before expiry.
      expect(after.reauthFailed - before.reauthFailed).toBeGreaterThanOrEqual(1);
      expect(after.evictions - before.evictions).toBe(0);
      expect(errors.length).toBeGreaterThanOrEqual(1);
      for (const e of errors) {
        expect((e as { code?: string }).code).toMatch(/^(REAUTH_FAILED|AUTH_REFUSED)$/);
      }
    } finally {
      await pair.close();
      await source.close();
    }
  }, 40_000);

  it('local clock 3 s ahead: refreshes a little early, zero failed commands, zero evictions', async () => {
    const source = env.tokenSource({ ...SOURCE_OPTIONS, clock: shiftedClock(3_000) });
    const pair = await startPair(env, source, 'ahead');
    try {
      const before = redisStats();
      await nextRefresh(source);
      const atFirst = redisStats().reauthOk;
      await nextRefresh(source);
      const atSecond = redisStats().reauthOk;
      // Both connections re-AUTHed at each rotation: the first's ran before the second rotation
      // (about 2.5 s later); the second's run before the previous token expires, (1 - refreshRatio)
      // of its life after the refresh (not a fixed 500 ms).
      expect(atSecond - atFirst, 're-AUTHs of the first rotation').toBe(2);
      await waitFor(
        () => redisStats().reauthOk - atSecond >= 2,
        REAUTHS_WITHIN_MS,
        're-AUTHs of the second rotation',
      );
      for (const probe of pair.probes) expect(probe.failures, probe.name).toEqual([]);
      const after = redisStats();
      expect(after.evictions - before.evictions).toBe(0);
      expect(after.reauthFailed - before.reauthFailed).toBe(0);
    } finally {
      await pair.close();
      await source.close();
    }
  }, 40_000);
});

describe("one connection's re-AUTH refused while the others succeed", () => {
  it('reports REAUTH_FAILED once, the other client never fails, the refused one keeps working', async () => {
    const { tenant } = env.emulator;
    const verify = tenant.verifyRedisAuth.bind(tenant);
    let refuseNext = false;
    // The front end calls the tenant for every AUTH: refuse exactly one (the first AUTH after
    // arming, i.e. one connection's re-AUTH at the next rotation).
    tenant.verifyRedisAuth = async (username, password) => {
      if (!refuseNext) return verify(username, password);
      refuseNext = false;
      return { ok: false, reason: 'refused by the test' };
    };
    const source = env.tokenSource(SOURCE_OPTIONS);
    const errors: unknown[] = [];
    const pair = await startPair(env, source, 'refused', errors);
    try {
      const before = redisStats();
      await sleep(200);
      refuseNext = true;
      await nextRefresh(source);
      await waitFor(() => errors.length > 0, 5_000, 'the refused re-AUTH to be reported');
      const refusedAtMs = Date.now();
      await nextRefresh(source);
      await waitForRecovery(pair.probes, Date.now(), 10_000);
      await sleep(500);
      const after = redisStats();
      expect(after.reauthFailed - before.reauthFailed).toBe(1);
      expect(errors).toHaveLength(1);
      expect(isEntraRedisError(errors[0])).toBe(true);
      expect(errors[0]).toMatchObject({ isRetryable: true });
      expect((errors[0] as { code: string }).code).toMatch(/^(REAUTH_FAILED|AUTH_REFUSED)$/);
      const failing = pair.probes.filter((p) => p.failures.length > 0);
      expect(failing.length, 'only the refused connection may see a failure').toBeLessThanOrEqual(
        1,
      );
      for (const probe of pair.probes) {
        expect(probe.failuresSince(refusedAtMs + 5_000), probe.name).toEqual([]);
      }
    } finally {
      tenant.verifyRedisAuth = verify;
      await pair.close();
      await source.close();
    }
  }, 40_000);
});

describe('process under load during a rotation', () => {
  it('thousands of commands in flight on both clients across two rotations: every one succeeds', async () => {
    const source = env.tokenSource(SOURCE_OPTIONS);
    const pair = await startPair(env, source, 'load');
    try {
      const before = redisStats();
      let rotations = 0;
      const off = source.onCredentials(() => rotations++);
      await Promise.all([pair.node.del('load:count:n'), pair.io.del('load:count:i')]);
      const BATCH = 2_000;
      let sent = 0;
      const failures: unknown[] = [];
      while (rotations < 2) {
        const batch: Array<Promise<unknown>> = [];
        for (let i = 0; i < BATCH; i++) {
          batch.push(pair.node.incr('load:count:n').catch((e: unknown) => failures.push(e)));
          batch.push(pair.io.incr('load:count:i').catch((e: unknown) => failures.push(e)));
        }
        sent += BATCH;
        await Promise.all(batch);
      }
      off();
      expect(failures).toEqual([]);
      expect(Number(await pair.node.get('load:count:n'))).toBe(sent);
      expect(Number(await pair.io.get('load:count:i'))).toBe(sent);
      const after = redisStats();
      expect(after.evictions - before.evictions).toBe(0);
      expect(after.reauthFailed - before.reauthFailed).toBe(0);
      expect(after.reauthOk - before.reauthOk).toBeGreaterThanOrEqual(4);
      for (const probe of pair.probes) expect(probe.failures, probe.name).toEqual([]);
    } finally {
      await pair.close();
      await source.close();
    }
  }, 60_000);
});
