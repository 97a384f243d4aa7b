import {
  blockingInterruptedError,
  lastGeneratedIdOf,
  parseBlockingCall,
  planBlockingSlice,
  replaceDollarIds,
  type CommandArg,
} from '../reauth/index.js';
import type { RedisCredentials } from '../token/credentials.js';
import type { TokenSource } from '../token/token-source.js';
import { realTime } from '../lib/clock.js';

/**
 * Time a blocking slice ends before the token expires, so the queued re-AUTH runs in time.
 *
 * @example
 * ```ts
 * BLOCKING_SAFETY_MARGIN_MS; // 1000
 * ```
 */
export const BLOCKING_SAFETY_MARGIN_MS = 1_000;

type Send = (args: CommandArg[]) => Promise<unknown>;

/** Resolves with the next token after `current`, or undefined once `current` has expired. */
function nextToken(
  source: TokenSource,
  current: RedisCredentials,
  signal: AbortSignal | undefined,
): Promise<RedisCredentials | undefined> {
  return new Promise((resolve) => {
    const timer = realTime.setTimeout(
      () => finish(undefined),
      current.expiresAtMs - realTime.now(),
    );
    const unsubscribe = source.onCredentials((next) => finish(next));
    const onAbort = (): void => finish(undefined);
    signal?.addEventListener('abort', onAbort);
    function finish(value: RedisCredentials | undefined): void {
      realTime.clearTimeout(timer);
      unsubscribe();
      signal?.removeEventListener('abort', onAbort);
      resolve(value);
    }
  });
}

/**
 * Sends `args` with `send`; a blocking command (BLPOP, BRPOP, BLMOVE, BZPOPMIN, XREAD BLOCK, …) whose timeout
 * outlives the token is cut into slices that end before the token expires, so a re-AUTH queued
 * behind it runs in time, and is re-issued while nothing arrived and the caller's own timeout
 * has not passed. A slice that times out pops nothing, so no item is lost; `XREAD … $` is
 * resolved to the stream's last id before the first slice, so no entry is skipped between
 * slices. Returns undefined for commands it leaves alone. `signal` (the client detached or
 * closed) ends a wait for a fresh token at once, failing the call.
 *
 * @example
 * ```ts
 * const reply = sendBounded(send, ['BLPOP', 'queue', '0'], tokenSource) ?? send(args);
 * ```
 */
export function sendBounded(
  send: Send,
  args: readonly CommandArg[],
  source: TokenSource,
  signal?: AbortSignal,
): Promise<unknown> | undefined {
  const name = String(args[0] ?? '').toLowerCase();
  const rest = args.slice(1);
  const call = parseBlockingCall(name, rest);
  const credentials = source.current();
  if (!call || !credentials) return undefined;
  const startedAtMs = realTime.now();
  const input = (c: RedisCredentials) => ({
    startedAtMs,
    nowMs: realTime.now(),
    expiresAtMs: c.expiresAtMs,
    safetyMarginMs: BLOCKING_SAFETY_MARGIN_MS,
  });
  const first = planBlockingSlice(call, rest, input(credentials));
  if (first.action === 'send' && first.final) return undefined; // fits within the token's life

  return (async () => {
    let ids: string[] | undefined;
    for (;;) {
      const current = source.current();
      if (!current) {
        throw blockingInterruptedError(
          name,
          'the access token expired and no fresh one arrived, so the connection could not stay authenticated while blocked',
        );
      }
      const base = ids ? replaceDollarIds(call, rest, ids) : rest;
      const plan = planBlockingSlice(call, base, input(current));
      if (plan.action === 'timedOut') return null;
      if (plan.action === 'waitForToken') {
        if (!(await nextToken(source, current, signal))) {
          throw blockingInterruptedError(
            name,
            `the access token expires in under ${BLOCKING_SAFETY_MARGIN_MS} ms and no fresh one arrived`,
          );
        }
        continue;
      }
      // XINFO goes first on the same connection, so its id is read before the XREAD runs.
      const idReplies =
        !ids && call.dollarIds.length > 0
          ? Promise.all(
              call.dollarIds.map(({ key }) =>
                send(['XINFO', 'STREAM', key]).catch((error: unknown) => error),
              ),
            )
          : undefined;
      const pending = send([args[0] as CommandArg, ...plan.args]);
      if (idReplies) ids = (await idReplies).map(lastGeneratedIdOf);
      const reply = await pending;
      if (reply !== null || plan.final) return reply;
    }
  })();
}
