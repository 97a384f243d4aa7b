// The two real-world traps, reproduced with the real @azure/identity + msal-node (in-process
// HttpClient, no network): (a) MSAL answers from its token cache while > 5 minutes remain;
// (b) MSAL's throttling cache replays a 5xx/429 for up to 60 s without asking the endpoint (a
// 429 for its Retry-After with msal-common >= 16.15, i.e. msal-node 7.1.2+). CI runs this file
// with msal-node 5 (Node 20) and 7 (Node 22, 24).
import { afterEach, describe, expect, it, vi } from 'vitest';
import { ClientSecretCredential } from '@azure/identity';
import { TokenSource, servicePrincipalSecret } from 'entra-redis';
import { CLIENT, FakeClock, OID, SECRET, TID, fakeEntra, flush } from './fakes.js';
import { msalHonoursRetryAfter, msalLine } from './helpers/msal-lines.js';

async function until(condition: () => boolean, clock?: FakeClock): Promise<void> {
  for (let i = 0; i < 200 && !condition(); i++) {
    if (clock) await clock.advance(50);
    else await flush();
  }
  expect(condition()).toBe(true);
}

describe(`msal-node traps, with the real @azure/identity (${msalLine()})`, () => {
  afterEach(() => {
    vi.useRealTimers();
  });

  it('(b) one credential instance replays a 500 after the endpoint recovered (the trap)', async () => {
    const { state, options } = fakeEntra();
    const credential = new ClientSecretCredential(TID, CLIENT, SECRET, options);
    state.down = true;
    const first = await credential
      .getToken('https://redis.azure.com/.default')
      .catch((e: Error) => e);
    expect(first).toBeInstanceOf(Error);
    expect(state.tokenRequests).toBe(1);
    state.down = false; // the endpoint is back...
    const second = await credential
      .getToken('https://redis.azure.com/.default')
      .catch((e: Error) => e);
    expect(second).toBeInstanceOf(Error); // ...but msal answered from its throttling cache
    expect(state.tokenRequests).toBe(1);
  });

  it('(b) a TokenSource over servicePrincipalSecret() gets a token within ~1 s of recovery', async () => {
    const { state, options } = fakeEntra();
    const clock = new FakeClock();
    const source = new TokenSource({
      credential: servicePrincipalSecret({
        tenantId: TID,
        clientId: CLIENT,
        clientSecret: SECRET,
        ...options,
      }),
      clock,
      metrics: false,
      retry: { initialDelayMs: 500, maxDelayMs: 2_000 },
    });
    try {
      state.down = true;
      await expect(source.getCredentials()).rejects.toMatchObject({
        code: 'TOKEN_REQUEST_FAILED',
        isRetryable: true,
      });
      await until(() => state.tokenRequests >= 2, clock); // retries keep reaching the endpoint
      state.down = false;
      const backAt = clock.now();
      await until(() => source.current() !== undefined, clock);
      expect(clock.now() - backAt).toBeLessThanOrEqual(2_000);
      expect(source.current()?.username).toBe(OID);
    } finally {
      await source.close();
    }
  });

  it('(b) a TokenSource over one kept credential after a 429 with Retry-After: 2: recovers after Retry-After (msal-common >= 16.15), else after 60 s', async () => {
    // What a credential passed as an object (or interactiveUser) meets: no fresh credential.
    const { state, options } = fakeEntra();
    const clock = new FakeClock();
    vi.useFakeTimers({ toFake: ['Date'] }); // msal times its throttle with Date
    clock.syncDate = (ms) => vi.setSystemTime(ms);
    clock.syncDate(clock.nowMs);
    const source = new TokenSource({
      credential: new ClientSecretCredential(TID, CLIENT, SECRET, options),
      clock,
      metrics: false,
    });
    try {
      state.throttleRetryAfterSec = 2;
      const error = await source.getCredentials().catch((e: unknown) => e);
      expect(error).toMatchObject({ code: 'TOKEN_REQUEST_FAILED', isRetryable: true });
      expect(state.tokenRequests).toBe(1);
      state.throttleRetryAfterSec = undefined; // the endpoint is back at once
      const backAt = clock.now();
      while (source.current() === undefined && clock.now() - backAt < 90_000) {
        await clock.advance(250);
      }
      const recoveredMs = clock.now() - backAt;
      console.log(
        `[msal-traps] ${msalLine()}: kept credential, 429 Retry-After 2 s: token ${recoveredMs} ms after the return`,
      );
      expect(source.current()?.username).toBe(OID);
      expect(state.tokenRequests).toBe(2); // msal replayed the 429 until then, without asking
      if (msalHonoursRetryAfter()) {
        expect(recoveredMs).toBeGreaterThanOrEqual(2_000);
        expect(recoveredMs).toBeLessThanOrEqual(2_000 + 5_000 + 250); // + one retry delay (cap 5 s)
      } else {
        expect(recoveredMs).toBeGreaterThanOrEqual(60_000);
        expect(recoveredMs).toBeLessThanOrEqual(60_000 + 5_000 + 250);
      }
    } finally {
      await source.close();
    }
  });

  it('(a) one instance returns its cached token; a fresh one from the factory gets a new token', async () => {
    const { state, options } = fakeEntra();
    const factory = servicePrincipalSecret({
      tenantId: TID,
      clientId: CLIENT,
      clientSecret: SECRET,
      ...options,
    });
    const credential = factory();
    const a = await credential.getToken('https://redis.azure.com/.default');
    const b = await credential.getToken('https://redis.azure.com/.default');
    expect(b?.token).toBe(a?.token);
    expect(state.issued).toBe(1);
    const c = await factory().getToken('https://redis.azure.com/.default');
    expect(c?.token).not.toBe(a?.token);
    expect(state.issued).toBe(2);
  });
});
