// What the front end does with a client's AUTH or HELLO: verify the token, then forward an
// AUTH as the policy's ACL user (the token never reaches redis-server), or refuse locally.

import { createHash } from 'node:crypto';
import type net from 'node:net';
import { parseAuthCommand } from './auth-command.js';
import type { AclPolicyUser } from './policies.js';
import type { Grant, LocalReply, ReplyTracker } from './reply-tracker.js';
import { encodeError } from './resp.js';
import type { AccessCheck } from './types.js';

const WRONGPASS = encodeError('WRONGPASS invalid username-password pair');
const HELLO_AUTH_REJECTED = encodeError("ERR Syntax error in HELLO option 'AUTH'");

/** The connection state and actions AUTH handling uses. */
export interface AuthHost {
  readonly ctx: {
    authenticate(username: string, password: string): Promise<AccessCheck>;
    policyUser(policy: string): AclPolicyUser | undefined;
    aclReady(): Promise<void>;
    rejectHelloAuth: boolean;
  };
  readonly client: net.Socket;
  readonly parser: { resume(): void };
  readonly tracker: ReplyTracker;
  readonly closed: boolean;
  verifiedAuth: boolean;
  authPending: boolean;
  forward(bytes: Buffer): void;
  reply(reply: LocalReply): void;
  countFailure(username: string, reason: string): void;
  resumeClient(): void;
}

function refuse(host: AuthHost, username: string, reason: string): void {
  host.countFailure(username, reason);
  host.reply({ kind: 'local', bytes: WRONGPASS });
}

/**
 * Handles an AUTH or HELLO collected by the request parser (`args[0]` is its name). Returns
 * true when client input must pause until the token is verified (the parser and the client
 * socket are resumed then).
 *
 * @example
 * ```ts
 * const parser = new RequestParser({ ...sink, collected: (args) => handleAuth(host, args) });
 * ```
 */
export function handleAuth(host: AuthHost, args: Buffer[]): boolean {
  const intent = parseAuthCommand(args);
  if (intent.kind === 'forward') {
    host.forward(intent.bytes);
    host.tracker.expectUnverified(intent.hello);
    return false;
  }
  if (intent.kind === 'password-only') {
    refuse(host, '', 'AUTH needs a username (the principal object id) and a token');
    return false;
  }
  if (intent.hello && host.ctx.rejectHelloAuth) {
    host.countFailure(intent.username, 'HELLO with AUTH is not supported; send AUTH separately');
    host.reply({ kind: 'local', bytes: HELLO_AUTH_REJECTED });
    return false;
  }
  host.authPending = true;
  host.client.pause();
  const { username } = intent;
  void (async () => {
    let check: AccessCheck;
    try {
      check = await host.ctx.authenticate(username, intent.password);
    } catch (e) {
      check = { ok: false, reason: `authenticator failed (${(e as Error)?.name ?? 'error'})` };
    }
    if (host.closed) return;
    const user = check.ok ? host.ctx.policyUser(check.policy) : undefined;
    if (!check.ok) {
      refuse(host, username, check.reason);
    } else if (!user) {
      refuse(host, username, `access policy "${check.policy}" is not configured`);
    } else {
      await host.ctx.aclReady();
      if (host.closed) return;
      host.verifiedAuth = true;
      const grant: Grant = {
        oid: check.oid,
        expiresAtMs: check.expiresAtMs,
        tokenId: createHash('sha256').update(intent.password).digest('base64url').slice(0, 16),
      };
      host.tracker.expectGrant(intent.hello, grant);
      host.forward(intent.rewrite(user.user, user.password));
    }
  })().finally(() => {
    if (host.closed) return;
    host.authPending = false;
    host.parser.resume();
    host.resumeClient();
  });
  return true;
}
