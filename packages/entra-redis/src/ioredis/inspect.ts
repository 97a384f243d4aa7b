// What `util.inspect` shows of a protected ioredis client: ioredis keeps the current token in
// its options, its connector, its handshake state and its queued AUTH commands, so printing the
// client (console.log(redis), a logger dumping an object) would print the token. A protected
// client prints a summary instead, without secrets.
import { inspect, type InspectOptionsStylized } from 'node:util';

const SECRET_OPTIONS = new Set(['password', 'sentinelPassword', 'natMap']);
const TLS_SECRETS = new Set(['key', 'pfx', 'passphrase']);

function redactOptions(options: Record<string, unknown>): Record<string, unknown> {
  const view: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(options)) {
    if (SECRET_OPTIONS.has(key)) view[key] = value === undefined ? undefined : '[redacted]';
    else if (key === 'tls' && value && typeof value === 'object') {
      view[key] = Object.fromEntries(
        Object.entries(value).map(([k, v]) => [k, TLS_SECRETS.has(k) ? '[redacted]' : v]),
      );
    } else view[key] = value;
  }
  return view;
}

function inspectRedacted(
  this: { constructor: { name: string }; status?: unknown; options?: Record<string, unknown> },
  depth: number,
  options: InspectOptionsStylized,
): string {
  const view = { status: this.status, options: redactOptions(this.options ?? {}) };
  const nested = { ...options, depth: options.depth == null ? null : Math.max(0, depth - 1) };
  return `${this.constructor.name} ${inspect(view, nested)}`;
}

/** Makes `util.inspect(redis)` print a summary without secrets; returns the undo. */
export function redactInspect(redis: object): () => void {
  Object.defineProperty(redis, inspect.custom, {
    configurable: true,
    enumerable: false,
    writable: true,
    value: inspectRedacted,
  });
  return () => {
    delete (redis as Record<symbol, unknown>)[inspect.custom];
  };
}
