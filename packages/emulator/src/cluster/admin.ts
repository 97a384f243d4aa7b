// The cluster controller's admin connection to one raw redis-server node (reconnects on demand).
// Messages name the command, never its arguments (MIGRATE carries the admin password).

import { AdminClient, type AdminReply } from '../redis-front/admin-client.js';
import { EmulatorError } from '../errors.js';

/**
 * An admin connection to one node, as its `default` user.
 *
 * @example
 * ```ts
 * const admin = new NodeAdmin(server.port, server.adminPassword);
 * const id = await admin.text(['CLUSTER', 'MYID']);
 * admin.close();
 * ```
 */
export class NodeAdmin {
  private client: AdminClient | undefined;
  private connecting: Promise<AdminClient> | undefined;
  private closed = false;

  constructor(
    readonly port: number,
    private readonly password: string,
  ) {}

  /** Sends a command; an error reply resolves as an `Error` value. */
  async run(args: readonly string[]): Promise<AdminReply> {
    const client = await this.connection();
    return client.command(args);
  }

  /** Sends a command and throws an {@link EmulatorError} on an error reply. */
  async ok(args: readonly string[]): Promise<AdminReply> {
    const reply = await this.run(args);
    if (reply instanceof Error) {
      const name = args.slice(0, args[0]?.toUpperCase() === 'CLUSTER' ? 2 : 1).join(' ');
      throw new EmulatorError(
        'REDIS_ADMIN_FAILED',
        `cluster node on port ${this.port} refused ${name}: ${reply.message}`,
      );
    }
    return reply;
  }

  /** Sends a command whose reply is a string (status or bulk). */
  async text(args: readonly string[]): Promise<string> {
    const reply = await this.ok(args);
    if (typeof reply !== 'string') {
      throw new EmulatorError(
        'REDIS_ADMIN_FAILED',
        `cluster node on port ${this.port} answered ${args[0]} with an unexpected reply`,
      );
    }
    return reply;
  }

  /** Closes the connection; later commands reject. Idempotent. */
  close(): void {
    this.closed = true;
    this.client?.close();
    this.client = undefined;
  }

  private async connection(): Promise<AdminClient> {
    if (this.closed) throw new EmulatorError('CLOSED', 'the cluster is closed');
    if (this.client && !this.client.closed) return this.client;
    this.connecting ??= AdminClient.connect({
      host: '127.0.0.1',
      port: this.port,
      password: this.password,
    }).finally(() => (this.connecting = undefined));
    const client = await this.connecting;
    if (this.closed) {
      client.close();
      throw new EmulatorError('CLOSED', 'the cluster is closed');
    }
    this.client = client;
    return client;
  }
}

/** `key:value` lines of `INFO` or `CLUSTER INFO` as a map. */
export function infoFields(text: string): Map<string, string> {
  const fields = new Map<string, string>();
  for (const line of text.split(/\r?\n/)) {
    const colon = line.indexOf(':');
    if (colon > 0) fields.set(line.slice(0, colon), line.slice(colon + 1).trim());
  }
  return fields;
}
