import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sleep, startTestEmulator, type TestEmulator } from './helpers/emulator.js';

// The token source against the emulator through the real @azure/identity credential, with
// 2-second tokens: continuous refresh, and an identity outage survived.
describe('TokenSource against the emulator (2 s tokens)', () => {
  let env: TestEmulator;

  beforeAll(async () => {
    env = await startTestEmulator({ tokenLifetimeSec: 2 });
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
    // up to 10 % jitter) that is a request every 0.7–1.5 s, held to at most one a second by
    // the refresh floor: between 60/1.5 and 60/1 + 1 requests.
    expect(requests).toBeGreaterThanOrEqual(40);
    expect(requests).toBeLessThanOrEqual(61);
    expect(seen.size).toBe(requests);
    await source.close();
  }, 90_000);

  it('survives an identity outage longer than the token life and recovers within 5 s', async () => {
    const source = env.tokenSource();
    await source.getCredentials();
    const events: string[] = [];
    source.on('expired', () => events.push('expired'));
    source.on('recovered', () => events.push('recovered'));
    const fault = env.emulator.identity.faults.inject({
      kind: 'status',
      status: 503,
      durationMs: 5_000,
    });
    await sleep(3_000);
    await expect(source.getCredentials()).rejects.toMatchObject({ code: 'TOKEN_EXPIRED' });
    while (!fault.ended) await sleep(50);
    const recoveredAfter = Date.now();
    let credentials;
    while (!credentials) {
      credentials = source.current();
      if (Date.now() - recoveredAfter > 5_000) break;
      await sleep(50);
    }
    expect(credentials, 'a fresh token within 5 s of the endpoint returning').toBeDefined();
    expect(events).toEqual(['expired', 'recovered']);
    await source.close();
  }, 20_000);
});
