import type { TokenSource } from 'entra-redis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  ADAPTERS,
  allBlocked,
  BLOCKING_ROWS,
  itemsOf,
  type BlockingRow,
  type Conn,
} from './blocking-table.js';
import {
  expiryWithinMs,
  recoveryWithinMs,
  refreshAfterMs,
  SLACK_MS,
  testTimeoutMs,
  type TokenSchedule,
} from './helpers/bounds.js';
import { sleep, startTestEmulator, waitFor, type TestEmulator } from './helpers/emulator.js';

// The identity endpoint goes down while every command of the docs' blocking table waits with an
// infinite timeout, on every client variant, and stays down past the token's expiry: no fresh
// token can arrive, so each call must end with a retryable BLOCKING_COMMAND_INTERRUPTED naming
// the command (never hang, never fail otherwise), by the token's expiry. Once the endpoint
// answers again the same clients work without a restart, and the interrupted calls took nothing.

/**
 * Refresh at half the token's life (as in blocking-commands.test.ts): this file opens 66 TLS
 * connections at the start, and with 4-second tokens the default 0.75 leaves under a second
 * for a refresh that competes with those handshakes on a loaded machine.
 */
const SCHEDULE: TokenSchedule = { tokenLifetimeMs: 4_000, refreshRatio: 0.5 };
/** The outage: from a refresh, past the new token's expiry by two slacks. */
const OUTAGE_MS = expiryWithinMs(SCHEDULE) + SLACK_MS;

describe('blocking commands when no token arrives in time (identity endpoint down past expiry)', () => {
  let env: TestEmulator;
  let source: TokenSource;

  beforeAll(async () => {
    env = await startTestEmulator({ tokenLifetimeSec: SCHEDULE.tokenLifetimeMs / 1000 });
    source = env.tokenSource({ refreshRatio: SCHEDULE.refreshRatio });
    await source.getCredentials();
  });
  afterAll(() => env?.close());

  it(
    'every command, every client variant: BLOCKING_COMMAND_INTERRUPTED (retryable, naming the command) by the expiry; then the same clients pop what is pushed',
    async () => {
      const keyOf = (variant: string, row: BlockingRow) => `bo:${variant}:${row.command}`;
      const runs: Array<{
        name: string;
        tag: string;
        producer: Conn;
        names: string[];
        consumers: Conn[];
      }> = [];
      // One variant at a time: 11 handshakes at once, not 66.
      for (const { name, open } of ADAPTERS) {
        const tag = name.replace(/\W+/g, '-');
        const producer = await open(env, source, `bo-${tag}-producer`);
        for (const row of BLOCKING_ROWS) {
          if (row.setup) await producer.send(row.setup(keyOf(tag, row)));
        }
        const names = BLOCKING_ROWS.map((row) => `bo-${tag}-${row.command}`);
        const consumers = await Promise.all(names.map((n) => open(env, source, n)));
        runs.push({ name, tag, producer, names, consumers });
      }
      // XREAD's id: `$` while waiting for what comes next; `0-0` for the retry after the push.
      const call = (run: (typeof runs)[number], i: number, id = '$') => {
        const row = BLOCKING_ROWS[i]!;
        const keys = { src: keyOf(run.tag, row), dst: `${keyOf(run.tag, row)}:moved` };
        return run.consumers[i]!.call(row, keys, 'forever', id);
      };
      const whats = runs.flatMap((run) => BLOCKING_ROWS.map((r) => `${run.name} ${r.command}`));
      const outcomes = runs.flatMap((run, r) =>
        BLOCKING_ROWS.map((_, i) => {
          const what = whats[r * BLOCKING_ROWS.length + i]!;
          return call(run, i).then(
            (reply) => ({ what, reply, at: Date.now() }),
            (error: unknown) => ({ what, error, at: Date.now() }),
          );
        }),
      );
      for (const run of runs) await allBlocked(run.producer, run.names, refreshAfterMs(SCHEDULE));
      // Right after a refresh, so the outage holds back the next one and outlasts the token.
      await new Promise<void>((resolve) => source.once('refreshed', () => resolve()));
      const expiresAtMs = source.current()!.expiresAtMs;
      const fault = env.emulator.identity.faults.inject({
        kind: 'status',
        status: 503,
        durationMs: OUTAGE_MS,
      });

      // A call still pending well after the expiry hangs: say which rather than wait for ever.
      const late = sleep(expiresAtMs + 2 * SLACK_MS - Date.now());
      const settled = await Promise.all(
        outcomes.map((o, i) =>
          Promise.race([o, late.then(() => ({ what: whats[i]!, hung: true, at: Date.now() }))]),
        ),
      );
      for (const o of settled) {
        expect(o, o.what).toMatchObject({
          error: {
            code: 'BLOCKING_COMMAND_INTERRUPTED',
            isRetryable: true,
            message: expect.stringContaining(`${o.what.split(' ').pop()} was interrupted`),
          },
        });
        // By the expiry (the adapters give up when the token expires), not at the outage's end.
        expect(o.at - expiresAtMs, `${o.what} ended after the expiry by`).toBeLessThan(SLACK_MS);
      }
      expect(fault.ended, 'every call ended during the outage').toBe(false);

      // The endpoint answers again: the same clients recover by themselves; the interrupted
      // calls took nothing, so a retry gets exactly what is pushed now.
      await waitFor(() => fault.ended, OUTAGE_MS, 'the outage to end');
      for (const run of runs) {
        await waitFor(
          async () => (await run.producer.send(['PING']).catch(() => '')) === 'PONG',
          recoveryWithinMs(),
          `${run.name} recovered`,
        );
        await Promise.all(
          BLOCKING_ROWS.map((row) => run.producer.send(row.push(keyOf(run.tag, row), 7))),
        );
        const retried = await Promise.all(BLOCKING_ROWS.map((_, i) => call(run, i, '0-0')));
        expect(
          retried.map(itemsOf),
          `${run.name}: ${BLOCKING_ROWS.map((r) => r.command).join(' ')}`,
        ).toEqual(BLOCKING_ROWS.map(() => [7]));
      }
      for (const run of runs)
        await Promise.all([run.producer, ...run.consumers].map((c) => c.close()));
    },
    testTimeoutMs(refreshAfterMs(SCHEDULE) * 2, OUTAGE_MS, recoveryWithinMs() * ADAPTERS.length),
  );
});
