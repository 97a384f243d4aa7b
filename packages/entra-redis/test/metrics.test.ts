import { metrics, type Meter, type MeterProvider } from '@opentelemetry/api';
import { METRIC_NAMES, TokenSource } from 'entra-redis';
import { afterAll, describe, expect, it } from 'vitest';
import { FakeClock, ScriptedCredential, flush, issueToken, networkError } from './fakes.js';

// OpenTelemetry metrics through the real @opentelemetry/api global: a recording MeterProvider
// stands in for an SDK, registered before the source is created (as an application would).
interface Recorded {
  counters: Map<string, Array<{ value: number; attributes: Record<string, unknown> }>>;
  gauges: Map<string, Array<(result: { observe(v: number, a?: object): void }) => void>>;
}

function recordingProvider(recorded: Recorded): MeterProvider {
  const meter = {
    createCounter: (name: string) => ({
      add: (value: number, attributes: Record<string, unknown> = {}) => {
        const list = recorded.counters.get(name) ?? [];
        list.push({ value, attributes });
        recorded.counters.set(name, list);
      },
    }),
    createObservableGauge: (name: string) => ({
      addCallback: (cb: (result: { observe(v: number): void }) => void) =>
        recorded.gauges.set(name, [...(recorded.gauges.get(name) ?? []), cb]),
      removeCallback: (cb: (result: { observe(v: number): void }) => void) =>
        recorded.gauges.set(
          name,
          (recorded.gauges.get(name) ?? []).filter((c) => c !== cb),
        ),
    }),
  } as unknown as Meter;
  return { getMeter: () => meter };
}

function observe(recorded: Recorded, name: string): number[] {
  const values: number[] = [];
  for (const cb of recorded.gauges.get(name) ?? []) cb({ observe: (v) => values.push(v) });
  return values;
}

describe('OpenTelemetry metrics', () => {
  const recorded: Recorded = { counters: new Map(), gauges: new Map() };
  metrics.setGlobalMeterProvider(recordingProvider(recorded));
  afterAll(() => metrics.disable());

  it('counts refreshes and classified failures and observes the time to expiry', async () => {
    const clock = new FakeClock();
    let fail = true;
    const credential = new ScriptedCredential(async () => {
      if (fail) throw networkError('ECONNRESET');
      return issueToken(clock.now(), 60_000);
    });
    const source = new TokenSource({ credential, clock, random: () => 0, name: 'cache' });
    await expect(source.getCredentials()).rejects.toMatchObject({ code: 'TOKEN_REQUEST_FAILED' });
    fail = false;
    await clock.advance(10_000);
    await flush();
    const credentials = await source.getCredentials();

    // The API is loaded lazily; give the dynamic import a turn.
    await expect.poll(() => recorded.counters.get(METRIC_NAMES.refreshes)?.length ?? 0).toBe(1);
    expect(recorded.counters.get(METRIC_NAMES.refreshes)).toEqual([
      { value: 1, attributes: { 'entra_redis.source': 'cache' } },
    ]);
    expect(recorded.counters.get(METRIC_NAMES.failures)?.[0]).toMatchObject({
      value: 1,
      attributes: { 'entra_redis.source': 'cache', transient: true },
    });
    const [secondsLeft] = observe(recorded, METRIC_NAMES.timeToExpiry);
    expect(secondsLeft).toBeCloseTo((credentials.expiresAtMs - clock.now()) / 1000, 3);

    await source.close();
    expect(observe(recorded, METRIC_NAMES.timeToExpiry)).toEqual([]);
  });

  it('records nothing with metrics: false', async () => {
    const before = recorded.counters.get(METRIC_NAMES.refreshes)?.length ?? 0;
    const clock = new FakeClock();
    const credential = new ScriptedCredential(async () => issueToken(clock.now(), 60_000));
    const source = new TokenSource({ credential, clock, metrics: false });
    await source.getCredentials();
    await flush();
    expect(recorded.counters.get(METRIC_NAMES.refreshes)?.length ?? 0).toBe(before);
    await source.close();
  });
});
