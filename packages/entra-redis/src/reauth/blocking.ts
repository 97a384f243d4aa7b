/**
 * Blocking commands and bounded blocking, for every client adapter.
 *
 * A blocking command (BLPOP, XREAD BLOCK, …) holds its connection's reply queue: an AUTH
 * written behind it runs only when it returns, so a connection blocked past its token's expiry
 * is closed by the server. Bounded blocking avoids that: a timeout that is infinite (0) or
 * longer than the token's remaining life (minus a safety margin) is cut to fit, and the command
 * is re-issued while nothing arrived and the caller's own timeout has not passed. A call that
 * times out pops nothing, so no item can be lost.
 *
 * `XREAD … $` needs care: on re-issue `$` would skip entries added between two calls. The
 * adapter resolves it up front: it sends `XINFO STREAM <key>` immediately before the first call,
 * on the same connection and in the same write (so Redis runs the two back to back), and on
 * re-issue passes the stream's `last-generated-id` (or `0-0` if the stream did not exist) instead
 * of `$` (see {@link replaceDollarIds}). `XREADGROUP … >` needs nothing: `>` is the group's own
 * cursor.
 */

/** Where a blocking command keeps its timeout, and in which unit. */
export interface BlockingCommandSpec {
  /**
   * - `last-seconds`: the last argument, in seconds (fractions allowed since Redis 6);
   * - `first-seconds`: the first argument, in seconds (BLMPOP, BZMPOP);
   * - `block-ms`: the argument after `BLOCK`, in ms; without `BLOCK` the command does not block.
   */
  readonly timeout: 'last-seconds' | 'first-seconds' | 'block-ms';
}

/**
 * The blocking commands (lower-case names) and where their timeout is. A timeout of 0 blocks
 * forever.
 *
 * @example
 * ```ts
 * BLOCKING_COMMANDS.blpop; // { timeout: 'last-seconds' }
 * ```
 */
// A prototype-less object: a command named `constructor` or `__proto__` is not a blocking one.
export const BLOCKING_COMMANDS: Readonly<Record<string, BlockingCommandSpec>> = Object.freeze(
  Object.assign(Object.create(null) as Record<string, BlockingCommandSpec>, {
    blpop: { timeout: 'last-seconds' },
    brpop: { timeout: 'last-seconds' },
    brpoplpush: { timeout: 'last-seconds' },
    blmove: { timeout: 'last-seconds' },
    bzpopmin: { timeout: 'last-seconds' },
    bzpopmax: { timeout: 'last-seconds' },
    blmpop: { timeout: 'first-seconds' },
    bzmpop: { timeout: 'first-seconds' },
    xread: { timeout: 'block-ms' },
    xreadgroup: { timeout: 'block-ms' },
  }),
);

/** One argument as clients pass it. */
export type CommandArg = string | number | Buffer | Uint8Array;

/** A blocking call, parsed. */
export interface BlockingCall {
  /** Lower-case command name. */
  readonly name: string;
  /** Index of the timeout in `args`. */
  readonly timeoutIndex: number;
  /** Unit of the timeout argument. */
  readonly unit: 's' | 'ms';
  /** The caller's timeout in ms; `Infinity` for 0 (block forever). */
  readonly timeoutMs: number;
  /** For XREAD: indexes in `args` of ids given as `$` (each with its stream key). */
  readonly dollarIds: readonly { readonly key: CommandArg; readonly idIndex: number }[];
}

const str = (a: CommandArg | undefined): string =>
  a === undefined
    ? ''
    : typeof a === 'string'
      ? a
      : a instanceof Uint8Array
        ? Buffer.from(a).toString()
        : String(a);

/**
 * A cheap first test run on every command: whether `name` could be a blocking command (they
 * all start with B or X), so the others skip the parse and its lower-casing.
 *
 * @example
 * ```ts
 * mayBlock('BLPOP'); // true
 * mayBlock('GET'); // false
 * ```
 */
export function mayBlock(name: string): boolean {
  const first = name.charCodeAt(0) | 0x20; // lower-cased ASCII letter
  return first === 0x62 /* b */ || first === 0x78; /* x */
}

/**
 * Parses a command; `undefined` when it does not block (not a blocking command, XREAD without
 * BLOCK, or an unparsable timeout, which is then left for the server to reject).
 *
 * @example
 * ```ts
 * parseBlockingCall('BLPOP', ['q', '0']); // { name: 'blpop', timeoutIndex: 1, unit: 's', timeoutMs: Infinity, dollarIds: [] }
 * parseBlockingCall('XREAD', ['STREAMS', 's', '$']); // undefined (no BLOCK)
 * ```
 */
export function parseBlockingCall(
  name: string,
  args: readonly CommandArg[],
): BlockingCall | undefined {
  if (!mayBlock(name)) return undefined;
  const lower = name.toLowerCase();
  const spec = BLOCKING_COMMANDS[lower];
  if (!spec || args.length === 0) return undefined;
  let timeoutIndex: number;
  let unit: 's' | 'ms' = 's';
  const dollarIds: { key: CommandArg; idIndex: number }[] = [];
  if (spec.timeout === 'last-seconds') timeoutIndex = args.length - 1;
  else if (spec.timeout === 'first-seconds') timeoutIndex = 0;
  else {
    unit = 'ms';
    const upper = args.map((a) => str(a).toUpperCase());
    const streams = upper.indexOf('STREAMS');
    const block = upper.indexOf('BLOCK');
    if (block < 0 || (streams >= 0 && block > streams)) return undefined;
    timeoutIndex = block + 1;
    if (streams >= 0) {
      const n = (args.length - streams - 1) / 2;
      if (lower === 'xread' && Number.isInteger(n)) {
        for (let i = 0; i < n; i++) {
          const idIndex = streams + 1 + n + i;
          if (str(args[idIndex]) === '$') {
            dollarIds.push({ key: args[streams + 1 + i] as CommandArg, idIndex });
          }
        }
      }
    }
  }
  const raw = Number(str(args[timeoutIndex]));
  if (!Number.isFinite(raw) || raw < 0) return undefined;
  const timeoutMs = raw === 0 ? Infinity : unit === 's' ? raw * 1000 : raw;
  return { name: lower, timeoutIndex, unit, timeoutMs, dollarIds };
}

/** Inputs of {@link planBlockingSlice}; all times in ms since the epoch. */
export interface BlockingSliceInput {
  /** When the caller issued the command (its own timeout counts from here). */
  readonly startedAtMs: number;
  /** Now. */
  readonly nowMs: number;
  /** Expiry of the token the connection will be authenticated with when the slice runs. */
  readonly expiresAtMs: number;
  /** The slice ends this long before `expiresAtMs`, so a queued re-AUTH runs in time. */
  readonly safetyMarginMs: number;
  /** Shortest slice worth sending, in ms. @default 50 */
  readonly minSliceMs?: number;
}

/**
 * What to do next with a blocking call:
 * - `send`: send `args` (the timeout cut to `sliceMs`, or the caller's remaining timeout when
 *   `final`); when a non-final slice answers "nothing", plan again;
 * - `timedOut`: the caller's own timeout has passed: answer "nothing" (null);
 * - `waitForToken`: the token's remaining life is too short for a slice: wait for a fresh token
 *   (and its re-AUTH), then plan again; if none comes before expiry, fail the call with a
 *   retryable error.
 */
export type BlockingSlicePlan =
  | {
      readonly action: 'send';
      readonly args: CommandArg[];
      readonly sliceMs: number;
      readonly final: boolean;
    }
  | { readonly action: 'timedOut' }
  | { readonly action: 'waitForToken' };

/**
 * Plans the next slice of a blocking call (bounded blocking).
 *
 * @example
 * ```ts
 * const call = parseBlockingCall('blpop', ['q', 0])!;
 * planBlockingSlice(call, ['q', 0], { startedAtMs: 0, nowMs: 0, expiresAtMs: 10_000, safetyMarginMs: 1_000 });
 * // { action: 'send', args: ['q', '9'], sliceMs: 9000, final: false }
 * ```
 */
export function planBlockingSlice(
  call: BlockingCall,
  args: readonly CommandArg[],
  input: BlockingSliceInput,
): BlockingSlicePlan {
  const minSliceMs = input.minSliceMs ?? 50;
  const userDeadlineMs = input.startedAtMs + call.timeoutMs;
  const tokenDeadlineMs = input.expiresAtMs - input.safetyMarginMs;
  if (userDeadlineMs <= tokenDeadlineMs) {
    const remainingMs = userDeadlineMs - input.nowMs;
    // Less than a millisecond left of the caller's own timeout: it has passed.
    if (remainingMs < 1) return { action: 'timedOut' };
    return {
      action: 'send',
      args: withTimeout(call, args, remainingMs),
      sliceMs: remainingMs,
      final: true,
    };
  }
  const sliceMs = tokenDeadlineMs - input.nowMs;
  if (sliceMs < minSliceMs) return { action: 'waitForToken' };
  return { action: 'send', args: withTimeout(call, args, sliceMs), sliceMs, final: false };
}

/** Formats `ms` as the command's timeout argument; never 0 (which would mean "forever"). */
export function formatTimeout(unit: 's' | 'ms', ms: number): string {
  if (unit === 'ms') return String(Math.max(1, Math.floor(ms)));
  const seconds = Math.max(0.001, Math.floor(ms) / 1000);
  return String(Number(seconds.toFixed(3)));
}

function withTimeout(call: BlockingCall, args: readonly CommandArg[], ms: number): CommandArg[] {
  const out = args.slice();
  out[call.timeoutIndex] = formatTimeout(call.unit, ms);
  return out;
}

/**
 * Replaces each `$` id of an XREAD with the id it stood for when first issued (from
 * {@link lastGeneratedIdOf}), so that a re-issued call misses nothing added in between.
 *
 * @example
 * ```ts
 * const call = parseBlockingCall('xread', ['BLOCK', 0, 'STREAMS', 's', '$'])!;
 * replaceDollarIds(call, ['BLOCK', 0, 'STREAMS', 's', '$'], ['5-0']);
 * // ['BLOCK', 0, 'STREAMS', 's', '5-0']
 * ```
 */
export function replaceDollarIds(
  call: BlockingCall,
  args: readonly CommandArg[],
  ids: readonly string[],
): CommandArg[] {
  const out = args.slice();
  call.dollarIds.forEach(({ idIndex }, i) => {
    out[idIndex] = ids[i] ?? '0-0';
  });
  return out;
}

/**
 * Reads `last-generated-id` from an `XINFO STREAM` reply (RESP2 flat array, RESP3 map or a
 * plain object); `0-0` when the reply is an error or has no such field (no stream yet: every
 * entry added later is newer than `0-0`).
 *
 * @example
 * ```ts
 * lastGeneratedIdOf(['length', 1, 'last-generated-id', '7-0']); // '7-0'
 * lastGeneratedIdOf(new Error('ERR no such key')); // '0-0'
 * ```
 */
export function lastGeneratedIdOf(reply: unknown): string {
  const FIELD = 'last-generated-id';
  if (Array.isArray(reply)) {
    for (let i = 0; i + 1 < reply.length; i += 2) {
      if (str(reply[i] as CommandArg) === FIELD) return str(reply[i + 1] as CommandArg);
    }
  } else if (reply instanceof Map) {
    for (const [k, v] of reply) if (str(k as CommandArg) === FIELD) return str(v as CommandArg);
  } else if (reply && typeof reply === 'object' && !(reply instanceof Error)) {
    const v = (reply as Record<string, unknown>)[FIELD];
    if (v !== undefined) return str(v as CommandArg);
  }
  return '0-0';
}
