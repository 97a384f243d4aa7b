import {
  blockingInterruptedError,
  lastGeneratedIdOf,
  parseBlockingCall,
  planBlockingSlice,
  replaceDollarIds,
  type BlockingCall,
  type CommandArg,
} from '../reauth/index.js';
import { realTime } from '../lib/clock.js';
import type { RedisCredentials } from '../token/credentials.js';
import type { IORedisCommandClass, IORedisCommandLike } from './types.js';

/** What the bounded-blocking loop needs from its connection guard. */
export interface BlockingHost {
  readonly Command: IORedisCommandClass;
  readonly safetyMarginMs: number;
  /** Sends a command past the guard (the original `sendCommand`). */
  send(command: IORedisCommandLike): Promise<unknown>;
  /** Marks a command as the adapter's own (not to be cut again when ioredis re-sends it). */
  own(command: IORedisCommandLike): void;
  /** The current valid credentials, if any. */
  current(): RedisCredentials | undefined;
  /** Resolves with a token expiring after `afterMs`, or `undefined` at `deadlineMs`/close. */
  waitForToken(afterMs: number, deadlineMs: number): Promise<RedisCredentials | undefined>;
  /** Whether the client was closed for good. */
  closed(): boolean;
}

/**
 * If `command` blocks longer than the connection's token lives, runs it as a series of bounded
 * slices and returns the user's promise; otherwise returns `undefined` (send it as is).
 */
export function runBounded(
  host: BlockingHost,
  command: IORedisCommandLike,
  context: unknown,
): Promise<unknown> | undefined {
  const call = parseBlockingCall(command.name, command.args as CommandArg[]);
  if (!call) return undefined;
  const credentials = host.current();
  if (!credentials) return undefined;
  const startedAtMs = realTime.now();
  const first = planBlockingSlice(call, command.args as CommandArg[], {
    startedAtMs,
    nowMs: startedAtMs,
    expiresAtMs: credentials.expiresAtMs,
    safetyMarginMs: host.safetyMarginMs,
  });
  if (first.action === 'send' && first.final) return undefined;
  command.setReplyContext?.(context);
  void loop(host, command, call, startedAtMs);
  return command.promise;
}

async function loop(
  host: BlockingHost,
  command: IORedisCommandLike,
  call: BlockingCall,
  startedAtMs: number,
): Promise<void> {
  const name = call.name;
  let ids: string[] | undefined;
  try {
    for (;;) {
      if (host.closed()) throw new Error('Connection is closed.');
      const credentials = host.current();
      if (!credentials) {
        throw blockingInterruptedError(
          name,
          'the access token expired and no fresh one arrived, so the connection could not stay authenticated while blocked',
        );
      }
      const base = ids ? replaceDollarIds(call, command.args as CommandArg[], ids) : command.args;
      const plan = planBlockingSlice(call, base as CommandArg[], {
        startedAtMs,
        nowMs: realTime.now(),
        expiresAtMs: credentials.expiresAtMs,
        safetyMarginMs: host.safetyMarginMs,
      });
      if (plan.action === 'timedOut') {
        command.resolve(null);
        return;
      }
      if (plan.action === 'waitForToken') {
        const next = await host.waitForToken(credentials.expiresAtMs, credentials.expiresAtMs);
        if (!next) {
          throw blockingInterruptedError(
            name,
            `the access token expires in under ${host.safetyMarginMs} ms and no fresh one arrived`,
          );
        }
        continue;
      }
      let idReplies: Promise<unknown>[] | undefined;
      if (!ids && call.dollarIds.length > 0) {
        // Written right before the first XREAD on the same connection: `$` as Redis saw it.
        idReplies = call.dollarIds.map(({ key }) => {
          const info = new host.Command('xinfo', ['STREAM', key], { replyEncoding: 'utf8' });
          return sendRaw(host, info).catch((error: unknown) => error);
        });
      }
      const inner = new host.Command(name, plan.args, { replyEncoding: null });
      const pending = sendRaw(host, inner);
      if (idReplies) ids = (await Promise.all(idReplies)).map(lastGeneratedIdOf);
      const reply = await pending;
      if (reply !== null || plan.final) {
        command.resolve(reply);
        return;
      }
    }
  } catch (error) {
    command.reject(error instanceof Error ? error : new Error(String(error)));
  }
}

/**
 * Sends an own command and resolves with the reply exactly as decoded (before ioredis's reply
 * conversion), so that the user's command converts it once, as if it had been sent itself.
 */
function sendRaw(host: BlockingHost, command: IORedisCommandLike): Promise<unknown> {
  host.own(command);
  return new Promise((resolve, reject) => {
    command.resolve = resolve;
    command.reject = reject;
    host.send(command).catch(() => {});
  });
}
