// A tiny RESP2 client for the `check` command: encode a command, read one reply at a time.
// No Redis client library: the core has no client dependency.

import type { Socket } from 'node:net';

/** One RESP2 reply. Errors are values (`kind: 'error'`), not exceptions. */
export type RespReply =
  | { readonly kind: 'simple'; readonly value: string }
  | { readonly kind: 'error'; readonly message: string }
  | { readonly kind: 'integer'; readonly value: number }
  | { readonly kind: 'bulk'; readonly value: string | null }
  | { readonly kind: 'array'; readonly value: readonly RespReply[] | null };

/**
 * Encodes a command as a RESP array of bulk strings.
 *
 * @example
 * ```ts
 * encodeCommand(['PING']); // '*1\r\n$4\r\nPING\r\n'
 * ```
 */
export function encodeCommand(args: readonly string[]): Buffer {
  const parts: Buffer[] = [Buffer.from(`*${args.length}\r\n`)];
  for (const arg of args) {
    const bytes = Buffer.from(arg, 'utf8');
    parts.push(Buffer.from(`$${bytes.length}\r\n`), bytes, Buffer.from('\r\n'));
  }
  return Buffer.concat(parts);
}

/**
 * Parses one reply at `offset` of `buf`. Returns the reply and the offset after it, or
 * `undefined` when more bytes are needed. Throws on bytes that are not RESP2.
 *
 * @example
 * ```ts
 * parseReply(Buffer.from('+PONG\r\n'), 0); // { reply: { kind: 'simple', value: 'PONG' }, next: 7 }
 * ```
 */
export function parseReply(
  buf: Buffer,
  offset: number,
): { reply: RespReply; next: number } | undefined {
  const eol = buf.indexOf('\r\n', offset);
  if (eol < 0) return undefined;
  const type = String.fromCharCode(buf[offset] ?? 0);
  const line = buf.toString('utf8', offset + 1, eol);
  const next = eol + 2;
  switch (type) {
    case '+':
      return { reply: { kind: 'simple', value: line }, next };
    case '-':
      return { reply: { kind: 'error', message: line }, next };
    case ':':
      return { reply: { kind: 'integer', value: Number(line) }, next };
    case '$': {
      const length = Number(line);
      if (length < 0) return { reply: { kind: 'bulk', value: null }, next };
      if (buf.length < next + length + 2) return undefined;
      return {
        reply: { kind: 'bulk', value: buf.toString('utf8', next, next + length) },
        next: next + length + 2,
      };
    }
    case '*': {
      const count = Number(line);
      if (count < 0) return { reply: { kind: 'array', value: null }, next };
      const items: RespReply[] = [];
      let at = next;
      for (let i = 0; i < count; i++) {
        const item = parseReply(buf, at);
        if (!item) return undefined;
        items.push(item.reply);
        at = item.next;
      }
      return { reply: { kind: 'array', value: items }, next: at };
    }
    default:
      throw new Error(`not a RESP2 reply (first byte 0x${(buf[offset] ?? 0).toString(16)})`);
  }
}

interface Pending {
  resolve(reply: RespReply): void;
  reject(error: Error): void;
  timer: NodeJS.Timeout;
}

/**
 * Sends commands over a connected socket and resolves each with its reply, in order.
 *
 * @example
 * ```ts
 * const conn = new RespConnection(tlsSocket);
 * const reply = await conn.send(['PING'], 5_000);
 * ```
 */
export class RespConnection {
  readonly #socket: Socket;
  readonly #pending: Pending[] = [];
  #buf: Buffer = Buffer.alloc(0);
  #failure: Error | undefined;
  #onClose: ((error: Error) => void)[] = [];

  constructor(socket: Socket) {
    this.#socket = socket;
    socket.on('data', (chunk: Buffer) => this.#onData(chunk));
    socket.on('error', (error) => this.#fail(error));
    socket.on('close', () => this.#fail(new Error('the server closed the connection')));
  }

  /** Sends `args` and resolves with the reply; rejects on timeout or a closed connection. */
  send(args: readonly string[], timeoutMs: number): Promise<RespReply> {
    if (this.#failure) return Promise.reject(this.#failure);
    return new Promise<RespReply>((resolve, reject) => {
      const timer = setTimeout(() => {
        const error = Object.assign(new Error(`no reply within ${timeoutMs} ms`), {
          code: 'ETIMEDOUT',
        });
        this.#fail(error);
      }, timeoutMs);
      timer.unref();
      this.#pending.push({ resolve, reject, timer });
      this.#socket.write(encodeCommand(args));
    });
  }

  #onData(chunk: Buffer): void {
    this.#buf = this.#buf.length === 0 ? chunk : Buffer.concat([this.#buf, chunk]);
    let offset = 0;
    try {
      for (;;) {
        const parsed = parseReply(this.#buf, offset);
        if (!parsed) break;
        offset = parsed.next;
        const waiter = this.#pending.shift();
        if (waiter) {
          clearTimeout(waiter.timer);
          waiter.resolve(parsed.reply);
        }
      }
    } catch (error) {
      this.#fail(error as Error);
      return;
    }
    this.#buf = this.#buf.subarray(offset);
  }

  #fail(error: Error): void {
    const first = this.#failure === undefined;
    this.#failure ??= error;
    for (const waiter of this.#pending.splice(0)) {
      clearTimeout(waiter.timer);
      waiter.reject(this.#failure);
    }
    this.#socket.destroy();
    if (first) for (const listener of this.#onClose.splice(0)) listener(this.#failure);
  }

  /** Whether the connection has ended (closed, failed or timed out). */
  get closed(): boolean {
    return this.#failure !== undefined;
  }

  /**
   * Calls `listener` once when the connection ends, with the reason: the server closed it, a
   * reply timed out, or {@link close} was called. At once if it has already ended.
   */
  onClose(listener: (error: Error) => void): void {
    if (this.#failure) listener(this.#failure);
    else this.#onClose.push(listener);
  }

  /** Closes the socket; pending commands reject. Idempotent. */
  close(): void {
    this.#fail(new Error('connection closed by entra-redis check'));
  }
}
