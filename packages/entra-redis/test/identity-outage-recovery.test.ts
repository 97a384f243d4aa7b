// Recovery after an outage of the emulator's identity endpoint, through the real
// @azure/identity (issue 25; CI runs it on Node 20 with msal-node 5 and on Node 22 and 24 with
// msal-node 7). MSAL's throttling cache replays a 429 or 5xx to the credential that got it
// (for 60 s, or Retry-After); the token source builds a fresh credential after each failure,
// so its next attempt reaches the endpoint and a token comes within seconds of its return.
import type { Fault } from '@entra-redis/emulator';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestEmulator, waitFor, type TestEmulator } from './helpers/emulator.js';
import { msalLine } from './helpers/msal-lines.js';

/** Token life 2 s; the outage lasts longer, so the token expires during it. */
const OUTAGE_MS = 5_000;
/**
 * The retry delay is capped at 5 s (full jitter), so an attempt comes within 5 s of the
 * endpoint's return; 0.5 s more for that request (a fresh credential: metadata, then token).
 */
const RECOVERY_BOUND_MS = 5_500;

const OUTAGES: Array<[string, Fault]> = [
  ['HTTP 500', { kind: 'status', status: 500, durationMs: OUTAGE_MS }],
  ['HTTP 429 with Retry-After: 1', { kind: 'throttle', retryAfterSec: 1, durationMs: OUTAGE_MS }],
  ['refused connections', { kind: 'refuse', durationMs: OUTAGE_MS }],
];

let env: TestEmulator;
beforeAll(async () => {
  env = await startTestEmulator({ tokenLifetimeSec: 2 });
});
afterAll(() => env?.close());

describe(`recovery after an identity outage on ${msalLine()}`, () => {
  const figures: string[] = [];
  afterAll(() => console.log(`[outage-recovery] ${msalLine()}: ${figures.join('; ')}`));

  for (const [label, fault] of OUTAGES) {
    it(`${label} for ${OUTAGE_MS / 1000} s (past expiry): a fresh token within ${RECOVERY_BOUND_MS / 1000} s of the return`, async () => {
      const source = env.tokenSource({ metrics: false });
      const events: string[] = [];
      let recoveredAtMs = 0;
      source.on('expired', () => events.push('expired'));
      source.on('recovered', () => {
        events.push('recovered');
        recoveredAtMs = Date.now();
      });
      try {
        await source.getCredentials();
        const handle = env.emulator.identity.faults.inject(fault);
        await waitFor(() => handle.ended, OUTAGE_MS + 2_000, 'the outage to end');
        const returnedAtMs = Date.now();
        const attempts = handle.affected;
        await waitFor(() => recoveredAtMs > 0, RECOVERY_BOUND_MS + 5_000, 'recovery');
        const recoveryMs = recoveredAtMs - returnedAtMs;
        figures.push(`${label} ${(recoveryMs / 1000).toFixed(1)} s`);
        // Every retry reached the endpoint: none was answered from MSAL's cache. (A refused
        // connection counts once per drop, not per attempt.)
        if (fault.kind !== 'refuse') expect(attempts).toBeGreaterThanOrEqual(3);
        expect(events).toEqual(['expired', 'recovered']);
        expect(recoveryMs).toBeLessThanOrEqual(RECOVERY_BOUND_MS);
        const credentials = await source.getCredentials();
        expect(credentials.expiresAtMs).toBeGreaterThan(Date.now());
      } finally {
        await source.close();
      }
    }, 30_000);
  }
});
