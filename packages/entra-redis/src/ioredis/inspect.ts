// What `util.inspect` shows of a protected ioredis client: ioredis keeps the current token in
// its options, its connector, its handshake state and its queued AUTH commands, so printing the
// client (console.log(redis), a logger dumping an object) would print the token. A protected
// client prints a summary instead, without secrets; so does a protected Cluster, whose
// `redisOptions` (the template of every node connection) hold the token too.
import { inspect, type InspectOptionsStylized } from 'node:util';

const SECRET_OPTIONS = new Set(['password', 'sentinelPassword', 'natMap']);
const TLS_SECRETS = new Set(['key', 'pfx', 'passphrase']);

function redactOptions(options: Record<string, unknown>): Record<string, unknown> {
  const view: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(options)) {
    if (SECRET_OPTIONS.has(key)) view[key] = value === undefined ? undefined : '[redacted]';
    else if (key === 'redisOptions' && value && typeof value === 'object') {
      view[key] = redactOptions(value as Record<string, unknown>);
    } else if (key === 'tls' && value && typeof value === 'object') {
      view[key] = Object.fromEntries(
        Object.entries(value).map(([k, v]) => [k, TLS_SECRETS.has(k) ? '[redacted]' : v]),
      );
    } else view[key] = value;
  }
  return view;
}

type Inspected = { status?: unknown; options?: Record<string, unknown> };

function inspectRedacted(
  label: string,
  target: Inspected,
  depth: number,
  options: InspectOptionsStylized,
): string {
  const view = { status: target.status, options: redactOptions(target.options ?? {}) };
  const nested = { ...options, depth: options.depth == null ? null : Math.max(0, depth - 1) };
  return `${label} ${inspect(view, nested)}`;
}

/** util.inspect's hook of a protected client: one function for every client. */
function inspectProtected(
  this: Inspected & { constructor: { name: string }; [LABEL]?: string },
  depth: number,
  options: InspectOptionsStylized,
): string {
  // ioredis's Cluster mixes EventEmitter in over its constructor, hence the label.
  return inspectRedacted(this[LABEL] ?? this.constructor.name, this, depth, options);
}

const LABEL = Symbol('entra-redis.inspect-label');

/**
 * Makes `util.inspect(client)` print a summary without secrets (an ioredis `Redis` or
 * `Cluster`), headed by `label` or the constructor's name; returns the undo.
 */
export function redactInspect(redis: object, label?: string): () => void {
  Object.defineProperty(redis, inspect.custom, {
    configurable: true,
    enumerable: false,
    writable: true,
    value: inspectProtected,
  });
  if (label !== undefined) (redis as { [LABEL]?: string })[LABEL] = label;
  return () => unredactInspect(redis);
}

/** Undoes {@link redactInspect}. */
export function unredactInspect(redis: object): void {
  delete (redis as Record<symbol, unknown>)[inspect.custom];
  delete (redis as { [LABEL]?: string })[LABEL];
}
