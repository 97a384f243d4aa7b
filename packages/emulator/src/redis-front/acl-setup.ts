// Creates one Redis ACL user per access policy through an admin connection, and creates them
// again whenever redis-server restarts (it keeps no state).

import { AdminClient } from './admin-client.js';
import { EmulatorError } from '../errors.js';
import { AZURE_BLOCKED_COMMANDS, type AclPolicyUser } from './policies.js';

const RETRY_DELAY_MS = 100;

/**
 * Keeps the policy users present on redis-server.
 *
 * @example
 * ```ts
 * const acl = new AclKeeper(upstream, users);
 * await acl.start();
 * await acl.ready(); // before forwarding an AUTH
 * acl.close();
 * ```
 */
export class AclKeeper {
  private admin: AdminClient | undefined;
  private readyPromise: Promise<void> = Promise.resolve();
  private resolveReady: (() => void) | undefined;
  private retryTimer: NodeJS.Timeout | undefined;
  private closed = false;

  constructor(
    private readonly upstream: { host: string; port: number; adminPassword: string },
    private readonly users: Map<string, AclPolicyUser>,
  ) {}

  /** Connects and creates the users; rejects on a bad rule or when redis-server is unreachable. */
  async start(): Promise<void> {
    let admin: AdminClient;
    try {
      admin = await AdminClient.connect({
        ...this.upstream,
        password: this.upstream.adminPassword,
      });
    } catch (e) {
      throw new EmulatorError(
        'REDIS_ADMIN_FAILED',
        `could not connect to redis-server at ${this.upstream.host}:${this.upstream.port} as its admin (${(e as Error).message}); check upstream.port and upstream.adminPassword`,
        { cause: e },
      );
    }
    try {
      await this.apply(admin);
    } catch (e) {
      admin.close();
      throw e;
    }
    this.adopt(admin);
  }

  /** Resolves when the users exist (immediately, unless redis-server is restarting). */
  ready(): Promise<void> {
    return this.readyPromise;
  }

  /** Closes the admin connection and stops retrying. */
  close(): void {
    this.closed = true;
    clearTimeout(this.retryTimer);
    this.admin?.close();
    this.resolveReady?.();
  }

  private async apply(admin: AdminClient): Promise<void> {
    for (const u of this.users.values()) {
      const reply = await admin.command(['ACL', 'SETUSER', u.user, ...u.rules]);
      if (reply instanceof Error) {
        throw new EmulatorError(
          'INVALID_OPTION',
          `access policy "${u.policy}" has ACL rules redis-server refuses: ${reply.message.replace(/>\S+/g, '>***')}; fix accessPolicies["${u.policy}"]`,
        );
      }
      // One rule per command, so an older redis-server refuses only a rule it cannot apply;
      // pipelined, as one batch per user (the replies are not needed).
      await Promise.all(
        AZURE_BLOCKED_COMMANDS.map((rule) => admin.command(['ACL', 'SETUSER', u.user, rule])),
      );
    }
  }

  private adopt(admin: AdminClient): void {
    this.admin = admin;
    admin.onClose(() => {
      if (this.closed) return;
      this.readyPromise = new Promise((resolve) => (this.resolveReady = resolve));
      this.retry();
    });
  }

  private retry(): void {
    if (this.closed) return;
    this.retryTimer = setTimeout(() => {
      void (async () => {
        let admin: AdminClient | undefined;
        try {
          admin = await AdminClient.connect({
            ...this.upstream,
            password: this.upstream.adminPassword,
          });
          if (this.closed) {
            admin.close();
            return;
          }
          await this.apply(admin);
          this.adopt(admin);
          this.resolveReady?.();
        } catch {
          admin?.close();
          this.retry();
        }
      })();
    }, RETRY_DELAY_MS);
    this.retryTimer.unref();
  }
}
