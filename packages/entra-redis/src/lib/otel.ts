// Optional OpenTelemetry metrics. `@opentelemetry/api` is an optional peer dependency: it is
// loaded lazily, and everything here degrades to no-ops when it is absent. The structural types
// below avoid a type dependency on the package.

interface Attributes {
  [key: string]: string | number | boolean;
}
interface Counter {
  add(value: number, attributes?: Attributes): void;
}
interface ObservableResult {
  observe(value: number, attributes?: Attributes): void;
}
interface ObservableGauge {
  addCallback(callback: (result: ObservableResult) => void): void;
  removeCallback(callback: (result: ObservableResult) => void): void;
}
interface Meter {
  createCounter(name: string, options?: { description?: string; unit?: string }): Counter;
  createObservableGauge(
    name: string,
    options?: { description?: string; unit?: string },
  ): ObservableGauge;
}
interface OtelApi {
  metrics: { getMeter(name: string, version?: string): Meter };
}

/** Metrics recorded by a token source. */
export interface SourceMetrics {
  /** One token obtained (a new one, not a cache replay). */
  recordRefresh(): void;
  /** One failed token request. */
  recordFailure(code: string, transient: boolean): void;
  /** Stops observing; idempotent. */
  close(): void;
}

/** Metric instrument names, for dashboards and tests. */
export const METRIC_NAMES = Object.freeze({
  timeToExpiry: 'entra_redis.token.time_to_expiry',
  refreshes: 'entra_redis.token.refreshes',
  failures: 'entra_redis.token.refresh_failures',
});

const NOOP: SourceMetrics = Object.freeze({
  recordRefresh: () => {},
  recordFailure: () => {},
  close: () => {},
});

let apiPromise: Promise<OtelApi | undefined> | undefined;

function loadApi(): Promise<OtelApi | undefined> {
  apiPromise ??= import('@opentelemetry/api').then(
    (mod) => mod as unknown as OtelApi,
    () => undefined,
  );
  return apiPromise;
}

/**
 * Creates the metrics of one token source: a time-to-expiry gauge (seconds), a refresh counter
 * and a failure counter. No-ops when `enabled` is false or `@opentelemetry/api` is missing.
 *
 * @example
 * ```ts
 * const m = createSourceMetrics(true, 'default', () => expiresAtMs, Date.now);
 * m.recordRefresh();
 * ```
 */
export function createSourceMetrics(
  enabled: boolean,
  sourceName: string,
  expiresAtMs: () => number | undefined,
  now: () => number,
  meterOverride?: unknown,
): SourceMetrics {
  if (!enabled) return NOOP;
  let closed = false;
  let pendingRefreshes = 0;
  const pendingFailures: Array<[string, boolean]> = [];
  let refreshes: Counter | undefined;
  let failures: Counter | undefined;
  let gauge: ObservableGauge | undefined;
  const attributes: Attributes = { 'entra_redis.source': sourceName };
  const observe = (result: ObservableResult): void => {
    const at = expiresAtMs();
    if (at !== undefined) result.observe(Math.max(0, (at - now()) / 1000), attributes);
  };

  const install = (meter: Meter): void => {
    if (closed) return;
    refreshes = meter.createCounter(METRIC_NAMES.refreshes, {
      description: 'Access tokens obtained by entra-redis',
    });
    failures = meter.createCounter(METRIC_NAMES.failures, {
      description: 'Failed access token requests',
    });
    gauge = meter.createObservableGauge(METRIC_NAMES.timeToExpiry, {
      description: 'Time until the current access token expires',
      unit: 's',
    });
    gauge.addCallback(observe);
    if (pendingRefreshes > 0) refreshes.add(pendingRefreshes, attributes);
    for (const [code, transient] of pendingFailures.splice(0)) {
      failures.add(1, { ...attributes, 'error.code': code, transient });
    }
  };

  if (meterOverride !== undefined) install(meterOverride as Meter);
  else
    void loadApi().then((api) => {
      if (api) install(api.metrics.getMeter('entra-redis'));
    });

  return {
    recordRefresh: () => {
      if (closed) return;
      if (refreshes) refreshes.add(1, attributes);
      else pendingRefreshes += 1;
    },
    recordFailure: (code, transient) => {
      if (closed) return;
      if (failures) failures.add(1, { ...attributes, 'error.code': code, transient });
      else if (pendingFailures.length < 100) pendingFailures.push([code, transient]);
    },
    close: () => {
      if (closed) return;
      closed = true;
      gauge?.removeCallback(observe);
    },
  };
}
