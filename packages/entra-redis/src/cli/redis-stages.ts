// The Redis side of `check` on one connection: AUTH, PING and the SET/GET/DEL round trip, each
// reply explained when it is an error.

import { randomBytes } from 'node:crypto';
import type { Acquired } from './acquire.js';
import { noperm, redact, wrongpass, type Finding, type Target } from './diagnose.js';
import type { RespConnection, RespReply } from './resp.js';
import { fail, pass, type Outcome } from './stages.js';

/** Explains an AUTH error other than WRONGPASS. */
export function authError(message: string): Finding {
  const detail = redact(message);
  if (/without any password configured|no password is set/i.test(message)) {
    return {
      detail,
      diagnosis:
        'this server has no authentication configured: it is not an Entra-enabled Azure cache',
      fix: 'check --host/--port, and enable Microsoft Entra authentication on the cache',
    };
  }
  return { detail, diagnosis: 'the server refused AUTH' };
}

/** Explains the reply to `AUTH <username> <token>`; undefined when it succeeded. */
export function authReplyFinding(
  reply: RespReply,
  token: Pick<Acquired, 'summary' | 'username'>,
  t: Target,
): Finding | undefined {
  if (reply.kind !== 'error') return undefined;
  if (/^WRONGPASS/i.test(reply.message)) {
    return wrongpass(reply.message, token.summary, token.username, Date.now(), t);
  }
  return authError(reply.message);
}

/** Sends AUTH with the token on `c`. */
export async function authenticate(
  c: RespConnection,
  a: Acquired,
  t: Target,
  timeoutMs: number,
): Promise<Outcome> {
  const reply = await c.send(['AUTH', a.username, a.token], timeoutMs);
  const finding = authReplyFinding(reply, a, t);
  return finding ? fail(finding) : pass(`authenticated as ${a.username}`);
}

/** Explains an error reply to `command`; undefined when the reply is not an error. */
export function replyFinding(reply: RespReply, command: string, oid?: string): Finding | undefined {
  if (reply.kind !== 'error') return undefined;
  if (/^NOPERM/i.test(reply.message)) return noperm(reply.message, command, oid);
  return { detail: redact(reply.message), diagnosis: `${command} failed` };
}

/** Sends PING on `c`. */
export async function ping(c: RespConnection, timeoutMs: number, oid?: string): Promise<Outcome> {
  const reply = await c.send(['PING'], timeoutMs);
  const finding = replyFinding(reply, 'PING', oid);
  return finding ? fail(finding) : pass('PONG');
}

/** `MOVED <slot> <host>:<port>` → the endpoint, or undefined. */
export function movedTo(reply: RespReply): string | undefined {
  if (reply.kind !== 'error') return undefined;
  return /^MOVED \d+ (\S+)$/.exec(reply.message)?.[1];
}

/**
 * SET, GET and DEL of a temporary key. In a cluster the key's slot may live on another node:
 * `connectionTo` gives the connection of the node a `MOVED` names.
 */
export async function roundTrip(
  seed: RespConnection,
  timeoutMs: number,
  oid: string | undefined,
  connectionTo: (endpoint: string) => RespConnection | undefined,
): Promise<Outcome> {
  const key = `entra-redis:check:${randomBytes(8).toString('hex')}`;
  const value = randomBytes(8).toString('hex');
  const setArgs = ['SET', key, value, 'PX', '60000', 'NX'];
  let c = seed;
  let where = '';
  let set = await c.send(setArgs, timeoutMs);
  const moved = movedTo(set);
  if (moved !== undefined) {
    const owner = connectionTo(moved);
    if (!owner) {
      return fail({
        detail: redact(set.kind === 'error' ? set.message : 'MOVED'),
        diagnosis: `the key's slot is served by ${moved}, a node the cluster did not announce`,
        fix: 'run the check again (the slot map may have been changing)',
      });
    }
    c = owner;
    where = ` on ${moved} (the node serving its slot)`;
    set = await c.send(setArgs, timeoutMs);
  }
  const setFailed = replyFinding(set, 'SET', oid);
  if (setFailed) return fail(setFailed);
  const get = await c.send(['GET', key], timeoutMs);
  const getFailed = replyFinding(get, 'GET', oid);
  if (getFailed) return fail(getFailed);
  const del = await c.send(['DEL', key], timeoutMs);
  const delFailed = replyFinding(del, 'DEL', oid);
  if (delFailed) return fail(delFailed);
  if (get.kind !== 'bulk' || get.value !== value) {
    return fail({
      detail: `GET ${key} did not return the value just SET`,
      diagnosis: 'data mismatch',
    });
  }
  return pass(`SET, GET and DEL of temporary key ${key}${where}`);
}
