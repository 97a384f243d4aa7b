// A minimal RESP2 client for the front end's admin work (ACL setup, PING). Not for data.

import net from 'node:net';
import { encodeCommand } from './resp.js';

/** A decoded reply; errors are returned as `Error` values, not thrown. */
export type AdminReply = string | number | null | Error | AdminReply[];

type Parsed = { value: AdminReply; end: number } | null;

function parseReply(buf: Buffer, pos: number): Parsed {
  const cr = buf.indexOf(13, pos);
  if (cr < 0 || cr + 1 >= buf.length) return null;
  const line = buf.toString('utf8', pos + 1, cr);
  const after = cr + 2;
  switch (buf[pos]) {
    case 43: // +
      return { value: line, end: after };
    case 45: // -
      return { value: new Error(line), end: after };
    case 58: // :
      return { value: Number(line), end: after };
    case 36: {
      const n = Number(line);
      if (n < 0) return { value: null, end: after };
      if (after + n + 2 > buf.length) return null;
      return { value: buf.toString('utf8', after, after + n), end: after + n + 2 };
    }
    case 42: {
      const n = Number(line);
      if (n < 0) return { value: null, end: after };
      const items: AdminReply[] = [];
      let p = after;
      for (let i = 0; i < n; i++) {
        const r = parseReply(buf, p);
        if (!r) return null;
        items.push(r.value);
        p = r.end;
      }
      return { value: items, end: p };
    }
    default:
      throw new Error(`unexpected RESP type byte ${buf[pos]}`);
  }
}

/**
 * One admin connection to redis-server.
 *
 * @example
 * ```ts
 * const admin = await AdminClient.connect({ host: '127.0.0.1', port, password });
 * await admin.command(['PING']); // 'PONG'
 * admin.close();
 * ```
 */
export class AdminClient {
  private buf: Buffer = Buffer.alloc(0);
  private readonly waiters: { resolve: (r: AdminReply) => void; reject: (e: Error) => void }[] = [];
  private closedError: Error | null = null;

  private constructor(private readonly socket: net.Socket) {
    socket.on('data', (chunk) => this.onData(chunk));
    socket.on('error', () => undefined);
    socket.on('close', () => this.fail(new Error('connection to redis-server closed')));
  }

  /** Connects and authenticates as `default` with `password` (when given). */
  static async connect(options: {
    host: string;
    port: number;
    password?: string;
    timeoutMs?: number;
  }): Promise<AdminClient> {
    const socket = net.connect({ host: options.host, port: options.port });
    socket.setNoDelay(true);
    const timeoutMs = options.timeoutMs ?? 2_000;
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => {
        socket.destroy();
        reject(new Error(`timed out after ${timeoutMs} ms connecting to redis-server`));
      }, timeoutMs);
      socket.once('connect', () => {
        clearTimeout(timer);
        socket.removeListener('error', reject);
        resolve();
      });
      socket.once('error', (e) => {
        clearTimeout(timer);
        reject(e);
      });
    });
    const client = new AdminClient(socket);
    if (options.password !== undefined) {
      const r = await client.command(['AUTH', 'default', options.password]);
      if (r instanceof Error) {
        client.close();
        throw new Error(`redis-server refused the admin password: ${r.message}`);
      }
    }
    return client;
  }

  /** True once the socket has closed. */
  get closed(): boolean {
    return this.closedError !== null;
  }

  /** Registers a callback for when the connection closes. */
  onClose(callback: () => void): void {
    this.socket.once('close', callback);
  }

  /** Sends one command and resolves with its reply (error replies resolve as `Error`). */
  command(args: readonly string[]): Promise<AdminReply> {
    if (this.closedError) return Promise.reject(this.closedError);
    return new Promise((resolve, reject) => {
      this.waiters.push({ resolve, reject });
      this.socket.write(encodeCommand(args));
    });
  }

  /** Closes the connection; pending commands are rejected. */
  close(): void {
    this.socket.destroy();
    this.fail(new Error('admin connection closed'));
  }

  private onData(chunk: Buffer): void {
    this.buf = this.buf.length ? Buffer.concat([this.buf, chunk]) : chunk;
    let pos = 0;
    for (;;) {
      let r: Parsed;
      try {
        r = parseReply(this.buf, pos);
      } catch (e) {
        this.socket.destroy();
        this.fail(e as Error);
        return;
      }
      if (!r) break;
      pos = r.end;
      this.waiters.shift()?.resolve(r.value);
    }
    this.buf = this.buf.subarray(pos);
  }

  private fail(error: Error): void {
    if (!this.closedError) this.closedError = error;
    for (const w of this.waiters.splice(0)) w.reject(error);
  }
}
