import type { IncomingMessage, ServerResponse } from 'node:http';
import { EmulatorError } from '../errors.js';
import { entraError, sendEntraError } from './http.js';

/** A fault on the token-issuing endpoints (token and both managed identity endpoints). */
export type Fault =
  /** Answer with this HTTP status (an Entra-style error body). */
  | { kind: 'status'; status: number; durationMs: number }
  /** Answer 429 with `Retry-After: <retryAfterSec>`. */
  | { kind: 'throttle'; retryAfterSec: number; durationMs: number }
  /** Hold requests open without answering; destroy them when the period ends. */
  | { kind: 'hang'; durationMs: number }
  /** Destroy every accepted connection at once (clients see a reset connection). */
  | { kind: 'refuse'; durationMs: number }
  /** Mint tokens whose `nbf`/`iat` lie `nbfOffsetSec` in the future (clock skew). */
  | { kind: 'clock-skew'; nbfOffsetSec: number; durationMs: number };

/** A running fault: how many requests or connections it affected, and a way to end it early. */
export interface FaultHandle {
  readonly fault: Fault;
  /** When the period ends, epoch milliseconds. */
  readonly endsAtMs: number;
  /** Requests (or connections, for `refuse`; tokens, for `clock-skew`) affected so far. */
  readonly affected: number;
  /** Whether the period is over (ended by itself, by `cancel()` or by `clear()`). */
  readonly ended: boolean;
  /** Ends the fault now. */
  cancel(): void;
}

interface Active {
  fault: Fault;
  endsAtMs: number;
  affected: number;
  ended: boolean;
  timer: NodeJS.Timeout;
  held: Set<ServerResponse>;
}

/**
 * Fault injection for the identity provider's token-issuing endpoints. Each fault lasts
 * `durationMs` and ends by itself (unref'd timer); the newest request fault wins.
 *
 * @example
 * ```ts
 * const handle = idp.faults.inject({ kind: 'status', status: 503, durationMs: 5_000 });
 * // ... later
 * console.log(handle.affected);
 * ```
 */
export class Faults {
  private active: Active[] = [];
  private totalAffected = 0;

  /** @param hooks - `onRefuse` runs when a `refuse` fault starts; it drops open connections and returns how many. */
  constructor(private readonly hooks: { onRefuse?: () => number } = {}) {}

  /** Starts a fault for its period. */
  inject(fault: Fault): FaultHandle {
    validate(fault);
    const entry: Active = {
      fault,
      endsAtMs: Date.now() + fault.durationMs,
      affected: 0,
      ended: false,
      held: new Set(),
      timer: setTimeout(() => this.end(entry), fault.durationMs),
    };
    entry.timer.unref();
    this.active.push(entry);
    if (fault.kind === 'refuse') {
      const dropped = this.hooks.onRefuse?.() ?? 0;
      entry.affected += dropped;
      this.totalAffected += dropped;
    }
    return {
      fault,
      endsAtMs: entry.endsAtMs,
      get affected() {
        return entry.affected;
      },
      get ended() {
        return entry.ended;
      },
      cancel: () => this.end(entry),
    };
  }

  /** Ends every fault now (held requests are destroyed). */
  clear(): void {
    for (const entry of [...this.active]) this.end(entry);
  }

  /** Requests, connections and tokens affected by all faults so far. */
  get affectedTotal(): number {
    return this.totalAffected;
  }

  /** Seconds to add to `nbf` of tokens minted now (0 without a clock-skew fault). */
  takeNbfOffsetSec(): number {
    const skew = this.current((f) => f.kind === 'clock-skew');
    if (!skew || skew.fault.kind !== 'clock-skew') return 0;
    this.count(skew);
    return skew.fault.nbfOffsetSec;
  }

  /** Whether a new connection must be destroyed (a `refuse` fault is running). Counts it. */
  refuseConnection(): boolean {
    const refuse = this.current((f) => f.kind === 'refuse');
    if (refuse) this.count(refuse);
    return refuse !== undefined;
  }

  /**
   * Applies the newest request fault to a token-issuing request. Returns true when the fault
   * answered (or holds) the request, false when the request should be served normally.
   */
  applyToRequest(req: IncomingMessage, res: ServerResponse): boolean {
    const entry = this.current(
      (f) => f.kind === 'status' || f.kind === 'throttle' || f.kind === 'hang',
    );
    if (!entry) return false;
    this.count(entry);
    const { fault } = entry;
    if (fault.kind === 'hang') {
      entry.held.add(res);
      res.on('close', () => entry.held.delete(res));
      req.resume();
      return true;
    }
    if (fault.kind === 'throttle') {
      sendEntraError(
        res,
        entraError('temporarily_unavailable', 429, 50196, 'Too many requests; retry later.'),
        { 'retry-after': String(fault.retryAfterSec) },
      );
      return true;
    }
    if (fault.kind === 'status') {
      sendEntraError(
        res,
        entraError(
          fault.status >= 500 ? 'temporarily_unavailable' : 'invalid_request',
          fault.status,
          90033,
          'A transient error has occurred. Please try again.',
        ),
      );
      return true;
    }
    return false;
  }

  /** Ends everything; used by the identity provider's `close()`. */
  dispose(): void {
    this.clear();
  }

  private current(match: (f: Fault) => boolean): Active | undefined {
    for (let i = this.active.length - 1; i >= 0; i--) {
      const entry = this.active[i];
      if (entry && !entry.ended && match(entry.fault)) return entry;
    }
    return undefined;
  }

  private count(entry: Active): void {
    entry.affected++;
    this.totalAffected++;
  }

  private end(entry: Active): void {
    if (entry.ended) return;
    entry.ended = true;
    clearTimeout(entry.timer);
    this.active = this.active.filter((e) => e !== entry);
    for (const res of entry.held) res.destroy();
    entry.held.clear();
  }
}

function validate(fault: Fault): void {
  const bad = (what: string) =>
    new EmulatorError('INVALID_OPTION', `Fault "${fault?.kind}": ${what}.`);
  if (!fault || typeof fault !== 'object') throw bad('expected a fault object');
  if (!Number.isFinite(fault.durationMs) || fault.durationMs <= 0) {
    throw bad('"durationMs" must be a positive number of milliseconds');
  }
  switch (fault.kind) {
    case 'status':
      if (!Number.isInteger(fault.status) || fault.status < 400 || fault.status > 599) {
        throw bad('"status" must be an HTTP error status (400-599)');
      }
      return;
    case 'throttle':
      if (!Number.isFinite(fault.retryAfterSec) || fault.retryAfterSec < 0) {
        throw bad('"retryAfterSec" must be a number of seconds >= 0');
      }
      return;
    case 'clock-skew':
      if (!Number.isFinite(fault.nbfOffsetSec)) throw bad('"nbfOffsetSec" must be a number');
      return;
    case 'hang':
    case 'refuse':
      return;
    default:
      throw bad('"kind" must be status, throttle, hang, refuse or clock-skew');
  }
}
