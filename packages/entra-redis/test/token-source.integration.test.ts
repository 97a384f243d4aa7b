import { TOKEN_SOURCE_DEFAULTS } from 'entra-redis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { expiryWithinMs, SLACK_MS, testTimeoutMs, type TokenSchedule } from './helpers/bounds.js';
import { sleep, startTestEmulator, type TestEmulator } from './helpers/emulator.js';

const LIFETIME_MS = 2_000;
const SCHEDULE: TokenSchedule = { tokenLifetimeMs: LIFETIME_MS };

// The token source against the emulator through the real @azure/identity credential, with
// 2-second tokens: continuous refresh, and an identity outage survived.
describe('TokenSource against the emulator (2 s tokens)', () => {
  let env: TestEmulator;

  beforeAll(async () => {
    env = await startTestEmulator({ tokenLifetimeSec: LIFETIME_MS / 1000 });
  });
  afterAll(() => env?.close());

  it('refreshes continuously for a minute with one request per rotation, never serving an expired token', async () => {
    const source = env.tokenSource();
    const oid = env.emulator.servicePrincipal.oid;
    const first = await source.getCredentials();
    expect(first.username).toBe(oid);
    const before = env.emulator.stats().identity.tokensIssued[oid] ?? 0;
    const seen = new Set<number>();
    source.onCredentials((c) => seen.add(c.expiresAtMs));
    const deadline = Date.now() + 60_000;
    while (Date.now() < deadline) {
      const c = await source.getCredentials();
      expect(c.expiresAtMs).toBeGreaterThan(Date.now());
      await sleep(100);
    }
    const requests = (env.emulator.stats().identity.tokensIssued[oid] ?? 0) - before;
    // `exp` has whole seconds, so a "2 s" token lives 1–2 s; refreshed at 75 % of that (minus
    // up to 10 % jitter) that is a request every 0.7–1.5 s plus the request's own time, held to
    // at most one a second by the refresh floor: at most 60/1 + 1 requests. Continuous means at
    // least one per token life (2 s); 60/1.5 assumed instant requests, which a loaded machine
    // does not give.
    expect(requests).toBeGreaterThanOrEqual(60_000 / LIFETIME_MS);
    expect(requests).toBeLessThanOrEqual(61);
    expect(seen.size).toBe(requests);
    await source.close();
  }, 90_000);

  it(
    'survives an identity outage longer than the token life and recovers within the retry cap and one request',
    async () => {
      const source = env.tokenSource();
      await source.getCredentials();
      const events: string[] = [];
      source.on('expired', () => events.push('expired'));
      source.on('recovered', () => events.push('recovered'));
      // The token current now expires within its life (plus slack); the outage outlasts that.
      const fault = env.emulator.identity.faults.inject({
        kind: 'status',
        status: 503,
        durationMs: expiryWithinMs(SCHEDULE) + SLACK_MS,
      });
      await sleep(expiryWithinMs(SCHEDULE));
      await expect(source.getCredentials()).rejects.toMatchObject({ code: 'TOKEN_EXPIRED' });
      while (!fault.ended) await sleep(50);
      const recoveredAfter = Date.now();
      // The next retry comes within retry.maxDelayMs (5 s), then its request (SLACK_MS).
      const withinMs = TOKEN_SOURCE_DEFAULTS.retry.maxDelayMs + SLACK_MS;
      let credentials;
      while (!credentials) {
        credentials = source.current();
        if (Date.now() - recoveredAfter > withinMs) break;
        await sleep(50);
      }
      expect(
        credentials,
        `a fresh token within ${withinMs} ms of the endpoint returning`,
      ).toBeDefined();
      expect(events).toEqual(['expired', 'recovered']);
      await source.close();
    },
    testTimeoutMs(
      expiryWithinMs(SCHEDULE) + SLACK_MS,
      TOKEN_SOURCE_DEFAULTS.retry.maxDelayMs + SLACK_MS,
    ),
  );
});
