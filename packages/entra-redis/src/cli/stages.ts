// Runs the stages of `check`: times each, turns a throw into a failure, reports and records it.

import { firstLine, type Finding } from './diagnose.js';
import type { Reporter, StageResult } from './report.js';

/** What a stage function returns. */
export type Outcome = { ok: true; detail: string } | { ok: false; finding: Finding };

/** A passed stage. */
export const pass = (detail: string): Outcome => ({ ok: true, detail });
/** A failed stage and its explanation. */
export const fail = (finding: Finding): Outcome => ({ ok: false, finding });

const LABELS: Record<string, string> = {
  dns: 'DNS lookup',
  tcp: 'TCP connect',
  tls: 'TLS handshake',
  token: 'Token',
  auth: 'AUTH',
  ping: 'PING',
  topology: 'Topology',
  roundtrip: 'SET/GET/DEL',
};

/** How a node stage is shown and recorded. */
export interface NodeLabel {
  readonly label: string;
  readonly endpoint: string;
  readonly role: 'primary' | 'replica';
}

/**
 * Collects stage results in order.
 *
 * @example
 * ```ts
 * const stages = new Stages(reporter, auth.secrets);
 * const ok = await stages.run('dns', async () => pass('127.0.0.1'));
 * ```
 */
export class Stages {
  readonly results: StageResult[] = [];
  readonly #reporter: Reporter;
  readonly #secrets: readonly string[];

  /** `secrets`: values to redact from the message of a stage that throws. */
  constructor(reporter: Reporter, secrets: readonly string[]) {
    this.#reporter = reporter;
    this.#secrets = secrets;
  }

  /** Runs `fn` as stage `name`; resolves with whether it passed. */
  async run(name: string, fn: () => Promise<Outcome>, node?: NodeLabel): Promise<boolean> {
    const label = node?.label ?? LABELS[name] ?? name;
    this.#reporter.begin(label);
    const started = performance.now();
    let outcome: Outcome;
    try {
      outcome = await fn();
    } catch (error) {
      outcome = fail({ detail: firstLine(error, this.#secrets) });
    }
    const ms = Math.round(performance.now() - started);
    const where = node ? { endpoint: node.endpoint, role: node.role } : {};
    this.#record(
      label,
      outcome.ok
        ? { name, ...where, ok: true, ms, detail: outcome.detail }
        : { name, ...where, ok: false, ms, ...outcome.finding },
    );
    return outcome.ok;
  }

  /** Records a stage that did not run (`ok` for a deliberate skip such as `--read-only`). */
  skip(name: string, detail: string, ok = false): void {
    this.#record(LABELS[name] ?? name, { name, ok, skipped: true, ms: 0, detail });
  }

  /** Whether every stage so far passed (or was skipped on purpose). */
  get ok(): boolean {
    return this.results.every((r) => r.ok);
  }

  #record(label: string, result: StageResult): void {
    this.results.push(result);
    this.#reporter.end(label, result);
  }
}
